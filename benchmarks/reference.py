"""A plain-Python evaluation of measure nine (ruleset 1.1), used by the benchmarks and the tests.

It evaluates the same decisions as ``rulesets/tairenshefa-2025-5.toml`` without the rule engine:
the conditions are written out here as ordinary Python from the interpretation decisions
(``docs/decisions.md``; 6, 7 and 10-14 as revised for ruleset 1.1), while the parameters (the
date measure nine applies from, the 3 years, the minimum skill level, the digital directions),
the explanation templates, the clause texts and the rule order come from the loaded ruleset,
and days are counted by :mod:`taian_titles.worktime`.  Its result has the shape of
``Decision.to_dict()`` (outcomes with basis, explanations rendered the same way in Chinese and
English, what is not met, the highest title, the notes), so that the benchmark measures the
same workload twice: once through the engine, once in plain Python.  A recommendation list's
check (M9-4, decision 10) has the shape of ``QuotaResult.to_dict()``
(:meth:`Reference.check_list`, :func:`reference_lists`).

``tests/test_reference.py`` compares the two on generated applicants and recommendation lists,
and the benchmark on every applicant it generates.  A disagreement means that one of the two does not implement the
decisions: read the decision, then decide which one is wrong.  Where the reference departs from
a rule of the file on purpose, because the decision says otherwise, the place says so
(``Reading:``).

This module is not part of the library and must never become a second implementation that
callers rely on: the ruleset file is the policy.
"""

from __future__ import annotations

import datetime as _dt
import re
from fractions import Fraction
from typing import Any, Iterable, Iterator, Mapping

from taian_titles import worktime
from taian_titles.exchange import applicant_from_dict, recommendation_list_from_dict
from taian_titles.model import (
    DTE_PROGRAMME,
    Applicant,
    RecommendationList,
    CertificateKind,
    Level,
    SkillLevel,
    TitleLevel,
    WorkKind,
)
from taian_titles.api import today
from taian_titles.exchange import EXCHANGE_VERSION
from taian_titles.ruleset import Ruleset, default_ruleset

__all__ = ["Reference", "reference_many", "reference_lists"]

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LANGS = ("zh", "en")
_BASIS_KINDS = ("certificate", "work_period", "skill_level", "title", "achievement")
_UNDATED = "0001-01-01"  # how an undated record's date reads in an explanation
_ONE_DAY = _dt.timedelta(days=1)

_PT, _SKILLED = WorkKind.professional_technical, WorkKind.skilled
_PROF = CertificateKind.professional_level
_JUNIOR, _INTERMEDIATE = Level.junior, Level.intermediate

#: Decision 11: title levels rank 员级 < 助理级 < 中级 < 副高级 = 高级 of unknown grade < 正高级.
_TITLE_RANK = {"entry": 1, "junior": 2, "intermediate": 3, "deputy_senior": 4, "senior": 4,
               "full_senior": 5}
#: Decision 7: M9-1 is not open to a 正高级 holder, nor (as in 1.0) to a 高级 of unknown grade.
_NO_EXCEPTIONAL = frozenset({"senior", "full_senior"})

Bindings = Mapping[str, Mapping[str, Any]]
# One firing: (rule id, bindings for the explanation, basis refs in firing order).
Firing = tuple[str, Bindings, list[str]]


def _display(value: Any, lang: str, labels: Mapping[str, tuple[str, str]]) -> str:
    """How a value appears in an explanation: codes by their names, booleans as words."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, (SkillLevel, Level, TitleLevel)):
        return value.zh if lang == "zh" else value.en
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Fraction):  # a share parameter: whole percentages without decimals
        return _percent(value, whole=True)
    if isinstance(value, (list, tuple)):
        return ("、" if lang == "zh" else ", ").join(_display(v, lang, labels) for v in value)
    if isinstance(value, str):
        pair = labels.get(value)
        return value if pair is None else pair[0 if lang == "zh" else 1]
    return str(value)


def _percent(share: Fraction, whole: bool = False) -> str:
    """``share`` as a percentage with two decimals, rounded half up exactly (``33.33%``); with
    ``whole``, a whole percentage without them (``20%``)."""
    hundredths = share * 10000
    if whole and hundredths % 100 == 0:
        return f"{hundredths // 100}%"
    rounded = int(hundredths + Fraction(1, 2))  # floor: shares are never negative
    return f"{rounded // 100}.{rounded % 100:02d}%"


def _ceil(value: Fraction) -> int:
    return -(-value.numerator // value.denominator)


def _basis_key(ref: str) -> tuple[int, str]:
    kind, _, key = ref.partition(":")
    order = _BASIS_KINDS.index(kind) if kind in _BASIS_KINDS else len(_BASIS_KINDS)
    return (order, key.zfill(12) if key.isdigit() else key)


def _sorted_basis(refs: Iterable[str]) -> list[str]:
    return sorted(set(refs), key=_basis_key)


def _merge_refs(*groups: Iterable[str]) -> list[str]:
    out: list[str] = []
    for group in groups:
        for ref in group:
            if ref not in out:
                out.append(ref)
    return out


class _WorkTime:
    """Professional-technical work of one direction, counted as decision 6 says.

    The counted days are every day of a period before ``as_of`` (the evaluation day is not yet
    worked), each once.  Laid end to end they run from F to the last counted day L; N full years
    are met when L + 1 day is on or after the Nth anniversary of F.  ``refs`` are the periods
    that give at least one counted day (those starting before ``as_of``).
    """

    __slots__ = ("periods", "refs", "as_of", "years", "covered", "worked_from", "first", "last", "met")

    def __init__(self, periods: list[tuple[_dt.date, _dt.date | None]], refs: list[str],
                 spans: tuple[worktime.Span, ...], as_of: _dt.date, years: int) -> None:
        self.periods, self.refs, self.as_of, self.years = periods, refs, as_of, years
        self.covered = sum(span.days for span in spans)
        self.worked_from = spans[0].start  # the first day worked (before F when there is a gap)
        self.last = spans[-1].end
        self.first = self.last - _dt.timedelta(days=self.covered - 1)  # F: laid end to end
        try:
            self.met = self.last + _ONE_DAY >= worktime.add_years(self.first, years)
        except OverflowError:
            self.met = False

    def fields(self) -> dict[str, Any]:
        """What the explanations of M9-2d may cite: the time counted from F to L, the shortfall
        (also in days) and the date the years are met if the recorded work runs on."""
        accumulated = worktime.accumulated(self.periods, self.as_of)
        fields: dict[str, Any] = {
            "refs": self.refs, "covered_days": self.covered, "first_day": self.worked_from.isoformat(),
            "counted_from": self.first.isoformat(), "last_day": self.last.isoformat(),
            "accumulated_zh": accumulated.zh(), "accumulated_en": accumulated.en(), "eligible_on": "",
        }
        if not self.met:
            shortfall = worktime.shortfall(self.periods, self.as_of, self.years)
            assert shortfall is not None
            anniversary = worktime.add_years(self.first, self.years)
            eligible = worktime.eligible_on(self.periods, self.as_of, self.years)
            days = (anniversary - (self.last + _ONE_DAY)).days
            fields.update(shortfall_zh=shortfall.zh(), shortfall_en=shortfall.en(), shortfall_days=days,
                          shortfall_days_en=f"{days} day" if days == 1 else f"{days} days",
                          eligible_on=eligible.isoformat() if eligible else "")
        return fields


class Reference:
    """Measure nine in plain Python, parameterised by a ruleset (parameters, templates, order)."""

    def __init__(self, ruleset: Ruleset | None = None) -> None:
        rs = ruleset or default_ruleset()
        self.ruleset = rs
        self.policy = rs.policy
        self.labels: dict[str, tuple[str, str]] = dict(self.policy.labels)
        self.in_force_from: _dt.date = rs.param("in_force_from")
        self.required_years: int = rs.param("required_years")
        self.min_rank: int = rs.param("min_skill_level").rank
        self.digital_directions = frozenset(rs.param("digital_directions"))
        self.high_skilled_rank: int = rs.param("high_skilled_from").rank
        self.quota: Fraction = rs.param("quota_share")
        self.order = {r.id: i for i, r in enumerate(rs.rules)}
        self.then = {r.id: (r.then.kind, r.then.target) for r in rs.rules}
        self.clause = {r.id: r.clause for r in rs.rules}
        self.clause_text = {cid: text["zh"] for cid, text in rs.clauses.items()}
        self.ref = dict(rs.ref())
        # Templates split once into literal text and placeholder names (odd positions).
        self.templates = {r.id: {lang: _PLACEHOLDER.split(r.explain[lang]) for lang in _LANGS}
                          for r in rs.rules if r.explain}
        self.params = {
            name: {lang: _display(p["value"], lang, self.labels) for lang in _LANGS}
            for name, p in rs.parameters.items()
        }

    # ------------------------------------------------------------------ rendering

    def _render(self, rule_id: str, bindings: Bindings) -> tuple[str, str]:
        out = []
        for lang in _LANGS:
            parts = self.templates[rule_id][lang]
            text = []
            closing_dropped = False  # the literal after an empty bracketed value loses its bracket
            for i, part in enumerate(parts):
                if i % 2 == 0:
                    text.append(part[1:] if closing_dropped else part)
                    closing_dropped = False
                elif part.startswith("$"):
                    name, _, attr = part[1:].partition(".")
                    value = self.ruleset.param(name)
                    text.append(str(value.rank) if attr == "rank" else self.params[name][lang])
                else:
                    alias, _, field = part.partition(".")
                    value = _display(bindings[alias][field], lang, self.labels)
                    after = parts[i + 1] if i + 1 < len(parts) else ""
                    if value == "" and after[:1] in ("）", ")") and text:
                        # an optional value left empty takes its brackets or its separator with it
                        before = text[-1]
                        if before.endswith("（"):
                            text[-1], closing_dropped = before[:-1], True
                        elif before.endswith("("):
                            text[-1], closing_dropped = before[:-1].rstrip(" "), True
                        elif before.rstrip(" ").endswith(("，", ",")):
                            text[-1] = before.rstrip(" ")[:-1]
                        continue
                    text.append(value)
            out.append("".join(text))
        return out[0], out[1]

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, applicant: Applicant, as_of: _dt.date | None = None) -> dict[str, Any]:
        """The result of one applicant, shaped like ``Decision.to_dict()``."""
        day = as_of or applicant.as_of or today()
        iso = day.isoformat()
        ctx = {"as_of": iso}
        firings: list[Firing] = []
        fire = firings.append

        # Decisions 1 and 13: nothing is decided before measure nine applies; one note says so.
        if day < self.in_force_from:
            fire(("note-not-in-force", {"ctx": ctx}, []))
            return self._result(applicant, iso, firings, None)

        # Certificates held on the evaluation date (decisions 2, 3) and those left out.
        held_certs: list[tuple[Any, dict[str, Any]]] = []
        for c in applicant.certificates:
            ref = f"certificate:{c.number}"
            cert = {"ref": ref, "number": c.number, "programme": c.programme, "direction": c.direction,
                    "issued_on": c.issued_on.isoformat()}
            after = c.issued_on > day
            if c.programme == DTE_PROGRAMME and not c.revoked and not after:
                held_certs.append((c, cert))
            if after:
                fire(("note-certificate-after-as-of", {"ctx": ctx, "cert": cert}, [ref]))
            if c.revoked:
                fire(("note-certificate-revoked", {"ctx": ctx, "cert": cert}, [ref]))
            if c.programme != DTE_PROGRAMME:
                fire(("note-certificate-other-programme", {"ctx": ctx, "cert": cert}, [ref]))

        # Work periods (decision 6): the evaluation day is not yet worked, so a period starting
        # on or after it is left out, and a finished one reaching it is counted to the day before.
        periods: list[dict[str, Any]] = []
        groups: dict[str, list[int]] = {}
        for i, w in enumerate(applicant.work_periods):
            period = {"ref": f"work_period:{i}", "position": i + 1, "direction": w.direction,
                      "start": w.start.isoformat(), "end": "" if w.end is None else w.end.isoformat()}
            periods.append(period)
            if w.start >= day:
                fire(("note-work-after-as-of", {"ctx": ctx, "w": period}, [period["ref"]]))
            elif w.end is not None and w.end >= day:
                fire(("note-work-partly-after-as-of", {"ctx": ctx, "w": period}, [period["ref"]]))
            if w.kind is _PT:
                groups.setdefault(w.direction, []).append(i)
        work: dict[str, _WorkTime] = {}  # professional-technical work with a counted day, by direction
        not_started: dict[str, dict[str, Any]] = {}  # directions whose work all starts on or after as_of
        for direction, indices in groups.items():
            dates = [(applicant.work_periods[i].start, applicant.work_periods[i].end) for i in indices]
            spans = worktime.merge(dates, day)
            if spans:
                refs = [f"work_period:{i}" for i in indices if applicant.work_periods[i].start < day]
                work[direction] = _WorkTime(dates, refs, spans, day, self.required_years)
            else:
                eligible = worktime.eligible_on(dates, day, self.required_years)
                not_started[direction] = {
                    "refs": [f"work_period:{i}" for i in indices],
                    "first_day": min(start for start, _ in dates).isoformat(),
                    "eligible_on": eligible.isoformat() if eligible else ""}

        # Skill levels held (decision 8); a non-digital one is accounted for (decision 12).
        skilled: list[tuple[int, dict[str, Any], list[str]]] = []  # digital skill levels held
        for i, s in enumerate(applicant.skill_levels):
            skill = {"ref": f"skill_level:{i}", "position": i + 1, "level": s.level.code,
                     "occupation": s.occupation or "",
                     "issued_on": s.issued_on.isoformat() if s.issued_on else _UNDATED}
            if s.issued_on is not None and s.issued_on > day:
                fire(("note-skill-level-after-as-of", {"ctx": ctx, "s": skill}, [skill["ref"]]))
            elif not s.digital:
                fire(("note-skill-level-not-digital", {"ctx": ctx, "s": skill}, [skill["ref"]]))
            else:
                skilled.append((s.level.rank, skill, [skill["ref"]]))

        # Titles held (no date: always held), with their rank (decision 11).
        titles = [({"ref": f"title:{i}", "position": i + 1, "level": t.level.code}, _TITLE_RANK[t.level.code])
                  for i, t in enumerate(applicant.titles)]
        title_rank = max((rank for _, rank in titles), default=0)

        # One per title level held (the ruleset derives held_title_level once per level): the first
        # title of the level, resting on every title of it (decision 11).
        by_level: dict[str, tuple[dict[str, Any], list[str], int]] = {}
        for t, r in titles:
            if t["level"] in by_level:
                by_level[t["level"]][1].append(t["ref"])
            else:
                by_level[t["level"]] = (t, [t["ref"]], r)

        def titles_from(rank: int) -> list[tuple[dict[str, Any], list[str]]]:
            return [(t, refs) for t, refs, r in by_level.values() if r >= rank]

        achievements: list[tuple[dict[str, Any], list[str]]] = []
        for i, a in enumerate(applicant.achievements):
            achievement = {"ref": f"achievement:{i}", "position": i + 1, "description": a.description,
                           "date": a.date.isoformat() if a.date else _UNDATED}
            if a.date is not None and a.date > day:
                fire(("note-achievement-after-as-of", {"ctx": ctx, "a": achievement}, [achievement["ref"]]))
            else:
                achievements.append((achievement, [achievement["ref"]]))

        # Decision 8: the basis of each way of being a digital technical talent.
        talents = [[f"certificate:{c.number}"] for c, _ in held_certs]
        talents += [[f"title:{i}"] for i, t in enumerate(applicant.titles) if t.digital]
        talents += [w.refs for d, w in work.items() if d in self.digital_directions]

        # M9-1 (decision 7): a digital technical talent with a recorded achievement, unless a
        # 正高级 title (or a 高级 of unknown grade) is held; then a note per such title
        # (decision 11).
        if talents and achievements:
            blocking = [(t, refs) for t, refs, _ in by_level.values() if t["level"] in _NO_EXCEPTIONAL]
            if not blocking:
                every_talent = _merge_refs(*talents)
                for a, a_basis in achievements:
                    fire(("M9-1", {"a": a}, _merge_refs(a_basis, every_talent)))
            for t, refs in blocking:
                # Reading: one note per title level held (decision 11: "a note says that a title at
                # that level is already held"), not one per achievement and reason for being a
                # digital technical talent.
                fire(("note-title-held-exceptional", {"t": t}, refs))

        # M9-2 (decisions 3, 4, 11): each certificate held yields its clause's outcome, or a note
        # for each title held at or above the level the outcome would recognise or open.
        def outcome_or_notes(rule: str, note: str, cert: dict[str, Any], held: list[dict[str, Any]]) -> None:
            basis = [cert["ref"]]
            if not held:
                fire((rule, {"cert": cert}, basis))
            for t, refs in held:
                fire((note, {"cert": cert, "t": t}, [cert["ref"], *refs]))

        intermediate_training = []  # held, and not replaced by a title already held
        for c, cert in held_certs:
            if c.kind is _PROF and c.level is _JUNIOR:
                outcome_or_notes("M9-2a-junior", "note-title-held-junior-recognition", cert, titles_from(2))
            elif c.kind is _PROF and c.level is _INTERMEDIATE:
                outcome_or_notes("M9-2a-intermediate", "note-title-held-intermediate-recognition", cert,
                                 titles_from(3))
            elif c.kind is _PROF:  # senior: M9-2b, unless 正高级 is held
                outcome_or_notes("M9-2b", "note-title-held-senior-condition", cert,
                                 [(t, refs) for t, refs, _ in by_level.values() if t["level"] == "full_senior"])
            elif c.level is _JUNIOR:
                outcome_or_notes("M9-2c", "note-title-held-junior-application", cert, titles_from(2))
            elif title_rank >= 3:  # M9-2d and its not-met give way to a title held
                for t, refs in titles_from(3):
                    fire(("note-title-held-intermediate-application", {"cert": cert, "t": t},
                          [cert["ref"], *refs]))
            else:
                intermediate_training.append((c, cert))

        # M9-2d (decisions 5, 6) and the work left out of its count (decision 12).
        for c, cert in intermediate_training:
            w = work.get(c.direction)
            if w is not None and w.met:
                fire(("M9-2d", {"cert": cert, "w": w.fields()}, _merge_refs([cert["ref"]], w.refs)))
        # The work of another direction is said once per direction of the certificates (the
        # ruleset derives training_direction once per direction: the certificate whose number
        # comes first).
        by_direction: dict[str, dict[str, Any]] = {}
        for c, cert in intermediate_training:
            kept = by_direction.get(c.direction)
            if kept is None or _basis_key(cert["ref"]) < _basis_key(kept["ref"]):
                by_direction[c.direction] = cert
        for direction, cert in by_direction.items():
            for wp, period in zip(applicant.work_periods, periods):
                if wp.kind is _PT and wp.direction != direction:
                    fire(("note-work-other-direction", {"cert": cert, "w": period}, [period["ref"]]))
        if intermediate_training:
            # Reading: the skilled period is left out of every M9-2d count for one reason, which
            # its note gives once (decision 12), however many certificates are held.
            cert = intermediate_training[0][1]
            for wp, period in zip(applicant.work_periods, periods):
                if wp.kind is _SKILLED:
                    fire(("note-work-skilled", {"cert": cert, "w": period}, [period["ref"]]))

        # Decision 12: professional-technical work before as_of that makes no one a digital
        # technical talent, when nothing else does.
        if not talents:
            for wp, period in zip(applicant.work_periods, periods):
                if wp.kind is _PT and wp.direction not in self.digital_directions and wp.start < day:
                    fire(("note-work-not-digital", {"ctx": ctx, "w": period}, [period["ref"]]))

        # M9-3a (decision 9) and M9-3b (decision 8).
        for rank, s, basis in skilled:
            if rank >= self.min_rank:
                fire(("M9-3a", {"s": s}, basis))
        for t_basis in talents:
            fire(("M9-3b", {}, t_basis))

        # Summary: the highest title recognised (decisions 4, 11: only above what is held, which
        # the outcomes already respect) and what is not met.
        rules = {f[0] for f in firings}
        highest = ("intermediate" if "M9-2a-intermediate" in rules
                   else "junior" if "M9-2a-junior" in rules else None)
        if "M9-2d" not in rules:
            for c, cert in intermediate_training:
                w = work.get(c.direction)
                if w is None and c.direction in not_started:
                    future = not_started[c.direction]
                    rule = ("M9-2d-not-met-work-not-started" if future["eligible_on"]
                            else "M9-2d-not-met-work-not-started-too-short")
                    fire((rule, {"cert": cert, "w": future}, _merge_refs([cert["ref"]], future["refs"])))
                elif w is None:
                    fire(("M9-2d-not-met-no-work", {"cert": cert}, [cert["ref"]]))
                else:
                    fields = w.fields()
                    rule = "M9-2d-not-met-work-continues" if fields["eligible_on"] else "M9-2d-not-met-work-ended"
                    fire((rule, {"cert": cert, "w": fields}, _merge_refs([cert["ref"]], w.refs)))
        if "M9-3a" not in rules:
            for rank, s, basis in skilled:
                if rank < self.min_rank:
                    fire(("M9-3a-not-met-below-level", {"s": s}, basis))

        # Decision 12: when no clause applies at all, say what the record lacks.
        if not any(self.then[f[0]][0] in ("outcome", "not_met") for f in firings):
            fire(("note-no-clause-applies", {"ctx": ctx}, []))
        return self._result(applicant, iso, firings, highest)

    # ------------------------------------------------------------------ a recommendation list

    def check_list(self, rec: RecommendationList, as_of: _dt.date | None = None) -> dict[str, Any]:
        """The quota check of one recommending unit's list (M9-4, decision 10), shaped like
        ``QuotaResult.to_dict()``.

        Each distinct candidate id counts once, as its first entry; only high-skilled talents
        (``high_skilled_from`` and above) count, a candidate below is a finding and counted in
        neither number; a repeated id is a finding, which says when its entries disagree.  The share
        digital / counted is compared with ``quota_share`` exactly.  A list nobody counts in cannot
        be judged.  Before measure nine applies nothing is decided (decisions 1, 13), and the list's
        numbers are still shown.
        """
        day = as_of or rec.as_of or _dt.date.today()
        iso = day.isoformat()
        quota = self.quota
        first: dict[str, tuple[Any, int]] = {}
        total = digital = 0
        found: list[tuple[str, Bindings, str | None, tuple[int, ...]]] = []  # rule, bindings, id, positions
        for i, c in enumerate(rec.candidates):
            candidate = {"position": i + 1, "candidate_id": c.id, "skill_level": c.skill_level.code,
                         "digital": c.digital}
            earlier = first.get(c.id)
            if earlier is None:
                first[c.id] = (c, i + 1)
                if c.skill_level.rank >= self.high_skilled_rank:
                    total += 1
                    digital += c.digital
                else:
                    found.append(("M9-4-finding-not-high-skilled", {"c": candidate}, c.id, (i + 1,)))
            else:
                candidate["first_position"] = earlier[1]
                agrees = (earlier[0].skill_level, earlier[0].digital) == (c.skill_level, c.digital)
                rule = "M9-4-finding-duplicate-id" if agrees else "M9-4-finding-duplicate-id-disagrees"
                found.append((rule, {"c": candidate}, c.id, (earlier[1], i + 1)))
        summary = {"unit": rec.unit, "listed": len(rec.candidates), "total": total, "digital": digital,
                   "share_text": _percent(Fraction(digital, total)) if total else "0.00%"}
        required = _ceil(quota * total)  # the fewest digital candidates a list of this size needs
        meets: bool | None = None
        add: int | None = None
        swap: int | None = None
        if day < self.in_force_from:
            rule, bindings = "note-not-in-force", {"ctx": {"as_of": iso}}
            found = []
        elif total == 0:
            found.insert(0, ("M9-4-finding-no-candidate-counted", {"s": summary}, None, ()))
            rule, bindings, required = "M9-4-not-judged", {"s": summary}, None
        else:
            meets = digital >= required
            swap = max(0, required - digital)  # non-digital candidates replaced by digital ones
            missing = quota * total - digital  # (digital + x) / (total + x) >= quota
            add = 0 if missing <= 0 else None if quota == 1 else _ceil(missing / (1 - quota))
            need = {"quota_text": _percent(quota, whole=True), "required_digital": required,
                    "add_digital_needed": add, "swap_needed": swap}
            rule = "M9-4-met" if meets else "M9-4-not-met" if add is not None else "M9-4-not-met-swap-only"
            bindings = {"s": summary, "need": need}
        zh, en = self._render(rule, bindings)
        findings = [{"code": self.then[r][1], "candidate": ident, "positions": list(positions),
                     "explanation": dict(zip(_LANGS, self._render(r, b))), "rule": r}
                    for r, b, ident, positions in found]
        findings.sort(key=lambda f: (f["positions"][-1] if f["positions"] else 0, f["positions"], f["code"]))
        code, clause = self.then["M9-4-met"][1], self.clause["M9-4-met"]
        return {
            "code": code, "clause": clause, "unit": rec.unit, "listed": len(rec.candidates), "total": total,
            "digital": digital, "share": _percent(Fraction(digital, total)) if total else None,
            "meets_quota": meets, "add_digital_needed": add, "swap_needed": swap, "findings": findings,
            "explanation": {"zh": zh, "en": en}, "quota": _percent(quota, whole=True),
            "required_digital": required, "rules": [rule], "ruleset": dict(self.ref),
            "rulesets": [dict(self.ref)], "as_of": iso, "exchange_version": EXCHANGE_VERSION,
        }

    # ------------------------------------------------------------------ results

    def _result(self, applicant: Applicant, as_of: str, firings: list[Firing],
                highest: str | None) -> dict[str, Any]:
        """One outcome (or not-met) per code, basis merged and sorted, explanations joined; one
        note per firing, sorted by basis; groups in the order of their first rule in the file."""
        grouped: dict[tuple[str, str], list[Firing]] = {}
        for firing in firings:
            grouped.setdefault(self.then[firing[0]], []).append(firing)
        outcomes, not_met, notes = [], [], []
        order = self.order
        for (kind, code), items in sorted(grouped.items(), key=lambda kv: min(order[f[0]] for f in kv[1])):
            if kind == "note":
                # Sorted by basis; notes on the same items in the order of the items they were
                # set beside, e.g. one period beside two certificates: by the certificates' refs.
                for rule_id, bindings, basis in sorted(items, key=lambda f: (
                        _sorted_basis(f[2]), tuple(_basis_key(b.get("ref") or "") for b in f[1].values()))):
                    zh, en = self._render(rule_id, bindings)
                    notes.append({"code": code, "basis": _sorted_basis(basis),
                                  "explanation": {"zh": zh, "en": en}, "rule": rule_id})
                continue
            rule_ids = sorted({f[0] for f in items}, key=order.__getitem__)
            clause = self.clause[items[0][0]]
            explanations = sorted({self._render(rule_id, bindings) for rule_id, bindings, _ in items})
            entry: dict[str, Any] = {
                "code": code, "clause": clause,
                "basis": _sorted_basis(ref for f in items for ref in f[2]),
                "explanation": {"zh": "".join(e[0] for e in explanations),
                                "en": " ".join(e[1] for e in explanations)},
                "clause_text": self.clause_text[clause], "rules": rule_ids,
            }
            if kind == "outcome":
                outcomes.append(entry)
            else:
                dates = [f[1]["w"]["eligible_on"] for f in items if "w" in f[1] and f[1]["w"]["eligible_on"]]
                entry["eligible_on"] = min(dates) if dates else None
                not_met.append({key: entry[key] for key in
                                ("code", "clause", "basis", "eligible_on", "explanation", "clause_text", "rules")})
        out: dict[str, Any] = {"id": applicant.id}
        if applicant.name is not None:
            out["name"] = applicant.name
        return out | {"as_of": as_of, "ruleset": dict(self.ref), "rulesets": [dict(self.ref)],
                      "outcomes": outcomes, "not_met": not_met, "highest_recognized_title": highest,
                      "notes": notes, **({"meta": dict(applicant.meta)} if applicant.meta is not None else {}),
                      "exchange_version": EXCHANGE_VERSION}


def reference_many(records: Iterable[Applicant | Mapping[str, Any]],
                   reference: Reference | None = None) -> Iterator[dict[str, Any]]:
    """Evaluate a batch in plain Python; exchange dicts are structured as the library does."""
    ref = reference or Reference()
    for record in records:
        applicant = record if isinstance(record, Applicant) else applicant_from_dict(record)
        yield ref.evaluate(ref.policy.prepare(applicant))


def reference_lists(records: Iterable[RecommendationList | Mapping[str, Any]],
                    reference: Reference | None = None) -> Iterator[dict[str, Any]]:
    """Check recommendation lists in plain Python; exchange dicts are structured as the library does."""
    ref = reference or Reference()
    for record in records:
        rec = record if isinstance(record, RecommendationList) else recommendation_list_from_dict(record)
        yield ref.check_list(rec)
