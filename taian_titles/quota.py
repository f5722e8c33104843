"""M9-4: the 20% digital share of a recommendation list, and a city report over many lists.

各县（市、区）、功能区推荐高技能人才申报岱宗人才工程高技能人才项目，数字领域技能人才占比不低于20%。

One recommending unit's list is checked by the ruleset's M9-4 rules (decision 10):

* Python counts the list and works out exactly what the quota (the ruleset parameter
  ``quota_share``, a :class:`~fractions.Fraction`) asks of it
  (:func:`taian_titles.facts.recommendation_list_facts`): ``required_digital = ceil(p·n)``,
  ``add_digital_needed`` (the fewest x with ``(d+x)/(n+x) >= p``) and ``swap_needed`` (the
  fewest y with ``(d+y)/n >= p``, y <= n-d);
* the engine decides: exactly one quota rule fires (``digital >= required_digital`` or
  ``<``), and its ``set = { meets_quota = ... }`` is the verdict; finding rules report a
  candidate below ``high_skilled_from`` (高级工) and each repeated candidate id.

Candidates are counted as listed: a repeated id counts each time it appears, and is reported
as a finding so that the officer removes the duplicate.  No floating point is used anywhere.
"""

from __future__ import annotations

import datetime as _dt
from fractions import Fraction
from typing import Any, Iterable, Mapping

import attrs

from .api import run_rules
from .decision import Explanation, explain, join_explanations
from .engine import EngineError, Firing
from .errors import InputError, Problem
from .exchange import parse_as_of, recommendation_list_from_dict
from .facts import percent_text, recommendation_list_facts
from .model import RecommendationList
from .ruleset import Literal, Ruleset, default_ruleset

__all__ = ["QuotaResult", "QuotaFinding", "QuotaError", "CityReport", "check_quota", "city_report"]

CODE = "digital_share_quota"
CLAUSE = "M9-4"


@attrs.frozen
class QuotaFinding:
    """A problem with one candidate of the list (not a high-skilled talent, a repeated id)."""

    code: str
    candidate: str
    positions: tuple[int, ...]  # 1-based positions in the list as given
    explanation: Explanation
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "candidate": self.candidate, "positions": list(self.positions),
                "explanation": self.explanation.to_dict(), "rule": self.rule}


@attrs.frozen
class QuotaResult:
    """The M9-4 check of one list; ``to_dict()`` is the exchange format's result object.

    ``meets_quota``, ``add_digital_needed`` and ``swap_needed`` are None only when measure nine
    is not in force on ``as_of`` (decision 1); ``add_digital_needed`` is also None when adding
    candidates cannot meet the quota (a quota of 100%).
    """

    unit: str
    as_of: _dt.date
    total: int
    digital: int
    quota: Fraction
    required_digital: int
    meets_quota: bool | None
    add_digital_needed: int | None
    swap_needed: int | None
    findings: tuple[QuotaFinding, ...]
    explanation: Explanation
    ruleset: Mapping[str, str]
    rules: tuple[str, ...]
    code: str = CODE
    clause: str = CLAUSE

    @property
    def share(self) -> Fraction:
        """Digital candidates / all candidates, exactly."""
        return Fraction(self.digital, self.total)

    @property
    def share_text(self) -> str:
        """The share as a percentage with two decimals, rounded half-up exactly (``20.00%``)."""
        return percent_text(self.share)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "clause": self.clause, "unit": self.unit,
            "total": self.total, "digital": self.digital, "share": self.share_text,
            "meets_quota": self.meets_quota, "add_digital_needed": self.add_digital_needed,
            "swap_needed": self.swap_needed, "findings": [f.to_dict() for f in self.findings],
            "explanation": self.explanation.to_dict(),
            "quota": percent_text(self.quota, trim=True), "required_digital": self.required_digital,
            "rules": list(self.rules), "ruleset": dict(self.ruleset), "as_of": self.as_of.isoformat(),
        }


@attrs.frozen
class QuotaError:
    """A list of a city report that could not be checked; the other lists go on."""

    index: int
    unit: str | None
    error: InputError

    def to_dict(self) -> dict[str, Any]:
        return {"code": CODE, "clause": CLAUSE, "unit": self.unit, "error": self.error.to_dict()}


# --------------------------------------------------------------------------- one list

def check_quota(recommendation_list: RecommendationList | Mapping[str, Any], *,
                as_of: _dt.date | str | None = None, ruleset: Ruleset | None = None) -> QuotaResult:
    """Check one unit's recommendation list (a model object or an exchange dict) against M9-4.

    ``as_of`` overrides the list's own ``as_of``; without either, today is used.  Raises
    :class:`InputError` on bad input, including an empty list (path ``candidates``).
    """
    ruleset = ruleset or default_ruleset()
    rec = recommendation_list
    if not isinstance(rec, RecommendationList):
        rec = recommendation_list_from_dict(rec)
    if not rec.candidates:
        raise InputError([Problem("candidates", "a recommendation list must name at least one candidate")],
                         record_id=rec.unit)
    day = parse_as_of(as_of) or rec.as_of or _dt.date.today()
    quota: Fraction = ruleset.param("quota_share")
    facts = recommendation_list_facts(rec, day, quota)
    summary, requirement = facts[1], facts[2]
    firings = run_rules(ruleset, facts)
    verdicts = [f for f in firings if ruleset.rule(f.rule_id).then.kind == "quota"]
    if len(verdicts) > 1:  # two quota rules that both apply are a fault of the ruleset
        raise EngineError(f"M9-4: rules {', '.join(f.rule_id for f in verdicts)} all decided one list")
    if verdicts:
        verdict = verdicts[0]
        meets = dict(ruleset.rule(verdict.rule_id).then.set)["meets_quota"]
        assert isinstance(meets, Literal)
        meets_quota: bool | None = bool(meets.value)
        add = requirement["add_digital_needed"] if requirement["add_possible"] else None
        swap: int | None = requirement["swap_needed"]
        explanation = _explain(verdict, ruleset)
        rules = (verdict.rule_id,)
    else:  # measure nine not in force on this date (decision 1): say why, decide nothing
        notes = [f for f in firings if ruleset.rule(f.rule_id).then.kind == "note"]
        meets_quota, add, swap = None, None, None
        explanation = join_explanations(_explain(f, ruleset) for f in notes) if notes else Explanation(
            "未作出第九条第四款的检查。", "No M9-4 check was made.")
        rules = tuple(f.rule_id for f in notes)
    return QuotaResult(
        unit=rec.unit, as_of=day, total=summary["total"], digital=summary["digital"], quota=quota,
        required_digital=requirement["required_digital"], meets_quota=meets_quota,
        add_digital_needed=add, swap_needed=swap, findings=_findings(firings, ruleset),
        explanation=explanation, ruleset=ruleset.ref(), rules=rules)


def _explain(firing: Firing, ruleset: Ruleset) -> Explanation:
    return explain(ruleset.rule(firing.rule_id), firing.bindings, ruleset)


def _findings(firings: Iterable[Firing], ruleset: Ruleset) -> tuple[QuotaFinding, ...]:
    out = []
    for firing in firings:
        rule = ruleset.rule(firing.rule_id)
        if rule.then.kind != "finding":
            continue
        candidates = [firing.bindings[alias] for alias in rule.then.basis]
        positions = tuple(sorted(c["position"] for c in candidates))
        out.append(QuotaFinding(code=rule.then.target, candidate=candidates[-1]["candidate_id"],
                                positions=positions, explanation=_explain(firing, ruleset), rule=rule.id))
    # The engine's firing order is not part of the contract: order by place in the list.
    return tuple(sorted(out, key=lambda f: (f.positions[-1], f.positions, f.code)))


# --------------------------------------------------------------------------- city report

@attrs.frozen
class CityReport:
    """The M9-4 check of many units' lists, in input order; a bad list does not stop the others."""

    results: tuple[QuotaResult | QuotaError, ...]
    quota: Fraction

    @property
    def checked(self) -> tuple[QuotaResult, ...]:
        return tuple(r for r in self.results if isinstance(r, QuotaResult))

    @property
    def errors(self) -> tuple[QuotaError, ...]:
        return tuple(r for r in self.results if isinstance(r, QuotaError))

    def summary(self) -> dict[str, int]:
        """How many units were checked, met the quota, did not, could not be checked (errors).

        ``not_evaluated`` counts lists dated before measure nine was in force.
        """
        checked = self.checked
        return {"units": len(self.results),
                "meeting": sum(1 for r in checked if r.meets_quota is True),
                "not_meeting": sum(1 for r in checked if r.meets_quota is False),
                "errors": len(self.errors),
                "not_evaluated": sum(1 for r in checked if r.meets_quota is None)}

    def to_dict(self) -> dict[str, Any]:
        return {"units": [r.to_dict() for r in self.results], "summary": self.summary()}


def _unit_of(record: Any) -> str | None:
    if isinstance(record, RecommendationList):
        return record.unit
    if isinstance(record, Mapping) and isinstance(record.get("unit"), str):
        return record["unit"]
    return None


def city_report(lists: Iterable[RecommendationList | Mapping[str, Any]], *,
                as_of: _dt.date | str | None = None, ruleset: Ruleset | None = None) -> CityReport:
    """Check every unit's list, in input order; a bad list becomes a :class:`QuotaError` entry.

    ``lists`` is an iterable of lists (a city submission: a JSON array of exchange-format lists).
    """
    if isinstance(lists, (Mapping, RecommendationList, str, bytes)):
        raise InputError([Problem("$", "expected an array of recommendation lists (one per unit)")])
    ruleset = ruleset or default_ruleset()
    day = parse_as_of(as_of)
    results: list[QuotaResult | QuotaError] = []
    for index, record in enumerate(lists):
        try:
            results.append(check_quota(record, as_of=day, ruleset=ruleset))
        except InputError as exc:
            results.append(QuotaError(index, exc.record_id or _unit_of(record), exc))
    return CityReport(results=tuple(results), quota=ruleset.param("quota_share"))
