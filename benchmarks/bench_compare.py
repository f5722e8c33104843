"""``compare``: one population under the shipped policy and a reform, against one evaluation.

Workload: 100,000 applicants from ``bench_evaluate.generate_applicants`` (the same seed, so the
same varied mix; ``--n`` for fewer), compared under the shipped policy and
``examples/reform-2-years-25-percent.toml`` (3 → 2 years, 20% → 25%).  Measured in one
process, taking turns every 5,000 records (evaluate, compare, compare, evaluate, ...) so that a
drift of the machine's speed reaches both alike:

- ``evaluate``: ``evaluate_many(chunk, policy=base)``, every decision ``to_dict()``-ed (what the
  command does for each record before writing it);
- ``compare``: ``compare(chunk, base, reform)``: each record structured once, evaluated once under
  each policy, the two results compared.

Rows: records/s of each, the ratio of their times (target: compare costs at most 2.2 times one
evaluation), the records that changed, the machine gauge before and after.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Any, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_evaluate import SEED, generate_applicants, machine_gauge  # noqa: E402

N_RECORDS = 100_000
TURN = 5_000
TARGET = 2.2
REFORM = Path(__file__).resolve().parent.parent / "examples" / "reform-2-years-25-percent.toml"


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    import taian_titles as tt
    from taian_titles.compare import compare
    from taian_titles.policy import default_policy, reform_policy

    options = options or {}
    n = int(options.get("n") or N_RECORDS)
    say = options.get("progress") or (lambda message: None)
    base = default_policy()
    reform = reform_policy(base, REFORM)

    def evaluate(chunk: list[dict[str, Any]]) -> int:
        count = 0
        for answer in tt.evaluate_many(chunk, policy=base):
            answer.to_dict()
            count += 1
        return count

    def comparing(chunk: list[dict[str, Any]]) -> int:
        return compare(chunk, base, reform).changed

    warm = list(generate_applicants(500, seed=SEED + 1))
    evaluate(warm)
    comparing(warm)
    gauges = [machine_gauge()]
    spent = {"evaluate": 0.0, "compare": 0.0}
    changed = 0
    records = generate_applicants(n, seed=SEED)
    turn = 0
    while True:
        chunk = list(itertools.islice(records, TURN))
        if not chunk:
            break
        order = ("evaluate", "compare") if turn % 2 == 0 else ("compare", "evaluate")
        for name in order:
            start = time.perf_counter()
            if name == "evaluate":
                evaluate(chunk)
            else:
                changed += comparing(chunk)
            spent[name] += time.perf_counter() - start
        turn += 1
        say(f"compare: {turn * TURN:,} of {n:,} records")
    gauges.append(machine_gauge())
    ratio = spent["compare"] / spent["evaluate"]
    return [
        {"name": "compare: records", "value": n, "unit": "records",
         "note": f"generate_applicants(seed {SEED}); base: the shipped policy; reform: {REFORM.name}"},
        {"name": "compare: evaluate (one policy)", "value": n / spent["evaluate"], "unit": "records/s",
         "note": f"evaluate_many + to_dict, {spent['evaluate']:.1f} s in turns of {TURN:,}"},
        {"name": "compare: compare (two policies)", "value": n / spent["compare"], "unit": "records/s",
         "note": f"compare(chunk, base, reform), {spent['compare']:.1f} s in the same turns"},
        {"name": "compare: ratio compare/evaluate", "value": round(ratio, 3), "unit": "x",
         "note": f"time of compare over time of one evaluation (target at most {TARGET}); machine gauge "
                 f"{gauges[0]:.1f} ms before, {gauges[1]:.1f} ms after",
         "ok_target": ratio <= TARGET},
        {"name": "compare: records changed", "value": changed, "unit": "records",
         "note": "records whose codes, not-yet-met dates, highest title or notes differ under the reform"},
    ]
