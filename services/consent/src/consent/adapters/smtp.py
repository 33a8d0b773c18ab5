"""Hands mail to an SMTP server: the shared transport (``byggrygg_shared.mail_outbox``)."""

from __future__ import annotations

from byggrygg_shared.mail_outbox import SmtpTransport

__all__ = ["SmtpTransport"]
