"""Decides whether a contract's new JSON Schema still reads every payload the old one accepted.

Events are never rewritten (DESIGN §2), so a contract version must keep accepting every
payload ever stored or published under it: this is *backward* compatibility, checked as a
pure function of two JSON Schemas (as pydantic generates them).

Incompatible (a new ``event_version`` is needed):
  a field removed; a field's type changed or narrowed (``str | None`` -> ``str``); a new
  required field; an optional field made required; an enum value removed (or an enum
  introduced); a string format added or changed; a bound tightened (``maxLength``,
  ``minimum``, ``pattern`` ...); extra properties forbidden where they were allowed.
Compatible:
  a new optional field; a required field made optional; a type widened (``int`` ->
  ``int | None``, ``integer`` -> ``number``); an enum value added; titles, descriptions,
  defaults and examples changed.

Unions are compared branch by branch: every branch of the old schema must be read by some
branch of the new one. ``$ref`` into ``$defs`` is followed on both sides.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

_ANY: Final = "any"
# Bounds where a larger new value is stricter, and where a smaller one is.
_LOWER_BOUNDS: Final = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
_UPPER_BOUNDS: Final = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")

Schema = Mapping[str, Any]


@dataclass(frozen=True)
class Incompatibility:
    """One reason why old payloads may fail under the new schema."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.reason}"


class _Resolver:
    """Follows local ``$ref``s (``#/$defs/Name``) within one root schema."""

    def __init__(self, root: Schema) -> None:
        self._root = root

    def resolve(self, schema: Schema) -> tuple[Schema, str | None]:
        ref = schema.get("$ref")
        seen: set[str] = set()
        first_ref: str | None = ref if isinstance(ref, str) else None
        while isinstance(ref, str):
            if ref in seen or not ref.startswith("#/"):
                break
            seen.add(ref)
            target: Any = self._root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            # Sibling keywords next to $ref (e.g. a description) do not change acceptance.
            schema = target
            ref = schema.get("$ref")
        return schema, first_ref


def _branches(schema: Schema, resolver: _Resolver) -> Iterator[Schema]:
    """The non-union alternatives of `schema`, with refs resolved and type lists split."""
    schema, _ = resolver.resolve(schema)
    for union in ("anyOf", "oneOf"):
        if union in schema:
            for option in schema[union]:
                yield from _branches(option, resolver)
            return
    if "allOf" in schema and len(schema["allOf"]) == 1:
        yield from _branches(schema["allOf"][0], resolver)
        return
    declared = schema.get("type")
    if isinstance(declared, list):
        for one in declared:
            yield {**schema, "type": one}
        return
    yield schema


def _type_of(branch: Schema) -> str:
    declared = branch.get("type")
    if isinstance(declared, str):
        return declared
    values = branch["enum"] if "enum" in branch else [branch["const"]] if "const" in branch else []
    if values:
        return _json_type(values[0])
    if "properties" in branch:
        return "object"
    if "items" in branch or "prefixItems" in branch:
        return "array"
    return _ANY


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_covers(new: str, old: str) -> bool:
    return new in (old, _ANY) or (new == "number" and old == "integer")


def _allowed_values(branch: Schema) -> list[Any] | None:
    if "enum" in branch:
        return list(branch["enum"])
    if "const" in branch:
        return [branch["const"]]
    return None


class _Comparison:
    def __init__(self, old_root: Schema, new_root: Schema) -> None:
        self._old = _Resolver(old_root)
        self._new = _Resolver(new_root)
        self._in_progress: set[tuple[str, str]] = set()

    def schema(self, old: Schema, new: Schema, path: str) -> list[Incompatibility]:
        _, old_ref = self._old.resolve(old)
        _, new_ref = self._new.resolve(new)
        if old_ref is not None and new_ref is not None:
            # Recursive models: a pair already under comparison is assumed compatible here;
            # its real differences are reported where the comparison started.
            key = (old_ref, new_ref)
            if key in self._in_progress:
                return []
            self._in_progress.add(key)
            try:
                return self._union(old, new, path)
            finally:
                self._in_progress.discard(key)
        return self._union(old, new, path)

    def _union(self, old: Schema, new: Schema, path: str) -> list[Incompatibility]:
        new_branches = list(_branches(new, self._new))
        issues: list[Incompatibility] = []
        for old_branch in _branches(old, self._old):
            old_type = _type_of(old_branch)
            candidates = [b for b in new_branches if _type_covers(_type_of(b), old_type)]
            if not candidates:
                new_types = sorted({_type_of(b) for b in new_branches})
                reason = (
                    f"type changed: {old_type} no longer accepted (now {' | '.join(new_types)})"
                )
                issues.append(Incompatibility(path, reason))
                continue
            attempts = [self._branch(old_branch, b, path) for b in candidates]
            if all(attempts):  # no candidate reads this old branch
                closest: list[Incompatibility] = min(attempts, key=len)
                issues.extend(closest)
        return issues

    def _branch(self, old: Schema, new: Schema, path: str) -> list[Incompatibility]:
        issues = list(self._values(old, new, path))
        issues.extend(self._constraints(old, new, path))
        kind = _type_of(old)
        if kind == "object" or (kind == _ANY and "properties" in new):
            issues.extend(self._object(old, new, path))
        elif kind == "array":
            old_items, new_items = old.get("items"), new.get("items")
            if isinstance(old_items, Mapping) and isinstance(new_items, Mapping):
                issues.extend(self.schema(old_items, new_items, f"{path}[]"))
            elif new_items is not None and old_items is None:
                issues.append(Incompatibility(path, "array items restricted"))
        return issues

    @staticmethod
    def _values(old: Schema, new: Schema, path: str) -> Iterator[Incompatibility]:
        old_values, new_values = _allowed_values(old), _allowed_values(new)
        if new_values is None:
            return
        if old_values is None:
            yield Incompatibility(path, f"values restricted to {new_values!r}")
            return
        removed = [value for value in old_values if value not in new_values]
        if removed:
            yield Incompatibility(path, f"enum values removed: {removed!r}")

    @staticmethod
    def _constraints(old: Schema, new: Schema, path: str) -> Iterator[Incompatibility]:
        if "format" in new and new.get("format") != old.get("format"):
            yield Incompatibility(
                path, f"format changed from {old.get('format')!r} to {new['format']!r}"
            )
        if "pattern" in new and new.get("pattern") != old.get("pattern"):
            yield Incompatibility(path, "pattern added or changed")
        for bound in _LOWER_BOUNDS:
            if bound in new and (bound not in old or new[bound] > old[bound]):
                yield Incompatibility(path, f"{bound} tightened to {new[bound]!r}")
        for bound in _UPPER_BOUNDS:
            if bound in new and (bound not in old or new[bound] < old[bound]):
                yield Incompatibility(path, f"{bound} tightened to {new[bound]!r}")

    def _object(self, old: Schema, new: Schema, path: str) -> Iterator[Incompatibility]:
        old_properties: Mapping[str, Schema] = old.get("properties", {})
        new_properties: Mapping[str, Schema] = new.get("properties", {})
        old_required = set(old.get("required", ()))
        new_required = set(new.get("required", ()))
        prefix = f"{path}." if path else ""
        for name, old_property in old_properties.items():
            if name not in new_properties:
                yield Incompatibility(f"{prefix}{name}", "field removed")
                continue
            yield from self.schema(old_property, new_properties[name], f"{prefix}{name}")
        for name in sorted(new_required):
            if name not in old_properties:
                yield Incompatibility(f"{prefix}{name}", "new required field")
            elif name not in old_required:
                yield Incompatibility(f"{prefix}{name}", "optional field became required")
        closed_now = new.get("additionalProperties") is False
        if closed_now and old.get("additionalProperties", True) is not False:
            yield Incompatibility(path, "additional properties no longer allowed")


def incompatibilities(old: Schema, new: Schema) -> list[Incompatibility]:
    """Every reason a payload valid under `old` may be rejected under `new` (empty: compatible)."""
    return _Comparison(old, new).schema(old, new, "")


def is_compatible(old: Schema, new: Schema) -> bool:
    return not incompatibilities(old, new)
