"""Ruleset files: load, validate and digest a policy document written as data.

A ruleset file (TOML, see ``docs/ruleset-authoring.md``) holds one policy document: its
metadata, the verbatim text of its clauses, its parameters (each citing its clause), the
words its letters and reports use, the helper facts it asks Python to count, its outcome
codes and its rules in the policy's order.  A rule reads::

    [[rules]]
    id = "M9-2a-intermediate"
    clause = "M9-2a"
    stage = "outcome"
    when = ["cert: held_certificate where kind == 'professional_level' and level == 'intermediate'"]
    then = { outcome = "recognize_intermediate_title", basis = ["cert"] }
    explain.zh = "您持有的{cert.direction}方向{cert.level}专业技术等级证书（编号{cert.number}）……"
    explain.en = "..."

A condition is ``alias: fact_type [where test and test ...]`` or ``no fact_type [where ...]``;
a test compares a field of the fact with a literal (``'text'``, ``3``, ``true``, ``none`` for
a field that has no value), a field of an earlier alias (``cert.direction``), a parameter
(``$required_years``, or ``$min_skill_level.rank`` for a skill level's rank) or, with ``in``,
a list or a list parameter.

This module knows the policy language, not the rule engine: :mod:`taian_titles.engine` compiles
the rules, :mod:`taian_titles.policy` composes several documents into one policy.  Every
problem is reported at once, naming the file and the entry at fault.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.resources
import os
import re
import stat
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import attrs

from .errors import RulesetError
from .facts import COUNTS, INPUT_FACTS, PARAMETERS_READ
from .limits import (CHUNK_BYTES, FIELDS_PER_FACT, FIRST_DATE, LAST_DATE, RULES, RULES_PER_CONDITION,
                     RULESET_BYTES, TESTS_AFTER_ONE_TEST, TESTS_PER_CONDITION)
from .model import Level, SkillLevel

__all__ = ["Ruleset", "Rule", "Condition", "Test", "Action", "Count", "Literal", "Ref", "Param",
           "load_ruleset", "parse_ruleset", "parse_document", "check_documents", "default_ruleset",
           "default_ruleset_path", "DEFAULT_RULESETS", "STAGES", "ACTIONS", "parse_share",
           "template_parts", "Exclusive", "EXCLUSIVE_KINDS"]

#: The documents shipped with the library, in the order a policy applies them: measure nine of
#: 泰人社发〔2025〕5号.
DEFAULT_RULESETS = ("tairenshefa-2025-5.toml", "lurenshefa-2020-16.toml")
#: Stages run in this order; a stage starts when the one before has stopped firing.
STAGES = ("derive", "outcome", "summary", "final")
#: What a rule may do when it fires.
ACTIONS = ("derive", "outcome", "not_met", "note", "highest_title", "quota", "finding", "addendum")
#: Actions that produce something a reader sees, so the rule needs explanation templates.  An
#: ``addendum`` adds its sentence to the explanation of the outcome whose code it names (a
#: document may so speak to another's outcome: the crossover names its route in M9-3a's).
EXPLAINED = ("outcome", "not_met", "note", "quota", "finding", "addendum")
#: Comparison operators of the condition language.
OPERATORS = ("==", "!=", "<", "<=", ">", ">=")


@attrs.frozen
class Literal:
    value: Any


@attrs.frozen
class Ref:
    alias: str
    field: str


@attrs.frozen
class Param:
    name: str
    attr: str | None = None


Operand = Literal | Ref | Param


@attrs.frozen
class Test:
    field: str
    op: str  # one of OPERATORS, "in" or "not in"
    operand: Operand | tuple[Operand, ...]


@attrs.frozen
class Condition:
    alias: str | None  # None for a negated condition
    fact: str
    tests: tuple[Test, ...]
    negated: bool
    source: str


@attrs.frozen
class Action:
    """What a rule concludes: declarative, applied by the engine adapter itself."""

    kind: str  # one of ACTIONS
    target: str  # derived fact type, outcome code, note code, finding code or title level
    basis: tuple[str, ...] = ()
    copy: str | None = None
    set: tuple[tuple[str, Operand], ...] = ()
    eligible_on: Operand | None = None
    #: Of a ``derive``: None, a fact per firing; a tuple of field names, one fact per applicant
    #: and value of those fields (``()``: one per applicant), later firings adding their basis to
    #: it (``once = true`` or ``once = ["level"]`` in a ruleset).
    once: tuple[str, ...] | None = None


@attrs.frozen
class Rule:
    id: str
    clauses: tuple[str, ...]
    stage: str
    when: tuple[Condition, ...]
    then: Action
    explain: Mapping[str, str] | None
    decision: int | None = None
    document: str = ""  # the id of the ruleset the rule belongs to

    @property
    def clause(self) -> str:
        return self.clauses[0]


@attrs.frozen
class Count:
    """A helper fact the document asks Python to count (``[counts.<fact type>]``)."""

    fact: str  # the fact type, one of :data:`taian_titles.facts.COUNTS`
    clause: str
    # what the count needs -> the parameter that gives it (or, per skill level, a table of them)
    parameters: Mapping[str, Any]
    group_by: tuple[str, ...] = ()
    decision: int | None = None


#: What an ``[exclusive]`` entry may name: an outcome (``code`` or ``outcome:code``), a
#: ``not_met:code`` or a ``note:code``.
EXCLUSIVE_KINDS = ("outcome", "not_met", "note")
#: The items of a record an ``[exclusive]`` entry's ``same_item`` may name (a basis entry of a
#: conclusion is ``<kind>:<key>``).
ITEM_KINDS = ("certificate", "work_period", "skill_level", "title", "achievement", "candidate")


@attrs.frozen
class Exclusive:
    """Conclusions the document declares exclusive (``[exclusive.<name>]``): no record may get
    more than one of ``members`` (each ``(kind, code)``, kind one of :data:`EXCLUSIVE_KINDS`);
    with ``same_item`` (``certificate``, ``skill_level``, ...), only when they rest on one item
    of that kind (one certificate recognised at two levels)."""

    name: str
    members: tuple[tuple[str, str], ...]
    clause: str
    same_item: str | None = None
    note: str = ""

    def member_text(self, member: tuple[str, str]) -> str:
        kind, code = member
        return code if kind == "outcome" else f"{kind}:{code}"


@attrs.frozen(eq=False)
class Ruleset:
    """One loaded, validated policy document.  Immutable; two loads of the same bytes have one digest."""

    id: str
    version: str
    digest: str
    source: str
    metadata: Mapping[str, Any]
    clauses: Mapping[str, Mapping[str, str]]
    parameters: Mapping[str, Mapping[str, Any]]
    outcomes: Mapping[str, Mapping[str, str]]
    rules: tuple[Rule, ...]
    counts: Mapping[str, Count] = attrs.field(factory=dict)
    labels: Mapping[str, Mapping[str, Mapping[str, str]]] = attrs.field(factory=dict)
    words: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    exclusive: tuple[Exclusive, ...] = ()
    _index: dict[str, Rule] = attrs.field(init=False, repr=False)
    order: dict[str, int] = attrs.field(init=False, repr=False)
    #: The one-document policy of this ruleset, made on first use (``evaluate(..., ruleset=)``);
    #: it lives and dies with the ruleset.
    _policy: Any = attrs.field(init=False, default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {r.id: r for r in self.rules})
        object.__setattr__(self, "order", {r.id: n for n, r in enumerate(self.rules)})

    def param(self, name: str) -> Any:
        """A parameter's value, typed (dates as ``date``, shares as ``Fraction``)."""
        return self.parameters[name]["value"]

    def rule(self, rule_id: str) -> Rule:
        return self._index[rule_id]

    def clause_text(self, clause_id: str, lang: str = "zh") -> str:
        return self.clauses[clause_id][lang]

    def ref(self) -> dict[str, str]:
        """The ``ruleset`` object of a result: id, version and digest."""
        return {"id": self.id, "version": self.version, "digest": self.digest}

    @property
    def policy(self) -> Any:
        """This document alone as a compiled :class:`~taian_titles.policy.Policy`."""
        if self._policy is None:
            from .policy import Policy  # the policy composes documents: it comes after them

            object.__setattr__(self, "_policy", Policy((self,)))
        return self._policy


# --------------------------------------------------------------------------- loading

def default_ruleset_path(name: str = DEFAULT_RULESETS[0]) -> Path:
    """A shipped ruleset file: inside the installed package, or ``rulesets/`` of a checkout."""
    packaged = importlib.resources.files("taian_titles") / "rulesets" / name
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "rulesets" / name


_DEFAULT: Ruleset | None = None


def default_ruleset() -> Ruleset:
    """The first shipped document (measure nine), loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_ruleset(default_ruleset_path())
    return _DEFAULT


def read_ruleset_file(path: str | Path) -> bytes:
    """The bytes of a ruleset file: a regular file of at most ``RULESET_BYTES``.  Anything else
    (a FIFO, a device, a directory) is refused without waiting on it: the file is opened
    without blocking and looked at before anything is read."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise RulesetError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                    else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
            raise RulesetError(str(path), [f"cannot read the file: it is {what}; a ruleset is a regular "
                                           f"TOML file"])
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(CHUNK_BYTES, RULESET_BYTES + 1 - size))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > RULESET_BYTES:
                raise RulesetError(str(path), [f"the file is larger than {RULESET_BYTES:,} bytes, "
                                               f"the most a ruleset may have"])
    except OSError as exc:
        raise RulesetError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    finally:
        os.close(fd)


def load_ruleset(path: str | Path) -> Ruleset:
    """Read, validate and digest one ruleset file that stands on its own; raises
    :class:`RulesetError` naming each fault (a document that needs facts another document
    derives is loaded with :func:`taian_titles.load_policy` together with that document)."""
    return parse_ruleset(read_ruleset_file(path), str(path))


def parse_ruleset(raw: bytes, source: str = "<ruleset>") -> Ruleset:
    """One document, checked as a policy of its own."""
    document = parse_document(raw, source)
    check_documents([document])
    return document


def parse_document(raw: bytes, source: str = "<ruleset>") -> Ruleset:
    """One document, checked on its own terms (names, clauses, parameters, outcome codes); what
    its rules say of facts is checked with the documents it is composed with
    (:func:`check_documents`)."""
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesetError(source, [f"not a valid TOML file: {exc}"]) from None
    problems: list[str] = []
    meta = data.get("ruleset")
    if not isinstance(meta, dict):
        raise RulesetError(source, ["[ruleset]: missing table with id, version, document, issued_on"])
    for key in ("id", "version", "document", "title"):
        if key not in meta:
            problems.append(f"[ruleset]: missing {key}")
    if "issued_on" not in meta and "issued" not in meta:
        problems.append("[ruleset]: missing issued_on (the day the document was issued), or issued "
                        "(the year, when the day is not known)")
    for key in ("issued_on", "in_force_from", "source_published_on"):  # the document's dates are days
        if key in meta and not isinstance(meta[key], (_dt.date, _dt.time)):  # a time: reported below
            problems.append(f"[ruleset]: {key} = {_toml_value(meta[key])} is not a date (write 2025-04-30, "
                            f"without quotes or a time of day)")
    problems.extend(_times_of_day(data, ""))
    doc_id = str(meta.get("id", ""))
    clauses = _clauses(data.get("clauses"), problems)
    parameters = _parameters(data.get("parameters"), clauses, problems)
    outcomes = _outcomes(data.get("outcomes"), clauses, problems)
    counts = _counts(data.get("counts"), clauses, parameters, problems)
    labels = _labels(data.get("labels"), problems)
    words = _words(data.get("words"), problems)
    rules = []
    for index, entry in enumerate(data.get("rules") or []):
        rule = _rule(index, entry, doc_id, clauses, outcomes, problems)
        if rule is not None:
            rules.append(rule)
    if not rules:
        problems.append("[[rules]]: the file defines no rule")
    _check_document(rules, parameters, problems)
    exclusive = _exclusive(data.get("exclusive"), clauses, outcomes, rules, problems)
    if problems:
        raise RulesetError(source, problems)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    return Ruleset(id=doc_id, version=str(meta["version"]), digest=digest, source=source,
                   metadata=meta, clauses=clauses, parameters=parameters, outcomes=outcomes,
                   rules=tuple(rules), counts=counts, labels=labels, words=words, exclusive=exclusive)


def _toml_value(value: Any) -> str:
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return repr(value)


def _times_of_day(value: Any, where: str) -> list[str]:
    """Every TOML date-time or time of day in the document: the policy's dates are days, and a
    time would silently shift one (2025-04-30T08:00 is not 2025-04-30)."""
    if isinstance(value, (_dt.datetime, _dt.time)):
        return [f"{where or 'the file'}: {value.isoformat()} has a time of day; the policy's dates are "
                f"days (write 2025-04-30)"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in _times_of_day(item, _entry(where, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _times_of_day(item, f"{where}[{index}]")]
    return []


def _entry(where: str, key: str) -> str:
    if not where:
        return f"[{key}]"
    if where.startswith("[") and where.endswith("]") and "." not in where[1:-1] and where.count("[") == 1:
        return f"[{where[1:-1]}.{key}]"
    return f"{where}.{key}"


def _clauses(table: Any, problems: list[str]) -> dict[str, dict[str, str]]:
    if not isinstance(table, dict) or not table:
        problems.append("[clauses]: missing; every clause needs its verbatim Chinese text (zh)")
        return {}
    out = {}
    for cid, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("zh"), str) or not entry["zh"].strip():
            problems.append(f"[clauses.{cid}]: missing the verbatim Chinese text (zh)")
            continue
        out[cid] = {k: str(v) for k, v in entry.items() if isinstance(v, str)}
        out[cid].setdefault("en", "")
    return out


def _parameters(table: Any, clauses: Mapping[str, Any], problems: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, entry in (table or {}).items():
        where = f"[parameters.{name}]"
        if not isinstance(entry, dict) or "value" not in entry:
            problems.append(f"{where}: needs a value and the clause it rests on")
            continue
        if entry.get("clause") not in clauses:
            problems.append(f"{where}: clause {entry.get('clause')!r} is not one of {', '.join(clauses)}")
        value = entry["value"]
        kind = entry.get("type", "")
        try:
            value = _typed(value, kind)
        except ValueError as exc:
            if not isinstance(value, (_dt.datetime, _dt.time)):  # a time of day is reported once, below
                problems.append(f"{where}: {exc}")
            continue
        out[name] = {**entry, "value": value}
    return out


#: Parameter types and what they hold.
PARAMETER_TYPES = ("date", "years", "skill_level", "share", "list", "text", "number")


def _typed(value: Any, kind: str) -> Any:
    if kind == "skill_level":
        return SkillLevel.parse(value)
    if kind == "share":
        return parse_share(value)
    if kind == "date":
        if not isinstance(value, _dt.date) or isinstance(value, _dt.datetime):
            raise ValueError(f"{_toml_value(value)} is not a TOML date (write 2025-04-30, without quotes "
                             f"or a time of day)")
        if not FIRST_DATE <= value <= LAST_DATE:
            raise ValueError(f"{value.isoformat()} is outside the dates a policy may use, "
                             f"{FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}")
        return value
    if kind == "years":
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            raise ValueError(f"{value!r} is not a whole number of years (1 to 100)")
        return value
    if kind == "text" and not isinstance(value, str):
        raise ValueError(f"{_toml_value(value)} is not a text (write it in quotes)")
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"{_toml_value(value)} is not a number")
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{value!r} is not a list of strings")
        return tuple(value)
    if kind not in PARAMETER_TYPES:
        raise ValueError(f"type {kind!r} is not one of {', '.join(PARAMETER_TYPES)}")
    return value


def parse_share(value: Any) -> Fraction:
    """``"25%"``, ``"1/4"`` or ``0.25`` written as a string, exactly; never a binary float."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{value!r} is not a share; write it as a string such as \"25%\" or \"1/4\"")
    text = str(value).strip()
    try:
        share = Fraction(text[:-1]) / 100 if text.endswith("%") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r} is not a share such as \"25%\" or \"1/4\"") from None
    if not 0 < share <= 1:
        raise ValueError(f"{value!r} is not a share between 0 (excluded) and 100%")
    return share


def _outcomes(table: Any, clauses: Mapping[str, Any], problems: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for code, entry in (table or {}).items():
        if not isinstance(entry, dict) or entry.get("clause") not in clauses:
            problems.append(f"[outcomes.{code}]: needs the clause it belongs to, one of {', '.join(clauses)}")
            continue
        out[code] = {k: str(v) for k, v in entry.items() if isinstance(v, (str, int))}
        out[code].setdefault("zh", "")
        out[code].setdefault("en", "")
    return out


def _exclusive(table: Any, clauses: Mapping[str, Any], outcomes: Mapping[str, Any], rules: Sequence[Rule],
               problems: list[str]) -> tuple[Exclusive, ...]:
    """``[exclusive.<name>]`` entries: ``codes`` (two or more of ``code``, ``outcome:code``,
    ``not_met:code``, ``note:code``), ``clause``, optional ``same_item`` and ``note``."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        problems.append("[exclusive]: must be a table of named entries ([exclusive.<name>])")
        return ()
    notes = {r.then.target for r in rules if r.then.kind == "note"}
    out = []
    for name, entry in table.items():
        where = f"[exclusive.{name}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a table (codes, clause, same_item, note)")
            continue
        before = len(problems)
        unknown = sorted(set(entry) - {"codes", "clause", "same_item", "note"})
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}; known: codes, clause, same_item, note")
        codes = entry.get("codes")
        members: list[tuple[str, str]] = []
        if not isinstance(codes, list) or len(codes) < 2 or not all(isinstance(c, str) for c in codes):
            problems.append(f"{where}: codes must list two or more outcome codes "
                            f"(or not_met:code, note:code)")
            codes = []
        for text in codes:
            kind, _, code = text.rpartition(":")
            kind = kind or "outcome"
            if kind not in EXCLUSIVE_KINDS:
                problems.append(f"{where}: {text!r}: {kind!r} is not one of {', '.join(EXCLUSIVE_KINDS)}")
            elif kind in ("outcome", "not_met") and code not in outcomes:
                problems.append(f"{where}: {text!r}: {code!r} is not an outcome code of this document; "
                                f"codes: {', '.join(outcomes)}")
            elif kind == "note" and code not in notes:
                problems.append(f"{where}: {text!r}: no rule of this document writes the note {code!r}; "
                                f"notes: {', '.join(sorted(notes))}")
            elif (kind, code) in members:
                problems.append(f"{where}: {text!r} is listed twice")
            else:
                members.append((kind, code))
        clause = entry.get("clause")
        if clause not in clauses:
            problems.append(f"{where}: needs the clause it rests on, one of {', '.join(clauses)}")
        same_item = entry.get("same_item")
        if same_item is not None and same_item not in ITEM_KINDS:
            problems.append(f"{where}: same_item {same_item!r} is not one of {', '.join(ITEM_KINDS)}")
        note = entry.get("note", "")
        if not isinstance(note, str):
            problems.append(f"{where}: note must be text")
        if len(problems) == before:
            out.append(Exclusive(name=str(name), members=tuple(members), clause=str(clause),
                                 same_item=same_item, note=note))
    return tuple(out)


def _counts(table: Any, clauses: Mapping[str, Any], parameters: Mapping[str, Mapping[str, Any]],
            problems: list[str]) -> dict[str, Count]:
    out: dict[str, Count] = {}
    for fact, entry in (table or {}).items():
        where = f"[counts.{fact}]"
        if fact not in COUNTS:
            problems.append(f"{where}: Python counts no such fact; it counts: {', '.join(COUNTS)}")
            continue
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a table")
            continue
        spec = COUNTS[fact]
        if entry.get("clause") not in clauses:
            problems.append(f"{where}: clause {entry.get('clause')!r} is not one of {', '.join(clauses)}")
        needs: dict[str, Any] = {}
        for key, kind in spec["parameters"].items():
            if kind == "years_by_level":  # a table: skill level -> a parameter of type years
                table = entry.get(key)
                if not isinstance(table, dict) or not table:
                    problems.append(f"{where}: {key} must be a table of skill level = parameter of type years")
                    continue
                levels: dict[str, str] = {}
                for level, name in table.items():
                    try:
                        code = SkillLevel.parse(level).code
                    except ValueError as exc:
                        problems.append(f"{where}: {key}.{level}: {exc}")
                        continue
                    name = str(name).lstrip("$")
                    if name not in parameters or parameters[name].get("type") != "years":
                        problems.append(f"{where}: {key}.{level} = {name!r} is not a parameter of type years")
                        continue
                    levels[code] = name
                needs[key] = levels
                continue
            name = entry.get(key)
            if not isinstance(name, str) or name.lstrip("$") not in parameters:
                problems.append(f"{where}: {key} must name a parameter of type {kind} "
                                f"(parameters: {', '.join(parameters) or 'none'})")
                continue
            name = name.lstrip("$")
            if parameters[name].get("type") != kind:
                problems.append(f"{where}: {key} = {name!r}: parameter {name} is of type "
                                f"{parameters[name].get('type')!r}, not {kind!r}")
            needs[key] = name
        group_by = tuple(entry.get("group_by") or ())
        if group_by != tuple(spec["group_by"]):
            problems.append(f"{where}: group_by must be {list(spec['group_by'])}")
        out[fact] = Count(fact=fact, clause=str(entry.get("clause")), parameters=needs,
                          group_by=group_by, decision=entry.get("decision"))
    return out


def _pair(entry: Any) -> dict[str, str] | None:
    if isinstance(entry, dict) and all(isinstance(entry.get(k), str) and entry[k] for k in ("zh", "en")):
        return {"zh": entry["zh"], "en": entry["en"]}
    return None


def _labels(table: Any, problems: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """``[labels.<what>]``: names by code, in Chinese and English (title levels, directions)."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    if table is None:
        return out
    if not isinstance(table, dict):
        problems.append("[labels]: not a table")
        return out
    for group, entries in table.items():
        if not isinstance(entries, dict):
            problems.append(f"[labels.{group}]: not a table of code = {{ zh = ..., en = ... }}")
            continue
        out[group] = {}
        for code, entry in entries.items():
            pair = _pair(entry)
            if pair is None:
                problems.append(f"[labels.{group}] {code}: needs zh and en")
                continue
            out[group][code] = pair
    return out


def _words(table: Any, problems: list[str]) -> dict[str, dict[str, str]]:
    """``[words.<name>]``: the wording letters and reports take from the document, zh and en."""
    out: dict[str, dict[str, str]] = {}
    if table is None:
        return out
    if not isinstance(table, dict):
        problems.append("[words]: not a table")
        return out
    for name, entry in table.items():
        pair = _pair(entry)
        if pair is None:
            problems.append(f"[words.{name}]: needs zh and en")
            continue
        out[name] = pair
    return out


# --------------------------------------------------------------------------- the condition language

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'[^']*'|"[^"]*")
  | (?P<num>-?\d+)
  | (?P<param>\$[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[\[\],:])
  | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)
)""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not text")
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse_condition(text: str) -> Condition:
    """``alias: fact where field op operand and ...`` or ``no fact where ...``."""
    toks = _tokens(text)
    if len(toks) >= 2 and toks[0] == ("name", "no") and toks[1][0] == "name":
        alias, negated, rest = None, True, toks[1:]
    elif len(toks) >= 3 and toks[0][0] == "name" and toks[1] == ("punct", ":") and toks[2][0] == "name":
        alias, negated, rest = toks[0][1], False, toks[2:]
    else:
        raise ValueError("expected 'alias: fact_type [where ...]' or 'no fact_type [where ...]'")
    fact = rest[0][1]
    rest = rest[1:]
    tests: list[Test] = []
    if rest:
        if rest[0] != ("name", "where"):
            raise ValueError(f"expected 'where' after {fact!r}")
        rest = rest[1:]
        while True:
            test, rest = _test(rest)
            tests.append(test)
            if not rest:
                break
            if rest[0] != ("name", "and"):
                raise ValueError(f"expected 'and', found {rest[0][1]!r}")
            rest = rest[1:]
    return Condition(alias=alias, fact=fact, tests=tuple(tests), negated=negated, source=text)


def _test(toks: list[tuple[str, str]]) -> tuple[Test, list[tuple[str, str]]]:
    if len(toks) < 3 or toks[0][0] != "name" or "." in toks[0][1]:
        raise ValueError("expected 'field op value'")
    field, (kind, op) = toks[0][1], toks[1]
    if kind == "name" and op == "not" and len(toks) > 3 and toks[2] == ("name", "in"):
        test, rest = _test([toks[0], toks[2], *toks[3:]])
        return Test(field, "not in", test.operand), rest
    if kind == "name" and op == "in":
        if toks[2][0] == "param":
            return Test(field, "in", _operand(toks[2])), toks[3:]
        if toks[2] != ("punct", "["):
            raise ValueError("expected a list [ ... ] or a list parameter after 'in'")
        items, rest = [], toks[3:]
        while rest and rest[0] != ("punct", "]"):
            items.append(_operand(rest[0]))
            rest = rest[1:]
            if rest and rest[0] == ("punct", ","):
                rest = rest[1:]
        if not rest:
            raise ValueError("unclosed list")
        return Test(field, "in", tuple(items)), rest[1:]
    if kind != "op":
        raise ValueError(f"expected a comparison after {field!r}, found {op!r}")
    operand = _operand(toks[2])
    if isinstance(operand, Literal) and operand.value is None and op not in ("==", "!="):
        raise ValueError(f"'{field} {op} none': a missing value can only be tested with == or !=")
    return Test(field, op, operand), toks[3:]


def _operand(tok: tuple[str, str]) -> Operand:
    kind, text = tok
    if kind == "str":
        return Literal(text[1:-1])
    if kind == "num":
        return Literal(int(text))
    if kind == "param":
        name, _, attr = text[1:].partition(".")
        return Param(name, attr or None)
    if kind == "name":
        if text in ("true", "false"):
            return Literal(text == "true")
        if text == "none":
            return Literal(None)
        if "." in text:
            alias, field = text.split(".", 1)
            return Ref(alias, field)
    raise ValueError(f"{text!r} is not a value ('text', a number, true/false, none, alias.field or $parameter)")


@functools.lru_cache(maxsize=4096)
def operand_of(text: str) -> Operand:
    return _operand(_tokens(text)[0])


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@functools.lru_cache(maxsize=4096)
def template_parts(template: str) -> tuple[str | Operand, ...]:
    """A template split into literal text and the operands of its placeholders."""
    parts: list[str | Operand] = []
    for n, piece in enumerate(_PLACEHOLDER.split(template)):
        if n % 2:
            parts.append(operand_of(piece))
        elif piece:
            parts.append(piece)
    return tuple(parts)


# --------------------------------------------------------------------------- rules

def _reserved(name: str) -> bool:
    """Names the engine adapter keeps for itself: its hidden rules and facts end in ``__``."""
    return name.endswith("__") or name.startswith(("t__", "$"))


def _rule(index: int, entry: Any, doc_id: str, clauses: Mapping[str, Any], outcomes: Mapping[str, Any],
          problems: list[str]) -> Rule | None:
    where = f"rules[{index}]"
    if not isinstance(entry, dict):
        problems.append(f"{where}: not a table")
        return None
    rid = entry.get("id")
    where = f"rules[{index}] (id {rid!r})"
    before = len(problems)
    if not isinstance(rid, str) or not rid:
        problems.append(f"{where}: missing id (a non-empty text)")
    elif _reserved(rid):
        problems.append(f"{where}: the id {rid!r} is reserved for the engine adapter (ids may not end "
                        f"in '__' or start with 't__' or '$'); choose another")
    clause_ids = entry.get("clause")
    clause_ids = (clause_ids,) if isinstance(clause_ids, str) else clause_ids
    if not isinstance(clause_ids, (list, tuple)) or not all(isinstance(c, str) for c in clause_ids):
        problems.append(f"{where}: clause must be a clause id or a list of clause ids")
        clause_ids = ()
    clause_ids = tuple(clause_ids)
    if not clause_ids:
        problems.append(f"{where}: missing clause")
    for cid in clause_ids:
        if cid not in clauses:
            problems.append(f"{where}: clause {cid!r} is not one of {', '.join(clauses)}")
    decision = entry.get("decision")
    if decision is not None and (not isinstance(decision, int) or isinstance(decision, bool)):
        problems.append(f"{where}: decision must be the number of an interpretation decision")
    stage = entry.get("stage")
    if stage not in STAGES:
        problems.append(f"{where}: stage {stage!r} is not one of {', '.join(STAGES)}")
    conditions = []
    when = entry.get("when")
    if not isinstance(when, list) or not when:
        problems.append(f"{where}: missing when (a list of conditions)")
        when = []
    for j, text in enumerate(when):
        try:
            cond = parse_condition(text)
        except ValueError as exc:
            problems.append(f"{where}: when[{j}] {text!r}: {exc}")
            continue
        for name, what in ((cond.fact, "fact type"), (cond.alias or "", "alias")):
            if name and _reserved(name):
                problems.append(f"{where}: when[{j}]: the {what} {name!r} is reserved for the engine adapter")
        conditions.append(cond)
    action = _action(entry.get("then"), where, problems)
    explain = entry.get("explain")
    if action is not None and action.kind in EXPLAINED:
        if not isinstance(explain, dict) or not all(isinstance(explain.get(k), str) and explain[k]
                                                    for k in ("zh", "en")):
            problems.append(f"{where}: needs explain.zh and explain.en templates")
            explain = None
    elif explain is not None and not (isinstance(explain, dict)
                                      and all(isinstance(v, str) for v in explain.values())):
        problems.append(f"{where}: explain must hold zh and en templates")
        explain = None
    if action is not None and action.kind in ("outcome", "not_met", "quota"):
        if action.target not in outcomes:
            problems.append(f"{where}: outcome code {action.target!r} is not one of {', '.join(outcomes)}")
        elif outcomes[action.target]["clause"] not in clause_ids:
            problems.append(f"{where}: outcome {action.target!r} belongs to clause "
                            f"{outcomes[action.target]['clause']}, not {', '.join(clause_ids)}")
    if action is not None and action.kind == "addendum" and action.basis:
        problems.append(f"{where}: an addendum adds to an outcome's explanation; it has no basis of its own")
    if action is not None and action.kind == "derive" and _reserved(action.target):
        problems.append(f"{where}: the fact type {action.target!r} is reserved for the engine adapter")
    if len(problems) > before or action is None:
        return None
    return Rule(id=rid, clauses=clause_ids, stage=stage, when=tuple(conditions), then=action,
                explain=dict(explain) if isinstance(explain, dict) else None,
                decision=decision, document=doc_id)


def _action(then: Any, where: str, problems: list[str]) -> Action | None:
    if not isinstance(then, dict):
        problems.append(f"{where}: missing then (what the rule concludes)")
        return None
    kinds = [k for k in ACTIONS if k in then]
    if len(kinds) != 1:
        problems.append(f"{where}: then needs exactly one of {', '.join(ACTIONS)}")
        return None
    kind = kinds[0]
    unknown = sorted(set(then) - {kind, "basis", "copy", "set", "eligible_on", "once"})
    if unknown:
        problems.append(f"{where}: then: unknown key(s) {', '.join(unknown)}; "
                        f"known: {kind}, basis, copy, set, eligible_on, once")
        return None
    once_value = then.get("once", False)
    once: tuple[str, ...] | None = None
    if once_value is True:
        once = ()
    elif isinstance(once_value, list) and once_value and all(isinstance(f, str) and f for f in once_value):
        once = tuple(once_value)
    elif once_value is not False:
        problems.append(f"{where}: then.once must be true (one fact per applicant) or a list of field "
                        f"names (one per applicant and value of those fields)")
        return None
    if once is not None and kind != "derive":
        problems.append(f"{where}: then.once belongs to a derive (one derived fact, each firing adding its basis)")
        return None
    target, basis, copy, settings = then[kind], then.get("basis") or [], then.get("copy"), then.get("set") or {}
    if not isinstance(target, str) or not target:
        problems.append(f"{where}: then.{kind} must be a name")
        return None
    if not isinstance(basis, list) or not all(isinstance(b, str) for b in basis):
        problems.append(f"{where}: then.basis must be a list of aliases")
        return None
    if copy is not None and not isinstance(copy, str):
        problems.append(f"{where}: then.copy must be an alias")
        return None
    if not isinstance(settings, dict):
        problems.append(f"{where}: then.set must be a table of field = value")
        return None
    try:
        values = tuple((k, _operand(_tokens(v)[0]) if isinstance(v, str) else Literal(v))
                       for k, v in settings.items())
        eligible = _operand(_tokens(then["eligible_on"])[0]) if "eligible_on" in then else None
    except (ValueError, IndexError) as exc:
        problems.append(f"{where}: then: {exc}")
        return None
    return Action(kind=kind, target=target, basis=tuple(basis), copy=copy, set=values, eligible_on=eligible,
                  once=once)


#: Keys a rule's ``then.set`` may not write: the fact's type, what the engine adapter gives the
#: engine (``id``, ``sid``) and what every conclusion carries (``rule``, ``basis``).
_ENGINE_KEYS = frozenset({"t", "id", "sid", "rule", "basis"})


def _check_document(rules: list[Rule], parameters: Mapping[str, Any], problems: list[str]) -> None:
    """What can be checked of one document alone: parameters named, reserved keys, verdicts."""
    seen: set[str] = set()
    for r in rules:
        where = f"rule {r.id!r}"
        if r.id in seen:
            problems.append(f"{where}: duplicate rule id")
        seen.add(r.id)
        then = r.then
        for key, _ in then.set:
            if key in _ENGINE_KEYS or _reserved(key):
                problems.append(f"{where}: then.set: {key!r} is reserved for the engine; "
                                f"reserved: {', '.join(sorted(_ENGINE_KEYS))} and names starting 't__' "
                                f"or '$' or ending '__'")
        operands: list[tuple[str, Operand]] = []
        for cond in r.when:
            for test in cond.tests:
                ops = test.operand if isinstance(test.operand, tuple) else (test.operand,)
                operands += [(cond.source, op) for op in ops]
                if test.op in ("in", "not in") and any(isinstance(op, Ref) for op in ops):
                    # the engine matches such a list wrongly (see engine._condition_body)
                    problems.append(f"{where}: {cond.source!r}: 'in [...]' may list only values and "
                                    f"parameters, not another fact's field (the engine would match "
                                    f"it wrongly); compare with == instead, in a rule per field")
        operands += [("then", op) for _, op in then.set]
        if then.eligible_on is not None:
            operands.append(("then", then.eligible_on))
        for lang, template in (r.explain or {}).items():
            for name in _PLACEHOLDER.findall(template):
                try:
                    op = operand_of(name)
                    if not isinstance(op, (Ref, Param)):
                        raise ValueError("not a field or parameter")
                except (ValueError, IndexError):
                    problems.append(f"{where}: explain.{lang}: {{{name}}} is neither alias.field nor $parameter")
                    continue
                operands.append((f"explain.{lang}", op))
        for source, op in operands:
            if isinstance(op, Param):
                if op.name not in parameters:
                    problems.append(f"{where}: {source!r}: unknown parameter ${op.name}; "
                                    f"parameters: {', '.join(parameters)}")
                elif op.attr is not None and op.attr != "rank":
                    problems.append(f"{where}: {source!r}: ${op.name}.{op.attr}: only .rank is known")
        verdict = dict(then.set).get("meets_quota")
        if then.kind == "quota" and not (isinstance(verdict, Literal)
                                         and (isinstance(verdict.value, bool) or verdict.value is None)):
            problems.append(f"{where}: a quota rule must say its verdict: set = {{ meets_quota = true }}, "
                            f"false, or \"none\" (cannot be judged)")
        if then.kind == "highest_title" and then.target not in {lv.code for lv in Level}:
            problems.append(f"{where}: highest_title {then.target!r} is not one of "
                            f"{', '.join(lv.code for lv in Level)}")


# --------------------------------------------------------------------------- composing documents

def check_documents(documents: Sequence[Ruleset]) -> None:
    """Check documents as one policy: every fact a rule tests is an input fact, a fact Python
    counts for one of the documents, or a fact some rule derives; every field exists; a ``no``
    condition tests only facts of an earlier stage; rule and clause ids are unique across
    documents; the parameters Python reads exist with the right type.  Raises
    :class:`RulesetError` naming the document and entry of each problem."""
    problems: dict[str, list[str]] = {d.source: [] for d in documents}
    source_of = {d.id: d.source for d in documents}
    rules = [r for d in documents for r in d.rules]
    seen_rules: dict[str, str] = {}
    seen_clauses: dict[str, str] = {}
    for d in documents:
        for r in d.rules:
            if r.id in seen_rules and seen_rules[r.id] != d.source:
                problems[d.source].append(f"rule {r.id!r}: the id is also used in {seen_rules[r.id]}")
            seen_rules.setdefault(r.id, d.source)
        for cid in d.clauses:
            if cid in seen_clauses and seen_clauses[cid] != d.source:
                problems[d.source].append(f"[clauses.{cid}]: the id is also used in {seen_clauses[cid]}")
            seen_clauses.setdefault(cid, d.source)
    counted = {fact for d in documents for fact in d.counts}
    fields = fields_of(rules, counted)
    producers: dict[str, set[int]] = {name: {-1} for name in INPUT_FACTS}
    producers.update({name: {-1} for name in counted})
    for r in rules:
        target = r.then.target if r.then.kind == "derive" else r.then.kind
        producers.setdefault(target, set()).add(STAGES.index(r.stage))
    params = {d.id: d.parameters for d in documents}
    tested: set[str] = set()
    for r in rules:
        out = problems[source_of[r.document]]
        where = f"rule {r.id!r}"
        stage = STAGES.index(r.stage)
        aliases: dict[str, str] = {}
        for cond in r.when:
            tested.add(cond.fact)
            if cond.fact not in fields:
                out.append(f"{where}: {cond.source!r}: unknown fact type {cond.fact!r}; no document of the "
                           f"policy derives it (known: {', '.join(sorted(fields))})")
                continue
            if cond.negated and max(producers.get(cond.fact, {-1})) >= stage:
                out.append(f"{where}: {cond.source!r}: 'no {cond.fact}' must only test facts of an "
                           f"earlier stage; {cond.fact} is still being derived in stage {r.stage}")
            for test in cond.tests:
                if test.field not in fields[cond.fact]:
                    out.append(f"{where}: {cond.source!r}: {cond.fact} has no field {test.field!r}; "
                               f"fields: {', '.join(sorted(fields[cond.fact]))}")
                ops = test.operand if isinstance(test.operand, tuple) else (test.operand,)
                for op in ops:
                    _check_ref(op, aliases, fields, where, cond.source, out)
            if cond.alias:
                if cond.alias in aliases:
                    out.append(f"{where}: alias {cond.alias!r} bound twice")
                aliases[cond.alias] = cond.fact
        then = r.then
        for alias in then.basis + ((then.copy,) if then.copy else ()):
            if alias not in aliases:
                out.append(f"{where}: then names {alias!r}, which no condition binds")
        for _, op in then.set + (((None, then.eligible_on),) if then.eligible_on else ()):
            _check_ref(op, aliases, fields, where, "then", out)
        for lang, template in (r.explain or {}).items():
            for name in _PLACEHOLDER.findall(template):
                try:
                    op = operand_of(name)
                except (ValueError, IndexError):
                    continue  # reported with the document
                _check_ref(op, aliases, fields, where, f"explain.{lang}", out)
    # The parameters Python reads when it derives facts that some rule tests.
    for fact, needs in PARAMETERS_READ.items():
        if fact not in tested:
            continue
        for name, kind in needs.items():
            holders = [d for d in documents if name in d.parameters]
            if not holders:
                first = next(d for d in documents if any(c.fact == fact for r in d.rules for c in r.when))
                problems[first.source].append(f"[parameters.{name}]: missing; Python reads it (type {kind}) "
                                              f"to derive the {fact} facts that rules test")
            for d in holders:
                if d.parameters[name].get("type") != kind:
                    problems[d.source].append(f"[parameters.{name}]: Python reads it as type {kind!r}, "
                                              f"but it is declared {d.parameters[name].get('type')!r}")
    del params
    _check_once(rules, fields, source_of, problems)
    for source, problem in _cycles(rules, source_of):
        problems[source].append(problem)
    if not any(problems.values()):  # what the engine can hold, once the rules make sense
        for problem in engine_limits(rules):
            problems[documents[0].source].append(problem)
    bad = [(source, found) for source, found in problems.items() if found]
    if bad:
        if len(bad) == 1:
            raise RulesetError(bad[0][0], bad[0][1])
        raise RulesetError(bad[0][0], bad[0][1] + [f"{s}: {p}" for s, found in bad[1:] for p in found])


#: The field that tells conclusions of one kind apart (``outcome where code == '...'``).
_KEY_FIELD = {"outcome": "code", "not_met": "code", "note": "code", "quota": "code", "finding": "code",
              "addendum": "code", "highest_title": "level"}


def _check_once(rules: Sequence[Rule], fields: Mapping[str, Any], source_of: Mapping[str, str],
                problems: dict[str, list[str]]) -> None:
    """A fact type derived ``once`` is derived so by every rule that derives it, with the same
    fields, which the fact has; and only rules of a later stage test it, so that every firing
    has added its basis before any rule reads it."""
    derivers: dict[str, list[Rule]] = {}
    for r in rules:
        if r.then.kind == "derive":
            derivers.setdefault(r.then.target, []).append(r)
    for target, makers in derivers.items():
        onces = {r.then.once for r in makers}
        if onces == {None}:
            continue
        first = next(r for r in makers if r.then.once is not None)
        out = problems[source_of[first.document]]
        if len(onces) > 1:
            out.append(f"rule {first.id!r}: {target} is derived once by some rules and not, or on other "
                       f"fields, by others ({', '.join(repr(r.id) for r in makers)}); say the same once in each")
            continue
        for name in first.then.once or ():
            if name not in fields.get(target, ()):
                out.append(f"rule {first.id!r}: then.once names {name!r}, which {target} does not have; "
                           f"fields: {', '.join(sorted(fields.get(target, ())))}")
        last = max(STAGES.index(r.stage) for r in makers)
        for r in rules:
            if any(c.fact == target for c in r.when) and STAGES.index(r.stage) <= last:
                problems[source_of[r.document]].append(
                    f"rule {r.id!r}: tests {target}, which is derived once (each firing adding its basis) "
                    f"until stage {STAGES[last]}; only a rule of a later stage may test it")


def _cycles(rules: Sequence[Rule], source_of: Mapping[str, str]) -> list[tuple[str, str]]:
    """Rules that conclude, directly or through other rules, a fact one of their own positive
    conditions matches: each firing would make the next, without end (the engine stops only when
    a session holds 65,535 facts).  Conclusions of a kind that carries a code are told apart by
    it when a condition names the code (``outcome where code == 'x'``)."""
    made: list[tuple[str, Any]] = []
    wants: list[list[tuple[str, Any]]] = []
    for r in rules:
        kind = r.then.kind
        made.append((r.then.target, None) if kind == "derive" else (kind, r.then.target))
        patterns = []
        for cond in r.when:
            if cond.negated:
                continue
            key = None
            field = _KEY_FIELD.get(cond.fact)
            for test in cond.tests:
                if test.field == field and test.op == "==" and isinstance(test.operand, Literal):
                    key = test.operand.value
            patterns.append((cond.fact, key))
        wants.append(patterns)
    by_fact: dict[str, list[int]] = {}
    for n, patterns in enumerate(wants):
        for fact, _ in patterns:
            by_fact.setdefault(fact, []).append(n)
    after = [sorted({m for m in by_fact.get(made[n][0], ()) for fact, key in wants[m]
                     if fact == made[n][0] and (key is None or made[n][1] is None or key == made[n][1])})
             for n in range(len(rules))]
    found, seen = [], set()
    for component in _strongly_connected(after):
        if len(component) == 1 and component[0] not in after[component[0]]:
            continue
        cycle = _a_cycle(component, after)
        names = " → ".join(repr(rules[n].id) for n in cycle + cycle[:1])
        facts = " → ".join(made[n][0] if made[n][1] is None else f"{made[n][0]} {made[n][1]}" for n in cycle)
        key = frozenset(component)
        if key in seen:
            continue
        seen.add(key)
        first = rules[cycle[0]]
        found.append((source_of[first.document],
                      f"rule {first.id!r}: rules {names} conclude facts that make one another fire "
                      f"({facts}), without end; a rule may not conclude, directly or through other "
                      f"rules, what its own conditions match"))
    return found


def _strongly_connected(after: list[list[int]]) -> list[list[int]]:
    """Tarjan's strongly connected components of the graph ``n → after[n]``, without recursion."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    stack: list[int] = []
    on_stack: set[int] = set()
    out: list[list[int]] = []
    counter = 0
    for root in range(len(after)):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if i < len(after[node]):
                work.append((node, i + 1))
                nxt = after[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return out


def _a_cycle(component: list[int], after: list[list[int]]) -> list[int]:
    """One cycle through the first rule of a strongly connected component."""
    members, start = set(component), component[0]
    previous: dict[int, int] = {}
    queue = [start]
    for node in queue:
        for nxt in after[node]:
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            if nxt in members and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return [start]  # pragma: no cover - a component always has a cycle through each member


def engine_limits(rules: Sequence[Rule]) -> list[str]:
    """What of the policy the rule engine's C core cannot hold, each with the rules at fault.

    The core has fixed-size tables (durable-rules 2.0.28): 4,096 rules in all (the engine adapter
    adds two), at most 256 rules behind one condition (error 108), 510 different tests after one
    same test (a 511th corrupts its heap, a 512th makes it loop for ever when it compiles the
    rules), 32 expressions per join (error 113), of which the adapter takes two, a table of 32
    properties an object as the Makefile builds it (24 tested fields and the adapter's four keep
    it a quarter empty: a full one crashes).  This mirrors how the adapter compiles a condition (``engine.py``,
    ``_condition_body``): the fact's type, then its tests against values and parameters in the
    order written, then ``in`` lists; the tests against another fact's fields go to the join.  A
    rule with a ``no`` condition also tests its stage's marker.  A test compares the model with
    the compiled rules.
    """
    problems: list[str] = []
    if len(rules) > RULES:
        problems.append(f"the policy has {len(rules):,} rules; the rule engine holds at most {RULES:,}")
    users: dict[tuple[Any, ...], list[str]] = {}  # an alpha path -> the rules behind it
    children: dict[tuple[Any, ...], set[Any]] = {}  # an alpha path -> the different tests after it
    for r in rules:
        paths = []
        if any(c.negated for c in r.when):
            paths.append(("stage__", ("name", "==", r.stage)))
        anchor = next((c for c in r.when if not c.negated), None)  # the others join on its applicant
        for cond in r.when:
            values, lists, others, groups = [], [], 0, 0
            for test in cond.tests:
                operands = test.operand if isinstance(test.operand, tuple) else (test.operand,)
                if test.op in ("in", "not in") and not (isinstance(test.operand, tuple) and len(test.operand) == 1):
                    groups += 1  # alternatives ($or) or inequalities ($and): two expressions in a join
                if any(isinstance(op, Ref) for op in operands):
                    others += 1
                elif test.op == "not in" and isinstance(test.operand, tuple):  # one inequality each
                    values.extend((test.field, "!=", _operand_key(op)) for op in test.operand)
                elif test.op == "in" and isinstance(test.operand, tuple) and len(test.operand) == 1:
                    values.append((test.field, "==", _operand_key(test.operand[0])))
                elif test.op == "in":
                    lists.append((test.field, "in", _operand_key(test.operand)))
                else:
                    values.append((test.field, test.op, _operand_key(test.operand)))
            joined = others + 2 * groups
            if (others or cond is not anchor) and joined > TESTS_PER_CONDITION:
                problems.append(f"rule {r.id!r}: {cond.source!r} has {others} comparisons with other facts' "
                                f"fields and {groups} lists of values, {joined} tests in all (a list counts "
                                f"two); the rule engine allows at most {TESTS_PER_CONDITION} in a condition "
                                f"after a rule's first: split it")
            paths.append((cond.fact, *values, *lists))
        for path in paths:
            users.setdefault(path, []).append(r.id)
            for depth in range(len(path)):
                children.setdefault(path[:depth], set()).add(path[depth])
    for path, rule_ids in users.items():
        if len(rule_ids) > RULES_PER_CONDITION:
            shown = ", ".join(repr(i) for i in dict.fromkeys(rule_ids[:5]))
            problems.append(f"{len(rule_ids):,} conditions of rules ({shown}, …) test {_path_text(path)}; the "
                            f"rule engine allows at most {RULES_PER_CONDITION} behind one same condition: "
                            f"derive a second fact from it for some of them, or add a test")
    tested: dict[str, set[str]] = {}  # per fact type, the fields the engine is told
    for r in rules:
        aliases = {c.alias: c.fact for c in r.when if c.alias}
        for cond in r.when:
            for test in cond.tests:
                tested.setdefault(cond.fact, set()).add(test.field)
                operands = test.operand if isinstance(test.operand, tuple) else (test.operand,)
                for op in operands:
                    if isinstance(op, Ref) and op.alias in aliases:
                        tested.setdefault(aliases[op.alias], set()).add(op.field)
    for kind, names in sorted(tested.items()):
        if len(names) > FIELDS_PER_FACT:
            problems.append(f"the rules test {len(names)} fields of {kind!r}; the rule engine is told at most "
                            f"{FIELDS_PER_FACT} fields of one fact type: derive a fact holding some of them")
    for path, after in children.items():
        if len(after) > TESTS_AFTER_ONE_TEST:
            what = "fact types" if not path else f"different tests after {_path_text(path)}"
            problems.append(f"the rules have {len(after):,} {what}; the rule engine allows at most "
                            f"{TESTS_AFTER_ONE_TEST}")
    return problems


def _operand_key(operand: Any) -> Any:
    if isinstance(operand, tuple):
        return tuple(_operand_key(op) for op in operand)
    if isinstance(operand, Literal):
        return ("value", type(operand.value).__name__, operand.value)
    return operand


def _path_text(path: tuple[Any, ...]) -> str:
    if not path[1:]:
        return repr(path[0])
    tests = " and ".join(f"{field} {op} {_show_operand(value)}" for field, op, value in path[1:])
    return repr(f"{path[0]} where {tests}")


def _show_operand(key: Any) -> str:
    if isinstance(key, tuple) and key and key[0] == "value":
        return repr(key[2]) if isinstance(key[2], str) else str(key[2]).lower()
    if isinstance(key, Param):
        return f"${key.name}" + (f".{key.attr}" if key.attr else "")
    if isinstance(key, tuple):
        return "[" + ", ".join(_show_operand(k) for k in key) + "]"
    return str(key)


def _check_ref(op: Operand, aliases: Mapping[str, str], fields: Mapping[str, set[str]], where: str,
               source: str, problems: list[str]) -> None:
    if isinstance(op, Ref):
        if op.alias not in aliases:
            problems.append(f"{where}: {source!r}: {op.alias!r} is not an alias bound before it")
        elif op.field not in fields.get(aliases[op.alias], set()):
            problems.append(f"{where}: {source!r}: {aliases[op.alias]} has no field {op.field!r}")


def fields_of(rules: Iterable[Rule], counted: Iterable[str] = ()) -> dict[str, set[str]]:
    """Fields of every fact type: the input facts' own, the counted facts', and what rules derive."""
    rules = list(rules)
    fields = {name: set(f) for name, f in INPUT_FACTS.items()}
    fields.update({name: set(COUNTS[name]["fields"]) for name in counted})
    common = {"rule", "clause", "basis", "code"}
    fields.update({"outcome": set(common), "not_met": {"eligible_on", *common},
                   "note": set(common), "highest_title": {"level", "rule", "clause", "basis"},
                   "quota": set(common), "finding": set(common), "addendum": set(common)})
    for r in rules:  # what a conclusion's set and copy add
        if r.then.kind in ("quota", "finding", "outcome", "not_met", "note"):
            fields[r.then.kind] |= {k for k, _ in r.then.set}
    changed = True
    while changed:  # derived facts copy another fact's fields, so iterate to a fixed point
        changed = False
        for r in rules:
            aliases = {c.alias: c.fact for c in r.when if c.alias}
            new = {k for k, _ in r.then.set}
            if r.then.copy in aliases:
                new |= fields.get(aliases[r.then.copy], set())
            if r.then.kind == "derive":
                new |= {"basis", "rule"}
                have = fields.setdefault(r.then.target, set())
            elif r.then.kind in fields:
                have = fields[r.then.kind]
            else:
                continue
            if not new <= have:
                have |= new
                changed = True
    return fields
