"""Outreach: email and SMS campaigns to segments, their send queue, tracking and
results (and the journeys built on them)."""
