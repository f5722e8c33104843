"""The public entry points: evaluate one applicant or a batch, and load rulesets."""

from __future__ import annotations

import datetime as _dt
import weakref
from typing import Any, Iterable, Iterator, Mapping

import attrs

from .decision import Decision, actions_of, build_decision
from .engine import Engine, Firing
from .errors import InputError, Problem
from .exchange import applicant_from_dict, parse_as_of
from .facts import applicant_facts
from .model import Applicant
from .ruleset import Ruleset, default_ruleset

__all__ = ["evaluate", "evaluate_many", "evaluate_record", "BatchError", "engine_for", "run_rules"]

_ENGINES: "weakref.WeakKeyDictionary[Ruleset, Engine]" = weakref.WeakKeyDictionary()


def engine_for(ruleset: Ruleset) -> Engine:
    """The compiled engine of a ruleset (compiled once per ruleset object)."""
    engine = _ENGINES.get(ruleset)
    if engine is None:
        engine = _ENGINES[ruleset] = Engine(ruleset)
    return engine


@attrs.frozen
class BatchError:
    """A record of a batch that could not be evaluated; the batch goes on."""

    index: int
    id: str | None
    error: InputError

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "error": self.error.to_dict()}


def run_rules(ruleset: Ruleset, facts: list[dict[str, Any]]) -> list[Firing]:
    """Run the ruleset's rules on one set of facts; each firing concludes what its ``then`` says."""
    return engine_for(ruleset).run(facts, actions_of(ruleset))


def evaluate(applicant: Applicant | Mapping[str, Any], *, as_of: _dt.date | str | None = None,
             ruleset: Ruleset | None = None) -> Decision:
    """Evaluate one applicant (a model object or an exchange dict) against a ruleset.

    ``as_of`` overrides the applicant's own ``as_of``; without either, today is used.
    Raises :class:`InputError` on bad input.
    """
    ruleset = ruleset or default_ruleset()
    if not isinstance(applicant, Applicant):
        applicant = applicant_from_dict(applicant)
    day = parse_as_of(as_of) or applicant.as_of or _dt.date.today()
    facts = applicant_facts(applicant, day, ruleset.param("required_years"))
    return build_decision(applicant.id, day, run_rules(ruleset, facts), ruleset)


def evaluate_many(applicants: Iterable[Applicant | Mapping[str, Any]], *,
                  as_of: _dt.date | str | None = None,
                  ruleset: Ruleset | None = None) -> Iterator[Decision | BatchError]:
    """Evaluate lazily, in input order; a bad record yields a :class:`BatchError` and the rest go on.

    Bad input gives its problems; any other failure of one record (a fault of the library or
    of an edited ruleset) gives a ``$: internal error ...`` entry, and the batch still goes on.
    """
    ruleset = ruleset or default_ruleset()
    day = parse_as_of(as_of)
    for index, record in enumerate(applicants):
        yield evaluate_record(index, record, as_of=day, ruleset=ruleset)


def evaluate_record(index: int, record: Applicant | Mapping[str, Any] | Any, *,
                    as_of: _dt.date | None, ruleset: Ruleset) -> Decision | BatchError:
    """One record of a batch: its decision, or its error entry; never raises."""
    try:
        return evaluate(record, as_of=as_of, ruleset=ruleset)
    except InputError as exc:
        return BatchError(index, exc.record_id or _record_id(record), exc)
    except Exception as exc:  # one record's failure never stops the batch
        error = InputError([Problem("$", f"internal error while evaluating this record "
                                         f"({type(exc).__name__}: {exc}); please report it")])
        return BatchError(index, _record_id(record), error)


def _record_id(record: Any) -> str | None:
    if isinstance(record, Applicant):
        return record.id
    if isinstance(record, Mapping) and isinstance(record.get("id"), str):
        return record["id"]
    return None
