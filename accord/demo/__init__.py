"""The demo workspace ``make demo`` serves: an admin, keys, and each capability's sample data."""
