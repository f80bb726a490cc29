"""Real transports for the inbox tests: the SMTP sink standing in for a workspace's
outbound relay lives in tests/smtp_sink.py."""

from __future__ import annotations

from tests.smtp_sink import Sink, smtp_sink

__all__ = ["Sink", "smtp_sink"]
