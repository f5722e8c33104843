"""Compare two versions of a policy on one population: whom does a reform affect?

:func:`compare` evaluates one roster under a base policy (the shipped one by default) and a
reform policy, in one pass, and returns a :class:`Comparison`: how many records changed, for
each outcome code how many gained it, lost it or had the ``eligible_on`` of its "not yet met"
moved (overall and per group of a field the caller names: a county, an employer), and every
changed record with its differences.  Recommendation lists (M9-4) are compared the same way:
a list that comes to meet the quota gains its code, one that no longer does loses it.

A reform is one or more ruleset files; each replaces the base document with the same ruleset
id (:func:`taian_titles.policy.reform_policy`), so a reform of measure nine keeps the crossover.

Each record is read and structured once, evaluated once under each policy (the engine runs
share sessions, as :func:`taian_titles.evaluate_many` does), and its facts are made once when
the two policies count them alike; when the two policies are the same documents it is
evaluated once.  What is compared is what an HR system keys on: outcome codes, the codes and
``eligible_on`` dates of what is not yet met, the highest recognised title, note codes; for a
list its verdict, the digital candidates it needs, how many to add or swap, its findings.
Explanations are not compared (a reform of a parameter changes their wording everywhere).

Renderings (:func:`render_comparison`): text and Markdown tables in Chinese or English, JSON
(``to_dict``) and a self-contained HTML report with an inline SVG chart (no script).
"""

from __future__ import annotations

import datetime as _dt
import html
import itertools
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import attrs

from .api import BATCH, _batch_error, applicant_of, recommendation_list_of, today
from .decision import Decision, QuotaResult
from .exchange import parse_as_of
from .facts import applicant_facts, recommendation_list_facts
from .model import Applicant, RecommendationList
from .decision import build_quota_result
from .policy import Policy, default_policy, load_policy, reform_policy
from .ruleset import Ruleset

__all__ = ["compare", "Comparison", "Change", "CodeCounts", "render_comparison", "COMPARE_FORMATS",
           "generated_population", "policy_differences"]

#: The formats of :func:`render_comparison`.
COMPARE_FORMATS = ("text", "markdown", "json", "html")

Source = str | Path | Ruleset
Sources = Source | Sequence[Source] | Policy | None


# --------------------------------------------------------------------------- the value objects

@attrs.frozen
class CodeCounts:
    """What a reform did to one outcome code: records that had it before and after, records
    that gained or lost it, records whose "not yet met" of it moved its ``eligible_on``, records
    for which it became or stopped being "not yet met", and records whose entry for it changed
    in any way (``changed``)."""

    before: int = 0
    after: int = 0
    gained: int = 0
    lost: int = 0
    moved: int = 0
    not_met_added: int = 0
    not_met_removed: int = 0
    changed: int = 0

    def to_dict(self) -> dict[str, int]:
        return attrs.asdict(self)


@attrs.frozen
class Change:
    """One record whose result differs: outcome codes gained and lost, "not yet met" moved
    (``(code, eligible_on before, after)``, ISO dates or None for none), and every other
    difference as ``(what, before, after)`` (``highest_recognized_title``, ``not_met:<code>``
    appearing or going (absent is None, present without a date is ``"none"``), ``notes``,
    ``meets_quota``, ``required_digital``, ``error``)."""

    index: int
    id: str | None
    kind: str  # "applicant" or "list"
    group: str | None
    gained: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    moved: tuple[tuple[str, str | None, str | None], ...] = ()
    other: tuple[tuple[str, Any, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.id, "kind": self.kind, "group": self.group,
                "gained": list(self.gained), "lost": list(self.lost),
                "moved": [{"code": c, "before": b, "after": a} for c, b, a in self.moved],
                "other": [{"what": w, "before": b, "after": a} for w, b, a in self.other]}


@attrs.frozen
class GroupCounts:
    records: int
    changed: int
    codes: Mapping[str, CodeCounts]


@attrs.frozen
class Comparison:
    """The result of :func:`compare`; ``to_dict()`` is its JSON."""

    records: int
    errors: int  # records that could not be evaluated under either policy (bad input)
    changed: int
    codes: Mapping[str, CodeCounts]
    changes: tuple[Change, ...]
    group_by: str | None
    groups: Mapping[str | None, GroupCounts]
    base: Policy = attrs.field(eq=False, repr=False)
    reform: Policy = attrs.field(eq=False, repr=False)
    differences: tuple[str, ...] = ()
    same_policy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records, "errors": self.errors, "changed": self.changed,
            "codes": {c: n.to_dict() for c, n in self.codes.items()},
            **({"group_by": self.group_by,
                "groups": [{"group": g, "records": n.records, "changed": n.changed,
                            "codes": {c: k.to_dict() for c, k in n.codes.items()}}
                           for g, n in self.groups.items()]} if self.group_by is not None else {}),
            "changes": [c.to_dict() for c in self.changes],
            "base": self.base.refs(), "reform": self.reform.refs(),
            "differences": list(self.differences),
        }


# --------------------------------------------------------------------------- comparing

def compare(roster: str | Path | Iterable[Any], base: Sources = None, reform: Sources = None, *,
            as_of: _dt.date | str | None = None, group_by: str | None = None, lenient: bool = False,
            kind: str | None = None) -> Comparison:
    """Evaluate ``roster`` under ``base`` and ``reform`` and say what differs.

    ``roster``: a file the command reads (JSON, JSON Lines, ``.csv``/``.xlsx`` roster) or an
    iterable of records (exchange dicts, :class:`Applicant` or :class:`RecommendationList`).
    ``base``: a :class:`Policy`, ruleset file(s) or loaded :class:`Ruleset` (s); default the
    shipped policy.  ``reform``: a :class:`Policy`, or ruleset file(s) each replacing the base
    document with the same ruleset id.  ``group_by``: a roster column or a record's field (top
    level or in ``meta``; ``employer``: the employer of the record's latest work) to break the
    counts down by.  ``kind``: ``applicants`` or ``lists`` for a roster file (JSON records say
    which they are: a record with ``candidates`` is a list).
    """
    base_policy = _policy(base) if base is not None else default_policy()
    if reform is None:
        raise TypeError("compare() needs reform= (a Policy or ruleset files)")
    reform_policy_ = reform if isinstance(reform, Policy) else reform_policy(base_policy, *_sources(reform))
    day = parse_as_of(as_of)
    if kind not in (None, "applicants", "lists"):
        raise ValueError(f"kind must be applicants or lists, not {kind!r}")
    builder = _Builder(base_policy, reform_policy_, group_by)
    if isinstance(roster, (str, Path)):
        from .io import open_records

        with open_records(str(roster), kind or "applicants") as (_shape, items, _total, _roster):
            _run(builder, (record for _line, record in items), day, lenient, kind)
    else:
        _run(builder, roster, day, lenient, kind)
    return builder.result()


def _sources(value: Any) -> list[Source]:
    if isinstance(value, (str, Path, Ruleset)):
        return [value]
    return list(value)


def _policy(value: Any) -> Policy:
    return value if isinstance(value, Policy) else load_policy(*_sources(value))


def _same(a: Policy, b: Policy) -> bool:
    return a is b or [d.digest for d in a.documents] == [d.digest for d in b.documents]


def _same_facts(a: Policy, b: Policy) -> bool:
    """Whether the two policies make the same facts of a record (same counts, same directions)."""
    return (a.counts == b.counts and a.directions == b.directions and a._spellings == b._spellings
            and _threshold(a) == _threshold(b))


def _threshold(policy: Policy) -> int:
    return policy.param("high_skilled_from").rank if policy.has_param("high_skilled_from") else 0


def _run(builder: "_Builder", records: Iterable[Any], as_of: _dt.date | None, lenient: bool,
         kind: str | None) -> None:
    numbered = enumerate(records)
    while True:
        part = list(itertools.islice(numbered, BATCH))
        if not part:
            return
        applicants = [(i, r) for i, r in part if not _is_list(r, kind)]
        lists = [(i, r) for i, r in part if _is_list(r, kind)]
        if applicants:
            _applicants(builder, applicants, as_of, lenient)
        for index, record in lists:
            _one_list(builder, index, record, as_of, lenient)


def _is_list(record: Any, kind: str | None) -> bool:
    if isinstance(record, RecommendationList):
        return True
    if isinstance(record, Applicant):
        return False
    if kind is not None:
        return kind == "lists"
    return isinstance(record, Mapping) and "candidates" in record and "unit" in record


def _applicants(builder: "_Builder", part: list[tuple[int, Any]], as_of: _dt.date | None, lenient: bool) -> None:
    """A batch of applicants: structured once, facts made once per policy (once for both when
    they count alike), the engine run in shared sessions, the compared codes read from the
    firings (:func:`_firings_key`)."""
    base, reform = builder.base, builder.reform
    one = builder.same_policy
    shared_facts = builder.same_facts
    ready: list[tuple[int, Any, Applicant, _dt.date]] = []
    facts: dict[int, list[list[dict[str, Any]]]] = {0: [], 1: []}
    prepared: dict[int, list[Applicant | Exception]] = {0: [], 1: []}
    for index, record in part:
        try:
            applicant = applicant_of(_unwrap(record), lenient=lenient)
        except Exception as exc:
            builder.error(index, record, _batch_error(index, record, exc, lenient))
            continue
        day = as_of or applicant.as_of or today()
        ready.append((index, record, applicant, day))
    sides = (0,) if one else (0, 1)
    for side in sides:
        policy = base if side == 0 else reform
        if side == 1 and shared_facts:
            facts[1], prepared[1] = facts[0], prepared[0]
            continue
        for _index, _record, applicant, day in ready:
            try:
                p = policy.prepare(applicant)
                prepared[side].append(p)
                facts[side].append(applicant_facts(p, day, policy.counts))
            except Exception as exc:
                prepared[side].append(exc)
                facts[side].append([])
    answers: dict[int, list[Any]] = {}
    for side in sides:
        policy = base if side == 0 else reform
        good = [k for k, p in enumerate(prepared[side]) if not isinstance(p, Exception)]
        firings = policy.run_engine([facts[side][k] for k in good])
        out: list[Any] = [None] * len(ready)
        plans = policy.plans
        for k, fired in zip(good, firings):
            index, record, _applicant, day = ready[k]
            try:
                if isinstance(fired, BaseException):
                    raise fired
                out[k] = _Key(_firings_key(fired, plans))
            except Exception as exc:
                out[k] = _batch_error(index, record, exc, lenient)
        for k, item in enumerate(prepared[side]):
            if isinstance(item, Exception):
                out[k] = _batch_error(ready[k][0], ready[k][1], item, lenient)
        answers[side] = out
    if one:
        answers[1] = answers[0]
    for k, (index, record, applicant, _day) in enumerate(ready):
        builder.add(index, record, applicant, answers[0][k], answers[1][k])


def _one_list(builder: "_Builder", index: int, record: Any, as_of: _dt.date | None, lenient: bool) -> None:
    try:
        rec = recommendation_list_of(_unwrap(record), lenient=lenient)
    except Exception as exc:
        builder.error(index, record, exc)
        return
    day = as_of or rec.as_of or today()
    answers: list[QuotaResult | Exception] = []
    for policy in (builder.base,) if builder.same_policy else (builder.base, builder.reform):
        try:
            facts = recommendation_list_facts(rec, day, policy.counts, _threshold(policy))
            (summary,) = [f for f in facts if f["t"] == "list_summary"]
            answers.append(build_quota_result(summary, day, policy.engine.run(facts), policy))
        except Exception as exc:
            answers.append(exc)
    if builder.same_policy:
        answers.append(answers[0])
    builder.add(index, record, rec, answers[0], answers[1])


def _unwrap(record: Any) -> Any:
    """A JSON Lines line that was not JSON is bad input, as the command reports it."""
    from .io import Unparsable

    if isinstance(record, Unparsable):
        raise record.error()
    return record


# --------------------------------------------------------------------------- what differs

class _Key(tuple):  # type: ignore[type-arg]
    """What an applicant's decision says that :func:`compare` compares, made from the engine's
    firings exactly as :func:`taian_titles.decision.build_decision` makes the decision's codes
    (explanations are not rendered: they are not compared): (outcome codes, sorted (not_met code,
    earliest eligible_on or None), highest title code or None, note codes)."""

    __slots__ = ()

    @property
    def codes(self) -> frozenset[str]:
        return self[0]  # type: ignore[no-any-return]


def _firings_key(firings: Iterable[Any], plans: Mapping[str, Any]) -> tuple[Any, ...]:
    outcomes: set[str] = set()
    not_met: dict[str, str | None] = {}
    notes: set[str] = set()
    highest = None
    for rule_id, _bindings, concluded in firings:
        plan = plans[rule_id]
        kind = plan.kind
        if kind == "outcome":
            outcomes.add(plan.target)
        elif kind == "not_met":
            day = concluded[0].get("eligible_on") if concluded else None
            if plan.target not in not_met:
                not_met[plan.target] = day or None
            elif day and (not_met[plan.target] is None or day < not_met[plan.target]):
                not_met[plan.target] = day
        elif kind == "note":
            notes.add(plan.target)
        elif kind == "highest_title":
            if highest is None or plan.level.rank > highest.rank:
                highest = plan.level
    return (frozenset(outcomes), tuple(sorted(not_met.items())), highest.code if highest else None,
            frozenset(notes))


def _decision_key(d: Decision) -> tuple[Any, ...]:
    return (frozenset(o.code for o in d.outcomes),
            tuple(sorted((n.code, n.eligible_on.isoformat() if n.eligible_on else None) for n in d.not_met)),
            str(getattr(d.highest_recognized_title, "code")) if d.highest_recognized_title else None,
            frozenset(n.code for n in d.notes))


def _quota_key(q: QuotaResult) -> tuple[Any, ...]:
    return (q.meets_quota, q.required_digital, q.add_digital_needed, q.swap_needed,
            frozenset(f.code for f in q.findings))


def _error_text(answer: Any) -> str:
    error = getattr(answer, "error", answer)
    code = getattr(error, "code", None) or type(error).__name__
    return str(code)


class _Builder:
    def __init__(self, base: Policy, reform: Policy, group_by: str | None) -> None:
        self.base, self.reform, self.group_by = base, reform, group_by
        self.same_policy = _same(base, reform)
        self.same_facts = self.same_policy or _same_facts(base, reform)
        self.records = 0
        self.errors = 0
        self.codes: dict[str, Counter[str]] = {}
        self.groups: dict[str | None, tuple[list[int], dict[str, Counter[str]]]] = {}
        self.changes: list[Change] = []

    def _group(self, record: Any, model: Any) -> str | None:
        return group_of(record, model, self.group_by) if self.group_by is not None else None

    def _counters(self, group: str | None) -> list[dict[str, Counter[str]]]:
        out = [self.codes]
        if self.group_by is not None:
            entry = self.groups.setdefault(group, ([0, 0], {}))
            entry[0][0] += 1
            out.append(entry[1])
        return out

    def error(self, index: int, record: Any, exc: Any) -> None:
        """A record that neither policy could evaluate (bad input): counted, not compared."""
        self.records += 1
        self.errors += 1
        if self.group_by is not None:
            self._counters(self._group(record, None))

    def add(self, index: int, record: Any, model: Any, before: Any, after: Any) -> None:
        self.records += 1
        group = self._group(record, model)
        counters = self._counters(group)
        is_list = isinstance(model, RecommendationList)
        for side, answer in (("before", before), ("after", after)):
            for code in _present(answer):
                for c in counters:
                    c.setdefault(code, Counter())[side] += 1
        change = _difference(index, model, is_list, group, before, after)
        if change is None:
            return
        self.changes.append(change)
        if self.group_by is not None:
            self.groups[group][0][1] += 1
        touched: Counter[str] = Counter()
        for code in change.gained:
            touched[code] += 1
            for c in counters:
                c.setdefault(code, Counter())["gained"] += 1
        for code in change.lost:
            touched[code] += 1
            for c in counters:
                c.setdefault(code, Counter())["lost"] += 1
        for code, _b, _a in change.moved:
            touched[code] += 1
            for c in counters:
                c.setdefault(code, Counter())["moved"] += 1
        for what, b, a in change.other:
            if what.startswith("not_met:"):
                code = what.split(":", 1)[1]
                touched[code] += 1
                for c in counters:
                    c.setdefault(code, Counter())["not_met_added" if b is None else "not_met_removed"] += 1
            elif is_list and what in ("meets_quota", "required_digital", "add_digital_needed", "swap_needed",
                                      "findings"):
                touched[model_code(before, after, self.base)] += 1
        for code in touched:
            for c in counters:
                c.setdefault(code, Counter())["changed"] += 1

    def result(self) -> Comparison:
        order = _code_order(self.base, self.reform, self.codes)
        codes = {code: _code_counts(self.codes.get(code, Counter())) for code in order}
        groups = {g: GroupCounts(records=n[0], changed=n[1],
                                 codes={code: _code_counts(c.get(code, Counter())) for code in order})
                  for g, (n, c) in self.groups.items()}
        return Comparison(records=self.records, errors=self.errors, changed=len(self.changes), codes=codes,
                          changes=tuple(sorted(self.changes, key=lambda ch: ch.index)),  # input order
                          group_by=self.group_by, groups=groups,
                          base=self.base, reform=self.reform,
                          differences=tuple(policy_differences(self.base, self.reform)),
                          same_policy=self.same_policy)


def model_code(before: Any, after: Any, policy: Policy) -> str:
    for answer in (before, after):
        if isinstance(answer, QuotaResult):
            return answer.code
    return policy.quota_outcome()[0]


def _code_counts(c: Counter[str]) -> CodeCounts:
    return CodeCounts(**{f.name: c.get(f.name, 0) for f in attrs.fields(CodeCounts)})


def _code_order(base: Policy, reform: Policy, seen: Mapping[str, Any]) -> list[str]:
    declared = [code for p in (base, reform) for d in p.documents for code in d.outcomes]
    return list(dict.fromkeys([*declared, *sorted(seen)]))


def _present(answer: Any) -> tuple[str, ...]:
    """The codes an answer gives (an applicant's outcomes; a list's code when it meets the quota)."""
    if isinstance(answer, _Key):
        return tuple(answer.codes)
    if isinstance(answer, Decision):
        return tuple(o.code for o in answer.outcomes)
    if isinstance(answer, QuotaResult):
        return (answer.code,) if answer.meets_quota is True else ()
    return ()


def _difference(index: int, model: Any, is_list: bool, group: str | None, before: Any, after: Any) -> Change | None:
    record_id = getattr(model, "unit" if is_list else "id", None)
    kind = "list" if is_list else "applicant"
    if isinstance(before, (Decision, _Key)) and isinstance(after, (Decision, _Key)):
        kb = before if isinstance(before, _Key) else _decision_key(before)
        ka = after if isinstance(after, _Key) else _decision_key(after)
        if kb == ka:
            return None
        gained = tuple(sorted(ka[0] - kb[0]))
        lost = tuple(sorted(kb[0] - ka[0]))
        nb, na = dict(kb[1]), dict(ka[1])
        moved = tuple((c, nb[c], na[c]) for c in sorted(nb.keys() & na.keys()) if nb[c] != na[c])
        other: list[tuple[str, Any, Any]] = []
        for c in sorted(nb.keys() ^ na.keys()):
            other.append((f"not_met:{c}", (nb[c] or "none") if c in nb else None,
                          (na[c] or "none") if c in na else None))
        if kb[2] != ka[2]:
            other.append(("highest_recognized_title", kb[2], ka[2]))
        if kb[3] != ka[3]:
            other.append(("notes", sorted(kb[3] - ka[3]), sorted(ka[3] - kb[3])))
        return Change(index, record_id, kind, group, gained, lost, moved, tuple(other))
    if isinstance(before, QuotaResult) and isinstance(after, QuotaResult):
        kb, ka = _quota_key(before), _quota_key(after)
        if kb == ka:
            return None
        gained = (after.code,) if ka[0] is True and kb[0] is not True else ()
        lost = (before.code,) if kb[0] is True and ka[0] is not True else ()
        other = [(what, b, a) for what, b, a in zip(
            ("meets_quota", "required_digital", "add_digital_needed", "swap_needed"), kb[:4], ka[:4]) if b != a]
        if kb[4] != ka[4]:
            other.append(("findings", sorted(kb[4] - ka[4]), sorted(ka[4] - kb[4])))
        return Change(index, record_id, kind, group, gained, lost, (), tuple(other))
    # An error under one policy at least (a direction the reform no longer knows, a fault).
    b_ok, a_ok = not _is_error(before), not _is_error(after)
    if not b_ok and not a_ok and _error_text(before) == _error_text(after):
        return None
    return Change(index, record_id, kind, group, tuple(sorted(_present(after))) if not b_ok else (),
                  tuple(sorted(_present(before))) if not a_ok else (), (),
                  (("error", None if b_ok else _error_text(before), None if a_ok else _error_text(after)),))


def _is_error(answer: Any) -> bool:
    return not isinstance(answer, (Decision, QuotaResult, _Key))


def group_of(record: Any, model: Any, field: str) -> str | None:
    """The group of a record: a roster's column, the record's top-level field or ``meta`` field,
    a list's ``unit``; for ``employer`` (or 单位) the employer of the latest work period."""
    from .summary import group_value

    value = group_value(record, field)
    if value is not None:
        return value
    meta = getattr(model, "meta", None) or (record.get("meta") if isinstance(record, Mapping) else None)
    if isinstance(meta, Mapping) and meta.get(field) not in (None, ""):
        return str(meta[field])
    if isinstance(model, RecommendationList) and field in ("unit", "单位", "county", "县区"):
        return model.unit
    if isinstance(model, Applicant) and field in ("employer", "单位", "工作单位"):
        periods = sorted((w for w in model.work_periods if w.employer), key=lambda w: (w.end is None, w.end or w.start, w.start))
        return periods[-1].employer if periods else None
    return None


# --------------------------------------------------------------------------- what the reform changed

def policy_differences(base: Policy, reform: Policy) -> list[str]:
    """Documents, versions, parameters, clause texts and rules that differ between the two policies, for the report's head."""
    from .tools import document_differences

    out = []
    old = {d.id: d for d in base.documents}
    new = {d.id: d for d in reform.documents}
    for doc_id in [*old, *[i for i in new if i not in old]]:
        a, b = old.get(doc_id), new.get(doc_id)
        if a is None:
            out.append(f"{doc_id}: added")
            continue
        if b is None:
            out.append(f"{doc_id}: removed")
            continue
        if a.digest == b.digest:
            continue
        if a.version != b.version:
            out.append(f"{doc_id}: version {a.version} → {b.version}")
        out += [f"{doc_id}: {line}" for line in document_differences(a, b)]
    return out


# --------------------------------------------------------------------------- renderings

_WORDS = {
    "zh": {"title": "政策修订影响对比", "records": "记录", "errors": "无法评估", "changed": "结果有变化",
           "code": "代码", "outcome": "结论", "before": "修订前", "after": "修订后", "gained": "新获得",
           "lost": "不再获得", "moved": "可申报日期变化", "not_met_added": "新增尚未满足", "not_met_removed":
           "不再尚未满足", "base": "现行政策", "reform": "修订稿", "differences": "修订内容", "none": "无",
           "group": "分组", "by_group": "按{column}分组", "changes": "结果有变化的记录", "id": "编号",
           "difference": "变化", "all": "全部", "chart": "各结论新获得与不再获得的人数", "blank": "（未填）",
           "same": "两份政策相同：没有任何记录的结果变化。", "more": "另有 {n} 条有变化的记录未列出（JSON 中全部列出）。",
           "error": "无法评估"},
    "en": {"title": "What a reform changes", "records": "records", "errors": "not evaluated", "changed": "changed",
           "code": "code", "outcome": "outcome", "before": "before", "after": "after", "gained": "gained",
           "lost": "lost", "moved": "eligible_on moved", "not_met_added": "newly not yet met",
           "not_met_removed": "no longer not yet met", "base": "base policy", "reform": "reform",
           "differences": "what the reform changes", "none": "none", "group": "group", "by_group": "by {column}",
           "changes": "records whose result changed", "id": "id", "difference": "difference", "all": "all",
           "chart": "records gaining and losing each outcome", "blank": "(blank)",
           "same": "The two policies are the same: no record's result changes.",
           "more": "{n} more changed records are not listed here (the JSON lists all).", "error": "not evaluated"},
}

_COLUMNS = ("before", "after", "gained", "lost", "moved")


def _label(policy: Policy, code: str, lang: str) -> str:
    from .summary import outcome_label

    return outcome_label(policy, code, lang)


def _shown_codes(c: Comparison) -> list[str]:
    """Codes some record has or whose counts moved (codes nobody has either way are left out)."""
    return [code for code, n in c.codes.items() if any(attrs.astuple(n))]


def change_text(change: Change, policy: Policy, lang: str) -> str:
    """One changed record's differences in a line (``+可直接认定中级职称 …; 可申报日期 2026-01-01 → 2025-07-01``)."""
    sep = "；" if lang == "zh" else "; "
    parts = [f"+{_label(policy, c, lang)}" for c in change.gained]
    parts += [f"−{_label(policy, c, lang)}" for c in change.lost]
    for code, b, a in change.moved:
        parts.append((f"{_label(policy, code, lang)}：可申报日期 {b or '—'} → {a or '—'}" if lang == "zh"
                      else f"{_label(policy, code, lang)}: eligible on {b or '—'} → {a or '—'}"))
    for what, b, a in change.other:
        if what.startswith("not_met:"):
            code = what.split(":", 1)[1]
            word = "尚未满足" if lang == "zh" else "not yet met"
            parts.append(f"{word} {_label(policy, code, lang)}: {_show(b, lang)} → {_show(a, lang)}")
        else:
            name = _FIELDS.get(what, (what, what))[0 if lang == "zh" else 1]
            parts.append(f"{name}: {_show(b, lang)} → {_show(a, lang)}")
    return sep.join(parts)


#: How a report names the other differences of a record.
_FIELDS = {
    "highest_recognized_title": ("可直接认定的最高职称", "highest recognised title"),
    "notes": ("说明（去掉 → 新增）", "notes (gone → new)"),
    "meets_quota": ("达到比例", "meets the quota"), "required_digital": ("至少需数字领域人数", "digital needed"),
    "add_digital_needed": ("需增加", "to add"), "swap_needed": ("需替换", "to swap"),
    "findings": ("名单问题（去掉 → 新增）", "findings (gone → new)"), "error": ("无法评估", "not evaluated"),
}


def _show(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(value) if value else "—"
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    return str(value)


def render_comparison(c: Comparison, fmt: str = "text", lang: str = "zh", *, limit: int = 200) -> str:
    """The comparison as ``text``, ``markdown``, ``json`` or ``html``; readable formats list at
    most ``limit`` changed records (JSON lists all)."""
    if fmt not in COMPARE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(COMPARE_FORMATS)}, not {fmt!r}")
    if lang not in _WORDS:
        raise ValueError(f"lang must be zh or en, not {lang!r}")
    if fmt == "json":
        return json.dumps(c.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        return _html(c, lang, limit)
    return _table_text(c, lang, limit, markdown=fmt == "markdown")


def _head_lines(c: Comparison, lang: str) -> list[str]:
    w = _WORDS[lang]

    def refs(policy: Policy) -> str:
        return ", ".join(f"{d.id} {d.version} ({d.source})" for d in policy.documents)
    return [f"{w['base']}: {refs(c.base)}", f"{w['reform']}: {refs(c.reform)}"]


def _table_text(c: Comparison, lang: str, limit: int, markdown: bool) -> str:
    from .render import _pad, _width, md_escape

    w = _WORDS[lang]
    e_ = md_escape if markdown else (lambda t: t)
    out = [("# " if markdown else "") + w["title"], ""]
    out += [("- " if markdown else "") + e_(line) for line in _head_lines(c, lang)]
    out.append("")
    if c.differences:
        out.append(("## " if markdown else "") + w["differences"])
        out += [("- " if markdown else "  ") + e_(line) for line in c.differences]
        out.append("")
    out.append(f"{w['records']} {c.records} · {w['changed']} {c.changed} · {w['errors']} {c.errors}")
    if c.same_policy:
        out += ["", w["same"]]
    out.append("")
    codes = _shown_codes(c)

    def table(header: list[str], rows: list[list[str]], numbers: bool = True) -> list[str]:
        if markdown:
            return (["| " + " | ".join(header) + " |", "|---|" + ("---:|" if numbers else "---|") * (len(header) - 1)]
                    + ["| " + " | ".join(e_(x) for x in row) + " |" for row in rows])
        widths = [max(_width(x) for x in col) for col in zip(header, *rows)]

        def line(cells: list[str]) -> str:  # numbers right-aligned, text left-aligned
            return "  ".join(_pad(x, n, right=numbers and i > 0) for i, (x, n) in enumerate(zip(cells, widths))).rstrip()
        return [line(header), line(["-" * n for n in widths])] + [line(r) for r in rows]

    header = [w["outcome"], *(w[k] for k in _COLUMNS)]
    rows = [[f"{_label(c.base, code, lang)} ({code})", *(str(getattr(c.codes[code], k)) for k in _COLUMNS)]
            for code in codes]
    out += table(header, rows) if rows else [w["none"]]
    out.append("")
    if c.group_by is not None:
        out.append(("## " if markdown else "") + w["by_group"].format(column=c.group_by))
        header = [c.group_by, w["records"], w["changed"], *[f"{code} {k}" for code in codes for k in ("gained", "lost", "moved")
                                                           if any(getattr(g.codes[code], k) for g in c.groups.values())]]
        keys = [(code, k) for code in codes for k in ("gained", "lost", "moved")
                if any(getattr(g.codes[code], k) for g in c.groups.values())]
        rows = [[w["blank"] if g is None else g, str(n.records), str(n.changed),
                 *(str(getattr(n.codes[code], k)) for code, k in keys)] for g, n in c.groups.items()]
        out += table(header, rows)
        out.append("")
    if c.changes:
        out.append(("## " if markdown else "") + w["changes"])
        header = [w["id"], *([c.group_by] if c.group_by else []), w["difference"]]
        rows = [[str(ch.id), *([w["blank"] if ch.group is None else ch.group] if c.group_by else []),
                 change_text(ch, c.base, lang)] for ch in c.changes[:limit]]
        out += table(header, rows, numbers=False)
        if len(c.changes) > limit:
            out += ["", w["more"].format(n=len(c.changes) - limit)]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _html(c: Comparison, lang: str, limit: int) -> str:
    from .render import CJK_FONTS

    w, e_ = _WORDS[lang], html.escape
    codes = _shown_codes(c)
    body = [f"<h1>{e_(w['title'])}</h1>", "<ul>" + "".join(f"<li>{e_(x)}</li>" for x in _head_lines(c, lang)) + "</ul>"]
    if c.differences:
        body.append(f"<h2>{e_(w['differences'])}</h2><ul>"
                    + "".join(f"<li><code>{e_(x)}</code></li>" for x in c.differences) + "</ul>")
    body.append(f'<p class="counts">{e_(w["records"])} <b>{c.records}</b> · {e_(w["changed"])} '
                f'<b id="changed">{c.changed}</b> · {e_(w["errors"])} <b>{c.errors}</b></p>')
    if c.same_policy:
        body.append(f"<p>{e_(w['same'])}</p>")
    moving = [code for code in codes if c.codes[code].gained or c.codes[code].lost or c.codes[code].moved]
    if moving:
        body.append(_chart([(_label(c.base, code, lang), code, c.codes[code].gained, c.codes[code].lost)
                            for code in moving], w, lang))
    body.append("<table><thead><tr>" + "".join(f"<th>{e_(x)}</th>" for x in
                                               [w["outcome"], w["code"], *(w[k] for k in _COLUMNS)])
                + "</tr></thead><tbody>")
    for code in codes:
        n = c.codes[code]
        body.append(f"<tr><td>{e_(_label(c.base, code, lang))}</td><td><code>{e_(code)}</code></td>"
                    + "".join(f"<td>{getattr(n, k)}</td>" for k in _COLUMNS) + "</tr>")
    body.append("</tbody></table>")
    if c.group_by is not None:
        body.append(f"<h2>{e_(w['by_group'].format(column=c.group_by))}</h2><table><thead><tr>"
                    f"<th>{e_(c.group_by)}</th><th>{e_(w['records'])}</th><th>{e_(w['changed'])}</th>"
                    + "".join(f'<th title="{e_(code)}">{e_(_label(c.base, code, lang))} +/−</th>' for code in moving)
                    + "</tr></thead><tbody>")
        for g, counts in c.groups.items():
            body.append(f"<tr><td>{e_(w['blank'] if g is None else g)}</td><td>{counts.records}</td>"
                        f"<td>{counts.changed}</td>"
                        + "".join(f"<td>+{counts.codes[code].gained} / −{counts.codes[code].lost}</td>" for code in moving)
                        + "</tr>")
        body.append("</tbody></table>")
    if c.changes:
        body.append(f"<h2>{e_(w['changes'])}</h2><table><thead><tr><th>{e_(w['id'])}</th>"
                    + (f"<th>{e_(c.group_by)}</th>" if c.group_by else "") + f"<th>{e_(w['difference'])}</th>"
                    "</tr></thead><tbody>")
        for ch in c.changes[:limit]:
            body.append(f'<tr class="change"><td>{e_(str(ch.id))}</td>'
                        + (f"<td>{e_(w['blank'] if ch.group is None else ch.group)}</td>" if c.group_by else "")
                        + f"<td>{e_(change_text(ch, c.base, lang))}</td></tr>")
        body.append("</tbody></table>")
        if len(c.changes) > limit:
            body.append(f"<p>{e_(w['more'].format(n=len(c.changes) - limit))}</p>")
    style = (f"body {{ font-family: {CJK_FONTS}; color: #1a1a1a; max-width: 64em; margin: 2em auto; padding: 0 1em; }}"
             " table { border-collapse: collapse; margin: .8em 0; } td, th { border: 1px solid #bbb; padding: .2em .6em; }"
             " svg.chart { display: block; max-width: 100%; height: auto; }")
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{e_(w['title'])}</title>\n<style>{style}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _chart(bars: list[tuple[str, str, int, int]], w: Mapping[str, str], lang: str) -> str:
    """Gains (right, green) and losses (left, red) per outcome code, as inline SVG."""
    import unicodedata

    e_ = html.escape

    def text_width(text: str) -> int:
        return sum(13 if unicodedata.east_asian_width(ch) in "WF" else 7 for ch in text)

    label_w = min(520, max([text_width(label) for label, *_ in bars] + [80]) + 16)
    half, row_h, top = 200, 28, 50
    width, height = label_w + 2 * half + 110, top + row_h * max(len(bars), 1) + 10  # room for "+N / −N"
    peak = max([max(g, l) for *_, g, l in bars] + [1])
    mid = label_w + half
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" aria-labelledby="compare-chart">',
           f'<title id="compare-chart">{e_(w["chart"])}</title>',
           f'<text x="0" y="18" font-size="15" font-weight="bold">{e_(w["chart"])}</text>',
           f'<text x="{mid - 8}" y="40" font-size="12" text-anchor="end" fill="#b5322f">{e_(w["lost"])}</text>',
           f'<text x="{mid + 8}" y="40" font-size="12" fill="#2f7d3f">{e_(w["gained"])}</text>',
           f'<line x1="{mid}" y1="{top - 4}" x2="{mid}" y2="{height - 6}" stroke="#888" stroke-width="1"/>']
    for i, (label, code, gained, lost) in enumerate(bars):
        y = top + i * row_h
        g_len = round(half * gained / peak) if gained else 0
        l_len = round(half * lost / peak) if lost else 0
        out.append(f'<g class="bar" data-code="{e_(code)}" data-gained="{gained}" data-lost="{lost}">'
                   f'<text x="{label_w - 8}" y="{y + 18}" font-size="13" text-anchor="end">{e_(label)}</text>'
                   f'<rect x="{mid - l_len}" y="{y + 4}" width="{l_len}" height="{row_h - 8}" fill="#b5322f"/>'
                   f'<rect x="{mid}" y="{y + 4}" width="{g_len}" height="{row_h - 8}" fill="#2f7d3f"/>'
                   f'<text x="{mid + g_len + 6}" y="{y + 18}" font-size="12">+{gained} / −{lost}</text></g>')
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- a generated population

def generated_population(n: int, *, seed: int = 0, ruleset: Ruleset | None = None,
                         units: Sequence[str] | None = None, strategy: Any = None) -> list[Applicant]:
    """``n`` applicants drawn from the public strategies (``strategy``, by default
    :func:`taian_titles.strategies.applicants_at_edges`; for instance
    ``applicants(intermediate_training=True)`` for a population of M9-2d candidates), the same
    for the same ``seed``: ids ``G-00001`` …, each with a county in ``meta`` (one of ``units``, by
    default Taian's nine recommending units) to group by.  Needs hypothesis.  Hypothesis favours
    small and edge records: this is a population for finding what a reform touches, not a
    sample of a real one."""
    from hypothesis import HealthCheck, Phase, given, seed as hseed, settings

    from .strategies import TAIAN_UNITS, applicants_at_edges

    counties = tuple(units or TAIAN_UNITS)
    drawn: list[Applicant] = []

    def draw_with(value: int) -> None:
        @hseed(value)
        @settings(max_examples=n - len(drawn), database=None, phases=[Phase.generate], deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(strategy if strategy is not None else applicants_at_edges(ruleset=ruleset))
        def draw(applicant: Applicant) -> None:
            drawn.append(applicant)

        draw()

    for value in range(seed, seed + 100):  # hypothesis may stop a run early: draw on until n
        if len(drawn) >= n:
            break
        draw_with(value)
    return [attrs.evolve(a, id=f"G-{i + 1:05d}", meta={"county": counties[i % len(counties)]})
            for i, a in enumerate(drawn[:n])]
