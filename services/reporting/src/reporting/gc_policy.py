"""The garbage collector's settings of a served reporting process (``settle_heap``).

Why: the read models' subscribers allocate a dozen tracked objects per record (Kafka
records, contracts, rows) and keep none of them, which triggers a young collection every
few hundred records and a full one every few batches. A full collection walks every tracked
object of the process, and after start-up that is about 160,000 of them (modules, pydantic
schemas, FastAPI, FastStream) that live as long as the process: measured on the projector
bench's 100,000 records, full collections took 1.7-3.4 s of a 4 s decoding run, more than
the decoding itself.

``settle_heap`` collects once and then freezes what survived (``gc.freeze``: moved to a
generation no collection walks; those objects are never freed, which they would not be
anyway), and lets more allocations pass before a young collection (one batch's worth
rather than 700), so the collector keeps finding the batches' cycles without walking the
start-up heap each time. Called when the subscribers start (``bootstrap``), after the
runtime is built; calling it again freezes what has survived since.
"""

from __future__ import annotations

import gc
from typing import Final

__all__ = ["YOUNG_THRESHOLD", "settle_heap"]

# Allocations (minus deallocations) before a young collection; CPython's default is 700.
YOUNG_THRESHOLD: Final = 5_000


def settle_heap() -> None:
    """Collect, freeze the survivors and raise the young generation's threshold."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
