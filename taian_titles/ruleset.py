"""Ruleset files: load, validate, digest and compile a policy document written as data.

A ruleset file (TOML, see ``docs/ruleset-authoring.md``) holds the document's metadata, the
verbatim text of its clauses, its parameters (each citing its clause), its outcome codes and
its rules in the policy's order.  A rule reads::

    [[rules]]
    id = "M9-2a-intermediate"
    clause = "M9-2a"
    stage = "outcome"
    when = ["cert: held_certificate where kind == 'professional_level' and level == 'intermediate'"]
    then = { outcome = "recognize_intermediate_title", basis = ["cert"] }
    explain.zh = "您持有的{cert.direction}方向{cert.level}专业技术等级证书（编号{cert.number}）……"
    explain.en = "..."

A condition is ``alias: fact_type [where test and test ...]`` or ``no fact_type [where ...]``;
a test compares a field of the fact with a literal (``'text'``, ``3``, ``true``), a field of
an earlier alias (``cert.direction``), a parameter (``$required_years``, or
``$min_skill_level.rank`` for a skill level's rank) or, with ``in``, a list or a list
parameter.  The loader checks every name and reports each problem with the file and the
entry at fault; :func:`compile_rules` turns the rules into durable-rules definitions.
"""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import importlib.resources
import re
import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from .errors import RulesetError
from .facts import INPUT_FACTS
from .model import Level, SkillLevel

__all__ = ["Ruleset", "Rule", "Condition", "Test", "Action", "load_ruleset", "default_ruleset",
           "DEFAULT_RULESET", "STAGES", "ACTIONS"]

#: The file shipped with the library: measure nine of 泰人社发〔2025〕5号.
DEFAULT_RULESET = "tairenshefa-2025-5.toml"
#: Stages run in this order; a stage starts when the one before has stopped firing.
STAGES = ("derive", "outcome", "summary")
#: What a rule may do when it fires.
ACTIONS = ("derive", "outcome", "not_met", "note", "highest_title", "quota", "finding")
_OPS = {"==": None, "!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


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
    op: str  # one of _OPS or "in"
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
    kind: str  # one of ACTIONS
    target: str  # derived fact type, outcome code, note code or title level
    basis: tuple[str, ...] = ()
    copy: str | None = None
    set: tuple[tuple[str, Operand], ...] = ()
    eligible_on: Operand | None = None


@attrs.frozen
class Rule:
    id: str
    clauses: tuple[str, ...]
    stage: str
    when: tuple[Condition, ...]
    then: Action
    explain: Mapping[str, str] | None
    decision: int | None = None

    @property
    def clause(self) -> str:
        return self.clauses[0]


@attrs.frozen(eq=False)
class Ruleset:
    """A loaded, validated ruleset.  Immutable; two loads of the same bytes have one digest."""

    id: str
    version: str
    digest: str
    source: str
    metadata: Mapping[str, Any]
    clauses: Mapping[str, Mapping[str, str]]
    parameters: Mapping[str, Mapping[str, Any]]
    outcomes: Mapping[str, Mapping[str, str]]
    rules: tuple[Rule, ...]
    _index: dict[str, Rule] = attrs.field(init=False, repr=False)
    order: dict[str, int] = attrs.field(init=False, repr=False)

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

    def produced_types(self) -> dict[str, set[int]]:
        """Derived fact type → the stages (indices) of the rules that derive it."""
        out: dict[str, set[int]] = {}
        for r in self.rules:
            if r.then.kind == "derive":
                out.setdefault(r.then.target, set()).add(STAGES.index(r.stage))
            elif r.then.kind in ("outcome", "not_met", "note", "highest_title", "quota", "finding"):
                out.setdefault(r.then.kind, set()).add(STAGES.index(r.stage))
        return out


# --------------------------------------------------------------------------- loading

def default_ruleset_path() -> Path:
    """The shipped ruleset: inside the installed package, or ``rulesets/`` of a checkout."""
    packaged = importlib.resources.files("taian_titles") / "rulesets" / DEFAULT_RULESET
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "rulesets" / DEFAULT_RULESET


_DEFAULT: Ruleset | None = None


def default_ruleset() -> Ruleset:
    """The shipped ruleset, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_ruleset(default_ruleset_path())
    return _DEFAULT


def load_ruleset(path: str | Path) -> Ruleset:
    """Read, validate and digest a ruleset file; raises :class:`RulesetError` naming each fault."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RulesetError(str(path), [f"cannot read the file: {exc.strerror or exc}"]) from None
    return parse_ruleset(raw, str(path))


def parse_ruleset(raw: bytes, source: str = "<ruleset>") -> Ruleset:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RulesetError(source, [f"not a valid TOML file: {exc}"]) from None
    problems: list[str] = []
    meta = data.get("ruleset")
    if not isinstance(meta, dict):
        raise RulesetError(source, ["[ruleset]: missing table with id, version, document, issued_on"])
    for key in ("id", "version", "document", "title", "issued_on", "in_force_from"):
        if key not in meta:
            problems.append(f"[ruleset]: missing {key}")
    clauses = _clauses(data.get("clauses"), problems)
    parameters = _parameters(data.get("parameters"), clauses, problems)
    outcomes = _outcomes(data.get("outcomes"), clauses, problems)
    rules = []
    for index, entry in enumerate(data.get("rules") or []):
        rule = _rule(index, entry, clauses, parameters, outcomes, problems)
        if rule is not None:
            rules.append(rule)
    if not rules:
        problems.append("[[rules]]: the file defines no rule")
    _check_rules(rules, parameters, outcomes, problems)
    if problems:
        raise RulesetError(source, problems)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    return Ruleset(id=str(meta["id"]), version=str(meta["version"]), digest=digest, source=source,
                   metadata=meta, clauses=clauses, parameters=parameters, outcomes=outcomes,
                   rules=tuple(rules))


def _clauses(table: Any, problems: list[str]) -> dict[str, dict[str, str]]:
    if not isinstance(table, dict) or not table:
        problems.append("[clauses]: missing; every clause needs its verbatim Chinese text (zh)")
        return {}
    out = {}
    for cid, entry in table.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("zh"), str) or not entry["zh"].strip():
            problems.append(f"[clauses.{cid}]: missing the verbatim Chinese text (zh)")
            continue
        out[cid] = {"zh": entry["zh"], "en": str(entry.get("en", ""))}
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
            problems.append(f"{where}: {exc}")
            continue
        out[name] = {**entry, "value": value}
    return out


def _typed(value: Any, kind: str) -> Any:
    if kind == "skill_level":
        return SkillLevel.parse(value)
    if kind == "share":
        return parse_share(value)
    if kind == "date":
        if not isinstance(value, _dt.date):
            raise ValueError(f"{value!r} is not a TOML date (write 2025-04-30 without quotes)")
        return value
    if kind == "years":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{value!r} is not a whole number of years (1 or more)")
        return value
    if kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{value!r} is not a list of strings")
        return tuple(value)
    return value


def parse_share(value: Any) -> Fraction:
    """``"20%"``, ``"1/5"`` or ``0.2`` written as a string, exactly; never a binary float."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"{value!r} is not a share; write it as a string such as \"20%\" or \"1/5\"")
    text = str(value).strip()
    try:
        share = Fraction(text[:-1]) / 100 if text.endswith("%") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r} is not a share such as \"20%\" or \"1/5\"") from None
    if not 0 < share <= 1:
        raise ValueError(f"{value!r} is not a share between 0 (excluded) and 100%")
    return share


def _outcomes(table: Any, clauses: Mapping[str, Any], problems: list[str]) -> dict[str, dict[str, str]]:
    out = {}
    for code, entry in (table or {}).items():
        if not isinstance(entry, dict) or entry.get("clause") not in clauses:
            problems.append(f"[outcomes.{code}]: needs the clause it belongs to, one of {', '.join(clauses)}")
            continue
        out[code] = {"clause": entry["clause"], "zh": str(entry.get("zh", "")), "en": str(entry.get("en", ""))}
    return out


# --------------------------------------------------------------------------- rules

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'[^']*'|"[^"]*")
  | (?P<num>-?\d+)
  | (?P<param>\$[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[\[\],:])
  | (?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)
)""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
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
    return Test(field, op, _operand(toks[2])), toks[3:]


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
        if "." in text:
            alias, field = text.split(".", 1)
            return Ref(alias, field)
    raise ValueError(f"{text!r} is not a value ('text', a number, true/false, alias.field or $parameter)")


def _rule(index: int, entry: Any, clauses: Mapping[str, Any], parameters: Mapping[str, Any],
          outcomes: Mapping[str, Any], problems: list[str]) -> Rule | None:
    where = f"rules[{index}]"
    if not isinstance(entry, dict):
        problems.append(f"{where}: not a table")
        return None
    rid = entry.get("id")
    where = f"rules[{index}] (id {rid!r})"
    before = len(problems)
    if not isinstance(rid, str) or not rid:
        problems.append(f"{where}: missing id")
    clause_ids = entry.get("clause")
    clause_ids = (clause_ids,) if isinstance(clause_ids, str) else tuple(clause_ids or ())
    if not clause_ids:
        problems.append(f"{where}: missing clause")
    for cid in clause_ids:
        if cid not in clauses:
            problems.append(f"{where}: clause {cid!r} is not one of {', '.join(clauses)}")
    stage = entry.get("stage")
    if stage not in STAGES:
        problems.append(f"{where}: stage {stage!r} is not one of {', '.join(STAGES)}")
    conditions = []
    for j, text in enumerate(entry.get("when") or []):
        try:
            conditions.append(parse_condition(text))
        except ValueError as exc:
            problems.append(f"{where}: when[{j}] {text!r}: {exc}")
    if not entry.get("when"):
        problems.append(f"{where}: missing when (the conditions)")
    action = _action(entry.get("then"), where, problems)
    explain = entry.get("explain")
    if action is not None and action.kind in ("outcome", "not_met", "note", "quota", "finding"):
        if not isinstance(explain, dict) or not all(isinstance(explain.get(k), str) and explain[k]
                                                    for k in ("zh", "en")):
            problems.append(f"{where}: needs explain.zh and explain.en templates")
            explain = None
    if action is not None and action.kind in ("outcome", "not_met", "quota"):
        if action.target not in outcomes:
            problems.append(f"{where}: outcome code {action.target!r} is not one of {', '.join(outcomes)}")
        elif outcomes[action.target]["clause"] not in clause_ids:
            problems.append(f"{where}: outcome {action.target!r} belongs to clause "
                            f"{outcomes[action.target]['clause']}, not {', '.join(clause_ids)}")
    if len(problems) > before or action is None:
        return None
    return Rule(id=rid, clauses=clause_ids, stage=stage, when=tuple(conditions), then=action,
                explain=dict(explain) if isinstance(explain, dict) else None,
                decision=entry.get("decision"))


def _action(then: Any, where: str, problems: list[str]) -> Action | None:
    if not isinstance(then, dict):
        problems.append(f"{where}: missing then (what the rule concludes)")
        return None
    kinds = [k for k in ACTIONS if k in then]
    if len(kinds) != 1:
        problems.append(f"{where}: then needs exactly one of {', '.join(ACTIONS)}")
        return None
    kind = kinds[0]
    try:
        settings = tuple((k, _operand(_tokens(str(v)) [0]) if isinstance(v, str) else Literal(v))
                         for k, v in (then.get("set") or {}).items())
        eligible = _operand(_tokens(then["eligible_on"])[0]) if "eligible_on" in then else None
    except ValueError as exc:
        problems.append(f"{where}: then: {exc}")
        return None
    return Action(kind=kind, target=str(then[kind]), basis=tuple(then.get("basis") or ()),
                  copy=then.get("copy"), set=settings, eligible_on=eligible)


def _fields_of(rules: list[Rule]) -> dict[str, set[str]]:
    """Fields of every fact type: the input facts' own, and what the rules derive."""
    fields = {name: set(f) for name, f in INPUT_FACTS.items()}
    common = {"rule", "clause", "basis"}
    fields.update({"outcome": {"code", *common}, "not_met": {"code", "eligible_on", *common},
                   "note": {"code", *common}, "highest_title": {"level", *common},
                   "quota": {"code", *common}, "finding": {"code", *common}})
    changed = True
    while changed:  # derived facts copy another fact's fields, so iterate to a fixed point
        changed = False
        for r in rules:
            if r.then.kind != "derive":
                continue
            aliases = {c.alias: c.fact for c in r.when if c.alias}
            new = {"basis", "rule", *(k for k, _ in r.then.set)}
            if r.then.copy in aliases:
                new |= fields.get(aliases[r.then.copy], set())
            have = fields.setdefault(r.then.target, set())
            if not new <= have:
                have |= new
                changed = True
    return fields


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
#: Keys a derived fact may not set: the fact's type, what the engine adapter gives the core
#: (``id``, ``sid``) and what every derivation writes itself (``rule``, ``basis``).
_ENGINE_KEYS = frozenset({"t", "id", "sid", "rule", "basis"})


def _check_rules(rules: list[Rule], parameters: Mapping[str, Any], outcomes: Mapping[str, Any],
                 problems: list[str]) -> None:
    fields = _fields_of(rules)
    producers: dict[str, set[int]] = {name: {-1} for name in INPUT_FACTS}
    for r in rules:
        target = r.then.target if r.then.kind == "derive" else r.then.kind
        producers.setdefault(target, set()).add(STAGES.index(r.stage))
    seen: set[str] = set()
    for r in rules:
        where = f"rule {r.id!r}"
        if r.id in seen:
            problems.append(f"{where}: duplicate rule id")
        seen.add(r.id)
        stage = STAGES.index(r.stage)
        aliases: dict[str, str] = {}
        for cond in r.when:
            if cond.fact not in fields:
                problems.append(f"{where}: {cond.source!r}: unknown fact type {cond.fact!r}; "
                                f"known: {', '.join(sorted(fields))}")
                continue
            if cond.negated and max(producers.get(cond.fact, {-1})) >= stage:
                problems.append(f"{where}: {cond.source!r}: 'no {cond.fact}' must only test facts of an "
                                f"earlier stage; {cond.fact} is still being derived in stage {r.stage}")
            for test in cond.tests:
                if test.field not in fields[cond.fact]:
                    problems.append(f"{where}: {cond.source!r}: {cond.fact} has no field {test.field!r}; "
                                    f"fields: {', '.join(sorted(fields[cond.fact]))}")
                ops = test.operand if isinstance(test.operand, tuple) else (test.operand,)
                for op in ops:
                    _check_operand(op, aliases, fields, parameters, where, cond.source, problems)
                if test.op == "in" and any(isinstance(op, Ref) for op in ops):
                    # durable-rules matches such a list wrongly (see _condition_body)
                    problems.append(f"{where}: {cond.source!r}: 'in [...]' may list only values and "
                                    f"parameters, not another fact's field (durable-rules would match "
                                    f"it wrongly); compare with == instead, in a rule per field")
            if cond.alias:
                if cond.alias in aliases:
                    problems.append(f"{where}: alias {cond.alias!r} bound twice")
                aliases[cond.alias] = cond.fact
        then = r.then
        for alias in then.basis + ((then.copy,) if then.copy else ()):
            if alias not in aliases:
                problems.append(f"{where}: then names {alias!r}, which no condition binds")
        for key, _ in then.set:
            if key in _ENGINE_KEYS or key.startswith(("t__", "$")):
                problems.append(f"{where}: then.set: {key!r} is reserved for the engine; "
                                f"reserved: {', '.join(sorted(_ENGINE_KEYS))} and names starting 't__' or '$'")
        for _, op in then.set + (((None, then.eligible_on),) if then.eligible_on else ()):
            _check_operand(op, aliases, fields, parameters, where, "then", problems)
        verdict = dict(then.set).get("meets_quota")
        if then.kind == "quota" and not (isinstance(verdict, Literal) and isinstance(verdict.value, bool)):
            problems.append(f"{where}: a quota rule must say its verdict: set = {{ meets_quota = true }} or false")
        if then.kind == "highest_title" and then.target not in {lv.code for lv in Level}:
            problems.append(f"{where}: highest_title {then.target!r} is not one of junior, intermediate, senior")
        for lang, template in (r.explain or {}).items():
            for name in _PLACEHOLDER.findall(template):
                try:
                    op = _operand(_tokens(name)[0])
                    if not isinstance(op, (Ref, Param)):
                        raise ValueError("not a field or parameter")
                except (ValueError, IndexError):
                    problems.append(f"{where}: explain.{lang}: {{{name}}} is neither alias.field nor $parameter")
                    continue
                _check_operand(op, aliases, fields, parameters, where, f"explain.{lang}", problems)


def _check_operand(op: Operand, aliases: Mapping[str, str], fields: Mapping[str, set[str]],
                   parameters: Mapping[str, Any], where: str, source: str, problems: list[str]) -> None:
    if isinstance(op, Ref):
        if op.alias not in aliases:
            problems.append(f"{where}: {source!r}: {op.alias!r} is not an alias bound before it")
        elif op.field not in fields.get(aliases[op.alias], set()):
            problems.append(f"{where}: {source!r}: {aliases[op.alias]} has no field {op.field!r}")
    elif isinstance(op, Param):
        if op.name not in parameters:
            problems.append(f"{where}: {source!r}: unknown parameter ${op.name}; "
                            f"parameters: {', '.join(parameters)}")
        elif op.attr is not None and op.attr not in ("rank",):
            problems.append(f"{where}: {source!r}: ${op.name}.{op.attr}: only .rank is known")


def param_value(ruleset_params: Mapping[str, Mapping[str, Any]], op: Param) -> Any:
    """A parameter as the engine sees it: dates as ISO strings, skill levels as codes or ranks."""
    value = ruleset_params[op.name]["value"]
    if op.attr == "rank":
        return value.rank
    if isinstance(value, (SkillLevel, Level)):
        return value.code
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, tuple):
        return list(value)
    return value


# --------------------------------------------------------------------------- compilation

def compile_rules(ruleset: Ruleset) -> dict[str, Any]:
    """durable-rules definitions of every rule.

    A rule with a ``no`` condition is gated by its stage's marker fact, so that it is matched
    only once every fact it negates has been asserted.  A rule of positive conditions only needs
    no gate (what it concludes cannot be undone by a later fact), and leaving the gate out saves
    the engine a join node per rule, which it allocates and clears for every session.

    Every rule has a ``cap``: the matches of one rule that are ready together are handed over
    in one action (a list of up to ``MATCHES_PER_ACTION`` frames) rather than one action each.
    """
    definition: dict[str, Any] = {}
    for r in ruleset.rules:
        terms: list[dict[str, Any]] = []
        if any(cond.negated for cond in r.when):
            terms.append(stage_gate(r.stage))
        aliases = {c.alias: c.fact for c in r.when if c.alias}
        for n, cond in enumerate(r.when):
            body = _condition_body(cond, aliases, ruleset)
            terms.append({(f"no{n}__$not" if cond.negated else cond.alias): body})
        definition[r.id] = {"all": terms, "cap": MATCHES_PER_ACTION}
    return definition


def _condition_body(cond: Condition, aliases: Mapping[str, str], ruleset: Ruleset) -> dict[str, Any]:
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
    """
    values: list[dict[str, Any]] = []
    between: list[dict[str, Any]] = []
    lists: list[dict[str, Any]] = []
    other = None  # an alias this condition compares with
    for test in cond.tests:
        compiled = _compile_test(test, ruleset)
        if test.op == "in" and "$or" in compiled:
            lists.append(compiled)
        elif isinstance(test.operand, Ref):
            between.append(compiled)
            other = test.operand.alias
        else:
            values.append(compiled)
    if other is not None:
        between.append({"$gte": {type_key(cond.fact): {other: type_key(aliases[other])}}})
    expr = [{type_key(cond.fact): 1}, *values, *between, *lists]
    return expr[0] if len(expr) == 1 else {"$and": expr}


#: The most matches of one rule the engine hands over in one action (durable-rules' ``cap``).
MATCHES_PER_ACTION = 1000


def stage_gate(stage: str) -> dict[str, Any]:
    """The condition on a stage's marker fact (bound as ``stage__``)."""
    return {"stage__": {"$and": [{type_key("stage__"): 1}, {"name": stage}]}}


def type_key(kind: str) -> str:
    """The property that marks a fact's type for the engine: one name per type, so that the
    engine's first alpha test (a lookup by property name) finds only the conditions on it."""
    return f"t__{kind}"


def _compile_test(test: Test, ruleset: Ruleset) -> dict[str, Any]:
    if test.op == "in":
        values: Iterable[Any]
        if isinstance(test.operand, Param):
            values = param_value(ruleset.parameters, test.operand)
        else:
            values = [_value(op, ruleset) for op in test.operand]  # type: ignore[union-attr]
        alternatives = [{test.field: v} for v in values]
        return {"$or": alternatives} if len(alternatives) != 1 else alternatives[0]
    value = _value(test.operand, ruleset)  # type: ignore[arg-type]
    symbol = _OPS[test.op]
    return {test.field: value} if symbol is None else {symbol: {test.field: value}}


def _value(op: Operand, ruleset: Ruleset) -> Any:
    if isinstance(op, Literal):
        return op.value
    if isinstance(op, Ref):
        return {op.alias: op.field}
    return param_value(ruleset.parameters, op)


def placeholders(template: str) -> list[str]:
    return _PLACEHOLDER.findall(template)


@functools.lru_cache(maxsize=4096)
def operand_of(text: str) -> Operand:
    return _operand(_tokens(text)[0])


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
