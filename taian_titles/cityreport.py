"""The city quota report adds up: the city total (合计), the units that sent no list, unit names checked.

A city report (:class:`~taian_titles.decision.CityReport`, from :func:`taian_titles.city_report`
or the ``quota`` command) lists one result per recommendation list.  This module adds what an
officer checks on the whole submission:

* :func:`totals`: the sums of the lists checked (candidates, digital, digital to add or swap in,
  findings), the share of the sums, how many units meet the quota out of the lists checked;
* :func:`missing_units`: the recommending units the policy lists (the ruleset parameter
  ``recommending_units``, clause M9-4: Taian's nine) that sent no list;
* :func:`unit_findings`: a list whose unit is not one of them (with the nearest listed name),
  and a unit that sent two lists.  These are findings of the report, not errors: every list is
  still checked.

A policy without the parameter lists no units: nothing is missing and no name is questioned.
"""

from __future__ import annotations

import difflib
import unicodedata
from fractions import Fraction
from typing import Any, Mapping

import attrs

__all__ = ["REPORT_PARAMETERS", "UnitFinding", "recommending_units", "units_of", "totals", "missing_units",
           "unit_findings", "report_dict"]

#: Ruleset parameters that reports read (not rules): ``ruleset check`` does not call them unused.
REPORT_PARAMETERS = ("recommending_units",)


@attrs.frozen
class UnitFinding:
    """A problem with a list's unit name: not one of the units the policy lists, or a unit that sent two lists."""

    code: str  # unknown_unit | duplicate_unit
    unit: str
    positions: tuple[int, ...]  # 1-based places of the lists in the submission
    explanation: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "unit": self.unit, "positions": list(self.positions),
                "explanation": dict(self.explanation)}


def recommending_units(policy: Any) -> tuple[str, ...]:
    """The units the policy lists as recommending (parameter ``recommending_units``); () when none."""
    has = getattr(policy, "has_param", None)
    if has is not None:
        return tuple(policy.param("recommending_units")) if has("recommending_units") else ()
    entry = getattr(policy, "parameters", {}).get("recommending_units")  # a single ruleset document
    return tuple(entry["value"]) if entry else ()


def units_of(report: Any) -> tuple[str, ...]:
    """The recommending units of the report's policy (the shipped policy's when it names none)."""
    policy = getattr(report, "policy", None)
    if policy is None:
        from .policy import default_policy

        policy = default_policy()
    return recommending_units(policy)


def _key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split())


def totals(report: Any) -> dict[str, Any]:
    """The city total (合计) of the lists checked: candidates, digital, the share of the sums, and the sums of the rest.

    ``meeting``/``checked``: units meeting the quota out of the lists checked; ``meets_quota``:
    whether the city's candidates taken together reach the quota (None when none counted).
    """
    from .facts import percent_text

    checked = report.checked
    total = sum(r.total for r in checked)
    digital = sum(r.digital for r in checked)
    return {"checked": len(checked), "meeting": sum(1 for r in checked if r.meets_quota is True),
            "total": total, "digital": digital,
            "share": percent_text(Fraction(digital, total)) if total else None,
            "meets_quota": (Fraction(digital, total) >= report.quota) if total else None,
            "add_digital_needed": sum(r.add_digital_needed or 0 for r in checked),
            "swap_needed": sum(r.swap_needed or 0 for r in checked),
            "findings": sum(len(r.findings) for r in checked), "errors": len(report.errors)}


def missing_units(report: Any, units: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The listed units that sent no list (a list that could not be checked still counts as sent)."""
    units = units_of(report) if units is None else units
    sent = {_key(r.unit) for r in report.results if r.unit}
    return tuple(u for u in units if _key(u) not in sent)


def unit_findings(report: Any, units: tuple[str, ...] | None = None) -> tuple[UnitFinding, ...]:
    """Lists whose unit is not one of ``units`` (with the nearest name, if one is near), and units that sent two lists."""
    units = units_of(report) if units is None else units
    known = {_key(u): u for u in units}
    places: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for i, r in enumerate(report.results, 1):
        if r.unit:
            places.setdefault(_key(r.unit), []).append(i)
            names.setdefault(_key(r.unit), r.unit)
    out = []
    for key, positions in places.items():
        unit = names[key]
        if known and key not in known:
            near = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
            hint_zh = f"，是否为「{known[near[0]]}」？" if near else "。"
            hint_en = f"; did you mean {known[near[0]]}?" if near else "."
            out.append(UnitFinding("unknown_unit", unit, tuple(positions), {
                "zh": f"推荐单位「{unit}」不在规则集所列的推荐单位（{'、'.join(units)}）之中{hint_zh}",
                "en": f"the unit {unit!r} is not one of the recommending units the ruleset lists "
                      f"({', '.join(units)}){hint_en}"}))
        if len(positions) > 1:
            where = "、".join(str(p) for p in positions)
            out.append(UnitFinding("duplicate_unit", unit, tuple(positions), {
                "zh": f"推荐单位「{unit}」报送了 {len(positions)} 份名单（第 {where} 份），请合并为一份。",
                "en": f"the unit {unit!r} sent {len(positions)} lists (lists {', '.join(map(str, positions))}); "
                      f"merge them into one."}))
    return tuple(sorted(out, key=lambda f: (f.positions[0], f.code)))


def report_dict(report: Any) -> dict[str, Any]:
    """The report's ``to_dict()`` with ``city_total``, ``missing_units`` and ``unit_findings`` beside it."""
    units = units_of(report)
    return {**report.to_dict(), "city_total": totals(report), "missing_units": list(missing_units(report, units)),
            "unit_findings": [f.to_dict() for f in unit_findings(report, units)]}
