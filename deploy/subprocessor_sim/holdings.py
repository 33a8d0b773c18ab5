"""What the simulated sub-processor holds about subjects: fake records, in memory or a JSON file.

A record is a flat JSON object (e.g. name and phone number, what HeiHallo receives) keyed by
the platform's pseudonymous subject ref. With a file, every change is written to a temporary
file and renamed, so a crash never leaves half a file, and a restart keeps what was erased
erased.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

Record = dict[str, Any]


class Holdings:
    """Subject ref -> record; persisted to ``path`` after each change when a path is given."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._records: dict[str, Record] = {}
        if path is not None and path.exists():
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: expected a JSON object of subject ref -> record")
            self._records = {str(key): dict(value) for key, value in loaded.items()}

    def get(self, subject_ref: str) -> Record | None:
        record = self._records.get(subject_ref)
        return dict(record) if record is not None else None

    def put(self, subject_ref: str, record: Record) -> None:
        self._records[subject_ref] = dict(record)
        self._save()

    def erase(self, subject_ref: str) -> Record | None:
        """Remove the record; the removed record (None when nothing was held)."""
        removed = self._records.pop(subject_ref, None)
        if removed is not None:
            self._save()
        return removed

    def rectify(self, subject_ref: str, changes: Record) -> int:
        """Apply the changes to fields the record has; how many fields changed."""
        record = self._records.get(subject_ref)
        if record is None:
            return 0
        changed = [
            name for name, value in changes.items() if name in record and record[name] != value
        ]
        for name in changed:
            record[name] = changes[name]
        if changed:
            self._save()
        return len(changed)

    def __len__(self) -> int:
        return len(self._records)

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(self._path.suffix + ".tmp")
        # The records are (fake) personal data: readable by the owner only.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(self._records, handle, indent=2, sort_keys=True)
        temporary.replace(self._path)
