"""Model → facts: what Python derives before the engine decides.

Python derives only what the engine cannot: dates as ISO strings, and the helper facts a
ruleset asks it to count (``[counts.<fact>]``): merged work time in full years, as decision 6
counts it (:mod:`taian_titles.worktime`), and for a recommendation list the exact number of
digital candidates its size needs.  Every fact is a fresh dict of strings, numbers, booleans
and lists (no nulls, no floats: a value that does not exist is left out), keyed by ``t`` (its
type).  Every input item carries ``ref``, the basis name that explanations cite
(``certificate:<number>``, ``work_period:<index>``, ...).

``INPUT_FACTS`` lists each input fact type with its fields, ``COUNTS`` the helper facts Python
can count and the parameters each needs, ``PARAMETERS_READ`` the other parameters Python reads;
the ruleset loader checks a policy against them.
"""

from __future__ import annotations

import datetime as _dt
import math
from fractions import Fraction
from typing import Any, Mapping

from . import worktime
from .model import Applicant, RecommendationList

__all__ = ["INPUT_FACTS", "COUNTS", "PARAMETERS_READ", "UNDATED", "applicant_facts",
           "recommendation_list_facts", "required_digital", "add_digital_needed",
           "swap_digital_needed", "percent_text"]

#: Date given to a record that carries none (a skill level or achievement without a date):
#: the earliest day, so that an undated record counts as held on any evaluation date.
UNDATED = "0001-01-01"

INPUT_FACTS: dict[str, frozenset[str]] = {
    "context": frozenset({"as_of"}),
    "certificate": frozenset({"ref", "index", "number", "programme", "kind", "level", "direction",
                              "issued_on", "revoked"}),
    "work_period": frozenset({"ref", "index", "position", "kind", "direction", "start", "end", "ongoing", "employer"}),
    # ``dated``: the record gives the day the level was obtained (an undated level is held on any
    # date, with ``issued_on`` UNDATED, but nothing can be counted from its date).
    "skill_level": frozenset({"ref", "index", "position", "level", "rank", "digital", "occupation", "issued_on",
                              "dated"}),
    "title": frozenset({"ref", "index", "position", "level", "rank", "digital", "speciality"}),
    "achievement": frozenset({"ref", "index", "position", "description", "date"}),
    # What the record says of conditions it cannot prove (the crossover's annual appraisals and
    # continuing education): ``*_passed``/``*_done``, ``*_not_passed``/``*_not_done`` or
    # ``*_unknown``.
    "basic_conditions": frozenset({"appraisals", "education"}),
    # M9-4 (decision 10): one recommendation list.  A candidate whose id an earlier entry has
    # is a ``repeat`` of the entry at ``first_position``, ``agrees`` when both say the same.
    "candidate": frozenset({"ref", "index", "position", "candidate_id", "name", "skill_level", "rank",
                            "digital", "repeat", "first_position", "agrees"}),
    # Python's count of the list: ``listed`` entries as submitted; ``total`` the candidates who
    # count (each distinct id once, its first entry, high-skilled on the evaluation date);
    # ``digital`` the digital ones among them.
    "list_summary": frozenset({"ref", "unit", "as_of", "listed", "total", "digital", "non_digital",
                               "share_text"}),
}

#: Helper facts Python counts when a ruleset asks for them (``[counts.<fact>]``): their fields,
#: how they are grouped and the parameters (by role) that the ruleset names for them.
COUNTS: dict[str, dict[str, Any]] = {
    # Decision 6: the work of one kind and direction, merged, in full years; ``years`` is the
    # number of full years the rules ask of it, against which ``eligible_on`` (absent when it
    # is met or time alone will not meet it) and the shortfall (absent when met) are worked out.
    "work_time": {
        "fields": frozenset({"refs", "kind", "direction", "covered_days", "first_day", "counted_from", "last_day",
                             "full_years", "years", "eligible_on", "accumulated_zh", "accumulated_en",
                             "shortfall_zh", "shortfall_en", "shortfall_days", "shortfall_days_en"}),
        "group_by": ("kind", "direction"),
        "parameters": {"years": "years"},
    },
    # The crossover (鲁人社发〔2020〕16号): for each skill level held, the skilled work done on or after
    # the day it was obtained, merged and counted as decision 6 counts, against the years the
    # level's route asks (``years`` names a parameter per skill level).
    "skilled_work_time": {
        "fields": frozenset({"skill_ref", "level", "since", "refs", "covered_days", "first_day", "counted_from",
                             "last_day",
                             "full_years", "years", "eligible_on", "accumulated_zh", "accumulated_en",
                             "shortfall_zh", "shortfall_en", "shortfall_days", "shortfall_days_en"}),
        "group_by": (),
        "parameters": {"years": "years_by_level"},
    },
    # Decision 10: what the quota asks of a list of this size, exactly: ``required_digital =
    # ceil(share × total)``, the fewest digital candidates to add (absent when adding cannot
    # meet the quota) or to swap in.
    "quota_requirement": {
        "fields": frozenset({"unit", "total", "quota", "quota_text", "required_digital",
                             "add_digital_needed", "swap_needed"}),
        "group_by": (),
        "parameters": {"share": "share"},
    },
}

#: Parameters Python reads, by the fact type whose facts need them: certificate directions are
#: checked against the programme's directions; a list counts its high-skilled candidates.
PARAMETERS_READ: dict[str, dict[str, str]] = {
    "certificate": {"digital_directions": "list"},
    "list_summary": {"high_skilled_from": "skill_level"},
}


def applicant_facts(applicant: Applicant, as_of: _dt.date, counts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The input facts of one applicant evaluated on ``as_of``.

    ``counts`` maps each helper fact the policy asks for to the values of its parameters
    (``{"work_time": {"years": 3}}``).
    """
    facts: list[dict[str, Any]] = [{"t": "context", "as_of": as_of.isoformat()}]
    for i, c in enumerate(applicant.certificates):
        facts.append({
            "t": "certificate", "ref": f"certificate:{c.number}", "index": i, "number": c.number,
            "programme": c.programme, "kind": c.kind.code, "level": c.level.code,
            "direction": c.direction, "issued_on": c.issued_on.isoformat(), "revoked": c.revoked,
        })
    groups: dict[tuple[str, str], list[int]] = {}
    for i, w in enumerate(applicant.work_periods):
        fact = {
            "t": "work_period", "ref": f"work_period:{i}", "index": i, "position": i + 1, "kind": w.kind.code,
            "direction": w.direction, "start": w.start.isoformat(), "ongoing": w.end is None,
            "employer": w.employer or "",
        }
        if w.end is not None:
            fact["end"] = w.end.isoformat()
        facts.append(fact)
        groups.setdefault((w.kind.code, w.direction), []).append(i)
    work_time = counts.get("work_time")
    if work_time is not None:
        for (kind, direction), indices in sorted(groups.items()):
            fact = _work_time(applicant, indices, as_of, work_time["years"])
            fact.update(kind=kind, direction=direction)
            facts.append(fact)
    for i, s in enumerate(applicant.skill_levels):
        facts.append({
            "t": "skill_level", "ref": f"skill_level:{i}", "index": i, "position": i + 1, "level": s.level.code,
            "rank": s.level.rank, "digital": s.digital, "occupation": s.occupation or "",
            "issued_on": s.issued_on.isoformat() if s.issued_on else UNDATED, "dated": s.issued_on is not None,
        })
    skilled_time = counts.get("skilled_work_time")
    if skilled_time is not None:
        skilled = [w for w in applicant.work_periods if w.kind.code == "skilled"]
        refs = {id(w): f"work_period:{i}" for i, w in enumerate(applicant.work_periods)}
        for i, s in enumerate(applicant.skill_levels):
            years = skilled_time["years"].get(s.level.code)
            # Work is counted from the day the level was obtained: an undated level has no such
            # day, so nothing is counted for it (the rules say the date is missing).
            if years is None or s.issued_on is None or s.issued_on > as_of:
                continue
            since = s.issued_on
            fact = _skilled_work_time(skilled, refs, since, as_of, years)
            fact.update(skill_ref=f"skill_level:{i}", level=s.level.code, since=since.isoformat())
            facts.append(fact)
    facts.append({"t": "basic_conditions",
                  "appraisals": _state("appraisals", applicant.appraisals_passed, "passed", "not_passed"),
                  "education": _state("education", applicant.continuing_education_done, "done", "not_done")})
    for i, t in enumerate(applicant.titles):
        facts.append({"t": "title", "ref": f"title:{i}", "index": i, "position": i + 1, "level": t.level.code,
                      "rank": t.level.grade, "digital": t.digital, "speciality": t.speciality or ""})
    for i, a in enumerate(applicant.achievements):
        facts.append({"t": "achievement", "ref": f"achievement:{i}", "index": i, "position": i + 1,
                      "description": a.description, "date": a.date.isoformat() if a.date else UNDATED})
    return facts


def _state(what: str, value: bool | None, yes: str, no: str) -> str:
    return f"{what}_{'unknown' if value is None else yes if value else no}"


def _skilled_work_time(periods: list[Any], refs: Mapping[int, str], since: _dt.date, as_of: _dt.date,
                       years: int) -> dict[str, Any]:
    """Skilled work on or after ``since`` (the day a skill level was obtained), as decision 6 counts."""
    kept = [(max(w.start, since), w.end, refs[id(w)]) for w in periods if w.end is None or w.end >= since]
    fact = _time_fact([(start, end) for start, end, _ in kept], [ref for _, _, ref in kept], as_of, years)
    fact["t"] = "skilled_work_time"
    return fact


def _time_fact(periods: list[tuple[_dt.date, _dt.date | None]], refs: list[str], as_of: _dt.date,
               years: int) -> dict[str, Any]:
    """Work time of some periods on ``as_of`` against ``years`` (decision 6), as fact fields."""
    summary = worktime.summarise(periods, as_of, years) if periods else None
    if summary is None:
        eligible = worktime.eligible_on(periods, as_of, years) if periods else None
        nothing, missing = worktime.Duration(0, 0, 0), worktime.Duration(years, 0, 0)
        fact: dict[str, Any] = {
            "refs": refs, "covered_days": 0, "full_years": 0, "years": years,
            "accumulated_zh": nothing.zh(), "accumulated_en": nothing.en(),
            "shortfall_zh": missing.zh(), "shortfall_en": missing.en()}
        if periods:
            first = min(start for start, _ in periods)
            fact["first_day"] = first.isoformat()
            _days(fact, (worktime.add_years(first, years) - first).days)
        if eligible:
            fact["eligible_on"] = eligible.isoformat()
        return fact
    fact = {
        "refs": [ref for (start, _), ref in zip(periods, refs) if start < as_of],
        "covered_days": summary.covered_days, "first_day": summary.spans[0].start.isoformat(),
        "counted_from": summary.virtual_start.isoformat(),
        "last_day": summary.last_day.isoformat(), "full_years": summary.accumulated.years, "years": years,
        "accumulated_zh": summary.accumulated.zh(), "accumulated_en": summary.accumulated.en()}
    if summary.eligible_on:
        fact["eligible_on"] = summary.eligible_on.isoformat()
    if summary.shortfall:
        fact["shortfall_zh"], fact["shortfall_en"] = summary.shortfall.zh(), summary.shortfall.en()
        _days(fact, summary.shortfall_days)
    return fact


def _days(fact: dict[str, Any], days: int | None) -> None:
    if days is not None:
        fact["shortfall_days"], fact["shortfall_days_en"] = days, f"{days} day" + ("" if days == 1 else "s")


def _work_time(applicant: Applicant, indices: list[int], as_of: _dt.date, years: int) -> dict[str, Any]:
    """Merged work time of one (kind, direction), as decision 6 counts it.

    When every period starts after ``as_of`` no day is covered yet (``covered_days`` 0, no
    ``last_day``), but ``eligible_on`` still says when the recorded work would meet the years."""
    periods = [(applicant.work_periods[i].start, applicant.work_periods[i].end) for i in indices]
    summary = worktime.summarise(periods, as_of, years)
    if summary is None:
        eligible = worktime.eligible_on(periods, as_of, years)
        nothing = worktime.Duration(0, 0, 0)
        missing = worktime.Duration(years, 0, 0)
        fact = {
            "t": "work_time", "refs": [f"work_period:{i}" for i in indices], "covered_days": 0,
            "first_day": min(start for start, _ in periods).isoformat(), "full_years": 0, "years": years,
            "accumulated_zh": nothing.zh(), "accumulated_en": nothing.en(),
            "shortfall_zh": missing.zh(), "shortfall_en": missing.en(),
        }
        if eligible:
            fact["eligible_on"] = eligible.isoformat()
        return fact
    fact = {
        "t": "work_time",
        # the periods that give a counted day: begun before the evaluation day (decision 6)
        "refs": [f"work_period:{i}" for i in indices if applicant.work_periods[i].start < as_of],
        "covered_days": summary.covered_days,
        "first_day": summary.spans[0].start.isoformat(),
        "counted_from": summary.virtual_start.isoformat(),
        "last_day": summary.last_day.isoformat(),
        "full_years": summary.accumulated.years,
        "years": years,
        "accumulated_zh": summary.accumulated.zh(),
        "accumulated_en": summary.accumulated.en(),
    }
    if summary.eligible_on:
        fact["eligible_on"] = summary.eligible_on.isoformat()
    if summary.shortfall:
        fact["shortfall_zh"], fact["shortfall_en"] = summary.shortfall.zh(), summary.shortfall.en()
        _days(fact, summary.shortfall_days)
    return fact


def required_digital(total: int, quota: Fraction) -> int:
    """ceil(quota * total): the fewest digital candidates a list of ``total`` needs."""
    return -((-quota.numerator * total) // quota.denominator)


def add_digital_needed(total: int, digital: int, quota: Fraction) -> int | None:
    """The fewest x >= 0 with (digital + x) / (total + x) >= quota; None if adding cannot help.

    (d + x) >= p(n + x)  <=>  x(1 - p) >= pn - d, so x = max(0, ceil((pn - d) / (1 - p))).
    With p = 100% adding never helps unless every candidate is already digital (None).
    """
    shortfall = quota * total - digital
    if shortfall <= 0:
        return 0
    if quota == 1:
        return None
    return math.ceil(shortfall / (1 - quota))


def swap_digital_needed(total: int, digital: int, quota: Fraction) -> int:
    """The fewest y >= 0 with (digital + y) / total >= quota, replacing y non-digital candidates.

    y = max(0, ceil(pn) - d); since p <= 1, y <= n - d, so there are always enough to replace.
    """
    return max(0, required_digital(total, quota) - digital)


def percent_text(share: Fraction, places: int = 2, *, trim: bool = False) -> str:
    """``share`` as a percentage rounded half-up to ``places`` decimals, exactly (no float).

    ``trim`` drops the decimals of a whole percentage (``20%`` rather than ``20.00%``).
    """
    scale = 10 ** places
    units = math.floor(share * 100 * scale + Fraction(1, 2))
    whole, frac = divmod(units, scale)
    if places == 0 or (trim and frac == 0):
        return f"{whole}%"
    return f"{whole}.{frac:0{places}d}%"


def recommendation_list_facts(rec: RecommendationList, as_of: _dt.date, counts: Mapping[str, Any],
                              high_skilled_rank: int) -> list[dict[str, Any]]:
    """The input facts of one recommendation list evaluated on ``as_of`` (decision 10).

    Python counts the list: each distinct candidate id once (its first entry), and only
    candidates at or above ``high_skilled_rank`` (the ruleset's ``high_skilled_from``); a
    repeated id is marked on its later entries (``repeat``, ``first_position``, ``agrees``) so
    that rules can report it.  Candidate ids are kept in ``candidate_id``, never in ``id`` (the
    engine's own key), and never compared by the engine.  ``counts`` gives the quota share when
    the policy asks for the ``quota_requirement`` helper fact.
    """
    first: dict[str, Any] = {}
    candidates: list[dict[str, Any]] = []
    total = digital = 0
    for i, c in enumerate(rec.candidates):
        fact = {"t": "candidate", "ref": f"candidate:{i}", "index": i, "position": i + 1,
                "candidate_id": c.id, "name": c.name or "", "skill_level": c.skill_level.code,
                "rank": c.skill_level.rank, "digital": c.digital}
        earlier = first.get(c.id)
        if earlier is None:
            first[c.id] = c, i + 1
            fact.update(repeat=False, first_position=i + 1, agrees=True)
            if c.skill_level.rank >= high_skilled_rank:
                total += 1
                digital += c.digital
        else:
            fact.update(repeat=True, first_position=earlier[1],
                        agrees=(earlier[0].skill_level, earlier[0].digital) == (c.skill_level, c.digital))
        candidates.append(fact)
    facts: list[dict[str, Any]] = [
        {"t": "context", "as_of": as_of.isoformat()},
        {"t": "list_summary", "ref": f"list:{rec.unit}", "unit": rec.unit, "as_of": as_of.isoformat(),
         "listed": len(rec.candidates), "total": total, "digital": digital, "non_digital": total - digital,
         "share_text": percent_text(Fraction(digital, total)) if total else "0.00%"},
    ]
    requirement = counts.get("quota_requirement")
    if requirement is not None:
        share: Fraction = requirement["share"]
        add = add_digital_needed(total, digital, share)
        need = {"t": "quota_requirement", "unit": rec.unit, "total": total,
                "quota": f"{share.numerator}/{share.denominator}", "quota_text": percent_text(share, trim=True),
                "required_digital": required_digital(total, share),
                "swap_needed": swap_digital_needed(total, digital, share)}
        if add is not None:
            need["add_digital_needed"] = add
        facts.append(need)
    facts.extend(candidates)
    return facts
