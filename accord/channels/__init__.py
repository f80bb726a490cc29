"""Channels: email (SMTP, IMAP, MIME), the web form, phone calls and the screen pop."""
