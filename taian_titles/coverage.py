"""Rules that never fire, outcomes nothing produces, overlaps the policy did not intend.

:func:`search` generates records with the public hypothesis strategies
(:mod:`taian_titles.strategies`: applicants at every edge knob, before and after the measure
applies, with and without the crossover's stated conditions; recommendation lists at, above
and below the quota, with repeated ids and with no high-skilled candidate) for at most the
time bound it is given, evaluates each under the policy, and records which rules fired and
which outcome codes, "not yet met" codes and notes each record got.  It stops early once every
rule fired and every outcome code was produced (after ``min_records`` records).

What it reports (:class:`CoverageReport`):

- each **rule that never fired**, with the conditions it waits for: for each condition, in how
  many records some fact met it on its own, and the first condition that was never met
  together with the ones before it (an edit that makes a rule impossible, such as two
  contradictory conditions, shows as two conditions each met alone and never together);
- each **outcome code never produced** in the search;
- each **overlap**: two conclusions the ruleset declares exclusive (``[exclusive.<name>]``)
  produced for one record, with that record (JSON) as the counterexample;
- what a search cannot miss but a reader might: **parameters no rule reads**, **outcome codes
  no rule produces**, **notes no rule writes** (a note with a heading in
  ``[labels.note_headings]`` that no rule writes).

A search that does not reach a rule is not a proof that no record can: the report says how
many records it tried and for how long.  The search never changes hypothesis's global settings
or profiles: it runs :func:`hypothesis.find` with a settings object of its own (no example
database, derandomised: the same policy gives the same records in the same order, up to the
constants hypothesis collects from the modules loaded in the process).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

import attrs

from .engine import _param
from .facts import PARAMETERS_READ, applicant_facts, recommendation_list_facts
from .policy import Policy
from .ruleset import Condition, Exclusive, Literal, Param, Ref, Rule, Ruleset

__all__ = ["search", "CoverageReport", "Unreached", "ConditionSeen", "Overlap", "static_findings",
           "DEFAULT_SECONDS", "coverage_text"]

#: The default time bound of a search, in seconds.
DEFAULT_SECONDS = 20.0
#: Seconds spent making each counterexample smaller (within the search's bound).
SHRINK_SECONDS = 5.0
#: Records tried before a search that has reached everything may stop early.
MIN_RECORDS = 1000
#: Steps of the join a rule's diagnosis may take on one record (it is a backtracking search).
_JOIN_STEPS = 2000


@attrs.frozen
class ConditionSeen:
    """One condition of a rule that never fired: in how many records some fact met it alone
    (tests against another fact's field are left out), and whether it is a ``no`` condition."""

    source: str
    negated: bool
    met_alone: int

    def to_dict(self) -> dict[str, Any]:
        return {"when": self.source, "negated": self.negated, "met_alone": self.met_alone}


@attrs.frozen
class Unreached:
    """A rule no record of the search fired: ``conditions`` as seen, ``together`` the most of
    its leading conditions any one record met together (so ``conditions[together]`` is the
    first it waits for)."""

    rule: str
    document: str
    clause: str
    conditions: tuple[ConditionSeen, ...]
    together: int

    @property
    def waits_for(self) -> ConditionSeen | None:
        return self.conditions[self.together] if self.together < len(self.conditions) else None

    def to_dict(self) -> dict[str, Any]:
        waits = self.waits_for
        return {"rule": self.rule, "document": self.document, "clause": self.clause,
                "conditions": [c.to_dict() for c in self.conditions], "met_together": self.together,
                "waits_for": waits.source if waits else None}


@attrs.frozen
class Overlap:
    """Conclusions declared exclusive, produced for one record: the counterexample."""

    name: str
    document: str
    clause: str
    members: tuple[str, ...]  # the declared codes that the record got together
    record: Mapping[str, Any]  # the record, in the exchange format
    kind: str  # "applicant" or "list"

    def to_dict(self) -> dict[str, Any]:
        return {"exclusive": self.name, "document": self.document, "clause": self.clause,
                "produced": list(self.members), "kind": self.kind, "record": dict(self.record)}


@attrs.frozen
class CoverageReport:
    """What a :func:`search` reached, and what it did not."""

    seconds: float  # the time bound
    elapsed: float
    applicants: int
    lists: int
    stopped_early: bool  # everything was reached before the bound
    rules: Mapping[str, int]  # rule id -> records in which it fired
    outcomes: Mapping[str, int]  # outcome code -> records that got it
    unreached: tuple[Unreached, ...]
    unproduced: tuple[tuple[str, str], ...]  # (document, outcome code) no record of the search got
    overlaps: tuple[Overlap, ...]
    exclusive_checked: int
    last_new_rule: tuple[int, float] = (0, 0.0)
    max_records: int | None = None  # set when the search ended at this many records
    expected: tuple[str, ...] = ()  # rules the caller said would not fire
    expected_codes: tuple[str, ...] = ()  # outcome codes only those rules produce  # (records, seconds) when the last rule to fire first fired
    unused_parameters: tuple[tuple[str, str], ...] = ()  # (document, parameter)
    unconcluded_codes: tuple[tuple[str, str], ...] = ()  # (document, code) no rule concludes
    unwritten_notes: tuple[tuple[str, str], ...] = ()  # (document, note code) no rule writes

    @property
    def clean(self) -> bool:
        """Nothing to report: every rule fired (but those expected not to), every code produced
        (but those only such rules produce), no overlap, nothing unused."""
        unexpected = any(u.rule not in self.expected for u in self.unreached)
        unproduced = any(code not in self.expected_codes for _, code in self.unproduced)
        return not (unexpected or unproduced or self.overlaps or self.unused_parameters
                    or self.unconcluded_codes or self.unwritten_notes)

    def warnings(self) -> list[str]:
        """One line per finding (the conditions of an unreached rule on lines of their own)."""
        return coverage_text(self).splitlines()[1:]

    def to_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds, "elapsed": round(self.elapsed, 2), "applicants": self.applicants,
            "lists": self.lists, "stopped_early": self.stopped_early,
            "rules_fired": dict(self.rules), "outcomes_produced": dict(self.outcomes),
            "unreached_rules": [u.to_dict() for u in self.unreached],
            "unproduced_outcomes": [{"document": d, "code": c} for d, c in self.unproduced],
            "overlaps": [o.to_dict() for o in self.overlaps], "exclusive_checked": self.exclusive_checked,
            "last_new_rule": {"records": self.last_new_rule[0], "seconds": round(self.last_new_rule[1], 2)},
            "unused_parameters": [{"document": d, "parameter": p} for d, p in self.unused_parameters],
            "unconcluded_codes": [{"document": d, "code": c} for d, c in self.unconcluded_codes],
            "unwritten_notes": [{"document": d, "note": n} for d, n in self.unwritten_notes],
        }


# --------------------------------------------------------------------------- what needs no search

def static_findings(policy: Policy) -> dict[str, list[tuple[str, str]]]:
    """Parameters no rule reads (nor Python, nor a report), outcome codes no rule concludes,
    notes with a heading that no rule writes; each as ``(document id, name)``."""
    from .cityreport import REPORT_PARAMETERS

    targeted = {r.then.target for r in policy.rules if r.then.kind in ("outcome", "not_met", "quota")}
    written = {r.then.target for r in policy.rules if r.then.kind == "note"}
    read_by_python = {name for needs in PARAMETERS_READ.values() for name in needs}
    out: dict[str, list[tuple[str, str]]] = {"unused_parameters": [], "unconcluded_codes": [], "unwritten_notes": []}
    for d in policy.documents:
        named: set[str] = set()
        texts = [c.source for r in d.rules for c in r.when] + [t for r in d.rules for t in (r.explain or {}).values()]
        for text in texts:
            named.update(re.findall(r"\$([A-Za-z_]\w*)", text))
        named.update(op.name for r in d.rules for _, op in r.then.set if isinstance(op, Param))
        for count in d.counts.values():
            for value in count.parameters.values():
                named.update(value.values() if isinstance(value, Mapping) else [value])
        out["unused_parameters"] += [(d.id, name) for name in d.parameters
                                     if name not in named and name not in read_by_python
                                     and name not in REPORT_PARAMETERS]
        out["unconcluded_codes"] += [(d.id, code) for code in d.outcomes if code not in targeted]
        out["unwritten_notes"] += [(d.id, code) for code in d.labels.get("note_headings", {}) if code not in written]
    return out


# --------------------------------------------------------------------------- the search

def _generation_ruleset(policy: Policy) -> Ruleset | None:
    """The document whose parameters the strategies read (in-force date, years, directions,
    quota), when the policy has one; else the strategies' default."""
    needed = ("in_force_from", "required_years", "digital_directions", "quota_share", "high_skilled_from")
    return next((d for d in policy.documents if all(n in d.parameters for n in needed)), None)


def _strategy(policy: Policy) -> Any:
    from hypothesis import strategies as st

    from . import strategies as ts

    rs = _generation_ruleset(policy)
    stated = st.sampled_from((None, True, False))

    def with_conditions(applicant: Any) -> Any:
        return st.tuples(stated, stated).map(
            lambda pair: ("applicant", attrs.evolve(applicant, appraisals_passed=pair[0],
                                                   continuing_education_done=pair[1])))

    # The lowest skill level a policy's rules name as a parameter (the crossover's range).
    floors = [d.param(n) for d in policy.documents for n, p in d.parameters.items() if p.get("type") == "skill_level"]
    floor = min(floors, key=lambda level: level.rank) if floors else None

    @st.composite
    def crossover(draw: Any) -> Any:
        """An applicant with skill levels at or above ``floor`` and skilled work (the crossover)."""
        applicant = draw(ts.applicants(ruleset=rs, max_items=1))
        day = applicant.as_of
        levels = draw(st.lists(ts.skill_levels(as_of=day, issued="held", min_level=floor),
                               min_size=1, max_size=2))
        work = draw(st.lists(ts.work_periods(as_of=day, kind="skilled", ruleset=rs), min_size=1, max_size=2))
        return attrs.evolve(applicant, skill_levels=applicant.skill_levels + tuple(levels),
                            work_periods=applicant.work_periods + tuple(work))

    people = st.one_of(
        crossover(),
        ts.applicants_at_edges(ruleset=rs),
        ts.applicants(ruleset=rs, held_only=True, min_items=1),
        ts.applicants(ruleset=rs, as_of=ts.evaluation_dates(ruleset=rs, in_force=False)),
        ts.applicants(ruleset=rs, ongoing_only=True, held_only=True),
    ).flatmap(with_conditions)
    in_force = ts.evaluation_dates(ruleset=rs)
    lists = st.one_of(
        ts.recommendation_lists(ruleset=rs, near_quota=True, as_of=in_force, max_size=20),
        ts.recommendation_lists(ruleset=rs, as_of=ts.evaluation_dates(ruleset=rs, in_force=None), max_size=8),
        ts.recommendation_lists(ruleset=rs, high_skilled=False, as_of=in_force, max_size=4),
        ts.recommendation_lists(ruleset=rs, unique_ids=False, as_of=in_force, max_size=6),
    ).map(lambda rec: ("list", rec))
    has_quota = any(r.then.kind == "quota" for r in policy.rules)
    # Lists cost a fraction of an applicant to draw and evaluate: one draw in three.
    return st.one_of(people, people, lists) if has_quota else people


class _Tracker:
    """Bookkeeping of one search: what fired, what each unfired rule's conditions met."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.rules: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.params = {d.id: d.parameters for d in policy.documents}
        self.alone: dict[str, list[int]] = {r.id: [0] * len(r.when) for r in policy.rules}
        self.together: dict[str, int] = {r.id: 0 for r in policy.rules}
        self.exclusive = [(d, x) for d in policy.documents for x in d.exclusive]
        self.overlaps: dict[str, Overlap] = {}
        self.found_at: dict[str, int] = {}  # the record of the search at which each overlap turned up
        self.codes = [(d.id, code) for d in policy.documents for code in d.outcomes]
        self.applicants = 0
        self.lists = 0
        self.clock: Callable[[], float] = time.monotonic
        self.start = 0.0
        self.last_new = (0, 0.0)  # records searched and seconds when a rule first fired, the last time
        self.threshold = policy.param("high_skilled_from").rank if policy.has_param("high_skilled_from") else 0

    def expect(self, unreached: Sequence[str]) -> None:
        """Rules the caller knows cannot fire: the search may stop without them (and without
        the outcome codes only they produce)."""
        self.expected = set(unreached)
        producers: dict[str, set[str]] = {}
        for r in self.policy.rules:
            if r.then.kind in ("outcome", "quota"):
                producers.setdefault(r.then.target, set()).add(r.id)
        self.goal_rules = [r.id for r in self.policy.rules if r.id not in self.expected]
        self.goal_codes = [c for _, c in self.codes if not producers.get(c, set()) <= self.expected
                           or not producers.get(c)]

    def done(self) -> bool:
        return all(r in self.rules for r in self.goal_rules) and all(c in self.outcomes for c in self.goal_codes)

    def see(self, kind: str, record: Any) -> None:
        policy = self.policy
        try:
            if kind == "applicant":
                prepared = policy.prepare(record)
                facts = applicant_facts(prepared, record.as_of, policy.counts)
            else:
                facts = recommendation_list_facts(record, record.as_of, policy.counts, self.threshold)
        except Exception:  # a record this policy refuses (a direction it does not know): not counted
            return
        firings = policy.engine.run(facts)
        if kind == "applicant":
            self.applicants += 1
        else:
            self.lists += 1
        fired = {f.rule_id for f in firings}
        concluded = [fact for f in firings for fact in f.concluded]
        new = fired - self.rules.keys()
        self.rules.update(fired)
        if new:
            self.last_new = (self.applicants + self.lists, self.clock() - self.start)
        self.outcomes.update({c["code"] for c in concluded if c["t"] in ("outcome", "quota")})
        unfired = [r for r in policy.rules if r.id not in fired and r.id not in self.rules]
        if unfired:
            by_type: dict[str, list[dict[str, Any]]] = {}
            for fact in (*facts, *concluded):
                by_type.setdefault(fact["t"], []).append(fact)
            for rule in unfired:
                self._diagnose(rule, by_type)
        if self.exclusive:
            self._overlaps(kind, record, concluded)

    def _diagnose(self, rule: Rule, by_type: Mapping[str, list[dict[str, Any]]]) -> None:
        params = self.params[rule.document]
        counts = self.alone[rule.id]
        for n, cond in enumerate(rule.when):
            candidates = by_type.get(cond.fact, ())
            if cond.negated:
                met = not any(_holds(cond, f, None, params) for f in candidates)
            else:
                met = any(_holds(cond, f, None, params) for f in candidates)
            counts[n] += met
        if self.together[rule.id] < len(rule.when):
            self.together[rule.id] = max(self.together[rule.id], _joined(rule, by_type, params))

    def _overlaps(self, kind: str, record: Any, concluded: Sequence[Mapping[str, Any]]) -> None:
        for document, x in self.exclusive:
            if x.name in self.overlaps:
                continue
            members = _overlap(x, concluded)
            if members:
                self.overlaps[x.name] = Overlap(x.name, document.id, x.clause,
                                                tuple(x.member_text(m) for m in members), _record_dict(kind, record),
                                                kind)
                self.found_at[x.name] = self.applicants + self.lists

    def report(self, seconds: float, elapsed: float, stopped: bool) -> CoverageReport:
        unreached = []
        for rule in self.policy.rules:
            if rule.id in self.rules:
                continue
            seen = tuple(ConditionSeen(c.source, c.negated, self.alone[rule.id][n]) for n, c in enumerate(rule.when))
            unreached.append(Unreached(rule.id, rule.document, rule.clause, seen, self.together[rule.id]))
        static = static_findings(self.policy)
        return CoverageReport(
            seconds=seconds, elapsed=elapsed, applicants=self.applicants, lists=self.lists, stopped_early=stopped,
            rules={r.id: self.rules.get(r.id, 0) for r in self.policy.rules},
            outcomes={c: self.outcomes.get(c, 0) for _, c in self.codes},
            unreached=tuple(unreached),
            unproduced=tuple((d, c) for d, c in self.codes if c not in self.outcomes),
            overlaps=tuple(self.overlaps.values()), exclusive_checked=len(self.exclusive),
            last_new_rule=self.last_new,
            unused_parameters=tuple(static["unused_parameters"]),
            unconcluded_codes=tuple(static["unconcluded_codes"]),
            unwritten_notes=tuple(static["unwritten_notes"]))


def _record_dict(kind: str, record: Any) -> dict[str, Any]:
    from .exchange import applicant_to_dict, recommendation_list_to_dict

    return applicant_to_dict(record) if kind == "applicant" else recommendation_list_to_dict(record)


def _overlap(x: Exclusive, concluded: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """The members of ``x`` that these conclusions (of one record) give together, if any."""
    got: dict[tuple[str, str], list[set[str]]] = {}
    for fact in concluded:
        key = ("outcome" if fact["t"] == "quota" else fact["t"], fact.get("code"))
        if key in x.members:
            got.setdefault(key, []).append(set(fact.get("basis") or ()))
    return _conflicting(x, got) if len(got) >= 2 else ()


def _conclusions(policy: Policy, kind: str, record: Any) -> list[dict[str, Any]] | None:
    """What the engine concludes for one record (None when the policy refuses the record)."""
    try:
        if kind == "applicant":
            facts = applicant_facts(policy.prepare(record), record.as_of, policy.counts)
        else:
            threshold = policy.param("high_skilled_from").rank if policy.has_param("high_skilled_from") else 0
            facts = recommendation_list_facts(record, record.as_of, policy.counts, threshold)
    except Exception:
        return None
    return [fact for f in policy.engine.run(facts) for fact in f.concluded]


class _Budget(Exception):
    """The shrinking of a counterexample ran out of time."""


def _shrunk(policy: Policy, x: Exclusive, strategy: Any, found_at: int, seconds: float,
            clock: Callable[[], float]) -> tuple[str, Any] | None:
    """A smaller record with the same overlap: the derandomised search again up to the record
    where it turned up, then hypothesis's shrinking, for at most ``seconds``; the smallest
    counterexample seen (by the length of its JSON), or None."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    deadline = clock() + seconds
    best: list[Any] = []

    def size(drawn: tuple[str, Any]) -> int:
        return len(json.dumps(_record_dict(*drawn), ensure_ascii=False, default=str))

    def overlaps(drawn: tuple[str, Any]) -> bool:
        if clock() > deadline:
            raise _Budget()
        concluded = _conclusions(policy, *drawn)
        if concluded is None or not _overlap(x, concluded):
            return False
        if not best or size(drawn) < size(best[0]):
            best[:] = [drawn]
        return True

    own = settings(max_examples=found_at + 50, database=None, derandomize=True,
                   phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
                   deadline=None, report_multiple_bugs=False)
    try:
        find(strategy, overlaps, settings=own)
    except (_Budget, NoSuchExample):
        pass
    return best[0] if best else None


def _conflicting(x: Exclusive, got: Mapping[tuple[str, str], list[set[str]]]) -> tuple[tuple[str, str], ...]:
    """The members of ``x`` a record got together (with ``same_item``: on one item of that kind)."""
    present = [m for m in x.members if m in got]
    if x.same_item is None:
        return tuple(present)
    prefix = x.same_item + ":"
    for i, a in enumerate(present):
        for b in present[i + 1:]:
            items_a = {ref for basis in got[a] for ref in basis if ref.startswith(prefix)}
            items_b = {ref for basis in got[b] for ref in basis if ref.startswith(prefix)}
            if items_a & items_b:
                return (a, b)
    return ()


_MISSING = object()


def _value(op: Any, bound: Mapping[str, Mapping[str, Any]] | None, params: Mapping[str, Any]) -> Any:
    """An operand's value, or ``_MISSING`` for another fact's field not yet bound (unknown)."""
    if isinstance(op, Literal):
        return op.value
    if isinstance(op, Param):
        return _param(params, op)
    if isinstance(op, Ref):
        if bound is None or op.alias not in bound:
            return _MISSING
        return bound[op.alias].get(op.field)
    return _MISSING


def _holds(cond: Condition, fact: Mapping[str, Any], bound: Mapping[str, Mapping[str, Any]] | None,
           params: Mapping[str, Any]) -> bool:
    """Python's reading of a condition's tests on one fact; a test against a field of a fact not
    bound (``bound`` None: the condition alone) counts as met."""
    for test in cond.tests:
        have = fact.get(test.field, _MISSING)
        if test.op in ("in", "not in"):
            if isinstance(test.operand, tuple):
                values = [_value(op, bound, params) for op in test.operand]
            else:
                values = _value(test.operand, bound, params)
            if values is _MISSING or _MISSING in values:
                continue
            inside = have is not _MISSING and have in values
            if inside != (test.op == "in"):
                return False
            continue
        want = _value(test.operand, bound, params)
        if want is _MISSING:
            continue
        if want is None:  # == none / != none: the field has no value / has one
            absent = have is _MISSING or have is None
            if absent != (test.op == "=="):
                return False
            continue
        if have is _MISSING or have is None:
            return False
        try:
            ok = {"==": have == want, "!=": have != want, "<": have < want, "<=": have <= want,
                  ">": have > want, ">=": have >= want}[test.op]
        except TypeError:
            ok = False
        if not ok:
            return False
    return True


def _joined(rule: Rule, by_type: Mapping[str, list[dict[str, Any]]], params: Mapping[str, Any]) -> int:
    """The most leading conditions of ``rule`` that facts of one record meet together."""
    best = 0
    steps = 0
    conditions = rule.when

    def walk(n: int, bound: dict[str, Mapping[str, Any]]) -> None:
        nonlocal best, steps
        best = max(best, n)
        steps += 1
        if n == len(conditions) or best == len(conditions) or steps > _JOIN_STEPS:
            return
        cond = conditions[n]
        facts = by_type.get(cond.fact, ())
        if cond.negated:
            if not any(_holds(cond, f, bound, params) for f in facts):
                walk(n + 1, bound)
            return
        for f in facts:
            if _holds(cond, f, bound, params):
                walk(n + 1, {**bound, cond.alias: f})  # type: ignore[dict-item]
                if best == len(conditions) or steps > _JOIN_STEPS:
                    return

    walk(0, {})
    return best


def search(policy: Policy | None = None, *, seconds: float = DEFAULT_SECONDS, min_records: int = MIN_RECORDS,
           max_records: int | None = None, expected_unreached: Sequence[str] = (),
           shrink_seconds: float = SHRINK_SECONDS, clock: Callable[[], float] = time.monotonic) -> CoverageReport:
    """Search for records that fire each rule of ``policy`` (default the shipped one) and produce
    each outcome code, for at most ``seconds`` and at most ``max_records`` records; see the
    module's docstring.  ``expected_unreached``: rule ids known not to fire (the shipped
    ``M9-4-not-met-swap-only``): the search stops early once every other rule fired and every
    code they produce was produced; they are still reported.

    The search is derandomised, but hypothesis also draws on the constants of the modules
    loaded in the process, so the records tried depend a little on what else is imported."""
    from hypothesis import HealthCheck, Phase, find, settings
    from hypothesis.errors import NoSuchExample

    from .policy import default_policy

    policy = policy or default_policy()
    if seconds <= 0:
        raise ValueError("seconds must be more than 0")
    tracker = _Tracker(policy)
    tracker.expect(expected_unreached)
    start = clock()
    tracker.clock, tracker.start = clock, start
    stopped = limited = False

    finished = False

    def condition(drawn: tuple[str, Any]) -> bool:
        nonlocal stopped, limited, finished
        if finished:  # find() calls it once more with the example it stopped at: seen already
            return True
        tracker.see(*drawn)
        if tracker.applicants + tracker.lists >= min_records and tracker.done():
            stopped = finished = True
        elif max_records is not None and tracker.applicants + tracker.lists >= max_records:
            limited = finished = True
        else:
            finished = clock() - start >= seconds
        return finished

    own = settings(max_examples=10 ** 9, database=None, derandomize=True, phases=[Phase.generate],
                   suppress_health_check=list(HealthCheck), deadline=None, report_multiple_bugs=False)
    strategy = _strategy(policy)
    try:
        find(strategy, condition, settings=own)
    except NoSuchExample:  # pragma: no cover - the bound or the goal ends the search first
        pass
    # A smaller counterexample reads better: each overlap found is searched again and shrunk,
    # within a few seconds each (and never beyond the bound).
    for name, overlap in list(tracker.overlaps.items()):
        left = seconds - (clock() - start)
        if left <= 0 or shrink_seconds <= 0:
            break
        x = next(x for _, x in tracker.exclusive if x.name == name)
        smaller = _shrunk(policy, x, strategy, tracker.found_at[name], min(shrink_seconds, left), clock)
        if smaller is not None:
            data = _record_dict(*smaller)
            if len(json.dumps(data, ensure_ascii=False)) < len(json.dumps(overlap.record, ensure_ascii=False)):
                members = _overlap(x, _conclusions(policy, *smaller) or [])
                tracker.overlaps[name] = attrs.evolve(overlap, record=data, kind=smaller[0],
                                                      members=tuple(x.member_text(m) for m in members))
    report = tracker.report(seconds, clock() - start, stopped)
    return attrs.evolve(report, max_records=max_records if limited else None,
                        expected=tuple(r.id for r in policy.rules if r.id in tracker.expected),
                        expected_codes=tuple(c for _, c in tracker.codes if c not in tracker.goal_codes))


# --------------------------------------------------------------------------- the report as text

def coverage_text(report: CoverageReport) -> str:
    """The report for ``ruleset check --coverage``: a head line, then one warning a line."""
    r = report
    total_rules = len(r.rules)
    fired = sum(1 for n in r.rules.values() if n)
    produced = sum(1 for n in r.outcomes.values() if n)
    how = ("stopped early: every rule fired and every outcome code was produced"
           + (", but those expected not to" if r.expected else "") if r.stopped_early
           else f"ended at {r.max_records:,} records" if r.max_records else "the time bound ended it")
    lines = [f"coverage: searched {r.applicants:,} applicants and {r.lists:,} recommendation lists in "
             f"{r.elapsed:.1f} s (bound {r.seconds:g} s; {how}); rules fired {fired}/{total_rules}, outcome codes "
             f"produced {produced}/{len(r.outcomes)}, exclusive declarations checked {r.exclusive_checked}, "
             f"overlaps {len(r.overlaps)}; the last rule to fire first fired after {r.last_new_rule[0]:,} records "
             f"({r.last_new_rule[1]:.1f} s)"]
    for u in r.unreached:
        head = "expected" if u.rule in r.expected else "warning"
        lines.append(f"{head}: rule {u.rule!r} ({u.document}, clause {u.clause}) never fired in the search; "
                     f"it waits for:")
        for n, c in enumerate(u.conditions):
            if c.negated:
                seen = f"held (no such fact) in {c.met_alone:,} records"
            elif c.met_alone:
                seen = f"met alone in {c.met_alone:,} records"
            else:
                seen = "never met by any fact"
            if n == u.together and c.met_alone:
                seen += ", never together with the conditions before it"
            mark = "→" if n == u.together else " "
            lines.append(f"  {mark} when[{n}] {c.source}   ({seen})")
    for d, code in r.unproduced:
        head = "expected" if code in r.expected_codes else "warning"
        lines.append(f"{head}: outcome code {code!r} ({d}) was not produced for any record of the search")
    for rule in r.expected:
        if r.rules.get(rule):
            lines.append(f"note: rule {rule!r} was expected not to fire but fired in {r.rules[rule]:,} records")
    for o in r.overlaps:
        lines.append(f"warning: exclusive {o.name!r} ({o.document}, clause {o.clause}): "
                     f"{' and '.join(o.members)} "
                     f"produced for one {o.kind}; counterexample: "
                     + json.dumps(o.record, ensure_ascii=False, separators=(",", ":")))
    for d, name in r.unused_parameters:
        lines.append(f"warning: {d}: parameter {name!r} is read by no rule")
    for d, code in r.unconcluded_codes:
        lines.append(f"warning: {d}: outcome code {code!r} is declared but no rule produces it")
    for d, code in r.unwritten_notes:
        lines.append(f"warning: {d}: note {code!r} has a heading in [labels.note_headings] but no rule writes it")
    return "\n".join(lines) + "\n"

