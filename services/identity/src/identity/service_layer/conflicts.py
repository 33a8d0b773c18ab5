"""Turn unique-index violations into the conflicts they mean.

The unique indexes are the last word on uniqueness (two concurrent requests both pass any
check made before writing); a violation aborts the whole transaction, events included.
"""

from __future__ import annotations

import asyncpg

from identity.domain.errors import PersonAlreadyListed
from identity.service_layer.errors import EmailAlreadyInUse, OrganisationNumberInUse

_BY_CONSTRAINT: dict[str, type[Exception]] = {
    "login_emails_pkey": EmailAlreadyInUse,
    "organisations_organisation_number_key": OrganisationNumberInUse,
    "organisation_people_email_key": PersonAlreadyListed,
}


def conflict_for(error: asyncpg.UniqueViolationError) -> Exception:
    """The domain or service error a violated constraint stands for (or the error itself)."""
    original: Exception = error
    meaning = _BY_CONSTRAINT.get(str(getattr(error, "constraint_name", "") or ""))
    if meaning is None:
        return original
    return meaning("already in use")
