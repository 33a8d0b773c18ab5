"""Errors of reporting's service layer (the API maps them to problem documents)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error reporting's service layer raises on purpose."""


class NotAllowed(ServiceError):
    """The caller's role does not allow this."""
