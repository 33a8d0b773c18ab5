"""Every integration-event contract of the platform, registered on import (DESIGN §2).

Importing this package imports each contract module listed in ``CONTRACT_MODULES``, so
``registry.resolve`` and ``registry.all_contracts`` see the complete set. A new contract
module is added to that list and to the imports below; a test fails when a module of this
package is missing from it.
"""

from typing import Final

from byggrygg_shared.contracts import consent, correspondence, courses, identity, privacy
from byggrygg_shared.contracts.base import IntegrationEvent, InvalidContract
from byggrygg_shared.contracts.registry import (
    all_contracts,
    decode,
    register,
    register_upcaster,
    resolve,
)

# The modules that define contracts (base and registry are the machinery).
CONTRACT_MODULES: Final = (identity, courses, consent, correspondence, privacy)

__all__ = [
    "CONTRACT_MODULES",
    "IntegrationEvent",
    "InvalidContract",
    "all_contracts",
    "decode",
    "register",
    "register_upcaster",
    "resolve",
]
