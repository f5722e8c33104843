"""A plain-Python evaluation of measure nine, used only by the benchmarks.

It evaluates the same rules as ``rulesets/tairenshefa-2025-5.toml`` without the rule engine:
the conditions of every rule are written out here as ordinary Python, while the parameters
(the in-force date, the 3 years, the minimum skill level, the digital directions), the
explanation templates, the clause texts and the rule order come from the loaded ruleset, and
dates are counted by :mod:`taian_titles.worktime`.  Its result has the shape of
``Decision.to_dict()`` (outcomes with basis, explanations rendered the same way in Chinese
and English, what is not met, the highest title, the notes), so that the benchmark measures
the same workload twice: once through the engine, once in plain Python.

The benchmark checks on every generated applicant that both agree on the outcome codes (and
reports how often the whole result agrees).  A disagreement means that one of the two does
not implement the ruleset file: read the rule in the file, then decide which one is wrong.

This module is not part of the library and must never become a second implementation that
callers rely on: the ruleset file is the policy.
"""

from __future__ import annotations

import datetime as _dt
import re
from fractions import Fraction
from typing import Any, Iterable, Iterator, Mapping

from taian_titles import worktime
from taian_titles.exchange import applicant_from_dict
from taian_titles.model import (
    DTE_PROGRAMME,
    Applicant,
    CertificateKind,
    Level,
    SkillLevel,
    WorkKind,
)
from taian_titles.api import today
from taian_titles.exchange import EXCHANGE_VERSION
from taian_titles.ruleset import Ruleset, default_ruleset

__all__ = ["Reference", "reference_many"]

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LANGS = ("zh", "en")
_BASIS_KINDS = ("certificate", "work_period", "skill_level", "title", "achievement")
_UNDATED = "0001-01-01"  # how an undated record's date reads in an explanation
#: Names of codes in explanations (the enumerations', and the policy's directions).
_LABELS: dict[str, tuple[str, str]] = {}

_PT = WorkKind.professional_technical
_PROF, _TRAIN = CertificateKind.professional_level, CertificateKind.training
_JUNIOR, _INTERMEDIATE, _SENIOR = Level.junior, Level.intermediate, Level.senior

Bindings = Mapping[str, Mapping[str, Any]]
# One firing: (rule id, bindings for the explanation, basis refs in firing order).
Firing = tuple[str, Bindings, list[str]]


def _display(value: Any, lang: str) -> str:
    """How a value appears in an explanation: codes by their names, booleans as words."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, (SkillLevel, Level)):
        return value.zh if lang == "zh" else value.en
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Fraction):
        percent = value * 100
        return f"{percent.numerator}%" if percent.denominator == 1 else f"{float(percent):.2f}%"
    if isinstance(value, (list, tuple)):
        return ("、" if lang == "zh" else ", ").join(_display(v, lang) for v in value)
    if isinstance(value, str):
        pair = _LABELS.get(value)
        return value if pair is None else pair[0 if lang == "zh" else 1]
    return str(value)


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
    """Merged professional-technical work of one direction (decision 6), computed on demand."""

    __slots__ = ("direction", "periods", "refs", "spans", "last_day", "as_of", "years")

    def __init__(self, direction: str, periods: list[tuple[_dt.date, _dt.date | None]], refs: list[str],
                 spans: tuple[worktime.Span, ...], as_of: _dt.date, years: int) -> None:
        self.direction, self.periods, self.refs, self.spans = direction, periods, refs, spans
        self.last_day, self.as_of, self.years = spans[-1].end, as_of, years

    def met(self) -> bool:
        anniversary = worktime.anniversary(self.periods, self.as_of, self.years)
        return anniversary is not None and anniversary <= self.last_day

    def fields(self) -> dict[str, Any]:
        """The fields of the merged work time, as the explanations of M9-2d may cite them."""
        accumulated = worktime.accumulated(self.periods, self.as_of)
        shortfall = worktime.shortfall(self.periods, self.as_of, self.years)
        eligible = worktime.eligible_on(self.periods, self.as_of, self.years)
        covered = sum(span.days for span in self.spans)
        start = self.last_day - _dt.timedelta(days=covered - 1)
        return {
            "refs": self.refs, "kind": _PT.code, "direction": self.direction, "covered_days": covered,
            "first_day": self.spans[0].start.isoformat(), "last_day": self.last_day.isoformat(),
            "virtual_start": start.isoformat(),
            "anniversary": worktime.add_years(start, self.years).isoformat(), "years": self.years,
            "accumulated_zh": accumulated.zh(), "accumulated_en": accumulated.en(),
            "shortfall_zh": shortfall.zh() if shortfall else "",
            "shortfall_en": shortfall.en() if shortfall else "",
            "eligible_on": eligible.isoformat() if eligible else "",
        }


class Reference:
    """Measure nine in plain Python, parameterised by a ruleset (parameters, templates, order)."""

    def __init__(self, ruleset: Ruleset | None = None) -> None:
        rs = ruleset or default_ruleset()
        self.ruleset = rs
        self.policy = rs.policy
        _LABELS.clear()
        _LABELS.update(self.policy.labels)
        self.in_force_from: _dt.date = rs.param("in_force_from")
        self.required_years: int = rs.param("required_years")
        self.min_rank: int = rs.param("min_skill_level").rank
        self.digital_directions = frozenset(rs.param("digital_directions"))
        self.order = {r.id: i for i, r in enumerate(rs.rules)}
        self.then = {r.id: (r.then.kind, r.then.target) for r in rs.rules}
        self.clause = {r.id: r.clause for r in rs.rules}
        self.clause_text = {cid: text["zh"] for cid, text in rs.clauses.items()}
        self.ref = dict(rs.ref())
        # Templates split once into literal text and placeholder names (odd positions).
        self.templates = {r.id: {lang: _PLACEHOLDER.split(r.explain[lang]) for lang in _LANGS}
                          for r in rs.rules if r.explain}
        self.params = {
            name: {lang: _display(p["value"], lang) for lang in _LANGS}
            for name, p in rs.parameters.items()
        }

    # ------------------------------------------------------------------ rendering

    def _render(self, rule_id: str, bindings: Bindings) -> tuple[str, str]:
        out = []
        for lang in _LANGS:
            parts = self.templates[rule_id][lang]
            text = []
            for i, part in enumerate(parts):
                if i % 2 == 0:
                    text.append(part)
                elif part.startswith("$"):
                    name, _, attr = part[1:].partition(".")
                    value = self.ruleset.param(name)
                    text.append(str(value.rank) if attr == "rank" else self.params[name][lang])
                else:
                    alias, _, field = part.partition(".")
                    text.append(_display(bindings[alias][field], lang))
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

        if day < self.in_force_from:  # decision 1
            fire(("note-not-in-force", {"ctx": ctx}, []))
            return self._result(applicant.id, iso, firings, None, applicant.meta)

        # What is held on the evaluation date (decisions 2, 3) and what is left out.
        held_certs: list[tuple[Any, dict[str, Any]]] = []
        for c in applicant.certificates:
            ref = f"certificate:{c.number}"
            cert = {"ref": ref, "number": c.number, "programme": c.programme, "kind": c.kind.code,
                    "level": c.level.code, "direction": c.direction, "issued_on": c.issued_on.isoformat(),
                    "revoked": c.revoked}
            after = c.issued_on > day
            if c.programme == DTE_PROGRAMME and not c.revoked and not after:
                held_certs.append((c, cert))
            if after:
                fire(("note-certificate-after-as-of", {"ctx": ctx, "cert": cert}, [ref]))
            if c.revoked:
                fire(("note-certificate-revoked", {"ctx": ctx, "cert": cert}, [ref]))
            if c.programme != DTE_PROGRAMME:
                fire(("note-certificate-other-programme", {"ctx": ctx, "cert": cert}, [ref]))

        groups: dict[str, list[int]] = {}
        for i, w in enumerate(applicant.work_periods):
            if w.start > day or (w.end is not None and w.end > day):
                period = {"ref": f"work_period:{i}", "index": i, "position": i + 1, "kind": w.kind.code,
                          "direction": w.direction, "start": w.start.isoformat(),
                          "end": "" if w.end is None else w.end.isoformat(), "ongoing": w.end is None,
                          "employer": w.employer or ""}
                rule = "note-work-after-as-of" if w.start > day else "note-work-partly-after-as-of"
                fire((rule, {"ctx": ctx, "w": period}, [period["ref"]]))
            if w.kind is _PT:
                groups.setdefault(w.direction, []).append(i)
        work: dict[str, _WorkTime] = {}
        not_started: dict[str, dict[str, Any]] = {}  # directions whose work all starts after as_of
        for direction, indices in groups.items():
            periods = [(applicant.work_periods[i].start, applicant.work_periods[i].end) for i in indices]
            spans = worktime.merge(periods, day)
            if spans:
                refs = [f"work_period:{i}" for i in indices if applicant.work_periods[i].start <= day]
                work[direction] = _WorkTime(direction, periods, refs, spans, day, self.required_years)
            else:
                eligible = worktime.eligible_on(periods, day, self.required_years)
                not_started[direction] = {
                    "refs": [f"work_period:{i}" for i in indices],
                    "first_day": min(p[0] for p in periods).isoformat(),
                    "eligible_on": eligible.isoformat() if eligible else ""}

        skilled: list[tuple[int, dict[str, Any], list[str]]] = []  # digital skill levels held
        for i, s in enumerate(applicant.skill_levels):
            after = s.issued_on is not None and s.issued_on > day
            if not (after or s.digital):
                continue
            skill = {"ref": f"skill_level:{i}", "index": i, "position": i + 1, "level": s.level.code,
                     "rank": s.level.rank, "digital": s.digital, "occupation": s.occupation or "",
                     "issued_on": s.issued_on.isoformat() if s.issued_on else _UNDATED}
            if after:
                fire(("note-skill-level-after-as-of", {"ctx": ctx, "s": skill}, [skill["ref"]]))
            else:
                skilled.append((s.level.rank, skill, [skill["ref"]]))

        achievements: list[tuple[dict[str, Any], list[str]]] = []
        for i, a in enumerate(applicant.achievements):
            achievement = {"ref": f"achievement:{i}", "index": i, "position": i + 1, "description": a.description,
                           "date": a.date.isoformat() if a.date else _UNDATED}
            if a.date is not None and a.date > day:
                fire(("note-achievement-after-as-of", {"ctx": ctx, "a": achievement}, [achievement["ref"]]))
            else:
                achievements.append((achievement, [achievement["ref"]]))

        # Which talents (decision 8): the basis of each way of being a digital technical talent.
        talents = [[f"certificate:{c.number}"] for c, _ in held_certs]
        talents += [[f"title:{i}"] for i, t in enumerate(applicant.titles) if t.digital]
        talents += [w.refs for d, w in work.items() if d in self.digital_directions]

        # The clauses.
        if talents and not any(t.level is _SENIOR for t in applicant.titles):  # M9-1, decision 7
            for a, a_basis in achievements:
                for t_basis in talents:
                    fire(("M9-1", {"a": a}, _merge_refs(a_basis, t_basis)))
        intermediate_training = []
        for c, cert in held_certs:
            basis = [f"certificate:{c.number}"]
            if c.kind is _PROF:
                rule = {_JUNIOR: "M9-2a-junior", _INTERMEDIATE: "M9-2a-intermediate", _SENIOR: "M9-2b"}[c.level]
                fire((rule, {"cert": cert}, basis))
            elif c.level is _JUNIOR:
                fire(("M9-2c", {"cert": cert}, basis))
            else:
                intermediate_training.append((c, cert, basis))
        for c, cert, basis in intermediate_training:  # M9-2d, decisions 5 and 6
            w = work.get(c.direction)
            if w is not None and w.met():
                fire(("M9-2d", {"cert": cert, "w": w.fields()}, _merge_refs(basis, w.refs)))
        for rank, s, basis in skilled:  # M9-3a, decision 9
            if rank >= self.min_rank:
                fire(("M9-3a", {"s": s}, basis))
        for t_basis in talents:  # M9-3b
            fire(("M9-3b", {}, t_basis))

        # Summary: the highest title and what is not met.
        rules = {f[0] for f in firings}
        highest = ("intermediate" if "M9-2a-intermediate" in rules
                   else "junior" if "M9-2a-junior" in rules else None)
        if "M9-2d" not in rules:
            for c, cert, basis in intermediate_training:
                w = work.get(c.direction)
                if w is None and c.direction in not_started:
                    future = not_started[c.direction]
                    rule = ("M9-2d-not-met-work-not-started" if future["eligible_on"]
                            else "M9-2d-not-met-work-not-started-too-short")
                    fire((rule, {"cert": cert, "w": future}, _merge_refs(basis, future["refs"])))
                elif w is None:
                    fire(("M9-2d-not-met-no-work", {"cert": cert}, basis))
                elif not w.met():
                    fields = w.fields()
                    rule = "M9-2d-not-met-work-continues" if fields["eligible_on"] else "M9-2d-not-met-work-ended"
                    fire((rule, {"cert": cert, "w": fields}, _merge_refs(basis, w.refs)))
        if "M9-3a" not in rules:
            for rank, s, basis in skilled:
                if rank < self.min_rank:
                    fire(("M9-3a-not-met-below-level", {"s": s}, basis))
        return self._result(applicant.id, iso, firings, highest, applicant.meta)

    def _result(self, applicant_id: str, as_of: str, firings: list[Firing],
                highest: str | None, meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        grouped: dict[tuple[str, str], list[Firing]] = {}
        for firing in firings:
            grouped.setdefault(self.then[firing[0]], []).append(firing)
        outcomes, not_met, notes = [], [], []
        order = self.order
        for (kind, code), items in sorted(grouped.items(), key=lambda kv: min(order[f[0]] for f in kv[1])):
            if kind == "note":
                for rule_id, bindings, basis in sorted(items, key=lambda f: _sorted_basis(f[2])):
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
        return {"id": applicant_id, "as_of": as_of, "ruleset": dict(self.ref), "rulesets": [dict(self.ref)],
                "outcomes": outcomes,
                "not_met": not_met, "highest_recognized_title": highest, "notes": notes,
                **({"meta": dict(meta)} if meta is not None else {}), "exchange_version": EXCHANGE_VERSION}


def reference_many(records: Iterable[Applicant | Mapping[str, Any]],
                   reference: Reference | None = None) -> Iterator[dict[str, Any]]:
    """Evaluate a batch in plain Python; exchange dicts are structured as the library does."""
    ref = reference or Reference()
    for record in records:
        applicant = record if isinstance(record, Applicant) else applicant_from_dict(record)
        yield ref.evaluate(ref.policy.prepare(applicant))
