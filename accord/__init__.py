"""Accord: an open-source customer engagement platform.

Data flows one way: collect -> resolve -> profile -> analyze -> engage, with govern
(consent, privacy, auth, audit) across all of them.
"""

__version__ = "0.1.0"
