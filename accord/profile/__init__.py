"""The customer profile, written: the golden record (survivorship), computed values and
orders folded from events, stored for resolution to assign events to. The read side is
``accord.customers``."""
