"""Probabilistic identity resolution: one person from records that share no key."""
