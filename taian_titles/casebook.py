"""Casebooks: cases a policy owner writes beside a ruleset, and runs against a policy.

A casebook is a TOML file (``*.cases.toml``) of worked cases: an input record, an evaluation
date and what the policy must conclude.  The shipped casebooks lie beside the shipped ruleset
files; an office that edits its ruleset runs them (``taian-titles ruleset test --ruleset
FILE``) and sees which cases its edit changes.  The format (``docs/ruleset-authoring.md``)::

    [casebook]
    ruleset = "<id of the ruleset document these cases are for>"
    title = "..."

    [[cases]]
    name = "..."                  # Chinese first; may add " / English"
    clause = "..."                # optional: the clause (or a list) it exercises
    decision = 4                  # optional: the interpretation decision (or a list)
    as_of = 2025-06-01            # the evaluation date
    [cases.applicant]             # an exchange-format applicant (or [cases.list]: a list)
    ...
    [cases.expect]                # only the keys present are checked, each exactly
    outcomes = [...]              # the set of outcome codes
    not_met = { code = 2025-11-20 }   # code -> eligible_on, or "none"; {} = nothing not met
    notes = [...]                 # the set of note codes
    highest_recognized_title = "junior"   # or "null"
    text = [...]                  # substrings each found in some explanation (zh or en)

A list case expects ``meets_quota`` (true, false or "null"), ``listed``, ``total``,
``digital``, ``add_digital_needed``, ``swap_needed`` (a number or "null"), ``findings`` (the
set of finding codes) and ``text``.

What a case expects is compared with the exchange-format result (``to_dict()``), the contract
HR systems read, so a case means the same whatever the library does inside.  A casebook whose
document the policy does not load is skipped (counted, never a failure).  A casebook that
cannot be read is a :class:`CasebookError` naming the file and the case; a record the policy
refuses as bad input, or a failure while evaluating it, fails that case only.
"""

from __future__ import annotations

import datetime as _dt
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import attrs

from .api import check_quota, evaluate
from .errors import InputError
from .policy import Policy, default_policy
from .ruleset import default_ruleset_path

__all__ = ["SUFFIX", "APPLICANT_KEYS", "LIST_KEYS", "CasebookError", "Case", "Casebook", "Difference",
           "CaseResult", "Summary", "Report", "shipped_casebooks", "load_casebook", "parse_casebook",
           "run_case", "run_casebook", "run_casebooks", "report_text"]

#: How a casebook file's name ends.
SUFFIX = ".cases.toml"
#: What a case of an applicant may expect, and a case of a recommendation list.
APPLICANT_KEYS = ("outcomes", "not_met", "notes", "highest_recognized_title", "text")
LIST_KEYS = ("meets_quota", "listed", "total", "digital", "add_digital_needed", "swap_needed", "findings", "text")
_CASE_KEYS = ("name", "clause", "decision", "as_of", "applicant", "list", "expect")
_CASEBOOK_KEYS = ("ruleset", "title")
_KINDS = {"applicant": APPLICANT_KEYS, "list": LIST_KEYS}
_NULL = ("null", "none")
_ABSENT = "(absent)"


class CasebookError(ValueError):
    """A casebook that cannot be used: one line naming the file, the case and the fault."""

    def __init__(self, source: str, message: str, case: int | None = None, name: str | None = None) -> None:
        self.source = source
        self.case = case
        self.name = name
        self.message = message
        where = "" if case is None else f"case {case}" + (f" ({name})" if name else "") + ": "
        super().__init__(f"{source}: {where}{message}")


# --------------------------------------------------------------------------- the value objects

@attrs.frozen
class Case:
    """One case: a record, its evaluation date and what the policy must conclude.

    ``kind`` is ``"applicant"`` or ``"list"``; ``record`` is the exchange-format record with
    dates as ISO strings; ``expect`` holds only the keys the case checks, normalised (sets as
    sorted tuples, dates as :class:`datetime.date`, "null" as None).  ``position`` counts from 1.
    """

    name: str
    as_of: _dt.date
    kind: str
    record: Mapping[str, Any]
    expect: Mapping[str, Any]
    clauses: tuple[str, ...] = ()
    decisions: tuple[int, ...] = ()
    position: int = 0

    @property
    def cites(self) -> str:
        """The clauses and decisions it exercises: ``M9-2d; decision 6``."""
        parts = list(self.clauses)
        if self.decisions:
            parts.append(("decision " if len(self.decisions) == 1 else "decisions ")
                         + ", ".join(str(d) for d in self.decisions))
        return "; ".join(parts)


@attrs.frozen
class Casebook:
    """A casebook file: the ruleset document its cases are for, its title and the cases."""

    source: str
    ruleset: str
    title: str
    cases: tuple[Case, ...]


@attrs.frozen
class Difference:
    """One key whose result differs from the case: what was expected and what came out."""

    key: str
    expected: Any
    got: Any
    detail: str = ""

    def text(self) -> str:
        got = self.got if self.key == "text" else f"got {_show(self.got)}"  # text: where it was looked for
        line = f"{self.key}: expected {_show(self.expected)}; {got}"
        return f"{line} ({self.detail})" if self.detail else line

    def to_dict(self) -> dict[str, Any]:
        out = {"key": self.key, "expected": _json(self.expected), "got": _json(self.got)}
        if self.detail:
            out["detail"] = self.detail
        return out


@attrs.frozen
class CaseResult:
    """A case run against a policy: ``passed``, ``failed`` (with its differences) or
    ``skipped`` (its casebook's document is not in the policy; ``reason`` says so)."""

    source: str
    case: Case
    status: str
    differences: tuple[Difference, ...] = ()
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.source, "position": self.case.position, "name": self.case.name,
                               "clause": list(self.case.clauses), "decision": list(self.case.decisions),
                               "as_of": self.case.as_of.isoformat(), "status": self.status}
        if self.differences:
            out["differences"] = [d.to_dict() for d in self.differences]
        if self.reason:
            out["reason"] = self.reason
        return out


@attrs.frozen
class Summary:
    passed: int
    failed: int
    skipped: int

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped

    def text(self) -> str:
        return f"{self.total} cases: {self.passed} passed, {self.failed} failed, {self.skipped} skipped"

    def to_dict(self) -> dict[str, int]:
        return {"cases": self.total, "passed": self.passed, "failed": self.failed, "skipped": self.skipped}


@attrs.frozen
class Report:
    """Every case of some casebooks run against one policy, in casebook and case order."""

    casebooks: tuple[Casebook, ...]
    results: tuple[CaseResult, ...]
    policy: Any = attrs.field(default=None, eq=False, repr=False)

    @property
    def summary(self) -> Summary:
        statuses = [r.status for r in self.results]
        return Summary(statuses.count("passed"), statuses.count("failed"), statuses.count("skipped"))

    @property
    def failures(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if r.failed)

    @property
    def exit_status(self) -> int:
        """0 when no case failed (skipped cases do not count), else 1."""
        return 1 if self.failures else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.refs() if self.policy is not None else [],
            "casebooks": [{"file": b.source, "ruleset": b.ruleset, "title": b.title, "cases": len(b.cases)}
                          for b in self.casebooks],
            "cases": [r.to_dict() for r in self.results],
            "summary": self.summary.to_dict(),
        }


# --------------------------------------------------------------------------- finding and reading

def shipped_casebooks() -> tuple[Path, ...]:
    """The casebooks shipped beside the shipped ruleset files (in the installed package, or
    ``rulesets/`` of a checkout), by name."""
    folder = default_ruleset_path().parent
    return tuple(sorted(folder.glob("*" + SUFFIX)))


def load_casebook(path: str | Path) -> Casebook:
    """Read and check one casebook file; raises :class:`CasebookError`."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CasebookError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
    return parse_casebook(raw, str(path))


def parse_casebook(raw: bytes | str, source: str = "<casebook>") -> Casebook:
    """Check a casebook's text (every case's shape and expectations, not yet its record)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise CasebookError(source, f"not UTF-8 text: {exc}") from None
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise CasebookError(source, f"not a valid TOML file: {exc}") from None
    _only(data, ("casebook", "cases"), "the file", source)
    head = data.get("casebook")
    if not isinstance(head, dict):
        raise CasebookError(source, "[casebook]: missing table with ruleset (the ruleset document's id) and title")
    _only(head, _CASEBOOK_KEYS, "[casebook]", source)
    ruleset = head.get("ruleset")
    if not isinstance(ruleset, str) or not ruleset.strip():
        raise CasebookError(source, "[casebook]: ruleset must name the id of the ruleset document the cases are for")
    title = head.get("title", "")
    if not isinstance(title, str):
        raise CasebookError(source, "[casebook]: title must be a string")
    entries = data.get("cases")
    if not isinstance(entries, list) or not entries:
        raise CasebookError(source, "no cases: write each as a [[cases]] table")
    cases = tuple(_case(entry, n, source) for n, entry in enumerate(entries, 1))
    seen: dict[str, int] = {}
    for case in cases:
        if case.name in seen:
            raise CasebookError(source, f"the name is already used by case {seen[case.name]}",
                                case.position, case.name)
        seen[case.name] = case.position
    return Casebook(source=source, ruleset=ruleset.strip(), title=title, cases=cases)


def _only(table: Mapping[str, Any], allowed: Sequence[str], where: str, source: str,
          case: int | None = None, name: str | None = None) -> None:
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise CasebookError(source, f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}",
                            case, name)


def _case(entry: Any, position: int, source: str) -> Case:
    if not isinstance(entry, dict):
        raise CasebookError(source, "must be a [[cases]] table", position)
    raw_name = entry.get("name")
    name = raw_name.strip() if isinstance(raw_name, str) else None

    def fail(message: str) -> CasebookError:
        return CasebookError(source, message, position, name)

    if not name:
        raise fail("name: missing (a case needs a name, Chinese first)")
    _only(entry, _CASE_KEYS, "the case", source, position, name)
    kinds = [k for k in _KINDS if k in entry]
    if len(kinds) != 1:
        raise fail("give exactly one of [cases.applicant] and [cases.list]")
    kind = kinds[0]
    record = entry[kind]
    if not isinstance(record, dict):
        raise fail(f"{kind}: must be a table (an exchange-format {kind})")
    if "as_of" in record:
        raise fail(f"{kind}.as_of: give the evaluation date as the case's as_of, not in the record")
    if "as_of" not in entry:
        raise fail("as_of: missing (the evaluation date, e.g. as_of = 2025-06-01)")
    as_of = _date(entry["as_of"], "as_of", fail)
    if as_of is None:
        raise fail("as_of: must be a date, e.g. as_of = 2025-06-01")
    expect = entry.get("expect")
    if not isinstance(expect, dict) or not expect:
        raise fail(f"expect: missing or empty; a {kind} case checks some of: {', '.join(_KINDS[kind])}")
    _only(expect, _KINDS[kind], f"expect of {'an applicant' if kind == 'applicant' else 'a list'}", source,
          position, name)
    return Case(name=name, as_of=as_of, kind=kind, record=_json_record(record, kind, fail),
                expect={key: _expectation(key, value, fail) for key, value in expect.items()},
                clauses=_strings(entry.get("clause", ()), "clause", fail),
                decisions=_numbers(entry.get("decision", ()), "decision", fail), position=position)


def _date(value: Any, where: str, fail: Any) -> _dt.date | None:
    """A TOML date or an ISO string; "none"/"null" is None."""
    if isinstance(value, _dt.datetime) or isinstance(value, _dt.time):
        raise fail(f"{where}: write a date without a time, e.g. 2025-06-01")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        if value.strip().lower() in _NULL:
            return None
        try:
            return _dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail(f"{where}: {value!r} is not a date (2025-06-01) or \"none\"")


def _json_record(value: Any, where: str, fail: Any) -> Any:
    """The record as exchange JSON: TOML dates become ISO strings."""
    if isinstance(value, dict):
        return {k: _json_record(v, f"{where}.{k}", fail) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_record(v, f"{where}[{i}]", fail) for i, v in enumerate(value)]
    if isinstance(value, (_dt.datetime, _dt.time)):
        raise fail(f"{where}: write a date without a time, e.g. 2025-06-01")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def _strings(value: Any, where: str, fail: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in items):
        raise fail(f"{where}: expected a string or a list of strings, got {_toml_type(value)}")
    return tuple(v.strip() for v in items)


def _numbers(value: Any, where: str, fail: Any) -> tuple[int, ...]:
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                       for v in items):
        raise fail(f"{where}: expected a number or a list of numbers, got {_toml_type(value)}")
    return tuple(items)


def _expectation(key: str, value: Any, fail: Any) -> Any:
    where = f"expect.{key}"
    if key in ("outcomes", "notes", "findings"):
        if not isinstance(value, list):
            raise fail(f"{where}: expected a list of codes ([] for none), got {_toml_type(value)}")
        return tuple(sorted(set(_strings(value, where, fail))))
    if key == "text":
        return _strings(value, where, fail)
    if key == "not_met":
        if not isinstance(value, dict):
            raise fail(f"{where}: expected a table of code = eligible_on date or \"none\" ({{}} for nothing), "
                       f"got {_toml_type(value)}")
        return {code: _date(day, f"{where}.{code}", fail) for code, day in sorted(value.items())}
    if key == "highest_recognized_title":
        if not isinstance(value, str) or not value.strip():
            raise fail(f"{where}: expected a title level or \"null\", got {_toml_type(value)}")
        return None if value.strip().lower() in _NULL else value.strip()
    if key == "meets_quota":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _NULL:
            return None
        raise fail(f"{where}: expected true, false or \"null\", got {value!r}")
    # listed, total, digital, add_digital_needed, swap_needed: counts
    if isinstance(value, str) and value.strip().lower() in _NULL and key in ("add_digital_needed", "swap_needed"):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    nullable = " or \"null\"" if key in ("add_digital_needed", "swap_needed") else ""
    raise fail(f"{where}: expected a number (0 or more){nullable}, got {value!r}")


def _toml_type(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "a number", float: "a number", list: "a list",
             dict: "a table", _dt.date: "a date", _dt.datetime: "a date-time", _dt.time: "a time"}
    return names.get(type(value), type(value).__name__)


# --------------------------------------------------------------------------- running

def run_case(case: Case, policy: Policy | None = None, source: str = "",
             document: str | None = None) -> CaseResult:
    """Evaluate the case's record on its date under ``policy`` and compare; never raises.

    With ``document`` (the casebook's ruleset id), the outcomes, not-met entries and notes are
    compared only with those that document's rules produced: a case of measure nine checks what
    measure nine decides, whatever other documents the policy composes with it.
    """
    chosen = policy if policy is not None else default_policy()
    try:
        if case.kind == "applicant":
            result = evaluate(case.record, as_of=case.as_of, policy=chosen).to_dict()
        else:
            result = check_quota(case.record, as_of=case.as_of, policy=chosen).to_dict()
    except InputError as exc:
        refused = Difference("record", "a result", f"refused as bad input: {exc}")
        return CaseResult(source, case, "failed", (refused,))
    except Exception as exc:  # a fault of the policy (or the library) fails this case only
        message = " ".join(str(exc).split()) or type(exc).__name__
        fault = Difference("record", "a result", f"evaluation failed: {type(exc).__name__}: {message}")
        return CaseResult(source, case, "failed", (fault,))
    if document is not None:
        result = _own(result, chosen, document)
    differences = tuple(d for key, want in case.expect.items() if (d := _compare(key, want, result)))
    return CaseResult(source, case, "failed" if differences else "passed", differences)


def _own(result: Mapping[str, Any], policy: Policy, document: str) -> dict[str, Any]:
    """The result with only the outcomes, not-met entries and notes ``document``'s rules produced
    (an entry is the document's whose first rule is)."""
    def mine(entry: Any) -> bool:
        if not isinstance(entry, Mapping):
            return True
        rules = entry.get("rules") or ([entry["rule"]] if entry.get("rule") else [])
        if not rules:
            return True
        try:
            return bool(policy.rule(rules[0]).document == document)
        except KeyError:
            return True
    return {**result, **{key: [e for e in result[key] if mine(e)]
                         for key in ("outcomes", "not_met", "notes") if isinstance(result.get(key), list)}}


def run_casebook(casebook: Casebook, policy: Policy | None = None) -> tuple[CaseResult, ...]:
    """Every case of the casebook, or every case skipped when the policy does not load its document."""
    chosen = policy if policy is not None else default_policy()
    loaded = [d.id for d in chosen.documents]
    if casebook.ruleset not in loaded:
        reason = f"the policy does not load the document {casebook.ruleset} (it loads {', '.join(loaded)})"
        return tuple(CaseResult(casebook.source, case, "skipped", reason=reason) for case in casebook.cases)
    return tuple(run_case(case, chosen, casebook.source, casebook.ruleset) for case in casebook.cases)


def run_casebooks(casebooks: Iterable[Casebook | str | Path], policy: Policy | None = None) -> Report:
    """Run casebooks (loaded, or paths to load) against one policy (default: the shipped one)."""
    chosen = policy if policy is not None else default_policy()
    books = tuple(b if isinstance(b, Casebook) else load_casebook(b) for b in casebooks)
    results = tuple(r for book in books for r in run_casebook(book, chosen))
    return Report(casebooks=books, results=results, policy=chosen)


def _compare(key: str, want: Any, result: Mapping[str, Any]) -> Difference | None:
    if key == "text":
        found = _explanations(result)
        missing = tuple(s for s in want if not any(s in text for texts in found for text in texts))
        if not missing:
            return None
        where = f"the {len(found)} explanations" if len(found) != 1 else "the one explanation"
        return Difference(key, list(missing), f"not found in any of {where}" if found else "no explanation given")
    got = _got(key, result)
    if got == want:
        return None
    detail = ""
    if isinstance(want, tuple) and isinstance(got, tuple):
        missing, extra = [c for c in want if c not in got], [c for c in got if c not in want]
        detail = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                             f"unexpected {', '.join(extra)}" if extra else "") if part)
    return Difference(key, want, got, detail)


def _got(key: str, result: Mapping[str, Any]) -> Any:
    """The value of a case key in an exchange-format result."""
    if key in ("outcomes", "notes", "findings"):
        entries = result.get(key)
        if entries is None:
            return _ABSENT
        return tuple(sorted({e["code"] if isinstance(e, Mapping) else str(e) for e in entries}))
    if key == "not_met":
        entries = result.get(key)
        if entries is None:
            return _ABSENT
        out: dict[str, _dt.date | None] = {}
        for entry in entries:
            day = entry.get("eligible_on")
            out[entry["code"]] = _dt.date.fromisoformat(day) if day else None
        return dict(sorted(out.items()))
    return result.get(key, _ABSENT)


def _explanations(value: Any) -> list[tuple[str, ...]]:
    """Every explanation of a result (outcomes, not met, notes, the verdict, findings), each as
    its texts (Chinese, English)."""
    found: list[tuple[str, ...]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "explanation" and isinstance(item, Mapping):
                found.append(tuple(text for text in item.values() if isinstance(text, str)))
            else:
                found += _explanations(item)
    elif isinstance(value, list):
        for item in value:
            found += _explanations(item)
    return found


# --------------------------------------------------------------------------- showing

def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {'none' if v is None else _show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _json(value: Any) -> Any:
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    return value


def report_text(report: Report, verbose: bool = False) -> str:
    """The report as lines a reader scans: each failure with its case and differences, each
    skipped casebook, then the summary line."""
    lines: list[str] = []
    policy = ", ".join(f"{r['id']} {r['version']}" for r in report.policy.refs()) if report.policy else ""
    for book in report.casebooks:
        results = [r for r in report.results if r.source == book.source]
        title = f" — {book.title}" if book.title else ""
        if results and all(r.skipped for r in results):
            lines.append(f"SKIP {book.source}{title}: {len(results)} cases, skipped: {results[0].reason}")
            continue
        lines.append(f"{book.source}{title}: {len(results)} cases for {book.ruleset}, against {policy}")
        for r in results:
            cites = f" [{r.case.cites}]" if r.case.cites else ""
            if r.failed:
                lines.append(f"FAIL {r.case.position}. {r.case.name}{cites} (as of {r.case.as_of.isoformat()})")
                lines += [f"     {d.text()}" for d in r.differences]
            elif verbose:
                lines.append(f"ok   {r.case.position}. {r.case.name}{cites}")
    lines.append(report.summary.text())
    return "\n".join(lines) + "\n"
