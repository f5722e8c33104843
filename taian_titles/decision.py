"""Firings → results: a decision for an applicant, a quota result for a recommendation list.

The engine reports which rules fired on which facts and what each concluded
(:class:`taian_titles.engine.Firing`).  This module only turns those conclusions into results:
one outcome per code (basis merged, explanations rendered from the ruleset's templates in
Chinese and English), what is not met and from when, the highest recognised title and the
notes of a :class:`Decision`; the verdict, counts and findings of a :class:`QuotaResult`.  It
never runs a rule's ``then`` itself.
"""

from __future__ import annotations

import datetime as _dt
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import attrs

from .engine import Firing, ref_key, refs_of
from .exchange import EXCHANGE_VERSION
from .facts import percent_text, required_digital
from .model import Level, SkillLevel
from .ruleset import Param, Rule, template_parts

if TYPE_CHECKING:  # the policy composes this module's pieces; results only point back to it
    from .policy import Policy

__all__ = ["Explanation", "Outcome", "NotMet", "Note", "Decision", "QuotaFinding", "QuotaResult",
           "QuotaError", "CityReport", "build_decision", "build_quota_result", "compile_plans",
           "join_explanations", "LANGS"]

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
    """The result of one applicant: ``to_dict()`` is the exchange format's result object.

    ``ruleset`` is the first document of the policy, ``rulesets`` every document it used, in
    order; ``policy`` is the compiled policy itself, which renderings read their labels from.
    """

    id: str
    as_of: _dt.date
    ruleset: Mapping[str, str]
    outcomes: tuple[Outcome, ...]
    not_met: tuple[NotMet, ...]
    highest_recognized_title: Level | None
    notes: tuple[Note, ...]
    rulesets: tuple[Mapping[str, str], ...] = ()
    name: str | None = None
    policy: Any = attrs.field(default=None, eq=False, repr=False)
    meta: Mapping[str, Any] | None = None  # the applicant's own fields, returned unchanged

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.outcomes)

    def outcome(self, code: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.code == code), None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        if self.name is not None:
            out["name"] = self.name
        return out | {
            "as_of": self.as_of.isoformat(),
            "ruleset": dict(self.ruleset),
            "rulesets": [dict(r) for r in self.rulesets],
            "outcomes": [o.to_dict() for o in self.outcomes],
            "not_met": [n.to_dict() for n in self.not_met],
            "highest_recognized_title": self.highest_recognized_title.code
            if self.highest_recognized_title else None,
            "notes": [n.to_dict() for n in self.notes],
            **({"meta": dict(self.meta)} if self.meta is not None else {}),
            "exchange_version": EXCHANGE_VERSION,
        }


@attrs.frozen
class QuotaFinding:
    """A problem with one candidate of the list (not a high-skilled talent, a repeated id), or
    with the list as a whole (no candidate counts: ``candidate`` None, no positions)."""

    code: str
    candidate: str | None
    positions: tuple[int, ...]  # 1-based positions in the list as given
    explanation: Explanation
    rule: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "candidate": self.candidate, "positions": list(self.positions),
                "explanation": self.explanation.to_dict(), "rule": self.rule}


@attrs.frozen
class QuotaResult:
    """The quota check of one recommendation list (M9-4); ``to_dict()`` is the exchange format's
    result object.

    ``listed`` counts the entries as submitted, ``total`` the candidates who count (each id once,
    high-skilled talents only), ``digital`` the digital ones among them.  ``meets_quota``,
    ``add_digital_needed`` and ``swap_needed`` are None when the list cannot be judged (no
    candidate counts) or no quota rule decided it (the measure does not apply on ``as_of``);
    ``add_digital_needed`` is also None when adding candidates cannot meet the quota (100%).
    """

    code: str
    clause: str
    unit: str
    as_of: _dt.date
    listed: int
    total: int
    digital: int
    quota: Fraction
    required_digital: int | None
    meets_quota: bool | None
    add_digital_needed: int | None
    swap_needed: int | None
    findings: tuple[QuotaFinding, ...]
    explanation: Explanation
    ruleset: Mapping[str, str]
    rules: tuple[str, ...]
    rulesets: tuple[Mapping[str, str], ...] = ()
    policy: Any = attrs.field(default=None, eq=False, repr=False)
    meta: Mapping[str, Any] | None = None  # the list's own fields, returned unchanged

    @property
    def share(self) -> Fraction | None:
        """Digital candidates / candidates counted, exactly; None when none counts."""
        return Fraction(self.digital, self.total) if self.total else None

    @property
    def share_text(self) -> str | None:
        """The share as a percentage with two decimals, rounded half-up exactly (``20.00%``)."""
        share = self.share
        return None if share is None else percent_text(share)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "clause": self.clause, "unit": self.unit, "listed": self.listed,
            "total": self.total, "digital": self.digital, "share": self.share_text,
            "meets_quota": self.meets_quota, "add_digital_needed": self.add_digital_needed,
            "swap_needed": self.swap_needed, "findings": [f.to_dict() for f in self.findings],
            "explanation": self.explanation.to_dict(),
            "quota": percent_text(self.quota, trim=True), "required_digital": self.required_digital,
            "rules": list(self.rules), "ruleset": dict(self.ruleset),
            "rulesets": [dict(r) for r in self.rulesets], "as_of": self.as_of.isoformat(),
            **({"meta": dict(self.meta)} if self.meta is not None else {}),
            "exchange_version": EXCHANGE_VERSION,
        }


@attrs.frozen
class QuotaError:
    """A list of a city report that could not be checked; the other lists go on."""

    index: int
    unit: str | None
    error: Any  # an InputError
    code: str = "digital_share_quota"
    clause: str = ""
    meta: Mapping[str, Any] | None = None  # the list's own fields, returned unchanged

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "clause": self.clause, "unit": self.unit, "error": self.error.to_dict(),
                **({"meta": dict(self.meta)} if self.meta is not None else {}),
                "exchange_version": EXCHANGE_VERSION}


@attrs.frozen
class CityReport:
    """The quota check of many units' lists, in input order; a bad list does not stop the others."""

    results: tuple[QuotaResult | QuotaError, ...]
    quota: Fraction
    policy: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def checked(self) -> tuple[QuotaResult, ...]:
        return tuple(r for r in self.results if isinstance(r, QuotaResult))

    @property
    def errors(self) -> tuple[QuotaError, ...]:
        return tuple(r for r in self.results if isinstance(r, QuotaError))

    def summary(self) -> dict[str, int]:
        """How many units were checked, met the quota, did not, could not be checked (errors).

        ``not_evaluated`` counts lists no quota rule decided (dated before the measure applies).
        """
        checked = self.checked
        return {"units": len(self.results),
                "meeting": sum(1 for r in checked if r.meets_quota is True),
                "not_meeting": sum(1 for r in checked if r.meets_quota is False),
                "errors": len(self.errors),
                "not_evaluated": sum(1 for r in checked if r.meets_quota is None)}

    def to_dict(self) -> dict[str, Any]:
        return {"units": [r.to_dict() for r in self.results], "summary": self.summary()}


# --------------------------------------------------------------------------- explanations

Labels = Mapping[str, tuple[str, str]]


def _display(value: Any, lang: str, labels: Labels) -> str:
    if type(value) is str:  # the common case first
        pair = labels.get(value)
        return value if pair is None else pair[0 if lang == "zh" else 1]
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
        return sep.join(_display(v, lang, labels) for v in value)
    return str(value)


def _compile_template(template: str, params: Mapping[str, Mapping[str, Any]], lang: str,
                      labels: Labels) -> list[Any]:
    """Literal text and parameters rendered once; ``(alias, field)`` pairs left to fill in."""
    parts: list[Any] = []
    for part in template_parts(template):
        if isinstance(part, Param):
            raw = params[part.name]["value"]
            part = _display(raw.rank if part.attr == "rank" else raw, lang, labels)
        if isinstance(part, str):
            if parts and type(parts[-1]) is str:
                parts[-1] += part
            else:
                parts.append(part)
        else:
            parts.append((part.alias, part.field))
    return parts


def _bracketed(parts: list[Any]) -> bool:
    """Whether some placeholder stands right before a closing bracket: an optional value in
    brackets ("技师（{s.occupation}）"), which the record may leave empty."""
    return any(type(p) is not str and i + 1 < len(parts) and type(parts[i + 1]) is str
               and parts[i + 1][:1] in ("）", ")") for i, p in enumerate(parts))


def _fill_tidy(parts: list[Any], values: list[str]) -> str:
    """The template filled in, where an empty value right before a closing bracket takes its
    brackets ("技师（）" → "技师", "technician ()" → "technician") or its separator ("（第1项，技师，）"
    → "（第1项，技师）") with it.  Only the template's own text is dropped, never a value."""
    out: list[str] = []
    drop_bracket = False
    slot = 0
    for i, part in enumerate(parts):
        if type(part) is str:
            if drop_bracket:
                part = part[1:]
                drop_bracket = False
            out.append(part)
            continue
        value = values[slot]
        slot += 1
        if value == "" and i + 1 < len(parts) and type(parts[i + 1]) is str and parts[i + 1][:1] in ("）", ")") \
                and out and type(parts[i - 1]) is str:
            last = out[-1]
            if last.endswith(("（", "(")):
                out[-1] = last[:-1].removesuffix(" ") if last.endswith("(") else last[:-1]
                drop_bracket = True
            elif last.endswith(("，", ",", ", ")):
                out[-1] = last.rstrip(" ")[:-1]
            continue
        out.append(value)
    return "".join(out)


def join_explanations(explanations: Iterable[Explanation]) -> Explanation:
    """Distinct explanations in a fixed order (independent of the engine's firing order)."""
    unique = set(explanations)
    if len(unique) == 1:
        return unique.pop()
    ordered = sorted(unique, key=lambda e: (e.zh, e.en))
    return Explanation("".join([e.zh for e in ordered]), " ".join([e.en for e in ordered]))


Explainer = Callable[[Mapping[str, Mapping[str, Any]], "dict[Any, Explanation] | None"], Explanation]


def _compile_explainer(rule: Rule, params: Mapping[str, Mapping[str, Any]], labels: Labels) -> Explainer:
    """A function of the bindings rendering the rule's two templates.

    With a memo, firings of one rule that fill its placeholders with the same values share one
    rendering (M9-3b fires once per reason the applicant is a digital technical talent).
    """
    assert rule.explain is not None
    zh, en = (_compile_template(rule.explain[lang], params, lang, labels) for lang in LANGS)
    slots = tuple(dict.fromkeys(p for p in (*zh, *en) if type(p) is not str))
    rule_id = rule.id
    tidy_zh, tidy_en = _bracketed(zh), _bracketed(en)

    def render(parts: list[Any], lang: str, tidy: bool, bindings: Mapping[str, Mapping[str, Any]]) -> str:
        if tidy:
            values = [_display(bindings[p[0]][p[1]], lang, labels) for p in parts if type(p) is not str]
            if "" in values:  # an empty optional value: its brackets or separator go with it
                return _fill_tidy(parts, values)
            filled = iter(values)
            return "".join([p if type(p) is str else next(filled) for p in parts])
        return "".join([p if type(p) is str else _display(bindings[p[0]][p[1]], lang, labels) for p in parts])

    def render_one(bindings: Mapping[str, Mapping[str, Any]]) -> Explanation:
        return Explanation(render(zh, "zh", tidy_zh, bindings), render(en, "en", tidy_en, bindings))

    def explainer(bindings: Mapping[str, Mapping[str, Any]], memo: dict[Any, Explanation] | None) -> Explanation:
        if memo is None:
            return render_one(bindings)
        key = (rule_id, *[bindings[alias][field] for alias, field in slots])
        found = memo.get(key)
        if found is None:
            found = memo[key] = render_one(bindings)
        return found

    return explainer


def _sorted_basis(refs: Iterable[str]) -> tuple[str, ...]:
    unique = set(refs)
    if len(unique) < 2:
        return tuple(unique)
    return tuple(sorted(unique, key=ref_key))


def _notes_in_order(items: list[tuple[Any, Mapping[str, Any], Mapping[str, Any]]]) -> list[tuple[Any, ...]]:
    """(basis, plan, bindings) of notes in the order of their basis; notes on the same items in
    the order of the items their rule bound (one period beside two certificates: the
    certificates' order), whatever order the engine fired in."""
    keyed = [(_sorted_basis(fact["basis"]), plan, bindings) for plan, bindings, fact in items]
    if len(keyed) > 1:
        keyed.sort(key=lambda note: note[0])
        if any(a[0] == b[0] for a, b in zip(keyed, keyed[1:])):  # ties, rare: the bound items decide
            keyed.sort(key=lambda note: (note[0], tuple(ref_key(bound.get("ref") or "")
                                                        for bound in note[2].values())))
    return keyed


@attrs.frozen
class Plan:
    """What building a result needs of one rule, compiled once per policy."""

    rule: Rule
    kind: str
    target: str
    order: int
    level: Level | None  # of a highest_title rule
    explain: Explainer | None  # of a rule with explanation templates


def compile_plans(rules: Sequence[Rule], params_of: Mapping[str, Mapping[str, Mapping[str, Any]]],
                  labels: Labels) -> dict[str, Plan]:
    """Every rule's plan: its place in the policy and its explanation templates, compiled."""
    return {r.id: Plan(r, r.then.kind, r.then.target, n,
                       Level.parse(r.then.target) if r.then.kind == "highest_title" else None,
                       _compile_explainer(r, params_of[r.document], labels) if r.explain else None)
            for n, r in enumerate(rules)}


#: Explanations rendered for a policy, by rule and the values filling its placeholders, kept
#: across decisions (an explanation depends on nothing else): M9-3b's has no placeholder and
#: M9-3a's names one of a few skill levels and occupations.  Started afresh once it holds this
#: many (about 600 KiB).
MEMO_SIZE = 1024


def _memo(policy: "Policy") -> dict[Any, Explanation]:
    memo = policy.memo
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    return memo


# --------------------------------------------------------------------------- an applicant

def build_decision(applicant_id: str, as_of: _dt.date, firings: Iterable[Firing], policy: "Policy",
                   name: str | None = None) -> Decision:
    """Group the conclusions by kind and code; one entry per outcome code, in the policy's order."""
    plans = policy.plans
    # (kind, code) -> [the earliest rule's place in the policy, [(plan, bindings, fact), ...]]
    grouped: dict[tuple[str, str], list[Any]] = {}
    addenda: dict[str, list[Any]] = {}
    highest: Level | None = None
    for rule_id, bindings, concluded in firings:
        plan = plans[rule_id]
        kind = plan.kind
        if kind == "derive" or kind in ("quota", "finding"):
            continue
        if kind == "addendum":
            addenda.setdefault(plan.target, []).append((plan, bindings))
            continue
        if kind == "highest_title":
            level = plan.level
            assert level is not None
            if highest is None or level.rank > highest.rank:
                highest = level
            continue
        (fact,) = concluded
        group = grouped.get((kind, plan.target))
        if group is None:
            grouped[(kind, plan.target)] = [plan.order, [(plan, bindings, fact)]]
        else:
            if plan.order < group[0]:
                group[0] = plan.order
            group[1].append((plan, bindings, fact))
    outcomes, not_met, notes = [], [], []
    memo = _memo(policy)
    for (kind, code), (_, items) in sorted(grouped.items(), key=lambda kv: kv[1][0]):
        clause = items[0][0].rule.clause
        if kind == "note":
            seen: set[Any] = set()
            for basis, plan, bindings in _notes_in_order(items):
                note = Note(code, basis, plan.explain(bindings, None), plan.rule.id)
                if (note.code, note.basis, note.explanation) not in seen:  # each item accounted for once
                    seen.add((note.code, note.basis, note.explanation))
                    notes.append(note)
            continue
        if len(items) == 1:
            plan, bindings, fact = items[0]
            rules: tuple[str, ...] = (plan.rule.id,)
            basis = _sorted_basis(fact["basis"])
            explanation = plan.explain(bindings, memo)
        else:
            rules = tuple(sorted({p.rule.id for p, _, _ in items}, key=lambda rid: plans[rid].order))
            basis = _sorted_basis(refs_of(fact["basis"] for _, _, fact in items))  # shared bases read once
            explanation = join_explanations([p.explain(b, memo) for p, b, _ in items])
        if kind == "outcome":
            extra = addenda.get(code)
            if extra:  # what another document says of this outcome follows its own explanation
                more = join_explanations([p.explain(b, memo) for p, b in extra])
                explanation = Explanation(explanation.zh + more.zh, explanation.en + " " + more.en)
                rules = rules + tuple(sorted({p.rule.id for p, _ in extra}, key=lambda rid: plans[rid].order))
            outcomes.append(Outcome(code, clause, basis, explanation, policy.clause_text(clause), rules))
        elif kind == "not_met":
            dates = [f["eligible_on"] for _, _, f in items if f.get("eligible_on")]
            eligible = _dt.date.fromisoformat(min(dates)) if dates else None
            not_met.append(NotMet(code, clause, basis, eligible, explanation, policy.clause_text(clause), rules))
    refs = policy.refs()
    return Decision(id=applicant_id, as_of=as_of, ruleset=refs[0], outcomes=tuple(outcomes),
                    not_met=tuple(not_met), highest_recognized_title=highest, notes=tuple(notes),
                    rulesets=tuple(refs), name=name, policy=policy)


# --------------------------------------------------------------------------- a recommendation list

class QuotaRuleError(RuntimeError):
    """Two quota rules decided one list: a fault of the ruleset."""


def build_quota_result(summary: Mapping[str, Any], as_of: _dt.date, firings: Sequence[Firing],
                       policy: "Policy") -> QuotaResult:
    """The verdict, the numbers and the findings of one list, from the quota rule's conclusion.

    ``summary`` is Python's count of the list (its ``list_summary`` fact: listed, total,
    digital), shown also when no quota rule decided the list.
    """
    total, digital = summary["total"], summary["digital"]
    plans = policy.plans
    verdicts = [f for f in firings if plans[f.rule_id].kind == "quota"]
    if len(verdicts) > 1:
        raise QuotaRuleError(f"rules {', '.join(f.rule_id for f in verdicts)} all decided one list")
    code, clause = policy.quota_outcome()
    quota: Fraction = policy.param("quota_share")
    memo = _memo(policy)
    if verdicts:
        verdict = verdicts[0]
        (fact,) = verdict.concluded
        code, clause = fact["code"], fact["clause"]
        meets: bool | None = fact.get("meets_quota")
        add, swap = fact.get("add_digital_needed"), fact.get("swap_needed")
        required = fact.get("required_digital")
        explanation = plans[verdict.rule_id].explain(verdict.bindings, memo)
        rules: tuple[str, ...] = (verdict.rule_id,)
    else:  # no quota rule decided the list (the measure not in force on this date): say why
        notes = [f for f in firings if plans[f.rule_id].kind == "note"]
        meets, add, swap, required = None, None, None, required_digital(total, quota)
        explanation = join_explanations(plans[f.rule_id].explain(f.bindings, None) for f in notes) if notes \
            else Explanation(f"未作出{clause}的检查。", f"No {clause} check was made.")
        rules = tuple(f.rule_id for f in notes)
    findings = []
    for firing in firings:
        plan = plans[firing.rule_id]
        if plan.kind != "finding":
            continue
        about = [firing.bindings[alias] for alias in plan.rule.then.basis]
        positions = tuple(sorted({p for c in about for p in (c.get("first_position"), c.get("position"))
                                  if isinstance(p, int)}))
        findings.append(QuotaFinding(code=plan.target, candidate=about[-1].get("candidate_id"),
                                     positions=positions, explanation=plan.explain(firing.bindings, memo),
                                     rule=plan.rule.id))
    # The engine's firing order is not part of the contract: order by place in the list.
    findings.sort(key=lambda f: (f.positions[-1] if f.positions else 0, f.positions, f.code))
    refs = policy.refs()
    return QuotaResult(code=code, clause=clause, unit=summary["unit"], as_of=as_of, listed=summary["listed"],
                       total=total, digital=digital,
                       quota=quota, required_digital=required, meets_quota=meets, add_digital_needed=add,
                       swap_needed=swap, findings=tuple(findings), explanation=explanation,
                       ruleset=refs[0], rules=rules, rulesets=tuple(refs), policy=policy)
