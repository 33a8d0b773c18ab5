"""The consent wording the platform shows, and how evidence names it (R8, R11, R20).

The wording is fixed text that names the policy version it was shown under, so a wording and
its SHA-256 change whenever a new policy version takes effect. A client shows the text it got
from the server and sends back the hash; a stale or unknown hash is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from consent.domain.errors import ConsentError
from consent.domain.policy import text_sha256

NEWSLETTER_WORDING: Final = (
    "Ja takk, jeg vil motta nyhetsbrevet fra ByggRygg (Life Improvement AS) på e-post. "
    "Jeg samtykker i at navnet mitt, e-postadressen min og rollen min lagres og brukes til "
    "dette, som beskrevet i personvernerklæringen, versjon {policy_version}. Jeg kan trekke "
    "samtykket tilbake når som helst, med lenken i hver e-post."
)

COOKIE_BANNER_WORDING: Final = (
    "ByggRygg bruker nødvendige informasjonskapsler for innlogging og navigasjon; de krever "
    "ikke samtykke og slettes når økten avsluttes. Med ditt samtykke bruker vi også "
    "informasjonskapsler til anonym statistikk over hvordan nettstedet brukes. Du kan endre "
    "eller trekke tilbake valget ditt når som helst. Se personvernerklæringen, versjon "
    "{policy_version}."
)


class StaleWording(ConsentError):
    """The wording hash sent is not the wording the platform shows now."""


@dataclass(frozen=True)
class Wording:
    """A consent text as shown, the policy version it names, and its SHA-256."""

    text: str
    sha256: str
    policy_version: str

    def require(self, shown_sha256: str) -> None:
        """Raise ``StaleWording`` unless ``shown_sha256`` is this wording's hash."""
        if shown_sha256 != self.sha256:
            raise StaleWording(shown_sha256)


def _wording(template: str, policy_version: str) -> Wording:
    text = template.format(policy_version=policy_version)
    return Wording(text=text, sha256=text_sha256(text), policy_version=policy_version)


def newsletter_wording(policy_version: str) -> Wording:
    """The newsletter consent text under ``policy_version`` (R8)."""
    return _wording(NEWSLETTER_WORDING, policy_version)


def cookie_banner_wording(policy_version: str) -> Wording:
    """The cookie banner's text under ``policy_version`` (R11)."""
    return _wording(COOKIE_BANNER_WORDING, policy_version)
