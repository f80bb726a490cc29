"""Profile: the holistic customer profile, its golden record, values and timeline."""
