"""Model → facts: what Python derives before the engine decides.

Python derives only what the engine cannot: dates as ISO strings, merged work periods and
their anniversaries (decision 6, :mod:`taian_titles.worktime`).  Every fact is a fresh
dict of strings, numbers, booleans and lists (no nulls, no floats), keyed by ``t`` (its
type).  Every input item carries ``ref``, the basis name that explanations cite
(``certificate:<number>``, ``work_period:<index>``, ...).

``INPUT_FACTS`` lists each input fact type with its fields; the ruleset loader checks the
conditions of a ruleset file against it.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from . import worktime
from .model import Applicant

__all__ = ["INPUT_FACTS", "UNDATED", "applicant_facts"]

#: Date given to a record that carries none (a skill level or achievement without a date):
#: the earliest day, so that an undated record counts as held on any evaluation date.
UNDATED = "0001-01-01"

INPUT_FACTS: dict[str, frozenset[str]] = {
    "context": frozenset({"as_of"}),
    "certificate": frozenset({"ref", "index", "number", "programme", "kind", "level", "direction",
                              "issued_on", "revoked"}),
    "work_period": frozenset({"ref", "index", "kind", "direction", "start", "end", "ongoing", "employer"}),
    "work_time": frozenset({"refs", "kind", "direction", "covered_days", "first_day", "last_day",
                            "virtual_start", "anniversary", "years", "eligible_on", "accumulated_zh",
                            "accumulated_en", "shortfall_zh", "shortfall_en"}),
    "work_anniversary": frozenset({"kind", "direction", "years", "date"}),
    "skill_level": frozenset({"ref", "index", "level", "rank", "digital", "occupation", "issued_on"}),
    "title": frozenset({"ref", "index", "level", "digital", "speciality"}),
    "achievement": frozenset({"ref", "index", "description", "date"}),
}


def applicant_facts(applicant: Applicant, as_of: _dt.date, required_years: int) -> list[dict[str, Any]]:
    """The input facts of one applicant evaluated on ``as_of``."""
    facts: list[dict[str, Any]] = [{"t": "context", "as_of": as_of.isoformat()}]
    for i, c in enumerate(applicant.certificates):
        facts.append({
            "t": "certificate", "ref": f"certificate:{c.number}", "index": i, "number": c.number,
            "programme": c.programme, "kind": c.kind.code, "level": c.level.code,
            "direction": c.direction, "issued_on": c.issued_on.isoformat(), "revoked": c.revoked,
        })
    groups: dict[tuple[str, str], list[int]] = {}
    for i, w in enumerate(applicant.work_periods):
        facts.append({
            "t": "work_period", "ref": f"work_period:{i}", "index": i, "kind": w.kind.code,
            "direction": w.direction, "start": w.start.isoformat(),
            "end": "" if w.end is None else w.end.isoformat(), "ongoing": w.end is None,
            "employer": w.employer or "",
        })
        groups.setdefault((w.kind.code, w.direction), []).append(i)
    for (kind, direction), indices in sorted(groups.items()):
        fact = _work_time(applicant, indices, as_of, required_years)
        if fact is not None:
            fact.update(kind=kind, direction=direction)
            facts.append(fact)
            # The day the merged work time reaches its Nth anniversary (decision 6): a fact of
            # its own, so that a rule can compare it with the last day worked.
            facts.append({"t": "work_anniversary", "kind": kind, "direction": direction,
                          "years": required_years, "date": fact["anniversary"]})
    for i, s in enumerate(applicant.skill_levels):
        facts.append({
            "t": "skill_level", "ref": f"skill_level:{i}", "index": i, "level": s.level.code,
            "rank": s.level.rank, "digital": s.digital, "occupation": s.occupation or "",
            "issued_on": s.issued_on.isoformat() if s.issued_on else UNDATED,
        })
    for i, t in enumerate(applicant.titles):
        facts.append({"t": "title", "ref": f"title:{i}", "index": i, "level": t.level.code,
                      "digital": t.digital, "speciality": t.speciality or ""})
    for i, a in enumerate(applicant.achievements):
        facts.append({"t": "achievement", "ref": f"achievement:{i}", "index": i,
                      "description": a.description, "date": a.date.isoformat() if a.date else UNDATED})
    return facts


def _work_time(applicant: Applicant, indices: list[int], as_of: _dt.date,
               years: int) -> dict[str, Any] | None:
    """Merged work time of one (kind, direction), as decision 6 counts it; None if no day is covered."""
    periods = [(applicant.work_periods[i].start, applicant.work_periods[i].end) for i in indices]
    spans = worktime.merge(periods, as_of)
    if not spans:
        return None
    counted = [i for i in indices if applicant.work_periods[i].start <= as_of]
    eligible = worktime.eligible_on(periods, as_of, years)
    accumulated = worktime.accumulated(periods, as_of)
    shortfall = worktime.shortfall(periods, as_of, years)
    anniversary = worktime.anniversary(periods, as_of, years)
    return {
        "t": "work_time",
        "refs": [f"work_period:{i}" for i in counted],
        "covered_days": worktime.covered_days(periods, as_of),
        "first_day": spans[0].start.isoformat(),
        "last_day": spans[-1].end.isoformat(),
        "virtual_start": worktime.virtual_start(periods, as_of).isoformat(),  # type: ignore[union-attr]
        "anniversary": anniversary.isoformat() if anniversary else "",
        "years": years,
        "eligible_on": eligible.isoformat() if eligible else "",
        "accumulated_zh": accumulated.zh(),
        "accumulated_en": accumulated.en(),
        "shortfall_zh": shortfall.zh() if shortfall else "",
        "shortfall_en": shortfall.en() if shortfall else "",
    }
