"""Privacy: data-subject requests by any identifier (export, access, erase), retention
policies and their scheduled job; the access log itself is ``govern.audit.access``."""
