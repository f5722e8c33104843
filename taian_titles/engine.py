"""The engine adapter: the only module that knows durable-rules.

Everything durable-rules is here: compiling the policy's conditions to its JSON, the hidden
rules, sessions, staging, and applying each rule's declarative ``then`` (derive, copy, set,
outcome, not_met, note, finding, quota, highest_title) itself.  No callback crosses the
boundary: :meth:`Engine.run` takes facts and returns :class:`Firing` s, each with the facts
its rule concluded, and :mod:`taian_titles.decision` only turns them into results.

It drives durable-rules' C core (``durable_rules_engine``) directly rather than through
``durable.lang.Host``, which handles every hazard measured on durable-rules 2.0.28 in one
place:

* **No background dispatcher.**  ``Host`` starts a timer thread that runs pending actions for
  any session; here nothing runs except inside :meth:`Engine.run`.
* **Sessions (sids) are ours**, never an applicant id: the C core finds a session by a 32-bit
  hash of its sid, so two ids can collide.  Every fact coming back from the engine is checked
  to carry the sid it was asserted under, and each evaluation deletes its session in a
  ``finally`` (a ruleset holds at most 1,024 live sessions).
* **Exceptions in actions reach the caller**: actions are applied by this loop, so an error
  propagates after the action is abandoned and the session deleted.
* **One evaluation at a time per process** (a lock): the C core holds the GIL anyway, so the
  lock costs nothing and rules out the races measured with concurrent use.
* **Negation is staged**: a rule runs only after the marker fact of its stage is asserted,
  which happens when the previous stage has stopped firing, so that every fact a ``no``
  condition tests is already there (the loader checks that it comes from an earlier stage).
  A stage none of whose (reachable) rules is gated gets no marker: nothing waits for it.
* **Facts are fresh dicts** serialised once; nothing the caller owns is mutated.  The engine
  is given only the fields that conditions test, a property naming the fact's type
  (``t__certificate: 1``, see :func:`type_key`) and an ``id`` that is unique in the session
  (so no two facts are ever "identical", durable-rules issue 376, and the core never computes
  an identity by sorting and hashing every property); a firing's bindings are the whole
  facts, looked up by that id.  A field with no value is left out of the fact, and the
  condition language's ``none`` compiles to the core's "no such property" test.
* **Fewer round trips**: facts that no rule of the current stage tests are asserted with the
  next stage's marker instead of in a round of their own, and the matches of one rule that are
  ready together come in one action (every rule has a ``cap``, see :func:`compile_rules`).
* **Every session starts an action before it is deleted.**  Deleting a session in which no
  action was ever started frees an invalid pointer in the C core (a segfault, depending on the
  heap); a hidden rule ``opened__`` fires on the state fact (``$s``) that the core creates
  with the first fact of every session.  A session in which nothing was asserted is not
  deleted (the core never created it).  Names ending in ``__`` are the adapter's: the loader
  refuses them in a ruleset.
* **Comparisons with another fact end with one that cannot fail**, and in-lists come last
  (:func:`compile_rules`): the core reads past the end of a condition's tests when the last
  one fails (a segfault at times) and never checks a test after a list.
* **Only the rules a session can reach are compiled**, per set of input fact types, and shared
  by the sets that reach the same rules: the core allocates and clears about 8 KiB per join
  node of its ruleset for every session.  A fact whose type no rule of the session's compiled
  ruleset tests is not asserted at all (the core stores every fact in a pool of 16 that it
  copies to grow).
* **No fact goes unhandled**: a hidden rule ``catch_all__`` matches every fact and never fires
  (it would need 65,535 matches), so the core never answers "message not handled".
* **Each engine registers under a unique name**, so a ruleset can be loaded again in one
  process, and the C rulesets are deleted when the :class:`Engine` is collected.
"""

from __future__ import annotations

import datetime as _dt
import functools
import itertools
import json
import threading
import weakref
from fractions import Fraction
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import durable_rules_engine as _dre
import orjson

from .model import Level, SkillLevel
from .facts import INPUT_FACTS
from .ruleset import STAGES, Condition, Literal, Param, Ref, Rule, Ruleset, Test

__all__ = ["Engine", "EngineError", "Firing", "compile_rules", "type_key", "stage_gate",
           "MATCHES_PER_ACTION", "engine_value", "KEY"]

_LOCK = threading.RLock()
_NAMES = itertools.count()
_SIDS = map("s{}".format, itertools.count())  # sids of our own, never applicant ids

# Hidden rules of the adapter (see the module docstring).
_OPENED, _CATCH_ALL = "opened__", "catch_all__"
#: Facts one session of the core holds; the catch-all rule fires (an error) when a session reaches it.
SESSION_FACTS = 65535
#: Facts of types that stand alone (:func:`standalone_types`: a recommendation list's candidates)
#: that one session holds; more are evaluated in further sessions, so that a list of any length
#: never reaches :data:`SESSION_FACTS` and its cost stays linear (the core's hash indexes of a
#: session have 512 buckets: 100,000 candidates took 0.70 s in sessions of 16,384, 0.57 s in
#: sessions of 4,096 and of 1,024).
STANDALONE_PER_SESSION = 4096
# Result codes of the C core's assert functions.
_HANDLED, _NOT_HANDLED, _OBSERVED = 0, 1, 2
#: The most matches of one rule the engine hands over in one action (durable-rules' ``cap``).
MATCHES_PER_ACTION = 1000
_OPS = {"==": None, "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


class EngineError(RuntimeError):
    """The rule engine misbehaved (a fact of another session, an unhandled fact)."""


class Firing(tuple):  # type: ignore[type-arg]
    """(rule id, {alias: fact}, concluded facts) of one rule firing."""

    __slots__ = ()

    def __new__(cls, rule_id: str, bindings: dict[str, dict[str, Any]],
                concluded: tuple[dict[str, Any], ...] = ()) -> "Firing":
        return super().__new__(cls, (rule_id, bindings, concluded))

    @property
    def rule_id(self) -> str:
        return self[0]

    @property
    def bindings(self) -> dict[str, dict[str, Any]]:
        return self[1]

    @property
    def concluded(self) -> tuple[dict[str, Any], ...]:
        return self[2]


# --------------------------------------------------------------------------- compiling conditions

def engine_value(value: Any) -> Any:
    """A parameter's value as the engine compares it: dates as ISO strings, levels as codes."""
    if isinstance(value, (SkillLevel, Level)):
        return value.code
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, tuple):
        return list(value)
    return value


def _param(params: Mapping[str, Mapping[str, Any]], op: Param) -> Any:
    value = params[op.name]["value"]
    return value.rank if op.attr == "rank" else engine_value(value)


#: The property naming the applicant of a fact in a session shared by several (:meth:`Engine.run_many`).
KEY = "a__"


def compile_rules(rules: Sequence[Rule], params_of: Mapping[str, Mapping[str, Mapping[str, Any]]],
                  keyed: bool = False) -> dict[str, Any]:
    """durable-rules definitions of every rule (``params_of``: document id → its parameters).

    A rule with a ``no`` condition is gated by its stage's marker fact, so that it is matched
    only once every fact it negates has been asserted.  A rule of positive conditions only needs
    no gate (what it concludes cannot be undone by a later fact), and leaving the gate out saves
    the engine a join node per rule, which it allocates and clears for every session.

    Every rule has a ``cap``: the matches of one rule that are ready together are handed over
    in one action (a list of up to ``MATCHES_PER_ACTION`` frames) rather than one action each.

    ``keyed``: for sessions of several applicants, every condition after the rule's first
    positive one, negated conditions included, also demands the first one's applicant
    (``a__ == <first alias>.a__``), so that a rule joins only facts of one applicant and a ``no``
    looks only at its own applicant's facts.  The stage markers are the session's, one for all.
    """
    definition: dict[str, Any] = {}
    for r in rules:
        params = params_of[r.document]
        terms: list[dict[str, Any]] = []
        if any(cond.negated for cond in r.when):
            terms.append(stage_gate(r.stage))
        aliases = {c.alias: c.fact for c in r.when if c.alias}
        anchor = next(c.alias for c in r.when if not c.negated) if keyed else None
        for n, cond in enumerate(r.when):
            key = anchor if anchor is not None and cond.alias != anchor else None
            body = _condition_body(cond, aliases, params, key)
            terms.append({(f"no{n}__$not" if cond.negated else cond.alias): body})
        definition[r.id] = {"all": terms, "cap": MATCHES_PER_ACTION}
    return definition


def _condition_body(cond: Condition, aliases: Mapping[str, str],
                    params: Mapping[str, Mapping[str, Any]], key: str | None = None) -> dict[str, Any]:
    """One condition for durable-rules, its tests ordered around two faults of the C core.

    The core checks the tests that compare with another fact (``date <= ctx.as_of``) in
    sequence when a fact arrives, and it mishandles two cases (durable-rules 2.0.28):

    * **The last test of the sequence fails**: the core skips past the sequence's end and reads
      memory beyond it until it happens on the end marker; the process may crash (a segfault,
      depending on the heap; jruizgit/rules#381, fixed by the unmerged pull request #386).  So a
      test that cannot fail comes last: the fact's type property against the other fact's
      (``t__work_time >= <alias>.t__held_certificate``: both are always 1).  Not ``==``, which
      the core would use to index the join; and not ``sid`` or ``id``, whose text the core does
      not copy when it stores a fact (it would read memory that Python has freed).
    * **An ``in [...]`` list comes before such a test**: the core stops at the end of the list's
      group and never checks the tests after it, so the condition matches when it should not.
      So lists come after every comparison with another fact (and may list only values and
      parameters, which the loader checks).

    Tests that compare with a value or a parameter are decided before this sequence (by the
    core's alpha network), so their order does not matter.

    ``key``: the alias whose applicant (:data:`KEY`) this condition's fact must share, a
    comparison with another fact like the others (so guarded the same way).
    """
    values: list[dict[str, Any]] = []
    between: list[dict[str, Any]] = []
    lists: list[dict[str, Any]] = []
    other = None  # an alias this condition compares with
    for test in cond.tests:
        compiled = _compile_test(test, params)
        if (test.op == "in" and "$or" in compiled) or (test.op == "not in" and "$and" in compiled):
            lists.append(compiled)  # a group of alternatives: after the comparisons with other facts
        elif isinstance(test.operand, Ref):
            between.append(compiled)
            other = test.operand.alias
        else:
            values.append(compiled)
    if key is not None:
        between.append({KEY: {key: KEY}})
        other = key
    if other is not None:
        between.append({"$gte": {type_key(cond.fact): {other: type_key(aliases[other])}}})
    expr = [{type_key(cond.fact): 1}, *values, *between, *lists]
    return expr[0] if len(expr) == 1 else {"$and": expr}


def stage_gate(stage: str) -> dict[str, Any]:
    """The condition on a stage's marker fact (bound as ``stage__``)."""
    return {"stage__": {"$and": [{type_key("stage__"): 1}, {"name": stage}]}}


def type_key(kind: str) -> str:
    """The property that marks a fact's type for the engine: one name per type, so that the
    engine's first alpha test (a lookup by property name) finds only the conditions on it."""
    return f"t__{kind}"


def _compile_test(test: Test, params: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    if test.op == "not in":  # a value none of the list's: one inequality per value
        values = _param(params, test.operand) if isinstance(test.operand, Param) else [
            _value(op, params) for op in test.operand]  # type: ignore[union-attr]
        unequal = [{"$neq": {test.field: v}} for v in values]
        return {"$and": unequal} if len(unequal) > 1 else unequal[0]
    if test.op == "in":
        values: Iterable[Any]
        if isinstance(test.operand, Param):
            values = _param(params, test.operand)
        else:
            values = [_value(op, params) for op in test.operand]  # type: ignore[union-attr]
        alternatives = [{test.field: v} for v in values]
        return {"$or": alternatives} if len(alternatives) != 1 else alternatives[0]
    operand = test.operand
    if isinstance(operand, Literal) and operand.value is None:  # "field == none": no such value
        return {("$nex" if test.op == "==" else "$ex"): {test.field: 1}}
    value = _value(operand, params)  # type: ignore[arg-type]
    symbol = _OPS[test.op]
    return {test.field: value} if symbol is None else {symbol: {test.field: value}}


def _value(op: Any, params: Mapping[str, Mapping[str, Any]]) -> Any:
    if isinstance(op, Literal):
        return op.value
    if isinstance(op, Ref):
        return {op.alias: op.field}
    return _param(params, op)


# --------------------------------------------------------------------------- applying ``then``

Conclude = Callable[[Mapping[str, Any]], list[dict[str, Any]]]


class Basis:
    """The basis of a conclusion that rests on several facts: their bases, shared, not copied.

    Iterating gives the refs (a ref may come twice).  A conclusion of a rule with several basis
    aliases keeps the bases of the facts it binds as they are, so that many firings on one fact
    with a long basis (a fact derived ``once``) cost each a constant, and :func:`refs_of` merges
    the bases of many conclusions reading each shared basis once.
    """

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[Any, ...]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[str]:
        for part in self.parts:
            yield from part

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (Basis, list, tuple)) else NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Basis({list(self)!r})"


def refs_of(bases: Iterable[Any]) -> list[str]:
    """The refs of several bases (lists of refs or :class:`Basis`), each once, in order; a basis
    shared by several of them is read once."""
    seen: set[int] = set()
    out: dict[str, None] = {}
    stack = list(bases)[::-1]
    while stack:
        basis = stack.pop()
        if id(basis) in seen:
            continue
        seen.add(id(basis))
        if isinstance(basis, Basis):
            stack.extend(basis.parts[::-1])
        else:
            out.update(dict.fromkeys(basis))
    return list(out)


def basis_of(fact: Mapping[str, Any]) -> Any:
    """The input items a fact rests on: a list of refs or a :class:`Basis`, never to be changed
    (derived facts share them)."""
    if "basis" in fact:
        return fact["basis"]
    if "ref" in fact:
        return [fact["ref"]]
    return list(fact.get("refs", ()))


def _compile_action(rule: Rule, params: Mapping[str, Mapping[str, Any]]) -> Conclude:
    """A rule's declarative ``then`` as a function of the bindings, its constants resolved once.

    ``derive`` makes a fact of the named type (a copy of a bound fact, with ``set`` on top);
    every other action concludes one fact of its kind (``outcome``, ``not_met``, ``note``,
    ``finding``, ``quota``, ``highest_title``) naming its code, clause and basis, with what
    ``copy`` and ``set`` add.  A ``set`` or ``eligible_on`` that refers to a field with no value
    leaves the field out.
    """
    then = rule.then
    aliases = then.basis

    if len(aliases) == 1:  # the common case
        (alias,) = aliases

        def basis(bindings: Mapping[str, Any]) -> Any:
            return basis_of(bindings[alias])
    else:
        def basis(bindings: Mapping[str, Any]) -> Any:
            # the bases of the bound facts, shared: a constant per firing, however long they are
            return Basis(tuple([basis_of(bindings[alias]) for alias in aliases]))

    constants = {k: (_param(params, v) if isinstance(v, Param) else v.value)
                 for k, v in then.set if not isinstance(v, Ref)}
    refs = [(k, v.alias, v.field) for k, v in then.set if isinstance(v, Ref)]
    copy, rule_id = then.copy, rule.id
    if then.kind == "derive":
        head: dict[str, Any] = {"t": then.target, "rule": rule_id}
    else:
        head = {"t": then.kind, "rule": rule_id, "clause": rule.clause,
                ("level" if then.kind == "highest_title" else "code"): then.target}
    eligible = then.eligible_on
    eligible_ref = (eligible.alias, eligible.field) if isinstance(eligible, Ref) else None
    eligible_constant = None if eligible is None or eligible_ref else _value(eligible, params)

    def conclude(bindings: Mapping[str, Any]) -> list[dict[str, Any]]:
        fact = {**bindings[copy], **constants} if copy else dict(constants)
        for key, src, field in refs:
            value = bindings[src].get(field)
            if value is not None:
                fact[key] = value
        fact.update(head)
        fact["basis"] = basis(bindings)
        if eligible_ref is not None:
            value = bindings[eligible_ref[0]].get(eligible_ref[1])
            if value is not None:
                fact["eligible_on"] = value
        elif eligible_constant is not None:
            fact["eligible_on"] = eligible_constant
        return [fact]

    return conclude


# --------------------------------------------------------------------------- the engine

#: The kinds of input items in the order results list them.
REF_KINDS = ("certificate", "work_period", "skill_level", "title", "achievement")


@functools.lru_cache(maxsize=4096)
def ref_key(ref: str) -> tuple[int, str]:
    """Refs in the order results list them: by kind (:data:`REF_KINDS`, others after), then
    number (``title:2`` before ``title:10``)."""
    kind, _, key = ref.partition(":")
    order = REF_KINDS.index(kind) if kind in REF_KINDS else len(REF_KINDS)
    return (order, key.zfill(12) if key.isdigit() else key)


def _first(once: Mapping[str, tuple[str, ...]], merged: dict[Any, Any], fact: dict[str, Any], k: int) -> bool:
    """Whether ``fact``, of a type derived once, is the first of its key for applicant ``k``:
    then it is kept; otherwise its basis is added to the kept one's.

    The kept fact is always the one whose basis lists the earliest item (as results order
    refs), whichever order the engine fired in, so that its copied fields (what an explanation
    cites) do not depend on how applicants share sessions.  It is not yet asserted: only rules
    of later stages test it (the loader checks), so it waits for the next stage's batch.  The
    common case, one derivation of a key, costs a dict entry; the kept fact gets a basis of its
    own (and the ordering of refs is looked at) only when a second derivation comes.
    """
    names = once[fact["t"]]
    key = (k, fact["t"], *[fact.get(name) for name in names]) if names else (k, fact["t"])
    first = merged.get(key)
    if first is None:
        merged[key] = [fact, None, None]
        return True
    kept, seen, kept_earliest = first
    if seen is None:  # the second derivation of the key: the kept fact's basis becomes its own
        seen = first[1] = dict.fromkeys(kept["basis"])
        kept["basis"] = list(seen)
        kept_earliest = first[2] = min(map(ref_key, seen), default=(-1, ""))
    refs = fact["basis"]
    for ref in refs:
        if ref not in seen:
            seen[ref] = None
            kept["basis"].append(ref)
    earliest = min(map(ref_key, refs), default=(-1, ""))
    if earliest < kept_earliest:  # this firing's item comes first: the fact says what it says
        basis = kept["basis"]
        kept.clear()
        kept.update(fact)
        kept["basis"] = basis
        first[2] = earliest
    return False


def _slimmer(fields: frozenset[str], kind: str, keyed: bool = False) -> Callable[..., dict[str, Any]]:
    """A function giving what the engine is told of a fact: the fields its conditions test, its
    type (the property :func:`type_key` names), its ``id`` in the session and its session
    (``keyed``: and its applicant in the session, :data:`KEY`, a fourth argument).
    Generated per fact type, as attrs generates ``__init__``: a dict display with the names
    written out is several times faster than a comprehension."""
    names = sorted(fields)
    key = type_key(kind)

    def some_fields(fact: dict[str, Any], n: int, sid: str, k: int = -1) -> dict[str, Any]:
        # a fact without some tested field (a value that does not exist): the engine is told the others
        entry = {name: fact[name] for name in names if name in fact}
        entry[key], entry["id"], entry["sid"] = 1, n, sid
        if keyed:
            entry[KEY] = k
        return entry

    entries = "".join(f"{name!r}: fact[{name!r}], " for name in names)  # repr(): quoted literals
    args, extra = ("fact, n, sid, k", f", {KEY!r}: k") if keyed else ("fact, n, sid", "")
    source = (f"def slim({args}):\n"
              f"    try:\n"
              f"        return {{{entries}{key!r}: 1, 'id': n, 'sid': sid{extra}}}\n"
              f"    except KeyError:\n"
              f"        return some_fields({args})\n")
    namespace: dict[str, Any] = {"some_fields": some_fields}
    exec(compile(source, f"<slim {kind}>", "exec"), namespace)
    return namespace["slim"]  # type: ignore[no-any-return]


def _tested_fields(rules: Sequence[Rule]) -> dict[str, frozenset[str]]:
    """Per fact type, the fields that some condition tests or refers to."""
    fields: dict[str, set[str]] = {"stage__": {"name"}}
    for rule in rules:
        aliases = {c.alias: c.fact for c in rule.when if c.alias}
        for cond in rule.when:
            mine = fields.setdefault(cond.fact, set())
            for test in cond.tests:
                mine.add(test.field)
                operands = test.operand if isinstance(test.operand, tuple) else (test.operand,)
                for op in operands:
                    if isinstance(op, Ref):
                        fields.setdefault(aliases[op.alias], set()).add(op.field)
    return {kind: frozenset(names) for kind, names in fields.items()}


def _wanted(rules: Sequence[Rule]) -> dict[str, Any]:
    """Per derived fact type: True, or (field, values) when every condition on the type demands
    that field equal one of a few literals (``outcome where code == '...'``)."""
    wanted: dict[str, Any] = {}
    by_type: dict[str, list[Any]] = {}
    for rule in rules:
        for cond in rule.when:
            by_type.setdefault(cond.fact, []).append(cond)
    for kind, conds in by_type.items():
        keys = None
        for cond in conds:
            literal = {(t.field, t.operand.value) for t in cond.tests
                       if t.op == "==" and isinstance(t.operand, Literal) and t.operand.value is not None}
            fields = {f for f, _ in literal}
            keys = fields if keys is None else keys & fields
        wanted[kind] = True
        if keys:
            field = sorted(keys)[0]
            values = set()
            for cond in conds:
                values |= {t.operand.value for t in cond.tests
                           if t.field == field and t.op == "==" and isinstance(t.operand, Literal)}
            wanted[kind] = (field, frozenset(values))
    return wanted


class _SlimOf(dict):  # type: ignore[type-arg]
    """Fact type → its slimming function (made on first use for types no condition tests)."""

    def __init__(self, fields: dict[str, frozenset[str]], keyed: bool = False) -> None:
        self.keyed = keyed
        super().__init__((kind, _slimmer(names, kind, keyed)) for kind, names in fields.items())

    def __missing__(self, kind: str) -> Callable[..., dict[str, Any]]:
        slim = self[kind] = _slimmer(frozenset(), kind, self.keyed)
        return slim


def _delete_all(handles: dict[Any, int]) -> None:
    for handle in handles.values():
        try:
            _dre.delete_ruleset(handle)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def standalone_types(rules: Sequence[Rule], input_types: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The input fact types whose facts can be evaluated in separate sessions, and the rules
    that test them.

    A type stands alone when every rule that tests it tests one fact of it, positively, has no
    ``no`` condition, and concludes something no rule tests (a finding, an outcome of its own):
    then no firing depends on two of its facts, or on what another of its facts led to, and a
    session holding some of them fires those rules exactly as one session holding all would.
    (A recommendation list's candidates: each is checked on its own, and Python counts the list.)
    """
    tested = {c.fact for r in rules for c in r.when}
    made = {r.id: (r.then.target if r.then.kind == "derive" else r.then.kind) for r in rules}
    alone = set()
    for kind in input_types:
        testing = [r for r in rules if any(c.fact == kind for c in r.when)]
        if testing and all(sum(c.fact == kind for c in r.when) == 1 and not any(c.negated for c in r.when)
                           and made[r.id] not in tested for r in testing):
            alone.add(kind)
    # A rule may test one standalone fact in all: two (of two types) could be in two sessions.
    changed = True
    while changed:
        changed = False
        for r in rules:
            theirs = [c.fact for c in r.when if c.fact in alone]
            if len(theirs) > 1:
                alone -= set(theirs)
                changed = True
    their_rules = {r.id for r in rules if any(c.fact in alone for c in r.when)}
    return frozenset(alone), frozenset(their_rules)


class Engine:
    """The rules of one or more documents, compiled.  :meth:`run` evaluates one set of facts in a
    session of its own and returns the firings, each with what its rule concluded."""

    def __init__(self, documents: Sequence[Ruleset]) -> None:
        self.rules: tuple[Rule, ...] = tuple(r for d in documents for r in d.rules)
        params_of = {d.id: d.parameters for d in documents}
        self.definition = {
            **compile_rules(self.rules, params_of),
            _OPENED: {"all": [{"state__": {"$s": 1}}], "cap": 1},  # the core's state fact of a new session
            _CATCH_ALL: {"all": [{"m": {"$ex": {"sid": 1}}}], "count": SESSION_FACTS},
        }
        self.actions: dict[str, Conclude] = {r.id: _compile_action(r, params_of[r.document])
                                             for r in self.rules}
        self.fields = _tested_fields(self.rules)
        self.standalone, self._standalone_rules = standalone_types(self.rules, INPUT_FACTS)
        # Derived fact types made once per applicant (and value of some fields): their fields.
        self.once: dict[str, tuple[str, ...]] = {r.then.target: r.then.once for r in self.rules
                                                 if r.then.kind == "derive" and r.then.once is not None}
        self.wanted = _wanted(self.rules)
        self._slim_of = _SlimOf(self.fields)
        # Facts that a rule of this stage or an earlier one tests: the others wait for the next
        # stage's marker batch (or, tested by no rule, are never asserted).
        self.consumed_by_stage = [
            frozenset(c.fact for r in self.rules if STAGES.index(r.stage) <= n for c in r.when)
            for n in range(len(STAGES))]
        first = documents[0]
        self.name = f"{first.id}@{first.version}#{first.digest[7:19]}+{len(documents) - 1}#{next(_NAMES)}"
        # Per set of input fact types, the compiled durable ruleset of only the rules those facts
        # can reach (the core allocates and clears every join node of a ruleset per session);
        # one compiled ruleset per distinct set of rules.
        self._handles: dict[frozenset[str] | None, int] = {}
        self._compiled: dict[frozenset[str], int] = {}  # rule ids -> their compiled ruleset
        # Per compiled ruleset, per stage: whether a rule of it is gated by the stage's marker.
        self._marked: dict[int, tuple[bool, ...]] = {}
        # Per compiled ruleset: the fact types its rules test (a fact of another type is never
        # asserted in its sessions: it could match none of their rules).
        self._tested: dict[int, frozenset[str]] = {}
        self._wanted_of: dict[int, dict[str, Any]] = {}
        self._finalizer = weakref.finalize(self, _delete_all, self._compiled)
        self.live_sessions = 0
        # Sessions of several applicants (run_many): every rule joined on the applicant key.
        self.keyed_definition = {
            **compile_rules(self.rules, params_of, keyed=True),
            _OPENED: self.definition[_OPENED], _CATCH_ALL: self.definition[_CATCH_ALL]}
        self._keyed_slim_of = _SlimOf(self.fields, keyed=True)
        self._keyed_handles: dict[frozenset[str], int] = {}
        self._keyed_compiled: dict[frozenset[str], int] = {}
        self._keyed_finalizer = weakref.finalize(self, _delete_all, self._keyed_compiled)

    def _handle_for(self, input_types: frozenset[str] | None, keyed: bool = False) -> int:
        """The compiled ruleset for sessions whose input facts have these types (None: all rules);
        ``keyed``: its rules joined on the applicant key, for sessions of several applicants."""
        handles = self._keyed_handles if keyed else self._handles
        handle = handles.get(input_types)  # type: ignore[arg-type]
        if handle is None:
            definition = self.definition if input_types is None else self._reachable(input_types)
            compiled = self._keyed_compiled if keyed else self._compiled
            handle = compiled.get(frozenset(definition))
            if handle is None:  # sessions that reach the same rules share one compiled ruleset
                name = f"{self.name}#{'k' if keyed else ''}{len(compiled)}"
                if keyed:
                    definition = {rule_id: self.keyed_definition[rule_id] for rule_id in definition}
                with _LOCK:
                    handle = _dre.create_ruleset(name, json.dumps(definition, ensure_ascii=False))
                compiled[frozenset(definition)] = handle
                rules = [r for r in self.rules if r.id in definition]
                gated = {r.stage for r in rules if any(c.negated for c in r.when)}
                self._marked[handle] = tuple(stage in gated for stage in STAGES)
                self._tested[handle] = frozenset(c.fact for r in rules for c in r.when)
                # what of a conclusion is asserted in its sessions (by type: absent,
                # never; True, always; (field, values), when the field holds one of the values)
                self._wanted_of[handle] = {t: w for t, w in self.wanted.items() if t in self._tested[handle]}
            handles[input_types] = handle  # type: ignore[index]
        return handle

    def _reachable(self, input_types: frozenset[str]) -> dict[str, Any]:
        """The rules whose positive conditions the input facts, or what rules derive from them,
        can satisfy; a rule out of reach could never fire."""
        have = set(input_types) | {"stage__"}
        rules: dict[str, Any] = {}
        changed = True
        while changed:
            changed = False
            for rule in self.rules:
                if rule.id not in rules and all(c.fact in have for c in rule.when if not c.negated):
                    rules[rule.id] = self.definition[rule.id]
                    have.add(rule.then.target if rule.then.kind == "derive" else rule.then.kind)
                    changed = True
        return {**rules, _OPENED: self.definition[_OPENED], _CATCH_ALL: self.definition[_CATCH_ALL]}

    def run(self, facts: list[dict[str, Any]]) -> list[Firing]:
        """Assert ``facts``, run every stage to quiescence and return the firings in order.

        Each firing's conclusions (what its rule's ``then`` says) are asserted in the same
        session and may make other rules fire.  More than :data:`STANDALONE_PER_SESSION` facts
        of types that stand alone (:func:`standalone_types`) are evaluated in several sessions,
        each with all the other facts: the first session's firings all count, the others' only
        those of the rules that test the standalone facts (the rest repeat the first's).
        """
        standalone = self.standalone
        if not standalone or len(facts) <= STANDALONE_PER_SESSION:
            return self._run(facts)
        alone = [fact for fact in facts if fact["t"] in standalone]
        if len(alone) <= STANDALONE_PER_SESSION:
            return self._run(facts)
        rest = [fact for fact in facts if fact["t"] not in standalone]
        theirs = self._standalone_rules
        firings = []
        for start in range(0, len(alone), STANDALONE_PER_SESSION):
            got = self._run(rest + alone[start:start + STANDALONE_PER_SESSION])
            firings.extend(got if start == 0 else [f for f in got if f[0] in theirs])
        return firings

    def _run(self, facts: list[dict[str, Any]]) -> list[Firing]:
        """:meth:`run` in one session."""
        actions = self.actions
        with _LOCK:
            handle = self._handle_for(frozenset([fact["t"] for fact in facts]))
            marked, tested = self._marked[handle], self._tested[handle]
            sid = next(_SIDS)
            firings: list[Firing] = []
            self.live_sessions += 1
            store: list[dict[str, Any]] = []  # every asserted fact, whole, at its ``id``
            slim_of, wanted, loads = self._slim_of, self._wanted_of[handle], orjson.loads
            once, merged = self.once, {}  # facts derived once: the first of each, by its key
            opened = False
            try:
                carry: list[dict[str, Any]] = [fact for fact in facts if fact["t"] in tested]
                for number, stage in enumerate(STAGES):
                    # A stage runs in rounds: what a round concludes is asserted as one batch,
                    # which may make further rules of the stage fire, until nothing new follows.
                    # The stage's marker, if a rule waits for it, comes last in the batch of
                    # what earlier stages left.
                    pending = [*carry, {"t": "stage__", "name": stage}] if marked[number] else carry
                    carry = []
                    consumed = self.consumed_by_stage[number]
                    while pending:
                        # Assert the round as one batch: the engine gets only the fields its
                        # conditions test, and the ``id`` of the whole fact in ``store``.
                        slim = []
                        for fact in pending:
                            slim.append(slim_of[fact["t"]](fact, len(store), sid))
                            store.append(fact)
                        opened = True  # the core creates the session with its first fact
                        code, state = _dre.assert_facts(handle, orjson.dumps(slim).decode())
                        if code == _NOT_HANDLED:  # pragma: no cover - the catch-all rule handles every fact
                            raise EngineError(f"the engine did not handle a fact of session {sid}")
                        # _OBSERVED: an identical fact is already known in this session;
                        # asserting it again concludes nothing new (durable-rules issue 376).
                        pending = []
                        started = _dre.start_action_for_state(handle, state)
                        message = started[1] if started else None
                        while message:
                            try:
                                # One message: a rule and the list of its matches ready together.
                                (rule_id, frames), = loads(message).items()
                                if rule_id == _CATCH_ALL:  # 65,535 facts: what one session of the core holds
                                    raise EngineError(f"the evaluation needs more facts than the rule engine "
                                                      f"holds in one session ({SESSION_FACTS:,})")
                                if rule_id != _OPENED:
                                    conclude = actions[rule_id]
                                    for matched in frames:
                                        bindings = {}
                                        for alias, fact in matched.items():
                                            if fact.get("sid") != sid:
                                                raise EngineError(f"rule {rule_id} matched a fact of session "
                                                                  f"{fact.get('sid')!r} in session {sid!r}")
                                            if alias != "stage__":
                                                bindings[alias] = store[fact["id"]]
                                        results = tuple(conclude(bindings))
                                        firings.append(tuple.__new__(Firing, (rule_id, bindings, results)))
                                        for result in results:
                                            if once and result["t"] in once and not _first(once, merged, result, 0):
                                                continue  # derived once already: its basis is added
                                            want = wanted.get(result["t"], False)
                                            if want is True or (want is not False and result.get(want[0]) in want[1]):
                                                (pending if result["t"] in consumed else carry).append(result)
                            except BaseException:
                                _dre.abandon_action(handle, state)
                                raise
                            message = _dre.complete_and_start_action(handle, state)
                return firings
            finally:
                self.live_sessions -= 1
                if opened:  # a session that nothing was asserted into does not exist
                    try:
                        _dre.delete_state(handle, sid)
                    except Exception:  # pragma: no cover - the core failed before creating it
                        pass

    def run_many(self, fact_lists: Sequence[list[dict[str, Any]]]) -> list[list[Firing]]:
        """:meth:`run` for several applicants in one session: the firings of each, in order.

        The core allocates and clears every join node of a compiled ruleset for every session
        (about 8 KiB each), and each session costs round trips of its own; a session of about
        twenty applicants shares both.  Every fact carries its applicant's place in the list
        (:data:`KEY`), every rule of the session's compiled ruleset joins on it
        (``compile_rules(keyed=True)``), and every firing is checked to bind facts of one
        applicant only (and of this session): a stranger raises :class:`EngineError`.  A
        stage's marker is the session's, asserted once every applicant's previous stage has
        stopped firing.  An exception abandons the whole session: the caller evaluates the
        applicants again one by one (:func:`taian_titles.api.evaluate_batch` does).
        """
        if len(fact_lists) == 1:
            return [self.run(fact_lists[0])]
        actions = self.actions
        with _LOCK:
            handle = self._handle_for(frozenset([fact["t"] for facts in fact_lists for fact in facts]), keyed=True)
            marked, tested = self._marked[handle], self._tested[handle]
            sid = next(_SIDS)
            firings: list[list[Firing]] = [[] for _ in fact_lists]
            self.live_sessions += 1
            store: list[dict[str, Any]] = []  # every asserted fact, whole, at its ``id``
            owner: list[int] = []  # the applicant of each, at its ``id``
            slim_of, wanted, loads = self._keyed_slim_of, self._wanted_of[handle], orjson.loads
            once, merged = self.once, {}  # facts derived once: the first of each, by its key
            opened = False
            try:
                carry: list[tuple[dict[str, Any], int]] = [
                    (fact, k) for k, facts in enumerate(fact_lists) for fact in facts if fact["t"] in tested]
                for number, stage in enumerate(STAGES):
                    pending = [*carry, ({"t": "stage__", "name": stage}, -1)] if marked[number] else carry
                    carry = []
                    consumed = self.consumed_by_stage[number]
                    while pending:
                        slim = []
                        for fact, k in pending:
                            slim.append(slim_of[fact["t"]](fact, len(store), sid, k))
                            store.append(fact)
                            owner.append(k)
                        opened = True
                        code, state = _dre.assert_facts(handle, orjson.dumps(slim).decode())
                        if code == _NOT_HANDLED:  # pragma: no cover - the catch-all rule handles every fact
                            raise EngineError(f"the engine did not handle a fact of session {sid}")
                        pending = []
                        started = _dre.start_action_for_state(handle, state)
                        message = started[1] if started else None
                        while message:
                            try:
                                (rule_id, frames), = loads(message).items()
                                if rule_id == _CATCH_ALL:  # 65,535 facts: what one session of the core holds
                                    raise EngineError(f"the evaluation needs more facts than the rule engine "
                                                      f"holds in one session ({SESSION_FACTS:,})")
                                if rule_id != _OPENED:
                                    conclude = actions[rule_id]
                                    for matched in frames:
                                        bindings = {}
                                        k = -1
                                        for alias, fact in matched.items():
                                            if fact.get("sid") != sid:
                                                raise EngineError(f"rule {rule_id} matched a fact of session "
                                                                  f"{fact.get('sid')!r} in session {sid!r}")
                                            if alias != "stage__":
                                                n = fact["id"]
                                                if k == -1:
                                                    k = owner[n]
                                                elif owner[n] != k:  # (``id`` is ours: its applicant is known)
                                                    raise EngineError(
                                                        f"rule {rule_id} matched facts of applicants {k} and "
                                                        f"{owner[n]} of session {sid!r}")
                                                bindings[alias] = store[n]
                                        results = tuple(conclude(bindings))
                                        firings[k].append(tuple.__new__(Firing, (rule_id, bindings, results)))
                                        for result in results:
                                            if once and result["t"] in once and not _first(once, merged, result, k):
                                                continue  # derived once already: its basis is added
                                            want = wanted.get(result["t"], False)
                                            if want is True or (want is not False and result.get(want[0]) in want[1]):
                                                (pending if result["t"] in consumed else carry).append((result, k))
                            except BaseException:
                                _dre.abandon_action(handle, state)
                                raise
                            message = _dre.complete_and_start_action(handle, state)
                return firings
            finally:
                self.live_sessions -= 1
                if opened:
                    try:
                        _dre.delete_state(handle, sid)
                    except Exception:  # pragma: no cover - the core failed before creating it
                        pass
