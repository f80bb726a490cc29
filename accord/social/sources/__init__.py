"""The connectors: each speaks one network's real protocol and turns what it hears into
:class:`~accord.social.sources.base.Post` objects, from a saved position (a cursor) so
that a restart resumes without gaps or duplicates."""
