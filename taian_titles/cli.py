"""The ``taian-titles`` command: evaluate applicants, check recommendation lists, show and check rulesets.

HR systems in any language call it with JSON (``docs/exchange.md``); HR officers run it on
exported rosters and hand the letters to applicants (``docs/officers.md``)::

    taian-titles evaluate applicants.jsonl > decisions.jsonl
    taian-titles evaluate roster.json --format html --lang zh -o letters.html
    taian-titles quota city-2025.json --format text
    taian-titles ruleset show
    taian-titles ruleset check my-office.toml
    taian-titles ruleset test --ruleset my-office.toml

Input is one JSON object, a JSON array, or JSON Lines (one object per line), read from a file
or from ``-`` (standard input), UTF-8 with or without a byte-order mark.  JSON Lines is
streamed: each line is evaluated and its answer written and flushed before the next line is
read, so memory stays flat however long the file is.

Exit status: 0 when every record was evaluated; 1 when some records had errors (each has its
own ``{"id", "error": {"kind", "code", "message", "message_zh", ...}}`` entry, ``kind`` ``input``
with every problem or ``internal`` for a fault, and every other record is still written);
2 when the input cannot be used at all (no such file, not JSON, a bad ``--as-of`` or ruleset,
a bad command line); 3 when the answers could not be written (a full disk, an I/O error); 4
when the reader of the answers went away (a closed pipe); 130 when interrupted (Ctrl-C), 143
when terminated (SIGTERM).  Every status but 0 and 1 comes with a one-line message on standard
error.  ``ruleset check`` exits 1 when the ruleset has problems; ``ruleset test`` exits 1 when a
case of a casebook fails and 2 when a casebook cannot be read.  No traceback is ever printed.

``-o FILE`` writes the answers whole or not at all: into a temporary file beside FILE, which
replaces FILE only when every record has its entry (status 0 or 1); any other status leaves
FILE as it was.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import datetime as _dt
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from . import __version__
from .api import BATCH, BatchError
from .batch import evaluate_entries, quota_entry
from .casebook import CasebookError, load_casebook, report_text, run_casebooks, shipped_casebooks
from .decision import CityReport, QuotaError, QuotaResult
from .errors import RulesetError
from .escaping import neutralise
from .exchange import parse_date
from .io import (FORMATS, OutputClosed, OutputError, UsageError, Writer, is_regular_file, is_roster, open_output,
                 open_records, progress)
from .policy import Policy, default_policy
from .render import render_error, render_fragment, render_quota_report
from .ruleset import parse_document, read_ruleset_file
from .summary import SUMMARY_FORMATS, BatchSummary, group_value
from .coverage import DEFAULT_SECONDS
from .tools import differences, ruleset_text, ruleset_to_dict, shipped_counterpart, smoke_test, warnings

__all__ = ["main"]

PROG = "taian-titles"

# --------------------------------------------------------------------------- evaluate

def _cmd_evaluate(args: argparse.Namespace) -> int:
    as_of = _as_of_option(args.as_of)
    policy = _policy_option(args.ruleset)
    _output_options(args)
    jobs = _jobs_option(args.jobs)
    errors = 0
    summary = BatchSummary(policy, group_by=args.group_by)
    full = bool(args.split) or args.format == "xlsx"  # writers that need whole answers
    with open_records(args.file, "applicants", unparsed=jobs > 1 and not full) as (shape, items, total, roster):
        _group_by_option(args.group_by, roster)
        summary.carried = list(roster.extra_headers) if roster is not None else []
        with contextlib.ExitStack() as stack:
            writer = _evaluate_writer(args, shape, policy, roster, summary, stack, prerendered=jobs > 1)
            writer.start()
            to_stdout = args.output in (None, "-") and not args.split and args.format != "xlsx"
            screen = sys.stdout if to_stdout else sys.stderr  # no bar over answers on the same terminal
            if jobs > 1:
                errors = _evaluate_in_parallel(args, jobs, shape, items, total, screen, as_of, policy,
                                               writer, summary, full)
                items = iter(())
            # A file's records (standard input too, when it is a file) are evaluated BATCH at a
            # time, their engine runs sharing sessions; a pipe's or a terminal's one by one, so
            # that a caller who writes one line and waits gets its answer.  Either way in input
            # order, as they come.
            batched = total is not None or is_regular_file(args.file)
            answered = evaluate_entries(progress(items, total, screen, not args.no_progress), as_of=as_of,
                                        policy=policy, lenient=args.lenient, size=BATCH if batched else 1)
            for index, line, record, answer, entry in answered:
                if isinstance(answer, BatchError):
                    errors += 1
                    writer.write(answer, entry, True, _where(index, line, args.lang), record=record)
                else:
                    writer.write(answer, entry, False, record=record)
                summary.add(entry, group_value(record, args.group_by))
            writer.finish()
    sys.stderr.write(summary.stderr_text(args.lang, PROG))
    if args.summary:
        summary.write(args.summary, args.lang)
    return 1 if errors else 0


def _letter_format(args: argparse.Namespace) -> str:
    return "html" if args.split and args.format == "xlsx" else args.format


def _evaluate_writer(args: argparse.Namespace, shape: str, policy: Policy, roster: Any, summary: BatchSummary,
                     stack: contextlib.ExitStack, prerendered: bool = False) -> Any:
    """Where the answers go: a stream of JSON or letters (io.Writer), a workbook, or one file per applicant.

    ``prerendered``: worker processes render the letters (``--jobs``), and the answer handed
    to the writer is the letter's text."""
    fmt = _letter_format(args)
    letter = lambda d: render_fragment(d, fmt, args.lang, templates=args.templates)  # noqa: E731
    error_letter = lambda e, where: render_error(e.id, e.error, fmt, args.lang, where,  # noqa: E731
                                                 templates=args.templates)
    if prerendered:
        letter, error_letter = (lambda text: text), (lambda text, where: text)  # noqa: E731
    if args.split:
        from .split import SplitWriter

        return SplitWriter(args.split, fmt, args.lang, policy, letter=letter, error_letter=error_letter)
    if args.format == "xlsx":
        from .roster import XlsxWriter

        return XlsxWriter(args.output, args.lang, policy, summary,
                          extra_headers=roster.extra_headers if roster is not None else ())
    out = stack.enter_context(open_output(args.output))
    return Writer(out, args.format, shape, args.lang, _batch_title(args.lang), letter=letter, error_letter=error_letter)


def _evaluate_in_parallel(args: argparse.Namespace, jobs: int, shape: str, items: Any, total: int | None,
                          screen: Any, as_of: _dt.date | None, policy: Policy, writer: Any,
                          summary: BatchSummary, full: bool) -> int:
    """The records answered by ``jobs`` worker processes (taian_titles.parallel), written in input
    order exactly as one process writes them; returns the number of error entries."""
    from .parallel import FIRST_WAIT, Job, answers

    job = Job(rulesets=tuple(str(Path(p).resolve()) for p in args.ruleset or ()), as_of=as_of,
              fmt=_letter_format(args) if full else args.format, shape=shape, lang=args.lang,
              templates=str(Path(args.templates).resolve()) if args.templates else None,
              group_by=args.group_by, full=full, lenient=args.lenient)
    errors = 0
    stream = not full and hasattr(writer, "emit")
    # The answers of a chunk are written together once its last is taken; JSON Lines in, they
    # are flushed then (one process flushes every answer).
    pieces: list[str] = []
    lines = shape == "lines"

    def chunk_done() -> None:
        writer.emit_all(pieces)
        pieces.clear()
        if lines:
            writer.flush()

    # A caller on standard input may write a line and wait for its answer: the first chunk is
    # not waited for longer than a moment.  A regular file is read a chunk at a time.
    results = answers(items, job, jobs, policy, chunk_done=chunk_done if stream else None,
                      first_wait=FIRST_WAIT if args.file == "-" else None,
                      read_ahead=total is not None or is_regular_file(args.file))
    try:
        for _index, _line, record, (is_error, piece, entry, group) in progress(results, total, screen,
                                                                               not args.no_progress):
            errors += is_error
            if stream:
                pieces.append(piece)
            else:
                writer.write(piece, entry, is_error, "", record=record)
            summary.add(entry, group)
    finally:
        results.close()
    return errors


def _cores() -> int:
    from .parallel import default_jobs

    return default_jobs()


def _jobs_option(value: int | None) -> int:
    if value is None:
        from .parallel import default_jobs

        return default_jobs()
    if value < 1:
        raise UsageError(f"--jobs {value}: give 1 or more worker processes")
    return value


def _output_options(args: argparse.Namespace) -> None:
    """--format xlsx writes a file named by -o; --split writes a folder, not -o; --summary names its format."""
    if args.format == "xlsx" and not getattr(args, "split", None) and (
            not args.output or not args.output.lower().endswith(".xlsx")):
        raise UsageError("--format xlsx writes a workbook: name it with -o FILE.xlsx")
    if getattr(args, "split", None) and args.output:
        raise UsageError("--split DIR writes one file per applicant and an index into DIR; leave out -o")
    if getattr(args, "summary", None) and Path(args.summary).suffix.lower() not in SUMMARY_FORMATS:
        raise UsageError(f"--summary {args.summary}: the file name must end in .html, .md or .json")


def _group_by_option(column: str | None, roster: Any) -> None:
    if column is None or roster is None:
        return
    from .roster import _norm

    if _norm(column) not in {_norm(h) for h in roster.headers}:
        raise UsageError(f"--group-by {column}: the roster has no such column; its columns are "
                         f"{', '.join(roster.headers)}")


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


def _policy_option(paths: list[str] | None) -> Policy:
    """The policy of ``--ruleset`` (repeatable: each file one document, in order), or the shipped one."""
    try:
        return _load(paths) if paths else default_policy()
    except RulesetError as exc:
        more = len(exc.problems) - 1
        files = " ".join(paths or ())
        suffix = f" (and {more} more problem{'s' if more > 1 else ''}; run `{PROG} ruleset check {files}`)" \
            if more > 0 else ""
        raise UsageError(f"unusable ruleset: {exc.source}: {exc.problems[0]}{suffix}") from None


def _load(paths: list[str]) -> Policy:
    for path in paths:
        if not Path(path).exists():
            raise UsageError(f"no such file: {path}")
    return Policy([parse_document(read_ruleset_file(path), path) for path in paths])


# --------------------------------------------------------------------------- quota

def _cmd_quota(args: argparse.Namespace) -> int:
    as_of = _as_of_option(args.as_of)
    policy = _policy_option(args.ruleset)
    _quota_outcome(policy)
    results: list[QuotaResult | QuotaError] = []
    errors = 0
    _output_options(args)
    with open_records(args.file, "lists") as (shape, items, total, _roster):
        with (contextlib.nullcontext(sys.stdout) if args.format == "xlsx" else open_output(args.output)) as out:
            streaming = args.format in ("json", "jsonl")
            writer = Writer(out, args.format if streaming else "jsonl", shape, args.lang, "",
                             letter=str, error_letter=lambda answer, where: str(answer))
            if streaming:
                writer.start()
            for index, (line, record) in enumerate(progress(items, total, out, not args.no_progress)):
                answer, entry = quota_entry(index, line, record, as_of=as_of, policy=policy,
                                            lenient=args.lenient)
                errors += isinstance(answer, QuotaError)
                if streaming:
                    writer.write(answer, entry, isinstance(answer, QuotaError))
                else:
                    results.append(answer)
            if streaming:
                writer.finish()
            else:
                report = CityReport(results=tuple(results), quota=policy.param("quota_share"), policy=policy)
                if args.format == "xlsx":
                    from .roster import write_city_report_xlsx

                    write_city_report_xlsx(report, args.output, args.lang, policy)
                else:
                    out.write(render_quota_report(report, args.format, args.lang))
    return 1 if errors else 0


def _quota_outcome(policy: Policy) -> tuple[str, str]:
    try:
        return policy.quota_outcome()
    except RulesetError as exc:
        raise UsageError(f"{exc.problems[0]} (give a ruleset with the quota clause)") from None


# --------------------------------------------------------------------------- compare

def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare, render_comparison
    from .policy import reform_policy

    as_of = _as_of_option(args.as_of)
    base = _policy_option(args.base)
    for path in args.reform:
        if not Path(path).exists():
            raise UsageError(f"no such file: {path}")
    try:
        reform = reform_policy(base, *args.reform)
    except RulesetError as exc:
        more = len(exc.problems) - 1
        suffix = f" (and {more} more; run `{PROG} ruleset check {exc.source}`)" if more > 0 else ""
        raise UsageError(f"unusable reform: {exc.source}: {exc.problems[0]}{suffix}") from None
    if args.limit < 0:
        raise UsageError("--limit must be 0 or more")
    if args.group_by is not None and is_roster(args.file):
        with open_records(args.file, args.kind or "applicants") as (_shape, _items, _total, roster):
            _group_by_option(args.group_by, roster)
    comparison = compare(args.file, base, reform, as_of=as_of, group_by=args.group_by, lenient=args.lenient,
                         kind=args.kind)
    with open_output(args.output) as out:
        out.write(render_comparison(comparison, args.format, args.lang, limit=args.limit))
    if args.output not in (None, "-") or args.format in ("json", "html"):
        w = ("{records} 条记录，{changed} 条结果有变化，{errors} 条无法评估" if args.lang == "zh"
             else "{records} records, {changed} changed, {errors} not evaluated")
        _say(w.format(records=comparison.records, changed=comparison.changed, errors=comparison.errors))
    return 0


# --------------------------------------------------------------------------- template

def _cmd_template(args: argparse.Namespace) -> int:
    from .roster import write_template

    if not args.path.lower().endswith(".xlsx"):
        raise UsageError(f"{args.path}: the template is a workbook; name it FILE.xlsx")
    try:
        write_template(args.path, args.kind, args.lang)
    except OSError as exc:
        raise UsageError(f"cannot write {args.path}: {exc.strerror or exc}") from None
    what = "申请人名单" if args.kind == "applicants" else "推荐名单"
    print(f"{args.path}: {what}模板（填写说明见工作表“说明”）" if args.lang == "zh" else
          f"{args.path}: a template of {args.kind} (the sheet 'columns' explains each column)")
    return 0


# --------------------------------------------------------------------------- ruleset

def _cmd_ruleset_show(args: argparse.Namespace) -> int:
    policy = _policy_option(args.paths)
    with open_output(args.output) as out:
        if args.format == "json":
            data: Any = [ruleset_to_dict(d) for d in policy.documents]
            out.write(json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2) + "\n")
        else:
            out.write("\n".join(ruleset_text(d, markdown=args.format == "markdown") for d in policy.documents))
    return 0


def _cmd_ruleset_check(args: argparse.Namespace) -> int:
    documents = []
    failed = False
    for path in args.paths:
        if not Path(path).exists():
            raise UsageError(f"no such file: {path}")
        try:
            documents.append(parse_document(read_ruleset_file(path), path))
        except RulesetError as exc:
            failed = True
            _print_problems(exc)
    if failed:
        return 1
    try:
        policy = Policy(documents)
    except RulesetError as exc:
        _print_problems(exc)
        return 1
    problems = smoke_test(policy)
    for problem in problems:
        print(f"{' + '.join(args.paths)}: {problem}", file=sys.stderr)
    if problems:
        print(f"{PROG}: the rules load but do not run; the ruleset cannot be used", file=sys.stderr)
        return 1
    notices = warnings(policy)
    for document in documents:
        print(f"OK {document.source}: {document.id} version {document.version}, {document.digest}")
        print(f"   {len(document.clauses)} clauses, {len(document.parameters)} parameters, "
              f"{len(document.outcomes)} outcome codes, {len(document.rules)} rules")
        changes = differences(document)
        shipped = shipped_counterpart(document)
        if changes and shipped is not None and document.version == shipped.version:
            notices.append(f"{document.source} differs from the shipped ruleset but keeps its id and version "
                           f"({document.id} {document.version}); change [ruleset] version so that decisions "
                           f"made with it can be told apart")
        for line in changes:
            print(f"   changed: {line}")
    for line in notices:
        print(f"   warning: {line}")
    if args.coverage:
        return _coverage(policy, args)
    return 0


def _coverage(policy: Policy, args: argparse.Namespace) -> int:
    """``ruleset check --coverage``: the search for rules that never fire and overlaps; exit 1
    on an overlap (a counterexample found), and with ``--strict`` on any other finding."""
    from .coverage import coverage_text, search

    try:
        import hypothesis  # noqa: F401
    except ImportError:
        raise UsageError("--coverage searches with hypothesis: pip install 'taian-titles[strategies]'") from None
    if args.seconds <= 0:
        raise UsageError("--seconds must be more than 0")
    print(f"coverage: searching for at most {args.seconds:g} s with taian_titles.strategies ...", flush=True)
    unknown = [rule for rule in args.expect_unreached or () if rule not in {r.id for r in policy.rules}]
    if unknown:
        raise UsageError(f"--expect-unreached {unknown[0]}: no rule of the policy has this id")
    report = search(policy, seconds=args.seconds, expected_unreached=args.expect_unreached or ())
    text = coverage_text(report)
    head, *rest = text.splitlines()
    print(head)
    for line in rest:
        print(f"   {line}")
    if report.overlaps:
        return 1
    return 1 if args.strict and not report.clean else 0


def _cmd_ruleset_test(args: argparse.Namespace) -> int:
    policy = _policy_option(args.ruleset)
    paths = args.casebooks or [str(p) for p in shipped_casebooks()]
    if not paths:
        raise UsageError("no casebook given, and none is shipped beside the rulesets")
    casebooks = []
    for path in paths:
        if not Path(path).exists():
            raise UsageError(f"no such file: {path}")
        try:
            casebooks.append(load_casebook(path))
        except CasebookError as exc:
            raise UsageError(f"unusable casebook: {exc}") from None
    report = run_casebooks(casebooks, policy)
    with open_output(args.output) as out:
        if args.format == "json":
            out.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        else:
            out.write(report_text(report, verbose=args.verbose))
    return report.exit_status


def _print_problems(exc: RulesetError) -> None:
    for problem in exc.problems:
        print(neutralise(f"{exc.source}: {problem}"), file=sys.stderr)
    count = len(exc.problems)
    print(f"{PROG}: {exc.source}: {count} problem{'s' if count != 1 else ''}; the ruleset cannot be used",
          file=sys.stderr)


# --------------------------------------------------------------------------- schema

def _cmd_schema(args: argparse.Namespace) -> int:
    from . import schema
    policy = _policy_option(args.ruleset)
    with open_output(args.output) as out:
        if args.name is None:
            width = max(map(len, schema.NAMES))
            for name, (_, title) in schema.NAMES.items():
                out.write(f"{name:<{width}}  {title}\n")
            out.write(f"{'openapi':<{width}}  The HTTP service's OpenAPI 3.1 document (`{PROG} serve`)\n")
        elif args.name == "openapi":
            out.write(schema.dumps(schema.openapi(policy)))
        else:
            out.write(schema.dumps(schema.schema(args.name, policy)))
    return 0


# --------------------------------------------------------------------------- serve

def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from . import server
    except ImportError as exc:
        raise UsageError(f"serve needs the [serve] extra ({exc.name} is not installed): "
                         f"pip install 'taian-titles[serve]'") from None
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if args.max_body_bytes < 1:
        raise UsageError("--max-body-bytes must be at least 1")
    _policy_option(args.ruleset)  # a ruleset that does not load stops here, with exit status 2
    # uvicorn starts each worker process afresh: the options travel in the environment.
    os.environ[server.CONFIG_ENV] = json.dumps({
        "rulesets": [str(Path(p).resolve()) for p in args.ruleset or ()],
        "max_body_bytes": args.max_body_bytes})
    uvicorn.run("taian_titles.server:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level, access_log=not args.no_access_log,
                http="taian_titles.server:HttpProtocol", ws="none",
                timeout_graceful_shutdown=30)
    return 0


# --------------------------------------------------------------------------- the parser

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, then the usage hint; exit status 2
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="A title policy as explainable rules (by default the shipped "
                     "one; see `ruleset show`): evaluate applicants, check recommendation lists, show "
                     "and check rulesets.",
                     epilog="Exit status: 0 all records fine; 1 some records had errors (all others "
                     "written); 2 unusable input or command line; 3 the answers could not be written "
                     "(a full disk); 4 the reader of the answers went away (a closed pipe); 130 "
                     "interrupted; 143 terminated.  With -o, a status above 1 leaves the file as it was.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument("file", metavar="FILE", help=f"{what}: a JSON object, a JSON array or JSON Lines; - for "
                       f"standard input; or a roster FILE.xlsx or FILE.csv (docs/officers.md)")
        p.add_argument("--as-of", metavar="DATE", help="evaluation date YYYY-MM-DD, overriding every record's own")
        p.add_argument("--format", choices=(*FORMATS, "xlsx"), default="json",
                       help="json (mirrors the input: object, array or one line per record), jsonl, "
                            "a readable text, markdown or html, or an xlsx workbook (with -o FILE.xlsx) "
                            "(default: json)")
        p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the readable formats (default: zh)")
        p.add_argument("--ruleset", metavar="PATH", action="append",
                       help="a ruleset file; repeat it for a policy of several documents "
                            "(default: the shipped policy)")
        p.add_argument("-o", "--output", metavar="PATH", help="write here instead of standard output (UTF-8)")
        p.add_argument("--no-progress", action="store_true", help="no progress bar on standard error")
        p.add_argument("--lenient", action="store_true",
                       help="keep unknown top-level fields of a record in its meta instead of refusing "
                            "the record (a field that looks like a misspelt one is still refused)")

    p_eval = sub.add_parser("evaluate", help="evaluate applicants under every clause of the policy",
                            description="Evaluate applicants; write decisions as JSON or as letters.")
    common(p_eval, "applicants")
    p_eval.add_argument("--templates", metavar="DIR",
                        help="a folder of letter templates replacing the shipped ones of the same name "
                             "(letter.txt.j2, letter.md.j2, letter.html.j2, error.*.j2, page_head.html.j2)")
    p_eval.add_argument("--summary", metavar="FILE", help="also write a summary report: FILE.html (with a bar "
                        "chart of outcomes), FILE.md or FILE.json")
    p_eval.add_argument("--group-by", metavar="COLUMN", help="count the summary per value of this column of the "
                        "roster (a county, an employer) or field of the records")
    p_eval.add_argument("--split", metavar="DIR", help="one file per applicant in DIR, named from its id, and an "
                        "index (index.html or index.md); --format says which kind of letter")
    p_eval.add_argument("--jobs", "-j", metavar="N", type=int, default=None,
                        help="evaluate in N worker processes, answers written in input order exactly as one "
                             "process writes them (default: the cores available, here "
                             f"{_cores()}; 1: in this process)")
    p_eval.set_defaults(func=_cmd_evaluate)

    p_quota = sub.add_parser("quota", help="check recommendation lists against the policy's digital share",
                             description="Check one recommendation list or an array of lists (the city report).")
    common(p_quota, "recommendation lists")
    p_quota.set_defaults(func=_cmd_quota)

    p_cmp = sub.add_parser(
        "compare", help="evaluate one roster under the policy and a reform of it: whom the reform affects",
        description="Evaluate FILE under a base policy (default: the shipped one) and a reform (ruleset files, "
                    "each replacing the base document with the same ruleset id; the other documents stay), "
                    "in one pass; report how many records changed, per outcome code how many gained it, lost "
                    "it or had its eligible_on moved (per group with --group-by), and the changed records.  "
                    "Recommendation lists (the quota check) are compared the same way.  See docs/policy-owners.md.",
        epilog="Exit status: 0 compared (records that could not be evaluated are counted in the report); "
               "2 unusable input, ruleset or command line.")
    p_cmp.add_argument("file", metavar="FILE", help="applicants or recommendation lists: JSON, JSON Lines, or a "
                       "roster FILE.xlsx or FILE.csv; - for standard input")
    p_cmp.add_argument("--base", metavar="PATH", action="append",
                       help="a ruleset file of the base policy; repeat it for several documents (default: the "
                            "shipped policy)")
    p_cmp.add_argument("--reform", metavar="PATH", action="append", required=True,
                       help="a reform ruleset file, replacing the base document with the same ruleset id; repeatable")
    p_cmp.add_argument("--format", choices=("text", "markdown", "json", "html"), default="text",
                       help="text or markdown tables, json, or an html report with a chart (default: text)")
    p_cmp.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the report (default: zh)")
    p_cmp.add_argument("--group-by", metavar="FIELD", help="break the counts down by a roster column or a "
                       "record's field (top level or in meta; a list's unit; employer: of the latest work)")
    p_cmp.add_argument("--as-of", metavar="DATE", help="evaluation date YYYY-MM-DD, overriding every record's own")
    p_cmp.add_argument("--kind", choices=("applicants", "lists"), default=None,
                       help="what a roster file holds (default: applicants; JSON records say it themselves)")
    p_cmp.add_argument("--limit", type=int, default=200, metavar="N",
                       help="list at most N changed records in text, markdown and html (default 200; json lists all)")
    p_cmp.add_argument("--lenient", action="store_true", help="as for evaluate: unknown top-level fields go to meta")
    p_cmp.add_argument("-o", "--output", metavar="PATH", help="write here instead of standard output")
    p_cmp.set_defaults(func=_cmd_compare)

    p_tpl = sub.add_parser("template", help="write an empty roster workbook to fill in (applicants or lists)",
                           description="Write an .xlsx roster with the column headers, a filled example row, "
                           "dropdown lists for the enumerations and a sheet explaining each column.")
    p_tpl.add_argument("path", metavar="FILE.xlsx", help="the workbook to write")
    p_tpl.add_argument("--kind", choices=("applicants", "lists"), default="applicants",
                       help="applicants (default) or recommendation lists (the quota check)")
    p_tpl.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the headers (default: zh)")
    p_tpl.set_defaults(func=_cmd_template)

    from .schema import NAMES
    p_schema = sub.add_parser("schema", help="print a JSON Schema of the exchange format (draft 2020-12)",
                              description="Print one JSON Schema of the exchange format, generated from the "
                                          "model and the policy's codes; without NAME, list them.")
    p_schema.add_argument("name", metavar="NAME", nargs="?", choices=[*NAMES, "openapi"],
                          help=f"one of: {', '.join(NAMES)}, openapi")
    p_schema.add_argument("--ruleset", metavar="PATH", action="append",
                          help="the policy whose codes the schema lists (default: the shipped one)")
    p_schema.add_argument("-o", "--output", metavar="PATH", help="write here instead of standard output")
    p_schema.set_defaults(func=_cmd_schema)

    p_serve = sub.add_parser(
        "serve", help="answer evaluate and quota over HTTP (POST /evaluate, POST /quota)",
        description="An HTTP service with the command's evaluate and quota (JSON in, JSON out; JSON Lines "
                    "streamed), health and readiness checks and an OpenAPI document at /openapi.json.  No "
                    "authentication of its own: records carry personal data, so run it behind the "
                    "bureau's gateway.  Needs the [serve] extra.")
    p_serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)")
    p_serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p_serve.add_argument("--workers", type=int, default=1,
                         help="worker processes (default: 1); each evaluates one record at a time")
    p_serve.add_argument("--ruleset", metavar="PATH", action="append",
                         help="a ruleset file; repeat it for a policy of several documents (default: the shipped policy)")
    p_serve.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024, metavar="N",
                         help="largest request body accepted, answered 413 beyond it (default: 16 MiB)")
    p_serve.add_argument("--log-level", choices=("critical", "error", "warning", "info", "debug"), default="info")
    p_serve.add_argument("--no-access-log", action="store_true", help="no line per request on standard output")
    p_serve.set_defaults(func=_cmd_serve)

    p_rs = sub.add_parser("ruleset", help="show, check or test a ruleset file")
    rs_sub = p_rs.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    rs_sub.required = True
    p_show = rs_sub.add_parser("show", help="every clause with its text, parameters, outcome codes and rules")
    p_show.add_argument("paths", metavar="PATH", nargs="*", help="ruleset files, one policy (default: the shipped one)")
    p_show.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p_show.add_argument("-o", "--output", metavar="PATH", help="write here instead of standard output")
    p_show.set_defaults(func=_cmd_ruleset_show)
    p_check = rs_sub.add_parser("check", help="validate ruleset files as one policy; every problem names its entry")
    p_check.add_argument("paths", metavar="PATH", nargs="+", help="the ruleset files to check, in the policy's order")
    p_check.add_argument("--coverage", action="store_true",
                         help="also search (with taian_titles.strategies) for records firing every rule and "
                              "producing every outcome code; report rules never fired with the conditions they "
                              "wait for, exclusive outcomes produced together (exit 1) with the record, and "
                              "parameters, outcome codes and notes nothing uses")
    p_check.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, metavar="N",
                         help=f"the search's time bound (default {DEFAULT_SECONDS:g})")
    p_check.add_argument("--expect-unreached", metavar="RULE", action="append",
                         help="with --coverage, a rule known not to fire (repeatable): still listed, marked "
                              "expected, not a failure for --strict, and the search may stop early without it")
    p_check.add_argument("--strict", action="store_true",
                         help="with --coverage, exit 1 when anything is reported (a rule or outcome not reached, "
                              "something unused), not only on an overlap")
    p_check.set_defaults(func=_cmd_ruleset_check)
    p_test = rs_sub.add_parser(
        "test", help="run casebooks (worked cases with expected outcomes) against the policy",
        description="Run casebooks against the policy that --ruleset names (default: the shipped one); "
                    "with no CASEBOOK, the casebooks shipped beside the rulesets.  Cases for a document "
                    "the policy does not load are skipped.",
        epilog="Exit status: 0 every case run passed; 1 some case failed; 2 a casebook or ruleset "
               "cannot be used.")
    p_test.add_argument("casebooks", metavar="CASEBOOK", nargs="*",
                        help="casebook files (*.cases.toml; default: the shipped ones)")
    p_test.add_argument("--ruleset", metavar="PATH", action="append",
                        help="a ruleset file; repeat it for a policy of several documents "
                             "(default: the shipped policy)")
    p_test.add_argument("--format", choices=("text", "json"), default="text")
    p_test.add_argument("-v", "--verbose", action="store_true", help="list the cases that pass too")
    p_test.add_argument("-o", "--output", metavar="PATH", help="write here instead of standard output")
    p_test.set_defaults(func=_cmd_ruleset_test)
    return parser


#: Exit statuses of the command.
OK, SOME_FAILED, UNUSABLE, NOT_WRITTEN, CLOSED, INTERRUPTED, TERMINATED = 0, 1, 2, 3, 4, 130, 143


class Terminated(BaseException):
    """SIGTERM, raised where the command is, so that a partial output is removed on the way out."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (see the module's docstring) and never raises or
    prints a traceback."""
    previous = None
    with contextlib.suppress(ValueError, AttributeError):  # only the main thread sets handlers
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except UsageError as exc:
        _say(str(exc))
        return UNUSABLE
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        _say("interrupted")
        return _stopped(INTERRUPTED)
    except Terminated:
        _say("terminated")
        return _stopped(TERMINATED)
    except OutputError as exc:
        _say(str(exc))
        return NOT_WRITTEN
    except (OutputClosed, BrokenPipeError) as exc:
        # The reader went away (`| head`): say so once, and keep Python from complaining at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        _say(str(exc) if isinstance(exc, OutputClosed) else "standard output was closed by its reader")
        return CLOSED
    except Exception as exc:  # a bug: one line that can be reported, not a traceback
        message = " ".join(str(exc).split()) or type(exc).__name__
        _say(f"internal error: {type(exc).__name__}: {message}")
        return UNUSABLE
    finally:
        if previous is not None:
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGTERM, previous)


def _stopped(status: int) -> int:
    """The status of a run stopped by a signal, its output already removed.  When a thread of the
    run is still reading the input (``--jobs``), the process ends here: the interpreter's shutdown
    would wait for that thread's lock on standard input and abort (SIGABRT, status -6)."""
    # "taian-titles input": the name taian_titles.parallel gives the thread that reads the input
    if any(t.name == "taian-titles input" and t.is_alive() for t in threading.enumerate()):
        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()  # worker processes and their server are stopped as at any exit
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(status)
    return status


def _say(message: str) -> None:
    """One line on standard error; a message that cannot be written is dropped."""
    with contextlib.suppress(OSError, ValueError):
        print(f"{PROG}: {neutralise(message, keep_newlines=True)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
