"""Run every benchmark of this folder, print a table, write ``results/latest.json``.

``make bench`` runs ``.venv/bin/python benchmarks/run.py``.  Every module ``bench_*.py`` of
this folder is discovered and run in name order; a module exposes

    def run() -> list[dict]            # or run(options: Mapping[str, Any] | None = None)

returning rows ``{"name", "value", "unit", "note"}``.  Optional row keys: ``detail`` (lines
printed under the table), ``ok`` (False fails the run: an assertion such as "engine and
reference agree"), and ``ok_<what>`` (a target: shown as met or missed, never fails the run).
A module whose ``run`` takes a parameter receives the options: ``long`` (``--long``), ``n``
(``--n``, a smaller workload for a quick look) and ``progress`` (a function printing a line
to stderr).

Each module runs in a process of its own (started afresh, ``spawn``): what one module leaves
in memory (100,000 compared records, a Dask cluster's threads) must not slow the next one.  In
one process, ``bench_evaluate``'s ratio engine/reference after ``bench_compare`` and
``bench_dask`` was 0.382 against 0.424 alone.

Exit status: 0, or 1 when a module raised or a row has ``ok`` False.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib
import importlib.metadata
import inspect
import json
import multiprocessing
import os
import platform
import sys
import textwrap
import time
import traceback
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
REQUIRED = ("name", "value", "unit", "note")
PACKAGES = ("taian-titles", "durable_rules", "cattrs", "attrs", "orjson", "zen-engine", "experta", "frozendict",
            "dask", "distributed")


def discover(only: Sequence[str] = ()) -> list[str]:
    """Module names ``bench_*`` of this folder, in name order; ``only`` filters by substring."""
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if only:
        names = [n for n in names if any(o in n for o in only)]
    return names


def _call(module: Any, options: dict[str, Any]) -> list[dict[str, Any]]:
    run = getattr(module, "run", None)
    if not callable(run):
        raise TypeError(f"{module.__name__} has no run() function")
    takes_options = bool(inspect.signature(run).parameters)
    rows = run(options) if takes_options else run()
    if not isinstance(rows, list):
        raise TypeError(f"{module.__name__}.run() returned {type(rows).__name__}, not a list of rows")
    for i, row in enumerate(rows):
        missing = [k for k in REQUIRED if not isinstance(row, dict) or k not in row]
        if missing:
            raise TypeError(f"{module.__name__}.run() row {i} lacks {', '.join(missing)}: {row!r}")
    return rows


def _module_rows(name: str, options: dict[str, Any], started: float, out: Any) -> None:
    """In a process of its own: the rows of module ``name`` (or the traceback), put on ``out``."""
    sys.path.insert(0, str(HERE))

    def progress(message: str) -> None:  # perf_counter is the system's monotonic clock here
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    try:
        rows, error = _call(importlib.import_module(name), {**options, "progress": progress}), None
    except Exception:
        rows, error = [], traceback.format_exc()
    out.put((json.loads(json.dumps(rows, default=str)), error))


def _run_apart(name: str, options: dict[str, Any], started: float) -> tuple[list[dict[str, Any]], str | None]:
    """:func:`_module_rows` in a fresh process; a process that dies is that module's error."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_module_rows, args=(name, options, started, out))
    child.start()
    while True:
        try:
            result: tuple[list[dict[str, Any]], str | None] = out.get(timeout=1)
            break
        except Exception:  # queue.Empty: still running, unless it died
            if not child.is_alive():
                child.join()
                return [], f"the process running {name} ended with status {child.exitcode} and no rows"
    child.join()
    return result


def _value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _marks(row: dict[str, Any]) -> str:
    marks = []
    if row.get("ok") is False:
        marks.append("FAIL")
    for key, met in row.items():
        if key.startswith("ok_") and isinstance(met, bool):
            marks.append(f"{key[3:]} {'met' if met else 'MISSED'}")
    return f" [{'; '.join(marks)}]" if marks else ""


def render(module: str, rows: list[dict[str, Any]], seconds: float) -> str:
    """A readable table: name, value, unit, then the note (wrapped); details below."""
    name_w = min(44, max([len(r["name"]) for r in rows] + [4]))
    value_w = min(18, max([len(_value(r["value"])) for r in rows] + [5]))
    unit_w = min(14, max([len(str(r["unit"])) for r in rows] + [4]))
    indent = name_w + value_w + unit_w + 6
    width = max(100, indent + 40)
    out = [f"== {module}  ({seconds:.0f} s)", f"{'name':<{name_w}}  {'value':>{value_w}}  {'unit':<{unit_w}}  note",
           "-" * width]
    for row in rows:
        head = f"{row['name']:<{name_w}}  {_value(row['value']):>{value_w}}  {str(row['unit']):<{unit_w}}  "
        note = (str(row["note"]) + _marks(row)).strip()
        wrapped = textwrap.wrap(note, width - indent) or [""]
        out.append(head + wrapped[0])
        out.extend(" " * indent + line for line in wrapped[1:])
    for row in rows:
        if row.get("detail"):
            out.append("")
            out.append(f"-- {row['name']}:")
            out.extend(f"   {line}" for line in row["detail"])
    return "\n".join(out)


def _environment() -> dict[str, Any]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"python": sys.version.split()[0], "implementation": platform.python_implementation(),
            "platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "cflags": os.environ.get("CFLAGS"), "packages": versions}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the taian-titles benchmarks (every benchmarks/bench_*.py).")
    parser.add_argument("--long", action="store_true",
                        help="longer memory-flatness runs (100,000 evaluations instead of 30,000)")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only modules whose name contains NAME (repeatable)")
    parser.add_argument("--n", type=int, default=None, help="workload size instead of each module's default")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {message}", file=sys.stderr, flush=True)

    options: dict[str, Any] = {"long": args.long}
    if args.n is not None:
        options["n"] = args.n
    names = discover(args.only)
    if not names:
        print(f"no benchmark module matches {args.only}", file=sys.stderr)
        return 1
    results: dict[str, Any] = {
        "generated": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(argv if argv is not None else sys.argv[1:]),
        "environment": _environment(),
        "modules": {},
    }
    failed: list[str] = []
    for name in names:
        progress(f"{name}")
        t0 = time.perf_counter()
        entry: dict[str, Any] = {"rows": [], "seconds": None, "error": None}
        entry["rows"], entry["error"] = _run_apart(name, options, started)
        if entry["error"]:
            failed.append(f"{name}: raised (see above)")
            print(entry["error"], file=sys.stderr)
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        results["modules"][name] = entry
        if entry["rows"]:
            print(render(name, entry["rows"], entry["seconds"]))
            print()
        failed += [f"{name}: {row['name']}" for row in entry["rows"] if row.get("ok") is False]

    args.output.parent.mkdir(parents=True, exist_ok=True)
    results["failed"] = failed
    args.output.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results written to {args.output}")
    if failed:
        print("FAILED: " + "; ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
