"""Resolve: typed identifiers, the identity graph, merges and splits."""
