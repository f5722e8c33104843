"""The public entry points: evaluate applicants, check recommendation lists, in one policy.

Each call takes ``policy=`` (a :class:`~taian_titles.policy.Policy` from
:func:`~taian_titles.load_policy`), or ``ruleset=`` (one loaded document, or several), or
neither (the shipped policy).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Iterator, Mapping

import attrs

from .decision import CityReport, Decision, QuotaError, QuotaResult
from .errors import InputError, InternalError, Words, json_type, problem
from .exchange import applicant_from_dict, parse_as_of, recommendation_list_from_dict
from .limits import check_model
from .model import Applicant, RecommendationList
from .policy import Policy, policy_of
from .ruleset import Ruleset

__all__ = ["evaluate", "evaluate_many", "evaluate_record", "BatchError", "check_quota", "city_report"]

Rulesets = Ruleset | Iterable[Ruleset] | None


@attrs.frozen
class BatchError:
    """A record of a batch that could not be evaluated; the batch goes on.

    ``error`` is an :class:`InputError` (bad input, ``kind`` ``input``) or an
    :class:`InternalError` (a fault of the library or of an edited ruleset, ``kind`` ``internal``).
    """

    index: int
    id: str | None
    error: InputError | InternalError

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "error": self.error.to_dict()}


def evaluate(applicant: Applicant | Mapping[str, Any], *, as_of: _dt.date | str | None = None,
             policy: Policy | None = None, ruleset: Rulesets = None) -> Decision:
    """Evaluate one applicant (a model object or an exchange dict).

    ``as_of`` overrides the applicant's own ``as_of``; without either, today is used.
    Raises :class:`InputError` on bad input.
    """
    chosen = policy_of(policy, ruleset)
    if not isinstance(applicant, Applicant):
        applicant = applicant_from_dict(applicant)  # the limits are checked as it is read
    else:
        check_model(applicant)  # built in Python: the same limits before the engine sees it
    day = parse_as_of(as_of) or applicant.as_of or _dt.date.today()
    return chosen.evaluate(applicant, day)


def evaluate_many(applicants: Iterable[Applicant | Mapping[str, Any]], *,
                  as_of: _dt.date | str | None = None, policy: Policy | None = None,
                  ruleset: Rulesets = None) -> Iterator[Decision | BatchError]:
    """Evaluate lazily, in input order; a bad record yields a :class:`BatchError` and the rest go on.

    Bad input gives its problems; any other failure of one record (a fault of the library or
    of an edited ruleset) gives an :class:`InternalError` entry, and the batch still goes on.
    """
    chosen = policy_of(policy, ruleset)
    day = parse_as_of(as_of)
    for index, record in enumerate(applicants):
        yield evaluate_record(index, record, as_of=day, policy=chosen)


def evaluate_record(index: int, record: Applicant | Mapping[str, Any] | Any, *,
                    as_of: _dt.date | None, policy: Policy | None = None,
                    ruleset: Rulesets = None) -> Decision | BatchError:
    """One record of a batch: its decision, or its error entry; never raises."""
    try:
        return evaluate(record, as_of=as_of, policy=policy_of(policy, ruleset))
    except InputError as exc:
        return BatchError(index, exc.record_id or _record_id(record), exc)
    except Exception as exc:  # one record's failure never stops the batch
        record_id = _record_id(record)
        return BatchError(index, record_id, InternalError(exc, record_id=record_id))


def _record_id(record: Any) -> str | None:
    if isinstance(record, Applicant):
        return record.id
    if isinstance(record, Mapping) and isinstance(record.get("id"), str):
        return record["id"]
    return None


# --------------------------------------------------------------------------- recommendation lists

def check_quota(recommendation_list: RecommendationList | Mapping[str, Any], *,
                as_of: _dt.date | str | None = None, policy: Policy | None = None,
                ruleset: Rulesets = None) -> QuotaResult:
    """Check one unit's recommendation list (a model object or an exchange dict) against the
    policy's quota (M9-4), by the same path as an applicant: facts, engine, result.

    ``as_of`` overrides the list's own ``as_of``; without either, today is used.  Raises
    :class:`InputError` on bad input, including an empty list (path ``candidates``).
    """
    chosen = policy_of(policy, ruleset)
    rec = recommendation_list
    if not isinstance(rec, RecommendationList):
        rec = recommendation_list_from_dict(rec)
    else:
        check_model(rec)
    if not rec.candidates:
        raise InputError([problem("candidates", "empty_list")],
                         record_id=rec.unit)
    day = parse_as_of(as_of) or rec.as_of or _dt.date.today()
    return chosen.check_list(rec, day)


_CHECKING = Words("checking this list", "检查本名单")


def check_quota_record(index: int, record: Any, *, as_of: _dt.date | None,
                       policy: Policy) -> QuotaResult | QuotaError:
    """One list of a batch: its result, or its error entry; never raises."""
    code, clause = policy.quota_outcome()
    try:
        return check_quota(record, as_of=as_of, policy=policy)
    except InputError as exc:
        return QuotaError(index, exc.record_id or _unit_of(record), exc, code, clause)
    except Exception as exc:  # a fault of one list never stops the others
        unit = _unit_of(record)
        return QuotaError(index, unit, InternalError(exc, doing=_CHECKING, record_id=unit), code, clause)


def _unit_of(record: Any) -> str | None:
    if isinstance(record, RecommendationList):
        return record.unit
    if isinstance(record, Mapping) and isinstance(record.get("unit"), str):
        return record["unit"]
    return None


def city_report(lists: Iterable[RecommendationList | Mapping[str, Any]], *,
                as_of: _dt.date | str | None = None, policy: Policy | None = None,
                ruleset: Rulesets = None) -> CityReport:
    """Check every unit's list, in input order; a bad list becomes a :class:`QuotaError` entry.

    ``lists`` is an iterable of lists (a city submission: a JSON array of exchange-format lists).
    """
    if isinstance(lists, (Mapping, RecommendationList, str, bytes)):
        raise InputError([problem("$", "wrong_type", got=json_type(lists), expected=Words(
            "an array of recommendation lists (one per unit)", "推荐名单数组（每个单位一份）"))])
    chosen = policy_of(policy, ruleset)
    day = parse_as_of(as_of)
    results = tuple(check_quota_record(index, record, as_of=day, policy=chosen)
                    for index, record in enumerate(lists))
    return CityReport(results=results, quota=chosen.param("quota_share"), policy=chosen)
