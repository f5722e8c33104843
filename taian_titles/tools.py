"""Ruleset tooling for authors and HR offices: show a policy, check an edited ruleset file.

``ruleset show`` prints every clause with its verbatim text, its parameters, outcome codes and
rules, in the policy's order (text, Markdown or JSON); ``ruleset check`` validates a file,
runs it once on a sample applicant and list, and lists what differs from the shipped file.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

from .api import check_quota, evaluate
from .errors import RulesetError
from .cityreport import REPORT_PARAMETERS
from .facts import PARAMETERS_READ, percent_text
from .policy import Policy
from .ruleset import DEFAULT_RULESETS, Literal, Param, Ref, Ruleset, default_ruleset_path, load_ruleset

__all__ = ["smoke_test", "warnings", "differences", "shipped_counterpart", "ruleset_to_dict", "ruleset_text"]


def smoke_test(policy: Policy) -> list[str]:
    """Run the rules once on a sample applicant and a sample list: a policy that loads must also run."""
    day = policy.param("in_force_from") if policy.has_param("in_force_from") else _dt.date.today()
    day = day if isinstance(day, _dt.date) else _dt.date.today()
    direction = policy.directions[0] if policy.directions else "人工智能"
    sample = {
        "id": "ruleset-check", "as_of": max(day, _dt.date(2025, 6, 1)).isoformat(),
        "certificates": [
            {"number": "CHECK-1", "programme": "digital_technology_engineer", "kind": "professional_level",
             "level": "junior", "direction": direction, "issued_on": "2023-10-20"},
            {"number": "CHECK-2", "programme": "digital_technology_engineer", "kind": "training",
             "level": "intermediate", "direction": direction, "issued_on": "2024-11-20"}],
        "work_periods": [{"start": "2022-11-20", "kind": "professional_technical", "direction": direction},
                         {"start": "2019-03-01", "kind": "skilled", "direction": direction}],
        "skill_levels": [{"level": "technician", "digital": True, "issued_on": "2023-05-10"}],
        "achievements": [{"description": "check", "date": "2024-12-01"}],
    }
    problems = []
    try:
        evaluate(sample, policy=policy)
    except Exception as exc:  # any failure is a problem of the ruleset, reported, never raised
        problems.append(f"evaluating a sample applicant failed: {type(exc).__name__}: {exc}")
    if any(r.then.kind == "quota" for r in policy.rules):
        try:
            check_quota({"unit": "check", "as_of": sample["as_of"], "candidates": [
                {"id": "C1", "skill_level": "technician", "digital": True},
                {"id": "C2", "skill_level": "junior_worker", "digital": False}]}, policy=policy)
        except Exception as exc:
            problems.append(f"checking a sample recommendation list failed: {type(exc).__name__}: {exc}")
    return problems


def warnings(policy: Policy) -> list[str]:
    """What an author probably did not mean: outcome codes no rule concludes, parameters nothing reads."""
    targeted = {r.then.target for r in policy.rules if r.then.kind in ("outcome", "not_met", "quota")}
    out = []
    for document in policy.documents:
        out += [f"{document.id}: outcome code {code!r} ({entry['clause']}) is declared but no rule concludes it"
                for code, entry in document.outcomes.items() if code not in targeted]
        used = " ".join(c.source for r in document.rules for c in r.when) + " " + " ".join(
            " ".join((r.explain or {}).values()) for r in document.rules) + " " + " ".join(
            f"${v}" for count in document.counts.values() for v in count.parameters.values()) + " " + " ".join(
            f"${name}" for needs in PARAMETERS_READ.values() for name in needs)
        sets = {op.name for r in document.rules for _, op in r.then.set if isinstance(op, Param)}
        out += [f"{document.id}: parameter {name!r} is not used by any rule"
                for name in document.parameters if f"${name}" not in used and name not in sets
                and name not in REPORT_PARAMETERS]  # read by the reports (cityreport.py)
    return out


def shipped_counterpart(document: Ruleset) -> Ruleset | None:
    """The shipped document with the same id, if any."""
    for name in DEFAULT_RULESETS:
        try:
            shipped = load_ruleset(default_ruleset_path(name))
        except RulesetError:
            continue
        if shipped.id == document.id:
            return shipped
    return None


def differences(ruleset: Ruleset) -> list[str]:
    """What differs from the shipped document of the same id (parameters, clause texts, rules),
    for the author to confirm."""
    shipped = shipped_counterpart(ruleset)
    if shipped is None or shipped.digest == ruleset.digest:
        return []
    return document_differences(shipped, ruleset)


def document_differences(old: Ruleset, new: Ruleset) -> list[str]:
    """What differs between two versions of a document: parameters, clause texts, rules."""
    out = []
    for name in sorted(set(old.parameters) | set(new.parameters)):
        before = old.parameters.get(name, {}).get("value", "—")
        after = new.parameters.get(name, {}).get("value", "—")
        if before != after:
            out.append(f"parameter {name}: {_show_value(before)} → {_show_value(after)}")
    for cid in sorted(set(old.clauses) | set(new.clauses)):
        if old.clauses.get(cid) != new.clauses.get(cid):
            what = "added" if cid not in old.clauses else "removed" if cid not in new.clauses else "text"
            out.append(f"clause {cid}: {what}")
    old_rules, new_rules = {r.id: r for r in old.rules}, {r.id: r for r in new.rules}
    out += [f"rule {rid}: added" for rid in new_rules if rid not in old_rules]
    out += [f"rule {rid}: removed" for rid in old_rules if rid not in new_rules]
    out += [f"rule {rid}: changed" for rid in new_rules if rid in old_rules and new_rules[rid] != old_rules[rid]]
    return out


# --------------------------------------------------------------------------- ruleset as text and data

def _show_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show_value(v) for v in value) + "]"
    if isinstance(getattr(value, "code", None), str):
        return f"{value.code} ({value.zh})"
    return str(_json_value(value))


def _json_value(value: Any) -> Any:
    from fractions import Fraction

    if isinstance(value, Fraction):
        return percent_text(value, trim=True)
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    code = getattr(value, "code", None)
    return code if isinstance(code, str) else value


def _operand_text(op: Any) -> str:
    if isinstance(op, Literal):
        return json.dumps(op.value, ensure_ascii=False)
    if isinstance(op, Ref):
        return f"{op.alias}.{op.field}"
    if isinstance(op, Param):
        return f"${op.name}" + (f".{op.attr}" if op.attr else "")
    return str(op)


def _then_dict(rule: Any) -> dict[str, Any]:
    then = rule.then
    out: dict[str, Any] = {"kind": then.kind, "target": then.target}
    if then.basis:
        out["basis"] = list(then.basis)
    if then.copy:
        out["copy"] = then.copy
    if then.set:
        out["set"] = {k: _operand_text(v) for k, v in then.set}
    if then.eligible_on is not None:
        out["eligible_on"] = _operand_text(then.eligible_on)
    if then.once is not None:
        out["once"] = list(then.once) or True
    return out


def ruleset_to_dict(ruleset: Ruleset) -> dict[str, Any]:
    """The whole ruleset as JSON-ready data: metadata, clauses, parameters, outcomes and rules."""
    return {
        "ruleset": {**{k: _json_value(v) for k, v in ruleset.metadata.items()}, "digest": ruleset.digest,
                    "source": ruleset.source},
        "clauses": {cid: dict(text) for cid, text in ruleset.clauses.items()},
        "parameters": {name: {**{k: _json_value(v) for k, v in entry.items()}}
                       for name, entry in ruleset.parameters.items()},
        "outcomes": {code: dict(entry) for code, entry in ruleset.outcomes.items()},
        "counts": {fact: {"clause": c.clause, **dict(c.parameters), "group_by": list(c.group_by),
                          "decision": c.decision} for fact, c in ruleset.counts.items()},
        "labels": {group: {code: dict(pair) for code, pair in entries.items()}
                   for group, entries in ruleset.labels.items()},
        "words": {name: dict(pair) for name, pair in ruleset.words.items()},
        "rules": [{"id": r.id, "clauses": list(r.clauses), "stage": r.stage, "decision": r.decision,
                   "when": [c.source for c in r.when], "then": _then_dict(r),
                   "explain": dict(r.explain) if r.explain else None} for r in ruleset.rules],
    }


def _then_text(rule: Any) -> str:
    then = _then_dict(rule)
    text = f"{then['kind']} {then['target']}"
    for key in ("basis", "copy", "set", "eligible_on"):
        if key in then:
            value = then[key]
            if isinstance(value, list):
                value = ", ".join(value)
            elif isinstance(value, dict):
                value = ", ".join(f"{k} = {v}" for k, v in value.items())
            text += f"; {key}: {value}"
    return text


def ruleset_text(ruleset: Ruleset, markdown: bool = False) -> str:
    """Every clause with its verbatim text, then its parameters, outcome codes and rules, in the policy's order."""
    meta = ruleset.metadata
    lines: list[str] = []
    h1, h2, h3 = ("# ", "## ", "### ") if markdown else ("", "", "  ")
    bullet = "- " if markdown else "    "
    lines += [f"{h1}{meta.get('document', '')} {meta.get('title', '')}".rstrip(),
              "", f"{bullet}ruleset: {ruleset.id} version {ruleset.version}",
              f"{bullet}digest: {ruleset.digest}", f"{bullet}file: {ruleset.source}",
              f"{bullet}in force from: {_show_value(meta.get('in_force_from', ''))}"]
    for cid, text in ruleset.clauses.items():
        lines += ["", f"{h2}[{cid}] {text['zh']}"]
        if text.get("en"):
            lines.append(f"{bullet}{text['en']}" if not markdown else f"*{text['en']}*")
        params = [(n, p) for n, p in ruleset.parameters.items() if p.get("clause") == cid]
        if params:
            lines += ["", f"{h3}parameters"]
            for name, p in params:
                decision = f", decision {p['decision']}" if p.get("decision") else ""
                lines.append(f"{bullet}{name} = {_show_value(p['value'])} ({p.get('type', '')}{decision})"
                             + (f" — {p['note']}" if p.get("note") else ""))
        counts = [(fact, c) for fact, c in ruleset.counts.items() if c.clause == cid]
        if counts:
            lines += ["", f"{h3}counted by Python"]
            lines += [f"{bullet}{fact}: " + ", ".join(f"{k} = ${v}" for k, v in c.parameters.items())
                      + (f" (per {', '.join(c.group_by)})" if c.group_by else "")
                      + (f", decision {c.decision}" if c.decision else "") for fact, c in counts]
        codes = [(c, o) for c, o in ruleset.outcomes.items() if o["clause"] == cid]
        if codes:
            lines += ["", f"{h3}outcome codes"]
            lines += [f"{bullet}{code}: {o['zh']} / {o['en']}" for code, o in codes]
        rules = [r for r in ruleset.rules if r.clause == cid]
        if rules:
            lines += ["", f"{h3}rules"]
        for r in rules:
            also = f", also {', '.join(r.clauses[1:])}" if len(r.clauses) > 1 else ""
            decision = f", decision {r.decision}" if r.decision else ""
            lines.append(f"{bullet}{r.id} (stage {r.stage}{also}{decision})")
            sub = "  - " if markdown else "        "
            code = (lambda t: "`" + t.replace("`", "'") + "`") if markdown else (lambda t: t)
            lines += [f"{sub}when {code(c.source)}" for c in r.when]
            lines.append(f"{sub}then {code(_then_text(r))}")
            if r.explain:
                lines += [f"{sub}explain.{lang}: {code(r.explain[lang])}" for lang in ("zh", "en")
                          if lang in r.explain]
    return "\n".join(lines) + "\n"
