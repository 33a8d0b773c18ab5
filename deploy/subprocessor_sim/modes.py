"""How the simulator misbehaves: modes, parsed from text, chosen per process or per request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ModeName = Literal["normal", "delay", "fail", "wrong-signature", "fail-first"]
MODE_SYNTAX = "normal | delay=<seconds> | fail | wrong-signature | fail-first=<n>"


class InvalidMode(ValueError):
    """The text names no mode, or its argument is not a non-negative number."""


@dataclass(frozen=True, slots=True)
class Mode:
    """One mode: ``delay`` carries seconds, ``fail-first`` a count of refused deliveries."""

    name: ModeName
    delay_seconds: float = 0.0
    fail_first: int = 0

    @classmethod
    def parse(cls, text: str) -> Mode:
        name, _, argument = text.strip().partition("=")
        if name in ("normal", "fail", "wrong-signature") and not argument:
            return cls(name)  # type: ignore[arg-type] # narrowed by the tuple above
        try:
            if name == "delay" and argument:
                seconds = float(argument)
                if 0 <= seconds <= 3600:
                    return cls("delay", delay_seconds=seconds)
            if name == "fail-first" and argument:
                count = int(argument)
                if count >= 0:
                    return cls("fail-first", fail_first=count)
        except ValueError as error:
            raise InvalidMode(f"{text!r}: expected {MODE_SYNTAX}") from error
        raise InvalidMode(f"{text!r}: expected {MODE_SYNTAX}")

    def __str__(self) -> str:
        if self.name == "delay":
            return f"delay={self.delay_seconds:g}"
        if self.name == "fail-first":
            return f"fail-first={self.fail_first}"
        return self.name


@dataclass(slots=True)
class _Setting:
    mode: Mode
    refused: int = 0  # deliveries refused so far under fail-first


@dataclass(slots=True)
class ModeBook:
    """The process default and overrides for one request id or one subject (the first found
    wins, in that order). Setting a mode restarts its fail-first count."""

    default: _Setting
    by_request: dict[str, _Setting] = field(default_factory=dict)
    by_subject: dict[str, _Setting] = field(default_factory=dict)

    @classmethod
    def starting_with(cls, mode: Mode) -> ModeBook:
        return cls(default=_Setting(mode))

    def set(
        self, mode: Mode, *, request_id: str | None = None, subject_ref: str | None = None
    ) -> None:
        if request_id is not None:
            self.by_request[request_id] = _Setting(mode)
        elif subject_ref is not None:
            self.by_subject[subject_ref] = _Setting(mode)
        else:
            self.default = _Setting(mode)

    def _setting(self, request_id: str, subject_ref: str) -> _Setting:
        return self.by_request.get(request_id) or self.by_subject.get(subject_ref) or self.default

    def mode_for(self, request_id: str, subject_ref: str) -> Mode:
        return self._setting(request_id, subject_ref).mode

    def refuse_delivery(self, request_id: str, subject_ref: str) -> bool:
        """Under fail-first: True (and counted) while fewer than n deliveries were refused."""
        setting = self._setting(request_id, subject_ref)
        if setting.mode.name != "fail-first" or setting.refused >= setting.mode.fail_first:
            return False
        setting.refused += 1
        return True

    def describe(self) -> dict[str, object]:
        return {
            "default": str(self.default.mode),
            "requests": {key: str(value.mode) for key, value in self.by_request.items()},
            "subjects": {key: str(value.mode) for key, value in self.by_subject.items()},
        }
