"""The engine adapter: the only module that touches durable-rules.

It drives durable-rules' C core (``durable_rules_engine``) directly rather than through
``durable.lang.Host``, which handles every measured hazard of ``shared/notes/durable-rules.md``
in one place:

* **No background dispatcher.**  ``Host`` starts a timer thread that runs pending actions for
  any session; here nothing runs except inside :meth:`Engine.run`.
* **Sessions (sids) are ours**, never an applicant id: the C core finds a session by a 32-bit
  hash of its sid, so two ids can collide.  Every fact coming back from the engine is checked
  to carry the sid it was asserted under, and each evaluation deletes its session in a
  ``finally`` (a ruleset holds at most 1,024 live sessions).
* **Exceptions in actions reach the caller**: actions are plain Python run by this loop, so an
  error propagates after the action is abandoned and the session deleted.
* **One evaluation at a time per process** (a lock): the C core holds the GIL anyway, so the
  lock costs nothing and rules out the races measured with concurrent use.
* **Negation is staged**: a rule runs only after the marker fact of its stage is asserted,
  which happens when the previous stage has stopped firing, so that every fact a ``no``
  condition tests is already there (the loader checks that it comes from an earlier stage).
  A stage none of whose (reachable) rules is gated gets no marker: nothing waits for it.
* **Facts are fresh dicts** serialised once; nothing the caller owns is mutated.  The engine
  is given only the fields that conditions test, a property naming the fact's type
  (``t__certificate: 1``, see :func:`~taian_titles.ruleset.type_key`) and an ``id`` that is
  unique in the session (so no two facts are ever "identical", durable-rules issue 376, and
  the core never computes an identity by sorting and hashing every property); a firing's
  bindings are the whole facts, looked up by that id.
* **Fewer round trips**: facts that no rule of the current stage tests are asserted with the
  next stage's marker instead of in a round of their own, and the matches of one rule that are
  ready together come in one action (every rule has a ``cap``, see
  :func:`~taian_titles.ruleset.compile_rules`).
* **Every session starts an action before it is deleted.**  Deleting a session in which no
  action was ever started frees an invalid pointer in the C core (a segfault, depending on the
  heap); a hidden rule ``opened__`` fires on the state fact (``$s``) that the core creates
  with the first fact of every session.  A session in which nothing was asserted is not
  deleted (the core never created it).
* **Comparisons with another fact end with one that cannot fail**, and in-lists come last
  (:func:`~taian_titles.ruleset.compile_rules`): the core reads past the end of a condition's
  tests when the last one fails (a segfault at times) and never checks a test after a list.
* **Only the rules a session can reach are compiled**, per set of input fact types, and shared
  by the sets that reach the same rules: the core allocates and clears about 8 KiB per join
  node of its ruleset for every session.  A fact whose type no rule of the session's compiled
  ruleset tests is not asserted at all (the core stores every fact in a pool of 16 that it
  copies to grow).
* **No fact goes unhandled**: a hidden rule ``catch_all__`` matches every fact and never fires
  (it would need 65,535 matches), so the core never answers "message not handled".
* **Each load registers under a unique name**, so a ruleset can be loaded again in one process,
  and the C ruleset is deleted when its :class:`Engine` is collected.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
import weakref
from collections.abc import Mapping
from typing import Any, Callable, Iterable

import durable_rules_engine as _dre
import orjson

from .ruleset import STAGES, Literal, Ref, Ruleset, compile_rules, type_key

__all__ = ["Engine", "EngineError", "Firing"]

_LOCK = threading.RLock()
_NAMES = itertools.count()
_SIDS = map("s{}".format, itertools.count())  # sids of our own, never applicant ids

# Hidden rules of the adapter (see the module docstring).
_OPENED, _CATCH_ALL = "opened__", "catch_all__"
# Result codes of the C core's assert functions.
_HANDLED, _NOT_HANDLED, _OBSERVED = 0, 1, 2


class EngineError(RuntimeError):
    """The rule engine misbehaved (a fact of another session, an unhandled fact)."""


class Firing(tuple):  # type: ignore[type-arg]
    """(rule id, {alias: fact}, concluded facts) of one rule firing."""

    __slots__ = ()

    def __new__(cls, rule_id: str, bindings: dict[str, dict[str, Any]],
                concluded: tuple[dict[str, Any], ...] = ()) -> "Firing":
        return super().__new__(cls, (rule_id, bindings, concluded))

    @property
    def concluded(self) -> tuple[dict[str, Any], ...]:
        return self[2]

    @property
    def rule_id(self) -> str:
        return self[0]

    @property
    def bindings(self) -> dict[str, dict[str, Any]]:
        return self[1]


Action = Callable[[str, dict[str, dict[str, Any]]], Iterable[dict[str, Any]]]
Conclude = Callable[[dict[str, dict[str, Any]]], Iterable[dict[str, Any]]]


def _slimmer(fields: frozenset[str], kind: str) -> Callable[[dict[str, Any], int, str], dict[str, Any]]:
    """A function giving what the engine is told of a fact: the fields its conditions test, its
    type (the property :func:`type_key` names), its ``id`` in the session and its session.
    Generated per fact type, as attrs generates ``__init__``: a dict display with the names
    written out is several times faster than a comprehension."""
    names = sorted(fields)
    key = type_key(kind)

    def some_fields(fact: dict[str, Any], n: int, sid: str) -> dict[str, Any]:
        # a fact without some tested field (rare): the engine is told the others
        entry = {name: fact[name] for name in names if name in fact}
        entry[key], entry["id"], entry["sid"] = 1, n, sid
        return entry

    entries = "".join(f"{name!r}: fact[{name!r}], " for name in names)  # repr(): quoted literals
    source = (f"def slim(fact, n, sid):\n"
              f"    try:\n"
              f"        return {{{entries}{key!r}: 1, 'id': n, 'sid': sid}}\n"
              f"    except KeyError:\n"
              f"        return some_fields(fact, n, sid)\n")
    namespace: dict[str, Any] = {"some_fields": some_fields}
    exec(compile(source, f"<slim {kind}>", "exec"), namespace)
    return namespace["slim"]  # type: ignore[no-any-return]


def _tested_fields(ruleset: Ruleset) -> dict[str, frozenset[str]]:
    """Per fact type, the fields that some condition tests or refers to."""
    fields: dict[str, set[str]] = {"stage__": {"name"}}
    for rule in ruleset.rules:
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


def _wanted(ruleset: Ruleset) -> dict[str, Any]:
    """Per derived fact type: True, or (field, values) when every condition on the type demands
    that field equal one of a few literals (``outcome where code == '...'``)."""
    wanted: dict[str, Any] = {}
    by_type: dict[str, list[Any]] = {}
    for rule in ruleset.rules:
        for cond in rule.when:
            by_type.setdefault(cond.fact, []).append(cond)
    for kind, conds in by_type.items():
        keys = None
        for cond in conds:
            literal = {(t.field, t.operand.value) for t in cond.tests
                       if t.op == "==" and isinstance(t.operand, Literal)}
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


class _Calling:
    """Rule id → action, for a caller that gives one function ``action(rule_id, bindings)``."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def __getitem__(self, rule_id: str) -> Conclude:
        return functools.partial(self.action, rule_id)


class _SlimOf(dict):  # type: ignore[type-arg]
    """Fact type → its slimming function (made on first use for types no condition tests)."""

    def __init__(self, fields: dict[str, frozenset[str]]) -> None:
        super().__init__((kind, _slimmer(names, kind)) for kind, names in fields.items())

    def __missing__(self, kind: str) -> Callable[[dict[str, Any], int, str], dict[str, Any]]:
        slim = self[kind] = _slimmer(frozenset(), kind)
        return slim


def _delete_all(handles: dict[Any, int]) -> None:
    for handle in handles.values():
        try:
            _dre.delete_ruleset(handle)
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


class Engine:
    """One compiled ruleset.  :meth:`run` evaluates one set of facts in a session of its own."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.definition = {
            **compile_rules(ruleset),
            _OPENED: {"all": [{"state__": {"$s": 1}}], "cap": 1},  # the core's state fact of a new session
            _CATCH_ALL: {"all": [{"m": {"$ex": {"sid": 1}}}], "count": 65535},
        }
        self.fields = _tested_fields(ruleset)
        self.wanted = _wanted(ruleset)
        self._slim_of = _SlimOf(self.fields)
        # Facts that a rule of this stage or an earlier one tests: the others wait for the next
        # stage's marker batch (or, tested by no rule, are never asserted).
        self.consumed_by_stage = [
            frozenset(c.fact for r in ruleset.rules if STAGES.index(r.stage) <= n for c in r.when)
            for n in range(len(STAGES))]
        self.name = f"{ruleset.id}@{ruleset.version}#{ruleset.digest[7:19]}#{next(_NAMES)}"
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
        self._finalizer = weakref.finalize(self, _delete_all, self._compiled)
        self._handle = self._handle_for(None)
        self.live_sessions = 0
        self.last_sid: str | None = None
        self.last_handle: int | None = None

    def _handle_for(self, input_types: frozenset[str] | None) -> int:
        """The compiled ruleset for sessions whose input facts have these types (None: all rules)."""
        handle = self._handles.get(input_types)
        if handle is None:
            definition = self.definition if input_types is None else self._reachable(input_types)
            handle = self._compiled.get(frozenset(definition))
            if handle is None:  # sessions that reach the same rules share one compiled ruleset
                name = f"{self.name}#{len(self._compiled)}"
                with _LOCK:
                    handle = _dre.create_ruleset(name, json.dumps(definition, ensure_ascii=False))
                self._compiled[frozenset(definition)] = handle
                rules = [r for r in self.ruleset.rules if r.id in definition]
                gated = {r.stage for r in rules if any(c.negated for c in r.when)}
                self._marked[handle] = tuple(stage in gated for stage in STAGES)
                self._tested[handle] = frozenset(c.fact for r in rules for c in r.when)
            self._handles[input_types] = handle
        return handle

    def _reachable(self, input_types: frozenset[str]) -> dict[str, Any]:
        """The rules whose positive conditions the input facts, or what rules derive from them,
        can satisfy; a rule out of reach could never fire."""
        have = set(input_types) | {"stage__"}
        rules: dict[str, Any] = {}
        changed = True
        while changed:
            changed = False
            for rule in self.ruleset.rules:
                if rule.id not in rules and all(c.fact in have for c in rule.when if not c.negated):
                    rules[rule.id] = self.definition[rule.id]
                    have.add(rule.then.target if rule.then.kind == "derive" else rule.then.kind)
                    changed = True
        return {**rules, _OPENED: self.definition[_OPENED], _CATCH_ALL: self.definition[_CATCH_ALL]}

    def run(self, facts: list[dict[str, Any]], action: Action | Mapping[str, Conclude]) -> list[Firing]:
        """Assert ``facts``, run every stage to quiescence and return the firings in order.

        ``action`` is called for each firing and returns the facts it concludes, which are
        asserted in the same session (and may make other rules fire): either a function
        ``action(rule_id, bindings)`` or a mapping of rule id to a function of the bindings.
        """
        actions: Mapping[str, Conclude] = (action if type(action) is dict or isinstance(action, Mapping)
                                           else _Calling(action))
        with _LOCK:
            handle = self.last_handle = self._handle_for(frozenset([fact["t"] for fact in facts]))
            marked, tested = self._marked[handle], self._tested[handle]
            sid = self.last_sid = next(_SIDS)
            firings: list[Firing] = []
            self.live_sessions += 1
            store: list[dict[str, Any]] = []  # every asserted fact, whole, at its ``id``
            slim_of, wanted, loads = self._slim_of, self._wanted, orjson.loads
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
                                if rule_id != _OPENED:
                                    for matched in frames:
                                        bindings = {}
                                        for alias, fact in matched.items():
                                            if fact.get("sid") != sid:
                                                raise EngineError(f"rule {rule_id} matched a fact of session "
                                                                  f"{fact.get('sid')!r} in session {sid!r}")
                                            if alias != "stage__":
                                                bindings[alias] = store[fact["id"]]
                                        results = tuple(actions[rule_id](bindings))
                                        firings.append(tuple.__new__(Firing, (rule_id, bindings, results)))
                                        for result in results:
                                            if result["t"] in tested and wanted(result):
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

    def _wanted(self, fact: dict[str, Any]) -> bool:
        """Whether some condition could match the fact (the others are never asserted): a type no
        condition tests never is, and a type whose every condition demands ``field == literal``
        only with one of those values."""
        want = self.wanted.get(fact["t"], False)
        if want is True or want is False:
            return want
        field, values = want
        return fact.get(field) in values

    def session_facts(self, sid: str, handle: int | None = None) -> list[dict[str, Any]]:
        """The facts of a live session (for tests of the adapter)."""
        return json.loads(_dre.get_facts(self._handle if handle is None else handle, sid))
