"""taian-titles beside its peers: the plain-Python reference, GoRules ZEN and experta, in turns.

Workload: the 10,000 applicants of ``bench_evaluate.generate_applicants`` (same seed), decided
under measure nine alone (``load_policy(default_ruleset_path())``, the first shipped document),
so that the figures compare with issue 22's.  Every path takes the same exchange dicts:

* **taian-titles**: ``evaluate_many`` + ``to_dict()``: structuring, facts, the durable-rules
  engine, the decision with every explanation in Chinese and English, not-met dates, notes;
* **reference**: ``benchmarks/reference.py``, the same decisions in plain Python, same
  structuring, same explanations;
* **ZEN, structuring + evaluate**: the library's structuring and facts, then the JDM graph of
  ``peers.zen_graph`` in ``zen-engine`` (codes only);
* **ZEN evaluate alone**: the same graph on inputs structured beforehand;
* **experta**: the same facts into 13 experta rules (codes only).

First every applicant is decided by each peer and its outcome codes compared with
taian-titles' (a difference fails the run).  Then the paths take turns every 500 applicants
(the order rotating each turn), timed in CPU time (``time.process_time``) so that other work on
the machine does not count, over ``PASSES`` passes; each row gives µs per applicant per pass.
Needs the ``bench`` extra (``pip install -e '.[bench]'``; ``make bench`` installs it): without
``zen-engine`` or experta their rows say so and the rest is measured.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference as _reference  # noqa: E402
import taian_titles  # noqa: E402
from bench_evaluate import CHUNK, N_APPLICANTS, SEED, generate_applicants, machine_gauge  # noqa: E402
from taian_titles.ruleset import default_ruleset_path, parse_document, read_ruleset_file  # noqa: E402

PASSES = 2


def turns(paths: Mapping[str, Callable[[int, int], Any]], n: int, chunk: int = CHUNK) -> dict[str, float]:
    """CPU seconds each path takes over records ``[0, n)``, in turns of ``chunk`` records, the
    order rotating (and reversed every other turn) so that no path always follows another."""
    names = list(paths)
    spent = dict.fromkeys(names, 0.0)
    clock = time.process_time
    for turn, start in enumerate(range(0, n, chunk)):
        k = turn % len(names)
        order = names[k:] + names[:k]
        if turn % 2:
            order.reverse()
        for name in order:
            began = clock()
            paths[name](start, min(n, start + chunk))
            spent[name] += clock() - began
    return spent


def _codes(decision: Any) -> list[str]:
    return sorted(o.code for o in decision.outcomes)


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    options = dict(options or {})
    n = int(options.get("n", N_APPLICANTS))
    say = options.get("progress") or (lambda message: None)
    rows: list[dict[str, Any]] = []

    def row(name: str, value: Any, unit: str = "", note: str = "", **extra: Any) -> None:
        rows.append({"name": name, "value": value, "unit": unit, "note": note, **extra})

    say(f"peers: {n:,} applicants (seed {SEED}), measure nine alone")
    records = list(generate_applicants(n))
    path = default_ruleset_path()
    policy = taian_titles.load_policy(path)
    ruleset = parse_document(read_ruleset_file(path), str(path))
    ref = _reference.Reference(ruleset)
    peers: dict[str, Any] = {}
    missing: dict[str, str] = {}
    try:
        import peers as _peers
    except ImportError as exc:  # pragma: no cover - benchmarks/ is on the path
        raise SystemExit(f"benchmarks/peers.py: {exc}")
    for name, make in (("zen", _peers.Zen), ("experta", _peers.Experta)):
        try:
            peers[name] = make(policy)
        except ImportError as exc:
            missing[name] = f"not installed ({exc.name}): pip install -e '.[bench]'"

    say("peers: agreement on every applicant")
    decisions = list(taian_titles.evaluate_many(records, policy=policy))
    want = [_codes(d) for d in decisions]
    for name, peer in peers.items():
        diffs = [f"{r['id']}: taian-titles {w} {name} {sorted(peer.codes(r))}"
                 for r, w in zip(records, want) if sorted(peer.codes(r)) != w]
        row(f"peers: {name} agrees on outcome codes", f"{n - len(diffs)}/{n}", "applicants",
            "the same codes as taian-titles on every applicant (a difference fails the run)",
            ok=not diffs, detail=diffs[:20])
    ref_failures = 0
    for r in records:
        try:
            next(_reference.reference_many([r], ref))
        except Exception:
            ref_failures += 1

    def engine(a: int, b: int) -> None:
        for result in taian_titles.evaluate_many(records[a:b], policy=policy):
            result.to_dict()

    def reference(a: int, b: int) -> None:
        for r in records[a:b]:
            try:
                next(_reference.reference_many([r], ref))
            except Exception:
                pass

    paths: dict[str, Callable[[int, int], Any]] = {"taian-titles": engine, "reference": reference}
    if "zen" in peers:
        zen = peers["zen"]
        structured = [zen.structure(r) for r in records]

        def zen_whole(a: int, b: int) -> None:
            for r in records[a:b]:
                zen.evaluate(zen.structure(r))

        def zen_alone(a: int, b: int) -> None:
            for s in structured[a:b]:
                zen.evaluate(s)

        paths["ZEN structuring + evaluate"] = zen_whole
        paths["ZEN evaluate alone"] = zen_alone
    if "experta" in peers:
        experta = peers["experta"]

        def experta_path(a: int, b: int) -> None:
            for r in records[a:b]:
                experta.codes(r)

        paths["experta"] = experta_path

    passes = []
    for k in range(PASSES):
        say(f"peers: pass {k + 1} of {PASSES}, {len(paths)} paths in turns of {CHUNK}")
        gauge = machine_gauge()
        spent = turns(paths, n)
        passes.append(({name: s / n * 1e6 for name, s in spent.items()}, (gauge, machine_gauge())))

    what = {
        "taian-titles": "evaluate_many + to_dict: full explanations (zh, en), not met, notes, highest title",
        "reference": "plain Python, same explanations" + (
            f"; failed on {ref_failures} of {n} applicants (reference.py behind ruleset 1.1: those are "
            f"timed up to the failure)" if ref_failures else ""),
        "ZEN structuring + evaluate": "the library's structuring and facts, then zen-engine's graph: codes only",
        "ZEN evaluate alone": "zen-engine on inputs structured beforehand: codes only",
        "experta": "the same facts into 13 experta rules: codes only",
    }
    base = [p["taian-titles"] for p, _ in passes]
    for name in paths:
        micros = [p[name] for p, _ in passes]
        ratios = [m / b for m, b in zip(micros, base)]
        row(f"peers: {name}", round(statistics.median(micros)), "µs/applicant",
            f"{what[name]}; CPU time per pass: {', '.join(f'{m:.0f}' for m in micros)} µs; "
            f"÷ taian-titles {', '.join(f'{r:.2f}' for r in ratios)}")
    ratio = [p["reference"] / p["taian-titles"] for p, _ in passes]
    row("peers: ratio engine/reference", round(statistics.median(ratio), 3), "×",
        "taian-titles applicants/s ÷ reference applicants/s in turns, per pass: "
        + ", ".join(f"{r:.3f}" for r in ratio) + "; issue 22's target >= 0.45",
        ok_target=statistics.median(ratio) >= 0.45)
    if "zen" in peers:
        vs = [p["taian-titles"] / p["ZEN structuring + evaluate"] for p, _ in passes]
        row("peers: taian-titles ÷ ZEN structuring + evaluate", round(statistics.median(vs), 2), "×",
            "CPU time per applicant; issue 22's target <= 1.00 (explanations included on our side)"
            + "; per pass " + ", ".join(f"{v:.2f}" for v in vs),
            ok_target=statistics.median(vs) <= 1.0)
    for name, why in missing.items():
        row(f"peers: {name}", "n/a", "", why)
    row("peers: machine gauge", ", ".join(f"{a:.0f}/{b:.0f}" for _, (a, b) in passes), "ms",
        "before/after each pass (bench_evaluate.machine_gauge); the rows are CPU time, which other "
        "work on the machine does not add to, though it still slows caches")
    return rows


if __name__ == "__main__":
    import run as _runner

    sys.exit(_runner.main(["--only", "peers", *sys.argv[1:]]))
