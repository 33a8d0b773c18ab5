"""Where the ops dashboard signs in, and the CSP that allows exactly that (docs/services/
reporting.md, "Dashboard").

The page posts e-mail and password to identity's ``POST <base>/auth/token``; ``<base>`` is:

- **behind the gateway** (the request's ``root_path``, from the gateway's well-formed
  ``X-Forwarded-Prefix``, ends in ``/reporting``): identity's sibling route on the same origin,
  ``/api/identity`` for ``/api/reporting``. The CSP stays ``connect-src 'self'``: the browser
  talks to one origin only, and identity needs no CORS.
- **served directly** (reporting's own port, where no identity answers): the configured
  ``BYGGRYGG_REPORTING_DASHBOARD_IDENTITY_URL`` (identity's own address). Its origin is added to
  ``connect-src``, nothing else; identity must allow the page's origin
  (``BYGGRYGG_IDENTITY_CORS_ORIGINS``). Not configured: ``""``, and the page says that sign-in
  needs the gateway instead of posting a password somewhere that cannot take it.

The gateway's layout decides over the setting, so one reporting process serves a working page
both ways (the test platform does).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

_SELF_ROUTE: Final = "/reporting"
_IDENTITY_ROUTE: Final = "/identity"


def sign_in_base(root_path: str, configured: str) -> str:
    """identity's base URL for a page reached under `root_path` ("" when none is known)."""
    if root_path.endswith(_SELF_ROUTE):
        return root_path.removesuffix(_SELF_ROUTE) + _IDENTITY_ROUTE
    return configured


def content_security_policy(identity_base: str) -> str:
    """Scripts, styles, data and connections from this origin only, plus identity's origin
    when the page signs in at another one; no framing, no ``<base>``, and no form submission
    at all: the sign-in form is sent by script, so were the script not to run, the browser
    still never submits the password (into a URL) by itself. Chart.js draws on ``<canvas>``
    and sets styles through the CSSOM (allowed)."""
    connect = "'self'"
    parts = urlsplit(identity_base)
    if parts.scheme and parts.netloc:
        connect += f" {parts.scheme}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
