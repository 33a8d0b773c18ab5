"""Users through the real API: invitation and terms (R3), login, correction (R15), licences and
cancellation (R6, R7)."""

from __future__ import annotations

from byggrygg_shared.auth import Role as TokenRole
from byggrygg_shared.auth import TokenVerifier, keys_from_jwks
from byggrygg_shared.keyring import ERASED, is_token

from ....service_testing import assert_problem
from .support import PASSWORD, Flow


async def test_an_invited_person_becomes_a_user_by_accepting_the_terms(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    kari = await flow.learner(org["organisation_id"], admin, "Kari@Hansen.example.no")
    user = kari.body
    assert user["email"] == "kari@hansen.example.no"
    assert user["roles"] == ["learner"]
    assert user["terms_version"] == "2024-1"
    assert user["gender"] == "female"
    assert user["language"] == "nb"
    assert user["status"] == "active"
    assert user["version"] == 1

    me = await flow.http.get("/me", headers=kari.headers)
    assert me.status_code == 200
    assert me.json()["user"] == user
    assert me.json()["organisation_id"] == org["organisation_id"]

    async with flow.runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT payload FROM events WHERE stream_id = $1", f"user-{user['user_id']}"
        )
        password_hash = await conn.fetchval(
            "SELECT password_hash FROM credentials WHERE principal_id = $1::uuid", user["user_id"]
        )
    payload = row["payload"]
    assert all(is_token(payload[f]) for f in ("name", "email", "phone", "gender", "language"))
    assert await flow.runtime.keyring.decrypt(user["subject_ref"], payload["name"]) == (
        "Kari Nordmann"
    )
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash


async def test_tokens_carry_roles_and_organisation_and_verify_with_the_jwks(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    jwks = (await flow.http.get("/.well-known/jwks.json")).json()
    verifier = TokenVerifier.from_public_keys(keys_from_jwks(jwks).values())
    principal = await verifier.verify(admin.token)
    assert principal.user_id == admin.user_id
    assert principal.organisation_id == org["organisation_id"]
    assert principal.roles == {TokenRole.ORG_ADMIN}
    staff = await verifier.verify(flow.staff_token)
    assert staff.roles == {TokenRole.PLATFORM_STAFF}
    assert staff.organisation_id is None


async def test_wrong_password_and_unknown_email_get_the_same_answer(flow: Flow) -> None:
    wrong = await flow.http.post(
        "/auth/token", json={"email": "staff@byggrygg.example.no", "password": "not it at all"}
    )
    unknown = await flow.http.post(
        "/auth/token", json={"email": "nobody@byggrygg.example.no", "password": PASSWORD}
    )
    assert assert_problem(wrong, 401)["detail"] == assert_problem(unknown, 401)["detail"]


async def test_a_user_corrects_their_profile_with_if_match(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    kari = await flow.learner(org["organisation_id"], admin, "kari@hansen.example.no")
    url = f"/users/{kari.user_id}"
    read = await flow.http.get(url, headers=kari.headers)
    assert read.headers["etag"] == '"1"'

    patched = await flow.http.patch(
        url,
        json={"name": "Kari Nordmann-Hansen", "email": "kari.n@hansen.example.no", "gender": None},
        headers={**kari.headers, "If-Match": read.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["email"], body["gender"]) == (
        "Kari Nordmann-Hansen",
        "kari.n@hansen.example.no",
        None,
    )
    assert body["phone"] == "+47 911 22 333"  # not sent, not changed
    assert patched.headers["etag"] == '"2"'

    # The new address is the login name now; the old one is free.
    await flow.log_in("kari.n@hansen.example.no")
    assert_problem(
        await flow.http.post(
            "/auth/token", json={"email": "kari@hansen.example.no", "password": PASSWORD}
        ),
        401,
    )
    async with flow.runtime.pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT event_type, payload FROM events WHERE stream_id = $1 AND version = 2",
            f"user-{kari.user_id}",
        )
    assert row["event_type"] == "no.byggrygg.identity.UserProfileCorrected"
    assert row["payload"]["corrected_fields"] == ["email", "gender", "name"]
    assert row["payload"]["phone"] is None
    assert is_token(row["payload"]["email"])

    # An administrator of the same organisation may correct too (the controller, R7).
    by_admin = await flow.http.patch(
        url, json={"language": "en"}, headers={**admin.headers, "If-Match": '"2"'}
    )
    assert by_admin.status_code == 200
    assert by_admin.json()["language"] == "en"


async def test_a_patch_that_changes_nothing_writes_no_event(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    response = await flow.http.patch(
        f"/users/{admin.user_id}",
        json={"name": "Ola Admin"},
        headers={**admin.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.json()["version"] == 1


async def test_licences_are_granted_and_revoked_by_the_organisation(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    kari = await flow.learner(org["organisation_id"], admin, "kari@hansen.example.no")
    url = f"/users/{kari.user_id}/licences"

    granted = await flow.http.post(url, headers=admin.headers)
    assert granted.status_code == 201, granted.text
    licence_id = granted.json()["licence_id"]
    assert_problem(await flow.http.post(url, headers=admin.headers), 409)
    # A learner cannot give themself a licence.
    assert_problem(await flow.http.post(url, headers=kari.headers), 403)

    user = (await flow.http.get(f"/users/{kari.user_id}", headers=kari.headers)).json()
    assert [(lic["licence_id"], lic["active"]) for lic in user["licences"]] == [(licence_id, True)]

    revoked = await flow.http.delete(f"{url}/{licence_id}", headers=admin.headers)
    assert revoked.status_code == 204
    assert_problem(await flow.http.delete(f"{url}/{licence_id}", headers=admin.headers), 404)
    user = (await flow.http.get(f"/users/{kari.user_id}", headers=kari.headers)).json()
    assert user["licences"][0]["active"] is False
    async with flow.runtime.pool.acquire() as conn:
        types = await conn.fetch(
            "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version",
            f"user-{kari.user_id}",
        )
    assert [r["event_type"].rsplit(".", 1)[1] for r in types] == [
        "UserCreated",
        "LicenceGranted",
        "LicenceRevoked",
    ]


async def test_a_user_cancels_their_own_subscription(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    kari = await flow.learner(org["organisation_id"], admin, "kari@hansen.example.no")
    response = await flow.http.post("/users/me/cancel-subscription", headers=kari.headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert_problem(await flow.http.post("/users/me/cancel-subscription", headers=kari.headers), 409)
    assert_problem(
        await flow.http.post(
            "/auth/token", json={"email": "kari@hansen.example.no", "password": PASSWORD}
        ),
        401,
    )
    patched = await flow.http.patch(
        f"/users/{kari.user_id}", json={"name": "X"}, headers={**admin.headers, "If-Match": '"2"'}
    )
    assert_problem(patched, 409)
    # Staff have no subscription to cancel.
    assert_problem(await flow.http.post("/users/me/cancel-subscription", headers=flow.staff), 403)


async def test_an_erased_user_reads_as_missing_not_as_a_crash(flow: Flow) -> None:
    org = await flow.register()
    admin = await flow.admin(org["organisation_id"], "ola@hansen.example.no")
    kari = await flow.learner(org["organisation_id"], admin, "kari@hansen.example.no")
    assert await flow.runtime.keyring.shred(kari.body["subject_ref"])
    async with flow.runtime.pool.acquire() as conn:
        token = await conn.fetchval(
            "SELECT payload->>'name' FROM events WHERE stream_id = $1", f"user-{kari.user_id}"
        )
    assert await flow.runtime.keyring.decrypt(kari.body["subject_ref"], token) is ERASED
    response = await flow.http.post(f"/users/{kari.user_id}/licences", headers=admin.headers)
    assert_problem(response, 404)
