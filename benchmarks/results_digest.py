"""The sha256 of every result of the benchmark's 10,000 applicants, to show that a change of the
engine changes no result: ``python benchmarks/results_digest.py [N]`` prints the digests for
measure nine alone and for the shipped policy (measure nine and the crossover), each evaluated
through ``evaluate_many`` (engine sessions shared by several applicants) and one record at a
time (``evaluate_record``: a session per applicant)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import taian_titles  # noqa: E402
from bench_evaluate import N_APPLICANTS, generate_applicants  # noqa: E402
from taian_titles.ruleset import default_ruleset_path  # noqa: E402


def digest(policy: taian_titles.Policy, n: int = N_APPLICANTS, one_by_one: bool = False) -> str:
    h = hashlib.sha256()
    if one_by_one:
        from taian_titles.api import evaluate_record

        results = (evaluate_record(i, r, as_of=None, policy=policy) for i, r in enumerate(generate_applicants(n)))
    else:
        results = taian_titles.evaluate_many(generate_applicants(n), policy=policy)
    for result in results:
        h.update(json.dumps(result.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and not sys.argv[1].isdigit()):
        sys.exit("usage: python benchmarks/results_digest.py [N]   (N applicants, 10,000 by default)")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_APPLICANTS
    for name, policy in (("measure nine alone", taian_titles.load_policy(default_ruleset_path())),
                         ("shipped policy", taian_titles.default_policy())):
        print(f"{name + ':':20}", digest(policy, n), "evaluate_many")
        print(f"{name + ':':20}", digest(policy, n, one_by_one=True), "one record at a time")
