"""The ``taian-titles`` command: evaluate applicants, check recommendation lists, show and check rulesets.

HR systems in any language call it with JSON (``docs/exchange.md``); HR officers run it on
exported rosters and hand the letters to applicants (``docs/officers.md``)::

    taian-titles evaluate applicants.jsonl > decisions.jsonl
    taian-titles evaluate roster.json --format html --lang zh -o letters.html
    taian-titles quota city-2025.json --format text
    taian-titles ruleset show
    taian-titles ruleset check my-office.toml

Input is one JSON object, a JSON array, or JSON Lines (one object per line), read from a file
or from ``-`` (standard input), UTF-8 with or without a byte-order mark.  JSON Lines is
streamed: each line is evaluated and its answer written and flushed before the next line is
read, so memory stays flat however long the file is.

Exit status: 0 when every record was evaluated; 1 when some records had errors (each has its
own ``{"id", "error": {"path", "message"}}`` entry and every other record is still written);
2 when the input cannot be used at all (no such file, not JSON, a bad ``--as-of`` or ruleset,
a bad command line), with a one-line message on standard error.  ``ruleset check`` exits 1
when the ruleset has problems.  No traceback is ever printed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, TextIO

from . import __version__
from .api import BatchError, evaluate, evaluate_record
from .decision import Decision
from .errors import InputError, Problem, RulesetError
from .exchange import parse_date
from .facts import percent_text
from .render import FORMATS as LETTER_FORMATS
from .render import (
    document_head,
    document_tail,
    render_error,
    render_fragment,
    render_quota_report,
)
from .ruleset import Literal, Param, Ref, Ruleset, default_ruleset, load_ruleset

__all__ = ["main"]

PROG = "taian-titles"
FORMATS = ("json", "jsonl", *LETTER_FORMATS)
#: A single JSON object larger than this is not an applicant; stop buffering and report.
MAX_OBJECT_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_ID = re.compile(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')


class UsageError(Exception):
    """The input or the command line cannot be used at all (exit status 2)."""


# --------------------------------------------------------------------------- reading input

class Unparsable:
    """A JSON Lines line that is not JSON: it becomes that record's error entry."""

    def __init__(self, line: int, message: str, raw: str) -> None:
        self.line = line
        self.message = message
        match = _ID.search(raw)
        self.id: str | None = None
        if match:
            with contextlib.suppress(ValueError):
                self.id = json.loads(f'"{match.group(1)}"')

    def error(self) -> InputError:
        return InputError([Problem("$", self.message)], record_id=self.id)


#: One record of the input: (line number or None, the parsed value or an Unparsable).
Item = tuple[int | None, Any]


def _decode(raw: bytes, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnicodeError(f"line {line} is not UTF-8 text (byte {exc.start + 1})") from None


def _numbered(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, 1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        yield number, raw


def _non_blank(lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    return ((n, raw) for n, raw in lines if raw.strip())


def _parse_line(number: int, raw: bytes) -> Item:
    try:
        text = _decode(raw, number)
    except UnicodeError as exc:
        return number, Unparsable(number, str(exc), "")
    try:
        return number, json.loads(text.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        return number, Unparsable(number, f"line {number} is not valid JSON: {exc.msg} "
                                          f"(column {exc.colno})", text)


def _not_json(exc: json.JSONDecodeError, first_line: int) -> UsageError:
    return UsageError(f"the input is not JSON: {exc.msg} at line {exc.lineno + first_line - 1} "
                      f"column {exc.colno}")


def read_records(stream: BinaryIO) -> tuple[str, Iterator[Item], int | None]:
    """Detect the shape of the input and iterate over its records, lazily for JSON Lines.

    Returns ``(shape, items, count)``: ``shape`` is ``object``, ``array`` or ``lines``;
    ``count`` is known for an array.  The rules: a document whose first character is ``[``
    is an array; a first line that is JSON on its own starts JSON Lines (one object on one
    line is JSON Lines of one record, answered by one object on one line); otherwise the
    lines are read until they make one JSON object (a pretty-printed object).  Raises
    :class:`UsageError` for input that is empty or not JSON at all.
    """
    lines = _non_blank(_numbered(stream))
    first = next(lines, None)
    if first is None:
        raise UsageError("the input is empty")
    number, raw = first
    try:
        text = _decode(raw, number)
    except UnicodeError as exc:
        raise UsageError(str(exc)) from None
    if text.lstrip().startswith("["):
        whole = raw + b"".join(r for _, r in lines)
        try:
            data = json.loads(_decode(whole, number))
        except UnicodeError as exc:
            raise UsageError(f"the input is not UTF-8 text ({exc})") from None
        except json.JSONDecodeError as exc:
            raise _not_json(exc, number) from None
        return "array", ((None, item) for item in data), len(data)
    parsed = _parse_line(number, raw)
    if not isinstance(parsed[1], Unparsable):
        # No look-ahead: an HR system may keep the command open, write a line and wait for
        # its answer.  One object on one line is answered by one object on one line.
        return "lines", _chain([parsed], (_parse_line(n, r) for n, r in lines)), None
    return _multi_line(number, raw, lines)


def _chain(head: list[Item], rest: Iterator[Item]) -> Iterator[Item]:
    yield from head
    yield from rest


def _multi_line(first_number: int, first_raw: bytes, lines: Iterator[tuple[int, bytes]]
                ) -> tuple[str, Iterator[Item], int | None]:
    """A first line that is not JSON alone: one object over several lines, or JSON Lines whose first line is bad."""
    buffered: list[tuple[int, bytes]] = [(first_number, first_raw)]
    size = len(first_raw)
    failure: json.JSONDecodeError | None = None
    exhausted = False
    while True:
        last = buffered[-1][1].rstrip()
        if last.endswith(b"}") or exhausted or size > MAX_OBJECT_BYTES:
            text = b"".join(r for _, r in buffered).decode("utf-8", errors="replace")
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                failure = exc
                # An error before the end of what was read cannot be mended by reading more.
                if exc.pos < len(text.rstrip()) or exhausted or size > MAX_OBJECT_BYTES:
                    break
            else:
                extra = next(lines, None)
                if extra is not None:
                    raise UsageError(f"unexpected data after the JSON object, at line {extra[0]}; "
                                     f"send several records as a JSON array or as JSON Lines")
                return "object", iter([(first_number, value)]), 1
        step = next(lines, None)
        if step is None:
            exhausted = True
            continue
        buffered.append(step)
        size += len(step[1])
    # Not one object.  JSON Lines with a bad first line, if any later line is JSON on its own.
    after = next(lines, None)
    candidates = buffered[1:] + ([after] if after else [])
    if any(not isinstance(_parse_line(n, r)[1], Unparsable) for n, r in candidates):
        replay = [_parse_line(n, r) for n, r in candidates]
        rest = (_parse_line(n, r) for n, r in lines)
        return "lines", _chain([_parse_line(first_number, first_raw), *replay], rest), None
    assert failure is not None
    raise _not_json(failure, first_number)


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a JSON file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        yield stream


@contextlib.contextmanager
def _open_output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        out = sys.stdout
        if (getattr(out, "encoding", "utf-8") or "").lower().replace("-", "") != "utf8" \
                and hasattr(out, "reconfigure"):
            out.reconfigure(encoding="utf-8")  # JSON and letters are always UTF-8
        yield out
        out.flush()
        return
    try:
        stream = open(path, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    with stream:
        yield stream


def _progress(items: Iterable[Item], total: int | None, out: TextIO, enabled: bool) -> Iterable[Item]:
    """A progress bar on standard error for long batches, only when a person is watching it."""
    if not enabled or not _isatty(sys.stderr) or out is sys.stdout and _isatty(sys.stdout):
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a convenience; never fail for want of it
        return items
    return tqdm(items, total=total, unit=" records", file=sys.stderr, delay=1.0, leave=False,
                dynamic_ncols=True)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- writing answers

class _Writer:
    """Writes answers in the requested format as they come; JSON mirrors the input's shape."""

    def __init__(self, out: TextIO, fmt: str, shape: str, lang: str, title: str,
                 letter: Callable[[Any], str], error_letter: Callable[[Any, str], str]) -> None:
        self.out, self.fmt, self.shape, self.lang = out, fmt, shape, lang
        self.letter, self.error_letter = letter, error_letter
        self.count = 0
        self.title = title

    def start(self) -> None:
        if self.fmt == "json" and self.shape == "array":
            self.out.write("[")
        elif self.fmt in LETTER_FORMATS:
            self.out.write(document_head(self.fmt, self.lang, self.title))

    def write(self, answer: Any, entry: Mapping[str, Any], is_error: bool, where: str = "") -> None:
        out, fmt = self.out, self.fmt
        if fmt == "jsonl" or (fmt == "json" and self.shape == "lines"):
            out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
            out.flush()
        elif fmt == "json" and self.shape == "array":
            text = json.dumps(entry, ensure_ascii=False, indent=2)
            out.write(("," if self.count else "") + "\n" + _indent(text))
        elif fmt == "json":
            out.write(json.dumps(entry, ensure_ascii=False, indent=2) + "\n")
        else:
            if self.count and fmt != "html":
                out.write("\n" + ("=" * 60 if fmt == "text" else "---") + "\n\n")
            out.write(self.error_letter(answer, where) if is_error else self.letter(answer))
            if self.shape == "lines":
                out.flush()
        self.count += 1

    def finish(self) -> None:
        if self.fmt == "json" and self.shape == "array":
            self.out.write("\n]\n" if self.count else "]\n")
        elif self.fmt in LETTER_FORMATS:
            self.out.write(document_tail(self.fmt))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _error_entry(record_id: str | None, error: InputError, line: int | None, **extra: Any) -> dict[str, Any]:
    data = error.to_dict()
    if line is not None:
        data["line"] = line
    return {**extra, "id": record_id, "error": data}


# --------------------------------------------------------------------------- evaluate

def _cmd_evaluate(args: argparse.Namespace) -> int:
    as_of = _as_of_option(args.as_of)
    ruleset = _ruleset_option(args.ruleset)
    errors = 0
    with _open_input(args.file) as stream:
        shape, items, total = read_records(stream)
        with _open_output(args.output) as out:
            writer = _Writer(
                out, args.format, shape, args.lang, _batch_title(args.lang),
                letter=lambda d: render_fragment(d, args.format, args.lang, ruleset),
                error_letter=lambda e, where: render_error(e.id, e.error, args.format, args.lang, where))
            writer.start()
            for index, (line, record) in enumerate(_progress(items, total, out, not args.no_progress)):
                answer = _evaluate_one(index, line, record, as_of, ruleset)
                if isinstance(answer, BatchError):
                    errors += 1
                    writer.write(answer, _error_entry(answer.id, answer.error, line), True,
                                 _where(index, line, args.lang))
                else:
                    writer.write(answer, answer.to_dict(), False)
            writer.finish()
    return 1 if errors else 0


def _evaluate_one(index: int, line: int | None, record: Any, as_of: _dt.date | None,
                  ruleset: Ruleset) -> Decision | BatchError:
    if isinstance(record, Unparsable):
        return BatchError(index, record.id, record.error())
    return evaluate_record(index, record, as_of=as_of, ruleset=ruleset)


def _where(index: int, line: int | None, lang: str) -> str:
    """Where a record was in the input: its line (JSON Lines) or its place (array)."""
    if line is not None:
        return f"第 {line} 行" if lang == "zh" else f"line {line}"
    return f"第 {index + 1} 条" if lang == "zh" else f"record {index + 1}"


def _batch_title(lang: str) -> str:
    return "评价结果告知书" if lang == "zh" else "Notices of evaluation"


def _as_of_option(value: str | None) -> _dt.date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"--as-of: {exc}") from None


def _ruleset_option(path: str | None) -> Ruleset:
    try:
        return load_ruleset(path) if path else default_ruleset()
    except RulesetError as exc:
        more = len(exc.problems) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}; run `{PROG} ruleset check {path}`)" \
            if more > 0 else ""
        raise UsageError(f"unusable ruleset: {exc.source}: {exc.problems[0]}{suffix}") from None


# --------------------------------------------------------------------------- quota

def _cmd_quota(args: argparse.Namespace) -> int:
    from .quota import CityReport, QuotaError, QuotaResult, check_quota

    as_of = _as_of_option(args.as_of)
    ruleset = _ruleset_option(args.ruleset)
    results: list[QuotaResult | QuotaError] = []
    errors = 0
    with _open_input(args.file) as stream:
        shape, items, total = read_records(stream)
        with _open_output(args.output) as out:
            streaming = args.format in ("json", "jsonl")
            writer = _Writer(out, args.format if streaming else "jsonl", shape, args.lang, "",
                             letter=str, error_letter=lambda answer, where: str(answer))
            if streaming:
                writer.start()
            for index, (line, record) in enumerate(_progress(items, total, out, not args.no_progress)):
                answer: QuotaResult | QuotaError
                if isinstance(record, Unparsable):
                    answer = QuotaError(index, None, record.error())
                else:
                    try:
                        answer = check_quota(record, as_of=as_of, ruleset=ruleset)
                    except Exception as exc:  # bad input or a fault: this list's entry; the rest go on
                        if not isinstance(exc, InputError):
                            exc = InputError([Problem("$", f"internal error while checking this list "
                                                           f"({type(exc).__name__}: {exc}); please report it")])
                        unit = record.get("unit") if isinstance(record, Mapping) else None
                        answer = QuotaError(index, exc.record_id or (unit if isinstance(unit, str) else None),
                                            exc)
                if isinstance(answer, QuotaError):
                    errors += 1
                    entry = answer.to_dict()
                    if line is not None:
                        entry["error"]["line"] = line
                else:
                    entry = answer.to_dict()
                if streaming:
                    writer.write(answer, entry, isinstance(answer, QuotaError))
                else:
                    results.append(answer)
            if streaming:
                writer.finish()
            else:
                report = CityReport(results=tuple(results), quota=ruleset.param("quota_share"))
                out.write(render_quota_report(report, args.format, args.lang))
    return 1 if errors else 0


# --------------------------------------------------------------------------- ruleset

def _cmd_ruleset_show(args: argparse.Namespace) -> int:
    ruleset = _ruleset_option(args.path)
    with _open_output(args.output) as out:
        if args.format == "json":
            out.write(json.dumps(ruleset_to_dict(ruleset), ensure_ascii=False, indent=2) + "\n")
        else:
            out.write(ruleset_text(ruleset, markdown=args.format == "markdown"))
    return 0


def _cmd_ruleset_check(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise UsageError(f"no such file: {args.path}")
    try:
        ruleset = load_ruleset(path)
    except RulesetError as exc:
        for problem in exc.problems:
            print(f"{exc.source}: {problem}", file=sys.stderr)
        count = len(exc.problems)
        print(f"{PROG}: {exc.source}: {count} problem{'s' if count != 1 else ''}; the ruleset cannot be used",
              file=sys.stderr)
        return 1
    problems = _smoke_test(ruleset)
    for problem in problems:
        print(f"{ruleset.source}: {problem}", file=sys.stderr)
    if problems:
        print(f"{PROG}: {ruleset.source}: the rules load but do not run; the ruleset cannot be used",
              file=sys.stderr)
        return 1
    print(f"OK {ruleset.source}: {ruleset.id} version {ruleset.version}, {ruleset.digest}")
    print(f"   {len(ruleset.clauses)} clauses, {len(ruleset.parameters)} parameters, "
          f"{len(ruleset.outcomes)} outcome codes, {len(ruleset.rules)} rules")
    changes = _differences(ruleset)
    warnings = _warnings(ruleset)
    shipped = default_ruleset()
    if changes and (ruleset.id, ruleset.version) == (shipped.id, shipped.version):
        warnings.append(f"the file differs from the shipped ruleset but keeps its id and version "
                        f"({ruleset.id} {ruleset.version}); change [ruleset] version so that decisions "
                        f"made with it can be told apart")
    for line in warnings:
        print(f"   warning: {line}")
    for line in changes:
        print(f"   changed: {line}")
    return 0


def _smoke_test(ruleset: Ruleset) -> list[str]:
    """Run the rules once on a sample applicant and a sample list: a ruleset that loads must also run."""
    day = ruleset.metadata.get("in_force_from")
    day = day if isinstance(day, _dt.date) else _dt.date.today()
    sample = {
        "id": "ruleset-check", "as_of": max(day, _dt.date(2025, 6, 1)).isoformat(),
        "certificates": [
            {"number": "CHECK-1", "programme": "digital_technology_engineer", "kind": "professional_level",
             "level": "junior", "direction": "人工智能", "issued_on": "2023-10-20"},
            {"number": "CHECK-2", "programme": "digital_technology_engineer", "kind": "training",
             "level": "intermediate", "direction": "人工智能", "issued_on": "2024-11-20"}],
        "work_periods": [{"start": "2022-11-20", "kind": "professional_technical", "direction": "人工智能"}],
        "skill_levels": [{"level": "technician", "digital": True, "issued_on": "2023-05-10"}],
        "achievements": [{"description": "check", "date": "2024-12-01"}],
    }
    problems = []
    try:
        evaluate(sample, ruleset=ruleset)
    except Exception as exc:  # any failure is a problem of the ruleset, reported, never raised
        problems.append(f"evaluating a sample applicant failed: {type(exc).__name__}: {exc}")
    if "quota_share" in ruleset.parameters:
        try:
            from .quota import check_quota

            check_quota({"unit": "check", "as_of": sample["as_of"], "candidates": [
                {"id": "C1", "skill_level": "technician", "digital": True},
                {"id": "C2", "skill_level": "junior_worker", "digital": False}]}, ruleset=ruleset)
        except ImportError:
            pass
        except Exception as exc:
            problems.append(f"checking a sample recommendation list failed: {type(exc).__name__}: {exc}")
    return problems


def _warnings(ruleset: Ruleset) -> list[str]:
    targeted = {r.then.target for r in ruleset.rules if r.then.kind in ("outcome", "not_met", "quota")}
    out = [f"outcome code {code!r} ({entry['clause']}) is declared but no rule concludes it"
           for code, entry in ruleset.outcomes.items() if code not in targeted]
    used = " ".join(c.source for r in ruleset.rules for c in r.when) + " " + " ".join(
        " ".join((r.explain or {}).values()) for r in ruleset.rules)
    out += [f"parameter {name!r} is not used by any rule"
            for name in ruleset.parameters if f"${name}" not in used
            and name not in ("required_years", "quota_share")]  # these two are also read by Python
    return out


def _differences(ruleset: Ruleset) -> list[str]:
    """What differs from the shipped ruleset (parameters, clause texts, rules), for the author to confirm."""
    try:
        shipped = default_ruleset()
    except RulesetError:
        return []
    if shipped.digest == ruleset.digest:
        return []
    out = []
    for name in sorted(set(shipped.parameters) | set(ruleset.parameters)):
        old = shipped.parameters.get(name, {}).get("value", "—")
        new = ruleset.parameters.get(name, {}).get("value", "—")
        if old != new:
            out.append(f"parameter {name}: {_show_value(old)} → {_show_value(new)}")
    for cid in sorted(set(shipped.clauses) | set(ruleset.clauses)):
        if shipped.clauses.get(cid) != ruleset.clauses.get(cid):
            what = "added" if cid not in shipped.clauses else "removed" if cid not in ruleset.clauses else "text"
            out.append(f"clause {cid}: {what}")
    old_rules, new_rules = {r.id: r for r in shipped.rules}, {r.id: r for r in ruleset.rules}
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


# --------------------------------------------------------------------------- the parser

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, then the usage hint; exit status 2
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Measure nine of 泰人社发〔2025〕5号 as explainable rules: "
                     "evaluate applicants, check recommendation lists, show and check rulesets.",
                     epilog="Exit status: 0 all records fine; 1 some records had errors (all others "
                     "written); 2 unusable input or command line.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("file", metavar="FILE", help=f"{what}: a JSON object, a JSON array or JSON Lines; - for standard input")
        p.add_argument("--as-of", metavar="DATE", help="evaluation date YYYY-MM-DD, overriding every record's own")
        p.add_argument("--format", choices=FORMATS, default="json",
                       help="json (mirrors the input: object, array or one line per record), jsonl, "
                            "or a readable text, markdown or html (default: json)")
        p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the readable formats (default: zh)")
        p.add_argument("--ruleset", metavar="PATH", help="a ruleset file (default: the shipped 泰人社发〔2025〕5号)")
        p.add_argument("-o", "--output", metavar="PATH", help="write here instead of standard output (UTF-8)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar on standard error")

    p_eval = sub.add_parser("evaluate", help="evaluate applicants (measure nine, clauses M9-1 to M9-3)",
                            description="Evaluate applicants; write decisions as JSON or as letters.")
    common(p_eval, "applicants")
    p_eval.set_defaults(func=_cmd_evaluate)

    p_quota = sub.add_parser("quota", help="check recommendation lists against the 20%% digital share (M9-4)",
                             description="Check one recommendation list or an array of lists (the city report).")
    common(p_quota, "recommendation lists")
    p_quota.set_defaults(func=_cmd_quota)

    p_rs = sub.add_parser("ruleset", help="show or check a ruleset file")
    rs_sub = p_rs.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    rs_sub.required = True
    p_show = rs_sub.add_parser("show", help="every clause with its text, parameters, outcome codes and rules")
    p_show.add_argument("path", metavar="PATH", nargs="?", help="a ruleset file (default: the shipped one)")
    p_show.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p_show.add_argument("-o", "--output", metavar="PATH", help="write here instead of standard output")
    p_show.set_defaults(func=_cmd_ruleset_show)
    p_check = rs_sub.add_parser("check", help="validate a ruleset file; every problem names its entry")
    p_check.add_argument("path", metavar="PATH", help="the ruleset file to check")
    p_check.set_defaults(func=_cmd_ruleset_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0, 1 or 2) and never raises or prints a traceback."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a bug: one line that can be reported, not a traceback
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"{PROG}: internal error: {type(exc).__name__}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
