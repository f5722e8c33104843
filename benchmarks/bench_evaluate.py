"""Benchmark of ``evaluate_many``: throughput with explanations, memory, the plain-Python ratio.

Workload: 10,000 generated applicants (:func:`generate_applicants`, deterministic from a
seed), evaluated by ``taian_titles.evaluate_many`` with every decision rendered by
``to_dict()`` — explanations in Chinese and English included.  Measured (see README.md):

* applicants/s and µs per applicant, median of 3 runs, from exchange dicts (the measured path
  includes JSON structuring by cattrs) and from model objects (structured beforehand);
* a machine gauge (a fixed pure-Python loop) before and after every timed run;
* the same workload through :mod:`reference` (plain Python, same rules), and the ratio, timed
  in alternating chunks so that both paths meet the same machine speed;
* that engine and reference agree on the outcome codes of every applicant (a disagreement
  makes the run fail), and how often the whole result agrees;
* peak memory (tracemalloc) of one run, RSS before and after, and whether RSS stays flat over
  30,000 evaluations (100,000 with ``--long``);
* a cProfile of 2,000 evaluations: the top 15 functions by cumulative time, and the own time
  split between taian_titles, cattrs/attrs, json, the durable C core and the rest.
"""

from __future__ import annotations

import cProfile
import datetime as _dt
import gc
import io
import os
import pstats
import random
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference as _reference  # noqa: E402  (benchmarks/ is on the path)
import taian_titles  # noqa: E402
from taian_titles.model import DTE_PROGRAMME, SkillLevel  # noqa: E402
from taian_titles.ruleset import default_ruleset  # noqa: E402

__all__ = ["generate_applicants", "run", "SEED", "N_APPLICANTS"]

SEED = 20250430
N_APPLICANTS = 10_000
RUNS = 3
PROFILE_N = 2_000
CHUNK = 500  # applicants per turn when two paths are timed in alternation
GAUGE_LOOPS = 300_000  # the machine gauge's loop (13-24 ms on the development VM)
TARGET_PER_S = 2_000

# --------------------------------------------------------------------------- the workload

_IN_FORCE = _dt.date(2025, 4, 30)
#: The benchmark measures measure nine alone (the first shipped document), so that its figures
#: compare across versions and with the reference, which implements measure nine only.
POLICY = taian_titles.default_ruleset().policy
_DIRECTIONS = list(POLICY.directions)
_OTHER_WORK = ["会计", "机械设计", "土木工程", "市场营销", "软件开发"]
_OTHER_PROGRAMMES = ["专项职业能力证书", "人工智能训练师职业技能等级认定", "CCF软件能力认证"]
_EMPLOYERS = ["泰安某科技有限公司", "山东某数据服务有限公司", "泰山区某制造企业", "肥城市某工业互联网平台"]
_OCCUPATIONS = ["人工智能训练师", "工业互联网运维员", "数据标注员", "物联网安装调试员", "电工", "焊工", "车工"]
_SPECIALITIES = ["计算机应用", "软件工程", "网络工程", "机械设计制造", "会计", "电子信息"]
_ACHIEVEMENTS = ["省级科学技术进步奖二等奖（第一完成人）", "主持国家重点研发计划课题", "获授权发明专利2项",
                 "主导企业数字化转型项目，年增效500万元", "山东省技术能手"]


def _day(rng: random.Random, first: _dt.date, last: _dt.date) -> _dt.date:
    return first + _dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def generate_applicant(rng: random.Random, index: int) -> dict[str, Any]:
    """One exchange-format applicant: a realistic mix of what measure nine looks at.

    0-3 certificates (both kinds, every allowed level, now and then revoked, of another
    programme, spelt in English, or issued after ``as_of``), 0-3 work periods (ongoing and
    finished, mostly in the certificates' directions, some non-digital, some reaching past
    ``as_of``), 0-2 skill levels, 0-2 titles, 0-2 achievements.  About 5% are evaluated
    before measure nine took effect.
    """
    as_of = _IN_FORCE + _dt.timedelta(days=rng.randint(-30, 600))
    later = as_of + _dt.timedelta(days=120)
    mine = rng.sample(_DIRECTIONS, 2)  # the applicant's own directions
    record: dict[str, Any] = {"id": f"B-{index:06d}", "as_of": as_of.isoformat()}

    certificates = []
    for j in range(rng.randint(0, 3)):
        kind = rng.choice(("professional_level", "training"))
        level = rng.choice(("junior", "intermediate", "senior") if kind == "professional_level"
                           else ("junior", "intermediate"))
        direction = rng.choice(mine) if rng.random() < 0.8 else rng.choice(_DIRECTIONS)
        if rng.random() < 0.1:
            direction = POLICY.labels[direction][1]  # another accepted spelling
        programme = DTE_PROGRAMME if rng.random() < 0.9 else rng.choice(_OTHER_PROGRAMMES)
        cert = {"number": f"DTE-{index:06d}-{j}", "programme": programme, "kind": kind, "level": level,
                "direction": direction, "issued_on": _day(rng, _dt.date(2021, 6, 1), later).isoformat()}
        roll = rng.random()
        if roll < 0.08:
            cert["revoked"] = True
        elif roll < 0.5:
            cert["revoked"] = False
        certificates.append(cert)
    if certificates or rng.random() < 0.5:
        record["certificates"] = certificates

    periods = []
    for _ in range(rng.randint(0, 3)):
        roll = rng.random()
        direction = (rng.choice(mine) if roll < 0.7 else rng.choice(_DIRECTIONS) if roll < 0.85
                     else rng.choice(_OTHER_WORK))
        start = _day(rng, _dt.date(2015, 1, 1), as_of + _dt.timedelta(days=60))
        period: dict[str, Any] = {"start": start.isoformat(),
                                  "kind": "professional_technical" if rng.random() < 0.75 else "skilled",
                                  "direction": direction}
        roll = rng.random()
        if roll < 0.2:
            period["end"] = None
        elif roll < 0.6:
            period["end"] = (start + _dt.timedelta(days=rng.randint(0, 2_500))).isoformat()
        # else: no "end" key, ongoing
        if rng.random() < 0.5:
            period["employer"] = rng.choice(_EMPLOYERS)
        periods.append(period)
    if periods:
        record["work_periods"] = periods

    skills = []
    for _ in range(rng.randint(0, 2)):
        skill: dict[str, Any] = {"level": rng.choice([s.code for s in SkillLevel]), "digital": rng.random() < 0.6}
        if rng.random() < 0.7:
            skill["occupation"] = rng.choice(_OCCUPATIONS)
        if rng.random() < 0.8:
            skill["issued_on"] = _day(rng, _dt.date(2015, 1, 1), later).isoformat()
        skills.append(skill)
    if skills:
        record["skill_levels"] = skills

    titles = []
    for _ in range(rng.randint(0, 2)):
        title: dict[str, Any] = {"level": rng.choice(("junior", "intermediate", "senior")),
                                 "digital": rng.random() < 0.5}
        if rng.random() < 0.7:
            title["speciality"] = rng.choice(_SPECIALITIES)
        titles.append(title)
    if titles:
        record["titles"] = titles

    achievements = []
    for _ in range(rng.randint(0, 2)):
        achievement: dict[str, Any] = {"description": rng.choice(_ACHIEVEMENTS)}
        if rng.random() < 0.8:
            achievement["date"] = _day(rng, _dt.date(2019, 1, 1), later).isoformat()
        achievements.append(achievement)
    if achievements:
        record["achievements"] = achievements
    return record


def generate_applicants(n: int = N_APPLICANTS, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``n`` applicants as exchange dicts, the same ones for the same seed (lazily)."""
    rng = random.Random(seed)
    for index in range(n):
        yield generate_applicant(rng, index)


# --------------------------------------------------------------------------- measuring

def _rss_kib() -> int:
    """Current resident set size in KiB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return _maxrss_kib()


def _maxrss_kib() -> int:
    """Peak resident set size so far, from getrusage (KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _drive_engine(records: Iterable[Any]) -> int:
    """Consume ``evaluate_many``, rendering each decision; returns the number of errors."""
    errors = 0
    for result in taian_titles.evaluate_many(records, policy=POLICY):
        if isinstance(result, taian_titles.BatchError):
            errors += 1
        result.to_dict()
    return errors


def _drive_reference(records: Iterable[Any], ref: _reference.Reference) -> int:
    for _ in _reference.reference_many(records, ref):
        pass
    return 0


def machine_gauge(loops: int = GAUGE_LOOPS) -> float:
    """Milliseconds that a fixed pure-Python loop takes now: the machine's speed at this moment.

    On a shared VM the same code can run at very different speeds minutes apart: on the
    development VM, 150 gauges taken over 45 s gave 13 to 24 ms, clustered at about 14 and about
    21 ms, with no steal time reported; a run's time means something only beside its gauges."""
    start = time.perf_counter()
    total = 0
    for j in range(loops):
        total += j & 7
    return (time.perf_counter() - start) * 1000


def _timed(fn: Callable[[], Any], runs: int = RUNS) -> tuple[float, list[float], list[tuple[float, float]]]:
    """(median seconds, seconds of each run, machine gauge in ms before and after each run)."""
    times, gauges = [], []
    for _ in range(runs):
        gc.collect()
        before = machine_gauge()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        gauges.append((before, machine_gauge()))
    return statistics.median(times), times, gauges


def _alternating(first: Callable[[list[Any]], Any], second: Callable[[list[Any]], Any],
                 records: list[Any], chunk: int = CHUNK) -> tuple[float, float]:
    """Seconds each path takes over ``records``, timed in turns of ``chunk`` applicants (first
    then second, then second then first, ...), so that a change of machine speed (on a shared
    VM, by half as much again within seconds; see :func:`machine_gauge`) reaches both alike
    and leaves their ratio."""
    spent = [0.0, 0.0]
    paths = ((0, first), (1, second))
    gc.collect()
    for turn, start in enumerate(range(0, len(records), chunk)):
        part = records[start:start + chunk]
        for which, fn in (paths if turn % 2 == 0 else paths[::-1]):
            began = time.perf_counter()
            fn(part)
            spent[which] += time.perf_counter() - began
    return spent[0], spent[1]


def _row(name: str, value: Any, unit: str = "", note: str = "", **extra: Any) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "note": note, **extra}


def _codes(result: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(o["code"] for o in result["outcomes"])


def agreement(records: list[Any], ref: _reference.Reference) -> dict[str, Any]:
    """Engine vs reference on every record: outcome codes, and the whole result."""
    code_diffs: list[str] = []
    whole_diffs: list[str] = []
    parts = ("outcomes", "not_met", "highest_recognized_title", "notes")
    part_diffs = {p: 0 for p in parts}
    counts: dict[str, int] = {}
    for record, decision, expected in zip(records, taian_titles.evaluate_many(records, policy=POLICY),
                                          _reference.reference_many(records, ref)):
        got = decision.to_dict()
        for code in _codes(got):
            counts[code] = counts.get(code, 0) + 1
        for n in got["not_met"]:
            counts["not_met:" + n["code"]] = counts.get("not_met:" + n["code"], 0) + 1
        if _codes(got) != _codes(expected):
            code_diffs.append(f"{got['id']}: engine {list(_codes(got))} reference {list(_codes(expected))}")
        if got != expected:
            differing = [p for p in parts if got[p] != expected[p]]
            for p in differing:
                part_diffs[p] += 1
            whole_diffs.append(f"{got['id']}: differs in {', '.join(differing)}")
    return {"n": len(records), "code_diffs": code_diffs, "whole_diffs": whole_diffs,
            "part_diffs": part_diffs, "counts": counts}


def _reload_growth(loads: int) -> int:
    """Bytes of RSS gained over ``loads`` load-use-drop cycles of an edited ruleset file."""
    import json
    import tempfile

    from taian_titles.ruleset import default_ruleset_path

    text = default_ruleset_path().read_text("utf-8")
    root = Path(__file__).resolve().parent.parent
    record = json.loads((root / "examples" / "applicant-a0001.json").read_text("utf-8"))
    lists = json.loads((root / "examples" / "city-2025.json").read_text("utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        def once(n: int) -> None:
            path = Path(folder) / f"edited-{n}.toml"
            path.write_text(text.replace("value = 3\n", f"value = {3 + n % 5}\n", 1), encoding="utf-8")
            policy = taian_titles.load_policy(path)
            taian_titles.evaluate(record, policy=policy).to_dict()
            taian_titles.city_report(lists, policy=policy)

        for n in range(5):
            once(n)
        gc.collect()
        before = _rss_kib()
        for n in range(loads):
            once(n)
        gc.collect()
        return (_rss_kib() - before) * 1024


def _memory_flatness(total: int, every: int) -> list[tuple[int, int, int]]:
    """(evaluations, current RSS KiB, peak RSS KiB) every ``every`` evaluations of a stream."""
    points = [(0, _rss_kib(), _maxrss_kib())]
    done = 0
    for result in taian_titles.evaluate_many(generate_applicants(total, SEED + 1), policy=POLICY):
        result.to_dict()
        done += 1
        if done % every == 0:
            gc.collect()
            points.append((done, _rss_kib(), _maxrss_kib()))
    return points


def _category(key: tuple[str, int, str]) -> str:
    """Where a function's own time belongs: a taian_titles module, cattrs/attrs, json, the C core."""
    filename, _, func = key
    if "durable_rules_engine" in func:
        return "durable C core (durable_rules_engine.*)"
    if filename.startswith("<cattrs generated") or filename.startswith("<attrs generated"):
        return "cattrs/attrs generated code (structure hooks, __init__)"
    if "/cattrs/" in filename or "/attr/" in filename or "/attrs/" in filename:
        return "cattrs/attrs library"
    if "taian_titles" in filename:
        return "taian_titles." + Path(filename).stem
    if "/json/" in filename or "_json" in func or "json" in func:
        return "json (encode/decode)"
    if "benchmarks" in filename:
        return "benchmark driver"
    if filename == "~":
        return "builtins (str/dict/list/date methods, isinstance, ...)"
    return "stdlib in Python (re, enum, datetime, functools, ...)"


def profile(records: list[Any]) -> tuple[list[str], list[str], dict[str, float], float]:
    """cProfile of evaluating ``records``: top 15 by cumulative and by own time, own time by category."""
    profiler = cProfile.Profile()
    profiler.enable()
    _drive_engine(records)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.strip_dirs().sort_stats("cumulative").print_stats(15)
    lines = [line.rstrip() for line in stream.getvalue().splitlines()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    top = [line for line in lines[start:] if line.strip()]
    stream = io.StringIO()
    stats.stream = stream  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(15)
    lines = [line.rstrip() for line in stream.getvalue().splitlines()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    own = [line for line in lines[start:] if line.strip()]
    raw = pstats.Stats(profiler)
    by_category: dict[str, float] = {}
    total = 0.0
    for key, (_cc, _nc, tottime, _ct, _callers) in raw.stats.items():  # type: ignore[attr-defined]
        by_category[_category(key)] = by_category.get(_category(key), 0.0) + tottime
        total += tottime
    return top, own, dict(sorted(by_category.items(), key=lambda kv: -kv[1])), total


def stage_breakdown(records: list[Any]) -> dict[str, float]:
    """µs per applicant in each step of ``evaluate`` (the same calls, timed one by one)."""
    from taian_titles.decision import build_decision
    from taian_titles.exchange import applicant_from_dict
    from taian_titles.facts import applicant_facts

    policy = POLICY
    engine = policy.engine
    spent = {"structure (cattrs)": 0.0, "facts (incl. worktime)": 0.0, "engine run (C core + json + actions)": 0.0,
             "build decision (explanations)": 0.0, "to_dict": 0.0}
    clock = time.perf_counter
    for record in records:
        t0 = clock()
        applicant = applicant_from_dict(record)
        t1 = clock()
        day = applicant.as_of or _dt.date.today()
        facts = applicant_facts(policy.prepare(applicant), day, policy.counts)
        t2 = clock()
        firings = engine.run(facts)
        t3 = clock()
        decision = build_decision(applicant.id, day, firings, policy)
        t4 = clock()
        decision.to_dict()
        t5 = clock()
        for key, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            spent[key] += dt
    return {key: value / len(records) * 1e6 for key, value in spent.items()}


# --------------------------------------------------------------------------- the benchmark

def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every measurement as rows (name, value, unit, note); ``options["long"]`` for 100,000."""
    options = dict(options or {})
    long_run = bool(options.get("long"))
    say = options.get("progress") or (lambda message: None)
    n = int(options.get("n", N_APPLICANTS))
    rows: list[dict[str, Any]] = []

    say(f"generating {n:,} applicants (seed {SEED})")
    records = list(generate_applicants(n))
    ruleset = default_ruleset()
    POLICY.engine  # compiled once, outside the measurement
    ref = _reference.Reference(ruleset)
    say("structuring them into model objects (for the model-object variant)")
    models = [taian_titles.applicant_from_dict(r) for r in records]

    # Agreement first: it doubles as a warm-up of both paths.
    say("agreement: engine vs plain-Python reference on every applicant")
    agree = agreement(records, ref)
    code_ok = not agree["code_diffs"]
    rows.append(_row("agreement: outcome codes", f"{n - len(agree['code_diffs'])}/{n}", "applicants",
                     "engine and reference give the same outcome codes (asserted: a difference fails the run)",
                     ok=code_ok, detail=agree["code_diffs"][:20]))
    whole = agree["part_diffs"]
    rows.append(_row("agreement: whole result", f"{n - len(agree['whole_diffs'])}/{n}", "applicants",
                     "outcomes+basis+explanations, not_met, highest title, notes identical; differing: "
                     + ", ".join(f"{k} {v}" for k, v in whole.items()),
                     detail=agree["whole_diffs"][:10]))
    mix = ", ".join(f"{k} {v}" for k, v in sorted(agree["counts"].items(), key=lambda kv: -kv[1]))
    rows.append(_row("workload mix", n, "applicants", f"seed {SEED}; results: {mix}"))

    # Throughput, median of 3.
    rss_before, maxrss_before = _rss_kib(), _maxrss_kib()
    say(f"engine, exchange dicts: {RUNS} runs of {n:,}")
    errors = _drive_engine(records[:10])
    engine_dicts, dict_times, dict_gauges = _timed(lambda: _drive_engine(records))
    rss_after, maxrss_after = _rss_kib(), _maxrss_kib()
    say(f"engine, model objects: {RUNS} runs of {n:,}")
    engine_models, model_times, model_gauges = _timed(lambda: _drive_engine(models))
    say(f"reference, exchange dicts: {RUNS} runs of {n:,}")
    ref_dicts, ref_dict_times, ref_dict_gauges = _timed(lambda: _drive_reference(records, ref))
    say(f"reference, model objects: {RUNS} runs of {n:,}")
    ref_models, ref_model_times, ref_model_gauges = _timed(lambda: _drive_reference(models, ref))
    say(f"ratio: engine and reference in alternating chunks of {CHUNK}, dicts then models")
    engine_alt_dicts, ref_alt_dicts = _alternating(_drive_engine, lambda part: _drive_reference(part, ref), records)
    engine_alt_models, ref_alt_models = _alternating(_drive_engine, lambda part: _drive_reference(part, ref), models)

    def runs_note(times: list[float], gauges: list[tuple[float, float]]) -> str:
        return "runs: " + ", ".join(f"{t:.2f} s (gauge {a:.0f}/{b:.0f} ms)" for t, (a, b) in zip(times, gauges))

    rate = n / engine_dicts
    all_gauges = [g for pairs in (dict_gauges, model_gauges, ref_dict_gauges, ref_model_gauges)
                  for pair in pairs for g in pair]
    rows += [
        _row("engine, exchange dicts", round(rate), "applicants/s",
             f"evaluate_many + to_dict, median of {RUNS}; target >= {TARGET_PER_S:,}/s; "
             f"{runs_note(dict_times, dict_gauges)}",
             ok_target=rate >= TARGET_PER_S),
        _row("engine, exchange dicts", round(engine_dicts / n * 1e6), "µs/applicant"),
        _row("machine gauge", f"{min(all_gauges):.0f}-{max(all_gauges):.0f}", "ms",
             f"a pure-Python loop of {GAUGE_LOOPS:,} additions, timed before and after every timed run "
             "(each run's pair is shown beside it): a shared VM's speed drifts, so compare figures only "
             "between runs of similar gauges"),
        _row("engine, model objects", round(n / engine_models), "applicants/s",
             f"structured beforehand; {runs_note(model_times, model_gauges)}"),
        _row("engine, model objects", round(engine_models / n * 1e6), "µs/applicant"),
        _row("reference, exchange dicts", round(n / ref_dicts), "applicants/s",
             f"plain Python, same rules, same cattrs structuring; {runs_note(ref_dict_times, ref_dict_gauges)}"),
        _row("reference, exchange dicts", round(ref_dicts / n * 1e6), "µs/applicant"),
        _row("reference, model objects", round(n / ref_models), "applicants/s", runs_note(ref_model_times, ref_model_gauges)),
        _row("reference, model objects", round(ref_models / n * 1e6), "µs/applicant"),
        _row("ratio engine/reference, dicts", round(ref_alt_dicts / engine_alt_dicts, 3), "×",
             f"engine applicants/s ÷ reference applicants/s (engine {engine_alt_dicts / ref_alt_dicts:.1f}× "
             f"slower), both timed in alternating chunks of {CHUNK}: engine {n / engine_alt_dicts:,.0f}/s, "
             f"reference {n / ref_alt_dicts:,.0f}/s"),
        _row("ratio engine/reference, models", round(ref_alt_models / engine_alt_models, 3), "×",
             f"engine {engine_alt_models / ref_alt_models:.1f}× slower, in alternating chunks: engine "
             f"{n / engine_alt_models:,.0f}/s, reference {n / ref_alt_models:,.0f}/s"),
        _row("batch errors", errors, "records", "generated input is valid: expected 0"),
    ]

    # Where the time goes, without profiler overhead.
    sample = records[:PROFILE_N]
    say(f"stage breakdown on {len(sample):,}")
    try:
        for stage, micros in stage_breakdown(sample).items():
            rows.append(_row(f"step: {stage}", round(micros), "µs/applicant",
                             f"{len(sample):,} applicants, no profiler"))
    except Exception as exc:  # the library's internals moved: report, measure the rest
        rows.append(_row("step breakdown", "n/a", "", f"could not replicate evaluate() step by step: {exc!r}"))

    # Memory.
    say(f"tracemalloc peak over {n:,}")
    gc.collect()
    tracemalloc.start()
    _drive_engine(records)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows += [
        _row("tracemalloc peak during a run", round(peak / 1024), "KiB",
             f"Python allocations of one {n:,} run (inputs allocated before); still held after: "
             f"{round(current / 1024)} KiB"),
        _row("RSS before / after timed runs", f"{rss_before} / {rss_after}", "KiB",
             f"current RSS (/proc) around the {RUNS} dict runs; getrusage ru_maxrss "
             f"{maxrss_before} / {maxrss_after} KiB"),
        _row("live engine sessions after runs", POLICY.engine.live_sessions, "sessions", "must be 0"),
    ]

    every = n  # 10,000 by default: RSS at 10k, 20k, 30k (100k with --long)
    total = every * (10 if long_run else 3)
    say(f"memory flatness: {total:,} evaluations, RSS every {every:,}")
    models.clear()  # free them before the flatness run
    gc.collect()
    points = _memory_flatness(total, every)
    base = points[1][1]
    growth = points[-1][1] - base
    rows.append(_row(f"RSS growth {every:,} -> {total:,} evaluations", growth, "KiB",
                     "flat means within noise (a few hundred KiB); current RSS at each point: "
                     + ", ".join(f"{k:,}: {rss}" for k, rss, _ in points[1:]) + " KiB; ru_maxrss at the end "
                     + f"{points[-1][2]} KiB" + ("" if long_run else "; --long runs 10x"),
                     ok_flat=abs(growth) < 4096))

    say("policy reloads: 100 edited rulesets loaded, used and dropped")
    grown = _reload_growth(100)
    rows.append(_row("RSS growth over 100 policy reloads", round(grown / 1024), "KiB",
                     "each load_policy of an edited ruleset file, one applicant and the city example "
                     "evaluated with it, then dropped; target < 50 MB in all (a policy frees everything "
                     "when dropped)", ok_reloads=grown < 50 * 2**20))

    say(f"cProfile of {PROFILE_N:,} evaluations")
    top, own, categories, total_own = profile(sample)
    rows.append(_row("profile: own time by category", round(total_own, 2), "s",
                     f"cProfile of {len(sample):,} evaluations (profiler overhead inflates Python-heavy code)",
                     detail=[f"{share / total_own:6.1%}  {share:6.2f} s  {name}"
                             for name, share in categories.items()]))
    rows.append(_row("profile: top 15 by cumulative time", len(sample), "evaluations", "", detail=top))
    rows.append(_row("profile: top 15 by own time", len(sample), "evaluations", "", detail=own))
    return rows


if __name__ == "__main__":  # python benchmarks/bench_evaluate.py [--long]
    import run as _runner

    sys.exit(_runner.main(["--only", "evaluate", *sys.argv[1:]]))
