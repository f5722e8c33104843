"""The public entry points: evaluate applicants, check recommendation lists, in one policy.

Each call takes ``policy=`` (a :class:`~taian_titles.policy.Policy` from
:func:`~taian_titles.load_policy`), or ``ruleset=`` (one loaded document, or several), or
neither (the shipped policy).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gc
import itertools
from typing import Any, Iterable, Iterator, Mapping, Sequence

import attrs

from .decision import CityReport, Decision, QuotaError, QuotaResult
from .errors import InputError, InternalError, Words, json_type, problem
from .exchange import applicant_from_dict, parse_as_of, recommendation_list_from_dict, record_meta
from .exchange import EXCHANGE_VERSION
from .limits import check_model
from .model import Applicant, RecommendationList
from .policy import Policy, policy_of
from .ruleset import Ruleset

__all__ = ["evaluate", "evaluate_many", "evaluate_record", "evaluate_records", "BatchError", "check_quota",
           "city_report", "today"]

Rulesets = Ruleset | Iterable[Ruleset] | None

#: Asia/Shanghai: UTC+8 all year (China has kept no daylight saving time since 1991), so no time
#: zone database is needed to know what day it is in Taian.
CHINA_TIME = _dt.timezone(_dt.timedelta(hours=8), "Asia/Shanghai")


def today() -> _dt.date:
    """Today in Asia/Shanghai: the evaluation date of a record that names none, whatever the
    time zone of the machine (a server running on UTC would otherwise date evaluations made
    between midnight and 08:00 in Taian a day early)."""
    return _dt.datetime.now(CHINA_TIME).date()


@attrs.frozen
class BatchError:
    """A record of a batch that could not be evaluated; the batch goes on.

    ``error`` is an :class:`InputError` (bad input, ``kind`` ``input``) or an
    :class:`InternalError` (a fault of the library or of an edited ruleset, ``kind`` ``internal``).
    """

    index: int
    id: str | None
    error: InputError | InternalError
    meta: Mapping[str, Any] | None = None  # the record's own fields, when it had them

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "error": self.error.to_dict(),
                **({"meta": dict(self.meta)} if self.meta is not None else {}),
                "exchange_version": EXCHANGE_VERSION}


def applicant_of(record: Applicant | Mapping[str, Any], *, lenient: bool = False) -> Applicant:
    """The model applicant of a model object or an exchange dict, within the limits: a dict is
    checked as it is read, an object built in Python before the engine sees it.  Raises
    :class:`InputError`."""
    if isinstance(record, Applicant):
        check_model(record)
        return record
    return applicant_from_dict(record, lenient=lenient)


def recommendation_list_of(record: RecommendationList | Mapping[str, Any], *,
                           lenient: bool = False) -> RecommendationList:
    """:func:`applicant_of` for a recommendation list, which must name a candidate (an empty list
    is bad input at ``candidates``)."""
    if isinstance(record, RecommendationList):
        check_model(record)
        rec = record
    else:
        rec = recommendation_list_from_dict(record, lenient=lenient)
    if not rec.candidates:
        raise InputError([problem("candidates", "empty_list")], record_id=rec.unit)
    return rec


def evaluate(applicant: Applicant | Mapping[str, Any], *, as_of: _dt.date | str | None = None,
             policy: Policy | None = None, ruleset: Rulesets = None, lenient: bool = False) -> Decision:
    """Evaluate one applicant (a model object or an exchange dict).

    ``as_of`` overrides the applicant's own ``as_of``; without either, today in Asia/Shanghai
    is used.  The applicant's ``meta`` comes back in the decision.  ``lenient``: unknown
    top-level fields are kept in ``meta`` instead of being bad input.  Raises
    :class:`InputError` on bad input.
    """
    chosen = policy_of(policy, ruleset)
    applicant = applicant_of(applicant, lenient=lenient)
    day = parse_as_of(as_of) or applicant.as_of or today()
    decision = chosen.evaluate(applicant, day)
    if applicant.meta is not None:
        decision = attrs.evolve(decision, meta=applicant.meta)
    return decision


def evaluate_many(applicants: Iterable[Applicant | Mapping[str, Any]], *,
                  as_of: _dt.date | str | None = None, policy: Policy | None = None,
                  ruleset: Rulesets = None, lenient: bool = False) -> Iterator[Decision | BatchError]:
    """Evaluate lazily, in input order; a bad record yields a :class:`BatchError` and the rest go on.

    Records are read :data:`BATCH` at a time and their engine runs share sessions (the answers
    are those of :func:`evaluate` one by one), so the first answer comes once that many records
    were read or the input ended.

    Bad input gives its problems; any other failure of one record (a fault of the library or
    of an edited ruleset) gives an :class:`InternalError` entry, and the batch still goes on.
    """
    chosen = policy_of(policy, ruleset)
    day = parse_as_of(as_of)
    numbered = enumerate(applicants)
    while True:
        part = list(itertools.islice(numbered, BATCH))
        if not part:
            return
        yield from evaluate_records(part, as_of=day, policy=chosen, lenient=lenient)


#: Records ``evaluate_many`` reads ahead and evaluates together (their engine runs share
#: sessions: :meth:`Policy.run_engine`).
BATCH = 64


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a batch, then as it was.

    A batch's engine sessions hold a few thousand dicts at once for a few milliseconds (facts,
    firings, conclusions), which made the collector run about a hundred times per 1,000
    applicants and cost about 9% of ``evaluate_many``'s time (the plain-Python reference,
    which holds little, none).  Nothing the library makes in a batch is cyclic garbage that
    must go at once; what the batch frees goes as usual, and the collector runs again after
    it.  It is paused only if it was running, and started again only by the call that paused
    it."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def evaluate_records(items: Sequence[tuple[int, Any]], *, as_of: _dt.date | None, policy: Policy,
                     lenient: bool = False) -> list[Decision | BatchError]:
    """:func:`evaluate_record` of each ``(index, record)``, the same answers, with the engine run
    for them in shared sessions (:meth:`Policy.run_engine`) and Python's cyclic garbage
    collector paused meanwhile (:func:`collector_paused`); never raises.

    The records are evaluated :data:`BATCH` at a time: a batch holds its records' facts, firings
    and decisions at once, and 256 at a time cost about 6% more an applicant than 64 (their
    memory outgrows the processor's caches)."""
    out: list[Decision | BatchError] = []
    for start in range(0, len(items), BATCH):
        with collector_paused():
            out.extend(_evaluate_records(items[start:start + BATCH], as_of=as_of, policy=policy, lenient=lenient))
    return out


def _evaluate_records(items: Sequence[tuple[int, Any]], *, as_of: _dt.date | None, policy: Policy,
                      lenient: bool = False) -> list[Decision | BatchError]:
    """:func:`evaluate_record` of each ``(index, record)``, the same answers, with the engine run
    for all of them in shared sessions (:meth:`Policy.run_engine`); never raises.

    Bad input and faults are each record's own: structuring and facts are made record by
    record (as :func:`evaluate` makes them), a failed shared session is run again applicant by
    applicant, and each decision is built on its own."""
    from . import policy as _policy_module

    out: list[Decision | BatchError | None] = [None] * len(items)
    ready: list[tuple[int, int, Any, Applicant, Applicant, _dt.date]] = []
    fact_lists: list[list[dict[str, Any]]] = []
    for slot, (index, record) in enumerate(items):
        try:
            applicant = applicant_of(record, lenient=lenient)
            day = as_of or applicant.as_of or today()
            prepared = policy.prepare(applicant)
            facts = _policy_module.applicant_facts(prepared, day, policy.counts)
        except Exception as exc:
            out[slot] = _batch_error(index, record, exc, lenient)
            continue
        ready.append((slot, index, record, applicant, prepared, day))
        fact_lists.append(facts)
    for (slot, index, record, applicant, prepared, day), firings in zip(ready, policy.run_engine(fact_lists)):
        try:
            if isinstance(firings, BaseException):
                raise firings
            decision = _policy_module.build_decision(prepared.id, day, firings, policy, prepared.name)
            if applicant.meta is not None:
                decision = attrs.evolve(decision, meta=applicant.meta)
            out[slot] = decision
        except Exception as exc:
            out[slot] = _batch_error(index, record, exc, lenient)
    return out  # type: ignore[return-value]


def _batch_error(index: int, record: Any, exc: Exception, lenient: bool) -> BatchError:
    """What :func:`evaluate_record` answers when evaluating ``record`` raised ``exc``."""
    if isinstance(exc, InputError):
        return BatchError(index, exc.record_id or _record_id(record), exc, _meta_of(record, Applicant, lenient))
    record_id = _record_id(record)
    return BatchError(index, record_id, InternalError(exc, record_id=record_id), _meta_of(record, Applicant, lenient))


def evaluate_record(index: int, record: Applicant | Mapping[str, Any] | Any, *,
                    as_of: _dt.date | None, policy: Policy | None = None,
                    ruleset: Rulesets = None, lenient: bool = False) -> Decision | BatchError:
    """One record of a batch: its decision, or its error entry (with the record's ``meta``);
    never raises."""
    try:
        return evaluate(record, as_of=as_of, policy=policy_of(policy, ruleset), lenient=lenient)
    except InputError as exc:
        return BatchError(index, exc.record_id or _record_id(record), exc, _meta_of(record, Applicant, lenient))
    except Exception as exc:  # one record's failure never stops the batch
        record_id = _record_id(record)
        return BatchError(index, record_id, InternalError(exc, record_id=record_id),
                          _meta_of(record, Applicant, lenient))


def _meta_of(record: Any, cls: type, lenient: bool) -> dict[str, Any] | None:
    if isinstance(record, (Applicant, RecommendationList)):
        return record.meta
    try:
        return record_meta(record, cls, lenient)
    except Exception:  # the entry is written without it rather than not at all
        return None


def _record_id(record: Any) -> str | None:
    if isinstance(record, Applicant):
        return record.id
    if isinstance(record, Mapping) and isinstance(record.get("id"), str):
        return record["id"]
    return None


# --------------------------------------------------------------------------- recommendation lists

def check_quota(recommendation_list: RecommendationList | Mapping[str, Any], *,
                as_of: _dt.date | str | None = None, policy: Policy | None = None,
                ruleset: Rulesets = None, lenient: bool = False) -> QuotaResult:
    """Check one unit's recommendation list (a model object or an exchange dict) against the
    policy's quota (M9-4), by the same path as an applicant: facts, engine, result.

    ``as_of`` overrides the list's own ``as_of``; without either, today in Asia/Shanghai is
    used.  The list's ``meta`` comes back in the result; ``lenient`` as for :func:`evaluate`.
    Raises :class:`InputError` on bad input, including an empty list (path ``candidates``).
    """
    chosen = policy_of(policy, ruleset)
    rec = recommendation_list_of(recommendation_list, lenient=lenient)
    day = parse_as_of(as_of) or rec.as_of or today()
    result = chosen.check_list(rec, day)
    if rec.meta is not None:
        result = attrs.evolve(result, meta=rec.meta)
    return result


_CHECKING = Words("checking this list", "检查本名单")


def check_quota_record(index: int, record: Any, *, as_of: _dt.date | None,
                       policy: Policy, lenient: bool = False) -> QuotaResult | QuotaError:
    """One list of a batch: its result, or its error entry (with the list's ``meta``); never raises."""
    code, clause = policy.quota_outcome()
    try:
        return check_quota(record, as_of=as_of, policy=policy, lenient=lenient)
    except InputError as exc:
        return QuotaError(index, exc.record_id or _unit_of(record), exc, code, clause,
                          _meta_of(record, RecommendationList, lenient))
    except Exception as exc:  # a fault of one list never stops the others
        unit = _unit_of(record)
        return QuotaError(index, unit, InternalError(exc, doing=_CHECKING, record_id=unit), code, clause,
                          _meta_of(record, RecommendationList, lenient))


def _unit_of(record: Any) -> str | None:
    if isinstance(record, RecommendationList):
        return record.unit
    if isinstance(record, Mapping) and isinstance(record.get("unit"), str):
        return record["unit"]
    return None


def city_report(lists: Iterable[RecommendationList | Mapping[str, Any]], *,
                as_of: _dt.date | str | None = None, policy: Policy | None = None,
                ruleset: Rulesets = None, lenient: bool = False) -> CityReport:
    """Check every unit's list, in input order; a bad list becomes a :class:`QuotaError` entry.

    ``lists`` is an iterable of lists (a city submission: a JSON array of exchange-format lists).
    """
    if isinstance(lists, (Mapping, RecommendationList, str, bytes)):
        raise InputError([problem("$", "wrong_type", got=json_type(lists), expected=Words(
            "an array of recommendation lists (one per unit)", "推荐名单数组（每个单位一份）"))])
    chosen = policy_of(policy, ruleset)
    day = parse_as_of(as_of)
    results = tuple(check_quota_record(index, record, as_of=day, policy=chosen, lenient=lenient)
                    for index, record in enumerate(lists))
    return CityReport(results=results, quota=chosen.param("quota_share"), policy=chosen)
