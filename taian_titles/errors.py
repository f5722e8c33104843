"""The errors the library raises on bad input and on a bad ruleset file."""

from __future__ import annotations

from typing import Iterable, NamedTuple

__all__ = ["Problem", "InputError", "RulesetError"]


class Problem(NamedTuple):
    """One problem of a record: where (``certificates[1].level``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class InputError(ValueError):
    """Bad input.  ``problems`` lists every problem of the record at once."""

    def __init__(self, problems: Iterable[Problem], record_id: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.record_id = record_id
        super().__init__("; ".join(str(p) for p in self.problems))

    @property
    def path(self) -> str:
        """Path of the first problem (the exchange format's ``error.path``)."""
        return self.problems[0].path if self.problems else "$"

    def to_dict(self) -> dict[str, object]:
        """The exchange format's ``error`` object, with every problem listed."""
        return {
            "path": self.path,
            "message": str(self),
            "problems": [{"path": p.path, "message": p.message} for p in self.problems],
        }


class RulesetError(ValueError):
    """A ruleset file that cannot be used; every message names the file and the entry."""

    def __init__(self, source: str, problems: Iterable[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))
