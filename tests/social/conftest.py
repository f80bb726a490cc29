from tests.smtp_sink import Sink, smtp_sink

__all__ = ["Sink", "smtp_sink"]
