"""Consent's adapters: tables, projections, the mail outbox and the SMTP client."""
