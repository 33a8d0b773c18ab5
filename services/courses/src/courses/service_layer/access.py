"""Who may see and change what (DESIGN §7, R4, R7): tenant scoping and role checks.

The tenant rule, as in identity: a resource of another organisation answers exactly like one
that does not exist (404); inside the caller's own organisation, a role that may not do the
thing gets 403. The answer rule (R4) comes first and has no exception for any organisation
role: single answers are for platform staff, and for the learner who gave them (their own,
through /me, R14/R17).
"""

from __future__ import annotations

from uuid import UUID

from byggrygg_shared.auth import Role
from courses.service_layer.context import Actor
from courses.service_layer.errors import AnswersForbidden, NotAllowed, OrganisationNotFound


def require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise NotAllowed("only platform staff may do this")


def require_answer_reader(actor: Actor) -> None:
    """R4: only platform staff read other people's answers; every other role gets 403."""
    if not actor.is_staff:
        raise AnswersForbidden("single answers are visible to platform staff only")


def require_organisation_role(actor: Actor, organisation_id: UUID, *roles: Role) -> None:
    """Staff, or a member of the organisation (else 404) holding one of `roles` (else 403)."""
    if actor.is_staff:
        return
    if actor.organisation_id != organisation_id:
        raise OrganisationNotFound(str(organisation_id))
    if not any(actor.has_role(role) for role in roles):
        raise NotAllowed("your role does not allow this")


def own_user_id(actor: Actor) -> UUID:
    """The caller as a learner (staff accounts take no courses)."""
    if actor.is_staff or actor.organisation_id is None:
        raise NotAllowed("staff accounts take no courses")
    try:
        return UUID(actor.user_id)
    except ValueError:
        raise NotAllowed("this account takes no courses") from None
