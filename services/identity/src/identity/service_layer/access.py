"""Who may see and change what (DESIGN §7, R7): tenant scoping and role checks.

The rule everywhere: a resource of another organisation answers exactly like one that does not
exist (404), so ids of other tenants reveal nothing; inside the caller's own organisation, a
role that may not do the thing gets 403. Platform staff see every organisation but not users'
profiles: those belong to the customer (the controller, R7).
"""

from __future__ import annotations

from uuid import UUID

import asyncpg

from identity.adapters.queries import user_organisation
from identity.domain.values import Role
from identity.service_layer.context import Actor
from identity.service_layer.errors import NotAllowed, OrganisationNotFound, UserNotFound


def require_staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise NotAllowed("only platform staff may do this")


def require_organisation_role(actor: Actor, organisation_id: UUID, *roles: Role) -> None:
    """The caller belongs to the organisation (else 404) and holds one of `roles` (else 403).

    Staff pass the tenant check and then need one of `roles` like anyone else.
    """
    if not actor.is_staff and actor.organisation_id != organisation_id:
        raise OrganisationNotFound(str(organisation_id))
    if not any(actor.has_role(role) for role in roles):
        raise NotAllowed("your role does not allow this")


def may_view_organisation(actor: Actor, organisation_id: UUID) -> None:
    """Staff, or the organisation's own administrators and contact persons."""
    if actor.is_staff:
        return
    require_organisation_role(actor, organisation_id, Role.ORG_ADMIN, Role.CONTACT_PERSON)


async def authorise_user_access(
    conn: asyncpg.Connection, actor: Actor, user_id: UUID, *, admin_only: bool = False
) -> UUID:
    """The user's organisation, if the caller may act on the user: the user themself (unless
    `admin_only`) or an administrator of the same organisation."""
    organisation_id = await user_organisation(conn, user_id)
    if organisation_id is None:
        raise UserNotFound(str(user_id))
    if actor.is_staff:
        raise NotAllowed("users' profiles belong to their organisation")
    if actor.organisation_id != organisation_id:
        raise UserNotFound(str(user_id))
    if not admin_only and actor.user_id == str(user_id):
        return organisation_id
    if actor.has_role(Role.ORG_ADMIN):
        return organisation_id
    raise NotAllowed("only the user or an administrator of the organisation may do this")
