"""Engage: the omnichannel inbox — conversations, routing, SLA, CSAT and service metrics."""
