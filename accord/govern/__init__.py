"""Govern: workspaces (tenants), access (users, roles, keys, sessions), audit.
Later: consent and privacy. Every other layer relies on it."""
