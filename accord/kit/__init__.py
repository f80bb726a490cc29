"""Shared plumbing used by every domain: database, errors, security, ids, time."""
