"""The ``taian-titles`` command on a long JSON Lines file: wall time, records/s, peak memory.

The records are the bundled examples (``examples/applicants.jsonl``: every outcome code, a
not-yet-met M9-2d, a revoked certificate, a certificate after ``as_of``, an evaluation before
measure nine took effect) repeated with fresh ids up to ``n`` (default 200,000).  The command
runs in a subprocess exactly as an HR system would call it; its peak resident memory is read
from ``getrusage(RUSAGE_CHILDREN)`` in a fresh parent process, so nothing else counts.  A run
on 1,000 records gives the baseline: JSON Lines stream, so the peak must not grow with ``n``.

``run(options)`` returns rows ``{name, value, unit, note}`` for ``benchmarks/run.py``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "applicants.jsonl"
N_RECORDS = 200_000
BASELINE = 1_000
#: A run may use this much more memory than the 1,000-record baseline and still count as flat.
FLAT_MARGIN_MIB = 20

_MEASURE = textwrap.dedent("""
    import resource, subprocess, sys, time
    command = sys.argv[3:]
    with open(sys.argv[1], "rb") as source, open(sys.argv[2], "wb") as out:
        start = time.perf_counter()
        status = subprocess.run(command, stdin=source, stdout=out).returncode
        wall = time.perf_counter() - start
    print(status, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
""")


def command() -> list[str]:
    """The installed console script beside this Python, else the module."""
    script = Path(sys.executable).parent / "taian-titles"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "taian_titles.cli"]
    return base + ["evaluate", "-", "--format", "jsonl", "--no-progress"]


def write_records(path: Path, n: int) -> None:
    templates = [json.loads(line) for line in EXAMPLES.read_text("utf-8").splitlines() if line.strip()]
    with path.open("w", encoding="utf-8") as f:
        for i, template in zip(range(n), itertools.cycle(templates)):
            f.write(json.dumps({**template, "id": f"R-{i:07d}"}, ensure_ascii=False) + "\n")


def measure(source: Path, target: Path) -> tuple[int, float, int]:
    """(exit status, wall seconds, peak RSS in KiB) of one run of the command."""
    result = subprocess.run([sys.executable, "-c", _MEASURE, str(source), str(target), *command()],
                            capture_output=True, text=True, check=True)
    status, wall, peak = result.stdout.split()
    return int(status), float(wall), int(peak)


def in_order(target: Path, n: int) -> bool:
    count = 0
    with target.open(encoding="utf-8") as f:
        for count, line in enumerate(f, 1):
            if json.loads(line).get("id") != f"R-{count - 1:07d}":
                return False
    return count == n


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    options = dict(options or {})
    n = int(options.get("n", N_RECORDS))
    say = options.get("progress") or (lambda message: None)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        tmp_path = Path(tmp)
        small, big, out = tmp_path / "small.jsonl", tmp_path / "big.jsonl", tmp_path / "out.jsonl"
        say(f"cli: writing {BASELINE:,} and {n:,} JSON Lines records")
        write_records(small, BASELINE)
        write_records(big, n)
        say(f"cli: baseline run on {BASELINE:,} records")
        _, _, base_peak = measure(small, out)
        say(f"cli: run on {n:,} records")
        status, wall, peak = measure(big, out)
        ordered = in_order(out, n)
    peak_mib, base_mib = peak / 1024, base_peak / 1024
    return [
        {"name": "cli jsonl: records", "value": n, "unit": "records",
         "note": "examples/applicants.jsonl repeated with fresh ids; answers checked complete and in order",
         "ok": status == 0 and ordered},
        {"name": "cli jsonl: wall time", "value": round(wall, 2), "unit": "s",
         "note": "taian-titles evaluate - --format jsonl, stdin from a file, stdout to a file"},
        {"name": "cli jsonl: throughput", "value": round(n / wall), "unit": "records/s",
         "note": "including process start, ruleset load and engine compilation"},
        {"name": "cli jsonl: peak RSS", "value": round(peak_mib, 1), "unit": "MiB",
         "note": f"baseline {base_mib:.1f} MiB on {BASELINE:,} records; flat means within {FLAT_MARGIN_MIB} MiB",
         "ok_flat": peak_mib <= base_mib + FLAT_MARGIN_MIB},
    ]


if __name__ == "__main__":
    for row in run({"n": int(sys.argv[1]) if len(sys.argv) > 1 else N_RECORDS,
                    "progress": lambda m: print(m, file=sys.stderr)}):
        print(row)
