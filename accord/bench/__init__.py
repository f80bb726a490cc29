"""Benchmarks: ``accord bench ingest`` and ``accord bench lookup`` print their figures."""
