"""Spreadsheet rosters: a 100,000-row CSV evaluated by the command in flat memory, and an .xlsx in and out.

The rows are those of ``examples/roster.csv`` (Chinese headers, every outcome code, a revoked
certificate, a county column of the caller's own) repeated with fresh ids up to ``n`` (default
100,000), written as CSV in GB18030, as Chinese Excel writes it.  The command runs in a
subprocess as an officer would run it (``taian-titles evaluate roster.csv --format jsonl``);
its peak resident memory is read from ``getrusage(RUSAGE_CHILDREN)`` in a fresh parent, so
nothing else counts.  A 1,000-row run is the baseline: the roster is streamed, so the peak
must not grow with ``n``.  A smaller workbook (``n / 10`` rows, at least 1,000) is read with
openpyxl's read-only mode and answered as a workbook (``--format xlsx``, write-only mode).

``run(options)`` returns rows ``{name, value, unit, note}`` for ``benchmarks/run.py``.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

from bench_cli import FLAT_MARGIN_MIB, _MEASURE

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "examples" / "roster.csv"
N_ROWS = 100_000
BASELINE = 1_000


def base_command() -> list[str]:
    script = Path(sys.executable).parent / "taian-titles"
    return [str(script)] if script.exists() else [sys.executable, "-m", "taian_titles.cli"]


def write_csv(path: Path, n: int, encoding: str = "gb18030") -> None:
    with ROSTER.open(encoding="utf-8-sig", newline="") as f:
        header, *rows = list(csv.reader(f))
    with path.open("w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i in range(n):
            row = list(rows[i % len(rows)])
            row[0] = f"R-{i:07d}"
            writer.writerow(row)


def write_xlsx(path: Path, n: int) -> None:
    from openpyxl import Workbook

    with ROSTER.open(encoding="utf-8-sig", newline="") as f:
        header, *rows = list(csv.reader(f))
    book = Workbook(write_only=True)
    ws = book.create_sheet("申请人")
    ws.append(header)
    for i in range(n):
        row = [v or None for v in rows[i % len(rows)]]
        row[0] = f"R-{i:07d}"
        ws.append(row)
    book.save(path)


def measure(args: list[str], target: Path) -> tuple[int, float, int]:
    """(exit status, wall seconds, peak RSS in KiB) of one run of the command, its stdout to ``target``."""
    result = subprocess.run([sys.executable, "-c", _MEASURE, "/dev/null", str(target), *base_command(), *args],
                            capture_output=True, text=True, check=True)
    status, wall, peak = result.stdout.split()
    return int(status), float(wall), int(peak)


def complete(target: Path, n: int) -> bool:
    count = 0
    with target.open(encoding="utf-8") as f:
        for count, line in enumerate(f, 1):
            entry = json.loads(line)
            if entry.get("id") != f"R-{count - 1:07d}" or "error" in entry:
                return False
    return count == n


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    options = dict(options or {})
    n = int(options.get("n", N_ROWS))
    n_xlsx = max(BASELINE, n // 10)
    say = options.get("progress") or (lambda message: None)
    flags = ["--format", "jsonl", "--no-progress"]
    with tempfile.TemporaryDirectory(prefix="bench-roster-") as tmp:
        tmp_path = Path(tmp)
        small, big, out = tmp_path / "small.csv", tmp_path / "big.csv", tmp_path / "out.jsonl"
        say(f"roster: writing {BASELINE:,} and {n:,} CSV rows (GB18030)")
        write_csv(small, BASELINE)
        write_csv(big, n)
        say(f"roster: baseline run on {BASELINE:,} rows")
        _, _, base_peak = measure(["evaluate", str(small), *flags], out)
        say(f"roster: run on {n:,} rows")
        status, wall, peak = measure(["evaluate", str(big), *flags], out)
        ordered = complete(out, n)
        book, answers = tmp_path / "roster.xlsx", tmp_path / "answers.xlsx"
        say(f"roster: writing a {n_xlsx:,}-row workbook")
        write_xlsx(book, n_xlsx)
        say(f"roster: {n_xlsx:,}-row workbook in, workbook out")
        x_status, x_wall, x_peak = measure(["evaluate", str(book), "--format", "xlsx", "-o", str(answers),
                                            "--no-progress"], out)
        from openpyxl import load_workbook

        written = load_workbook(answers, read_only=True)
        x_rows = sum(1 for _ in written.worksheets[0].iter_rows()) - 1
        written.close()
    peak_mib, base_mib, x_mib = peak / 1024, base_peak / 1024, x_peak / 1024
    return [
        {"name": "roster csv: rows", "value": n, "unit": "rows",
         "note": "examples/roster.csv repeated with fresh ids, GB18030; answers checked complete, in order, no error",
         "ok": status == 0 and ordered},
        {"name": "roster csv: wall time", "value": round(wall, 2), "unit": "s",
         "note": "taian-titles evaluate roster.csv --format jsonl, stdout to a file"},
        {"name": "roster csv: throughput", "value": round(n / wall), "unit": "rows/s",
         "note": "including process start, the encoding check and the row count"},
        {"name": "roster csv: peak RSS", "value": round(peak_mib, 1), "unit": "MiB",
         "note": f"baseline {base_mib:.1f} MiB on {BASELINE:,} rows; flat means within {FLAT_MARGIN_MIB} MiB",
         "ok_flat": peak_mib <= base_mib + FLAT_MARGIN_MIB},
        {"name": "roster xlsx in and out: throughput", "value": round(n_xlsx / x_wall), "unit": "rows/s",
         "note": f"{n_xlsx:,}-row workbook read (openpyxl read-only), answered with --format xlsx (write-only); "
                 f"{x_wall:.1f} s, peak RSS {x_mib:.1f} MiB",
         "ok": x_status == 0 and x_rows == n_xlsx},
    ]


if __name__ == "__main__":
    for row in run({"n": int(sys.argv[1]) if len(sys.argv) > 1 else N_ROWS,
                    "progress": lambda m: print(m, file=sys.stderr)}):
        print(row)
