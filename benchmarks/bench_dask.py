"""A JSON Lines roster on a Dask ``LocalCluster`` (``taian_titles.distributed``): 1 worker against 2.

Workload: 20,000 applicants of ``bench_evaluate.generate_applicants`` (same seed) in one file,
cut into partitions of about 1 MiB.  A cluster of 1 worker process and one of 2 (one thread
each, loopback only) take turns (1, 2, 2, 1); each run computes every partition and is compared
with the first (sha256).  Wall time includes the workers loading the policy, not starting the
cluster.  Needs the ``dask`` extra (``make test`` installs it with the ``test`` extra).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_evaluate import SEED, generate_applicants, machine_gauge  # noqa: E402

N_RECORDS = 20_000
BLOCKSIZE = 1 << 20


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    options = dict(options or {})
    n = int(options.get("n", N_RECORDS))
    say = options.get("progress") or (lambda message: None)
    try:
        import distributed
    except ImportError:
        return [{"name": "dask", "value": "n/a", "unit": "", "note": "dask[distributed] not installed: "
                 "pip install -e '.[dask]'"}]
    from taian_titles.distributed import evaluate_jsonl

    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        source = Path(tmp) / "province.jsonl"
        with source.open("w", encoding="utf-8") as f:
            for record in generate_applicants(n, SEED):
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        load = os.getloadavg()
        runs = []
        for workers in (1, 2, 2, 1):
            say(f"dask: {workers} worker(s), {n:,} records")
            with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                          host="127.0.0.1", dashboard_address=None) as cluster, \
                    distributed.Client(cluster):
                gauge = machine_gauge()
                start = time.perf_counter()
                lines = evaluate_jsonl(str(source), blocksize=BLOCKSIZE).compute()
                wall = time.perf_counter() - start
                digest = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
                runs.append({"workers": workers, "wall": wall, "sha256": digest, "count": len(lines),
                             "gauge": (gauge, machine_gauge())})
    same = len({r["sha256"] for r in runs}) == 1 and all(r["count"] == n for r in runs)
    wall = {w: sum(r["wall"] for r in runs if r["workers"] == w) for w in (1, 2)}
    notes = "; ".join(f"{r['workers']} worker(s) {r['wall']:.1f} s (gauge {r['gauge'][0]:.0f}/{r['gauge'][1]:.0f} ms)"
                      for r in runs)
    return [
        {"name": "dask: answers identical", "value": "yes" if same else "NO", "unit": "",
         "note": f"{n:,} answers in every run, sha256 {runs[0]['sha256'][:16]}…", "ok": same},
        {"name": "dask: 1 worker", "value": round(2 * n / wall[1]), "unit": "records/s",
         "note": f"LocalCluster, partitions of {BLOCKSIZE >> 20} MiB"},
        {"name": "dask: 2 workers", "value": round(2 * n / wall[2]), "unit": "records/s", "note": ""},
        {"name": "dask: speed-up 2 workers / 1", "value": round(wall[1] / wall[2], 2), "unit": "×",
         "note": f"on {os.cpu_count()} cores, load average {load[0]:.1f} when started; runs: {notes}"},
    ]


if __name__ == "__main__":
    for row in run({"n": int(sys.argv[1]) if len(sys.argv) > 1 else N_RECORDS,
                    "progress": lambda m: print(m, file=sys.stderr)}):
        print(row)
