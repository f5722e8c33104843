"""Firings → a decision with its explanations.

The engine reports which rules fired on which facts (:class:`taian_titles.engine.Firing`).
This module turns a rule's declarative ``then`` into the facts it concludes (the engine's
actions), and the firings of one evaluation into a :class:`Decision`: one outcome per code
(basis merged, explanations rendered from the ruleset's templates in Chinese and English),
what is not met and from when, the highest recognised title and the notes.
"""

from __future__ import annotations

import datetime as _dt
import weakref
from fractions import Fraction
from typing import Any, Callable, Iterable, Mapping

import attrs

from .engine import Firing
from .facts import percent_text
from .model import Level, SkillLevel, label
from .ruleset import Literal, Param, Ref, Rule, Ruleset, param_value, template_parts

__all__ = ["Explanation", "Outcome", "NotMet", "Note", "Decision", "conclude", "build_decision", "render",
           "explain", "join_explanations"]

LANGS = ("zh", "en")


@attrs.frozen
class Explanation:
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}

    def __getitem__(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@attrs.frozen
class Outcome:
    code: str
    clause: str
    basis: tuple[str, ...]
    explanation: Explanation
    clause_text: str
    rules: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "clause": self.clause, "basis": list(self.basis),
                "explanation": self.explanation.to_dict(), "clause_text": self.clause_text,
                "rules": list(self.rules)}


@attrs.frozen
class NotMet:
    code: str
    clause: str
    basis: tuple[str, ...]
    eligible_on: _dt.date | None
    explanation: Explanation
    clause_text: str
    rules: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "clause": self.clause, "basis": list(self.basis),
                "eligible_on": self.eligible_on.isoformat() if self.eligible_on else None,
                "explanation": self.explanation.to_dict(), "clause_text": self.clause_text,
                "rules": list(self.rules)}


@attrs.frozen
class Note:
    code: str
    basis: tuple[str, ...]
    explanation: Explanation
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "basis": list(self.basis), "explanation": self.explanation.to_dict(),
                "rule": self.rule}


@attrs.frozen
class Decision:
    """The result of one applicant: ``to_dict()`` is the exchange format's result object."""

    id: str
    as_of: _dt.date
    ruleset: Mapping[str, str]
    outcomes: tuple[Outcome, ...]
    not_met: tuple[NotMet, ...]
    highest_recognized_title: Level | None
    notes: tuple[Note, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.outcomes)

    def outcome(self, code: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "as_of": self.as_of.isoformat(),
            "ruleset": dict(self.ruleset),
            "outcomes": [o.to_dict() for o in self.outcomes],
            "not_met": [n.to_dict() for n in self.not_met],
            "highest_recognized_title": self.highest_recognized_title.code
            if self.highest_recognized_title else None,
            "notes": [n.to_dict() for n in self.notes],
        }


# --------------------------------------------------------------------------- actions

def basis_of(fact: Mapping[str, Any]) -> list[str]:
    """The input items a fact rests on."""
    if "basis" in fact:
        return list(fact["basis"])
    if "ref" in fact:
        return [fact["ref"]]
    return list(fact.get("refs", ()))


def _operand_value(op: Any, bindings: Mapping[str, Mapping[str, Any]], ruleset: Ruleset) -> Any:
    if isinstance(op, Literal):
        return op.value
    if isinstance(op, Ref):
        return bindings[op.alias][op.field]
    return param_value(ruleset.parameters, op)


def conclude(rule: Rule, bindings: Mapping[str, Mapping[str, Any]], ruleset: Ruleset) -> list[dict[str, Any]]:
    """The facts a rule's ``then`` concludes from one match (the engine's action)."""
    return actions_of(ruleset)[rule.id](bindings)


def actions_of(ruleset: Ruleset) -> dict[str, Callable[[Mapping[str, Any]], list[dict[str, Any]]]]:
    """Every rule's ``then`` compiled to a function of its bindings, once per ruleset."""
    actions = _ACTIONS.get(ruleset)
    if actions is None:
        actions = _ACTIONS[ruleset] = {r.id: _compile_action(r, ruleset) for r in ruleset.rules}
    return actions


_ACTIONS: "weakref.WeakKeyDictionary[Ruleset, dict[str, Callable[[Mapping[str, Any]], list[dict[str, Any]]]]]" = (
    weakref.WeakKeyDictionary())


def _compile_action(rule: Rule, ruleset: Ruleset) -> Callable[[Mapping[str, Any]], list[dict[str, Any]]]:
    """A rule's ``then`` as a function of the bindings, its constants resolved once."""
    then = rule.then
    aliases = then.basis

    if len(aliases) == 1:  # the common case
        (alias,) = aliases

        def basis(bindings: Mapping[str, Any]) -> list[str]:
            return basis_of(bindings[alias])
    else:
        def basis(bindings: Mapping[str, Any]) -> list[str]:
            out: list[str] = []
            for alias in aliases:
                for ref in basis_of(bindings[alias]):
                    if ref not in out:
                        out.append(ref)
            return out

    if then.kind == "derive":
        constants = {k: _operand_value(v, {}, ruleset) for k, v in then.set if not isinstance(v, Ref)}
        refs = [(k, v.alias, v.field) for k, v in then.set if isinstance(v, Ref)]
        copy, target, rule_id = then.copy, then.target, rule.id

        def derive(bindings: Mapping[str, Any]) -> list[dict[str, Any]]:
            fact = {**bindings[copy], **constants} if copy else dict(constants)
            for key, alias, field in refs:
                fact[key] = bindings[alias][field]
            fact["t"], fact["rule"], fact["basis"] = target, rule_id, basis(bindings)
            return [fact]

        return derive
    head: dict[str, Any] = {"t": then.kind, "rule": rule.id, "clause": rule.clause}
    head["level" if then.kind == "highest_title" else "code"] = then.target
    eligible = then.eligible_on

    def conclusion(bindings: Mapping[str, Any]) -> list[dict[str, Any]]:
        fact = {**head, "basis": basis(bindings)}
        if then.kind == "not_met":
            fact["eligible_on"] = _operand_value(eligible, bindings, ruleset) if eligible else ""
        return [fact]

    return conclusion


# --------------------------------------------------------------------------- explanations

def _display(value: Any, lang: str) -> str:
    if type(value) is str:  # the common case first
        return label(value, lang) or value
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, (SkillLevel, Level)):
        return value.zh if lang == "zh" else value.en
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Fraction):
        return percent_text(value, trim=True)
    if isinstance(value, (list, tuple)):
        sep = "、" if lang == "zh" else ", "
        return sep.join(_display(v, lang) for v in value)
    if isinstance(value, str):
        return label(value, lang) or value
    return str(value)


def render(template: str, bindings: Mapping[str, Mapping[str, Any]], ruleset: Ruleset, lang: str) -> str:
    """Fill ``{alias.field}`` and ``{$parameter}`` placeholders, codes shown by their names."""
    key = (template, lang)
    cache = _TEMPLATES.get(ruleset)
    if cache is None:
        cache = _TEMPLATES[ruleset] = {}
    parts = cache.get(key)
    if parts is None:
        parts = cache[key] = _compile_template(template, ruleset, lang)
    return "".join(part if type(part) is str else _display(bindings[part[0]][part[1]], lang)
                   for part in parts)


_TEMPLATES: "weakref.WeakKeyDictionary[Ruleset, dict[tuple[str, str], list[Any]]]" = weakref.WeakKeyDictionary()


def _compile_template(template: str, ruleset: Ruleset, lang: str) -> list[Any]:
    """Literal text and parameters rendered once; ``(alias, field)`` pairs left to fill in."""
    parts: list[Any] = []
    for part in template_parts(template):
        if isinstance(part, Param):
            raw = ruleset.parameters[part.name]["value"]
            part = _display(raw.rank if part.attr == "rank" else raw, lang)
        if isinstance(part, str):
            if parts and type(parts[-1]) is str:
                parts[-1] += part
            else:
                parts.append(part)
        else:
            parts.append((part.alias, part.field))
    return parts


def explain(rule: Rule, bindings: Mapping[str, Mapping[str, Any]], ruleset: Ruleset,
            memo: dict[Any, Explanation] | None = None) -> Explanation:
    """A rule's explanation of one firing, in Chinese and English.

    With ``memo``, firings of one rule that fill its placeholders with the same values share
    one rendering (M9-3b fires once per reason the applicant is a digital technical talent).
    """
    explainer = _plans(ruleset)[rule.id].explain
    assert explainer is not None, f"rule {rule.id} has no explanation"
    return explainer(bindings, memo)


Explainer = Callable[[Mapping[str, Mapping[str, Any]], "dict[Any, Explanation] | None"], Explanation]


def _compile_explainer(rule: Rule, ruleset: Ruleset) -> Explainer:
    """A function of the bindings rendering the rule's two templates."""
    assert rule.explain is not None
    zh, en = (_compile_template(rule.explain[lang], ruleset, lang) for lang in LANGS)
    slots = tuple(dict.fromkeys(p for p in (*zh, *en) if type(p) is not str))
    rule_id = rule.id

    def render_one(bindings: Mapping[str, Mapping[str, Any]]) -> Explanation:
        return Explanation(
            "".join([p if type(p) is str else _display(bindings[p[0]][p[1]], "zh") for p in zh]),
            "".join([p if type(p) is str else _display(bindings[p[0]][p[1]], "en") for p in en]))

    def explainer(bindings: Mapping[str, Mapping[str, Any]], memo: dict[Any, Explanation] | None) -> Explanation:
        if memo is None:
            return render_one(bindings)
        key = (rule_id, *[bindings[alias][field] for alias, field in slots])
        found = memo.get(key)
        if found is None:
            found = memo[key] = render_one(bindings)
        return found

    return explainer


def join_explanations(explanations: Iterable[Explanation]) -> Explanation:
    """Distinct explanations in a fixed order (independent of the engine's firing order)."""
    unique = set(explanations)
    if len(unique) == 1:
        return unique.pop()
    ordered = sorted(unique, key=lambda e: (e.zh, e.en))
    return Explanation("".join([e.zh for e in ordered]), " ".join([e.en for e in ordered]))


def _basis_key(ref: str) -> tuple[int, str]:
    kinds = ("certificate", "work_period", "skill_level", "title", "achievement")
    kind, _, key = ref.partition(":")
    order = kinds.index(kind) if kind in kinds else len(kinds)
    return (order, key.zfill(12) if key.isdigit() else key)


def _sorted_basis(refs: Iterable[str]) -> tuple[str, ...]:
    unique = set(refs)
    if len(unique) < 2:
        return tuple(unique)
    return tuple(sorted(unique, key=_basis_key))


@attrs.frozen
class _Plan:
    """What building a decision needs of one rule, compiled once per ruleset."""

    rule: Rule
    kind: str
    target: str
    order: int
    level: Level | None  # of a highest_title rule
    explain: Explainer | None  # of a rule with explanation templates


def _plans(ruleset: Ruleset) -> dict[str, _Plan]:
    plans = _PLANS.get(ruleset)
    if plans is None:
        plans = _PLANS[ruleset] = {
            r.id: _Plan(r, r.then.kind, r.then.target, ruleset.order[r.id],
                        Level.parse(r.then.target) if r.then.kind == "highest_title" else None,
                        _compile_explainer(r, ruleset) if r.explain else None)
            for r in ruleset.rules}
    return plans


_PLANS: "weakref.WeakKeyDictionary[Ruleset, dict[str, _Plan]]" = weakref.WeakKeyDictionary()

#: Explanations rendered for a ruleset, by rule and the values filling its placeholders, kept
#: across decisions (an explanation depends on nothing else): M9-3b's has no placeholder and
#: M9-3a's names one of a few skill levels and occupations.  Started afresh once it holds this
#: many (about 600 KiB).
MEMO_SIZE = 1024
_MEMOS: "weakref.WeakKeyDictionary[Ruleset, dict[Any, Explanation]]" = weakref.WeakKeyDictionary()


def build_decision(applicant_id: str, as_of: _dt.date, firings: Iterable[Firing], ruleset: Ruleset) -> Decision:
    """Group firings by what they conclude; one entry per outcome code, in the ruleset's order."""
    plans = _plans(ruleset)
    # (kind, code) -> [the earliest rule's place in the ruleset, [(plan, bindings, fact), ...]]
    grouped: dict[tuple[str, str], list[Any]] = {}
    highest: Level | None = None
    for rule_id, bindings, concluded in firings:
        plan = plans[rule_id]
        kind = plan.kind
        if kind == "derive":
            continue
        if kind == "highest_title":
            level = plan.level
            assert level is not None
            if highest is None or level.rank > highest.rank:
                highest = level
            continue
        (fact,) = concluded or conclude(plan.rule, bindings, ruleset)
        group = grouped.get((kind, plan.target))
        if group is None:
            grouped[(kind, plan.target)] = [plan.order, [(plan, bindings, fact)]]
        else:
            if plan.order < group[0]:
                group[0] = plan.order
            group[1].append((plan, bindings, fact))
    outcomes, not_met, notes = [], [], []
    memo = _MEMOS.get(ruleset)
    if memo is None or len(memo) >= MEMO_SIZE:
        memo = _MEMOS[ruleset] = {}
    for (kind, code), (_, items) in sorted(grouped.items(), key=lambda kv: kv[1][0]):
        clause = items[0][0].rule.clause
        if kind == "note":
            for plan, bindings, fact in sorted(items, key=lambda i: _sorted_basis(i[2]["basis"])):
                notes.append(Note(code, _sorted_basis(fact["basis"]), plan.explain(bindings, None), plan.rule.id))
            continue
        if len(items) == 1:
            plan, bindings, fact = items[0]
            rules: tuple[str, ...] = (plan.rule.id,)
            basis = _sorted_basis(fact["basis"])
            explanation = plan.explain(bindings, memo)
        else:
            rules = tuple(sorted({p.rule.id for p, _, _ in items}, key=ruleset.order.__getitem__))
            basis = _sorted_basis([ref for _, _, fact in items for ref in fact["basis"]])
            explanation = join_explanations([p.explain(b, memo) for p, b, _ in items])
        if kind == "outcome":
            outcomes.append(Outcome(code, clause, basis, explanation, ruleset.clause_text(clause), rules))
        elif kind == "not_met":
            dates = [f["eligible_on"] for _, _, f in items if f["eligible_on"]]
            eligible = _dt.date.fromisoformat(min(dates)) if dates else None
            not_met.append(NotMet(code, clause, basis, eligible, explanation, ruleset.clause_text(clause), rules))
    return Decision(id=applicant_id, as_of=as_of, ruleset=ruleset.ref(), outcomes=tuple(outcomes),
                    not_met=tuple(not_met), highest_recognized_title=highest, notes=tuple(notes))
