"""``taian-titles evaluate --jobs N`` on a long JSON Lines file: 1 job against 2 (every core here).

Workload: 100,000 applicants from ``bench_evaluate.generate_applicants`` (the same seed, so the
same varied mix), one per line.  The command runs in a subprocess as an HR system would call
it, ``--jobs 1`` and ``--jobs 2`` taking turns (1, 2, 2, 1) so that a drift of the machine's
speed reaches both alike; each run is gauged before and after (``machine_gauge``), and its CPU
time (parent and workers) is read from ``getrusage(RUSAGE_CHILDREN)``.  The two outputs must
be byte for byte the same (sha256).

The workers of ``--jobs 2`` share engine sessions (16 applicants each) while ``--jobs 1``
evaluates in the command's own process one record at a time: the speed-up holds that gain too.

Rows: records/s of each (wall time of the whole command, process start and policy load
included), the speed-up (target: at least 1.8 on this 2-core
machine), and the load average when the runs started, because other work on the machine takes
cores from the workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_evaluate import SEED, generate_applicants, machine_gauge  # noqa: E402

N_RECORDS = 100_000
TARGET = 1.8


def command(jobs: int) -> list[str]:
    script = Path(sys.executable).parent / "taian-titles"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "taian_titles.cli"]
    return base + ["evaluate", "-", "--format", "jsonl", "--no-progress", "--jobs", str(jobs)]


def measure(source: Path, target: Path, jobs: int) -> dict[str, Any]:
    """One run: wall seconds, the gauges around it, the output's sha256."""
    before_gauge = machine_gauge()
    with source.open("rb") as stdin, target.open("wb") as stdout:
        start = time.perf_counter()
        status = subprocess.run(command(jobs), stdin=stdin, stdout=stdout, stderr=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    return {"jobs": jobs, "status": status, "wall": wall, "sha256": digest,
            "gauge": (before_gauge, machine_gauge())}


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    options = dict(options or {})
    n = int(options.get("n", N_RECORDS))
    say = options.get("progress") or (lambda message: None)
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        source, target = Path(tmp) / "applicants.jsonl", Path(tmp) / "out.jsonl"
        say(f"jobs: writing {n:,} generated applicants as JSON Lines")
        with source.open("w", encoding="utf-8") as f:
            for record in generate_applicants(n, SEED):
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        load = os.getloadavg()
        runs = []
        for jobs in (1, 2, 2, 1):
            say(f"jobs: --jobs {jobs} on {n:,} records")
            runs.append(measure(source, target, jobs))
    by = {j: [r for r in runs if r["jobs"] == j] for j in (1, 2)}
    wall = {j: sum(r["wall"] for r in rs) for j, rs in by.items()}
    speedup = wall[1] / wall[2]
    same = len({r["sha256"] for r in runs}) == 1
    notes = "; ".join(f"--jobs {r['jobs']} {r['wall']:.1f} s (gauge {r['gauge'][0]:.0f}/{r['gauge'][1]:.0f} ms)"
                      for r in runs)
    rows = [
        {"name": "jobs: output identical", "value": "yes" if same else "NO", "unit": "",
         "note": f"sha256 of the 4 outputs ({runs[0]['sha256'][:16]}…); exit statuses "
                 + ", ".join(str(r["status"]) for r in runs), "ok": same},
    ]
    for j in (1, 2):
        rows.append({"name": f"jobs: --jobs {j}", "value": round(n * len(by[j]) / wall[j]), "unit": "records/s",
                     "note": f"{n:,} JSON Lines records, whole command, 2 runs in turns 1,2,2,1"})
    rows.append({"name": "jobs: speed-up 2 jobs / 1 job", "value": round(speedup, 2), "unit": "×",
                 "note": f"wall time of 1 job ÷ wall time of 2; target >= {TARGET} on {os.cpu_count()} cores; "
                         f"load average when started {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} (other work takes "
                         f"cores from the workers); runs: {notes}",
                 "ok_target": speedup >= TARGET})
    return rows


if __name__ == "__main__":
    for row in run({"n": int(sys.argv[1]) if len(sys.argv) > 1 else N_RECORDS,
                    "progress": lambda m: print(m, file=sys.stderr)}):
        print(row)
