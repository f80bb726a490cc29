"""Collect: the Segment-compatible tracking API, imports and exports."""
