"""The consent registry: what each person allowed, per channel and purpose, with the
evidence; the suppression list of erased identifiers; and the one policy decision every
send asks (:func:`accord.govern.consent.policy.may_contact`)."""
