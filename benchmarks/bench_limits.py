"""Costs at the limits: a recommendation list and an applicant as large as the library accepts,
and larger.

Issue 19 found quadratic costs in both (4,000 identical candidate ids: 11 s and 3.87 GB; 10,000
certificates with 3,000 work periods: 293 s; the rules paired talents with achievements,
certificates with titles, skill levels with routes).  These rows time, through the API, a list of
100,000 candidates (the limit of ``candidates``: more than one session of the core holds, so
evaluated in parts) against one of 10,000, and 100,000 identical ids; an applicant with 10,000
items (2,000 of each list, ten times the limits, raised for the row) against one with 1,000; and
the one product left, skilled work begun before each of many skill levels, at the limits.  Each
pair is timed in turns (small, large, large, small) and the ratio is of the sums, since the
machine's speed drifts; linear costs give a ratio near 10 for 10x the size.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Mapping

import taian_titles
from taian_titles.limits import ITEMS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BASE: dict[str, Any] = json.loads((EXAMPLES / "applicant-a0001.json").read_text("utf-8"))
LIST: dict[str, Any] = json.loads((EXAMPLES / "city-2025.json").read_text("utf-8"))[0]
LISTS = ("certificates", "work_periods", "skill_levels", "titles", "achievements")


def quota_list(n: int, identical: bool = False) -> dict[str, Any]:
    candidates = [{**LIST["candidates"][i % len(LIST["candidates"])], "id": "C-1" if identical else f"C-{i}"}
                  for i in range(n)]
    return {**LIST, "candidates": candidates}


def applicant(each: int, lists: tuple[str, ...] = LISTS) -> dict[str, Any]:
    record: dict[str, Any] = {"id": f"many-{each}", "as_of": "2025-06-01"}
    for name in lists:
        template = BASE[name][0]
        items = []
        for i in range(each):
            item = dict(template)
            if name == "certificates":
                item["number"] = f"N-{i}"
            elif name == "skill_levels":
                item["occupation"] = f"工种{i}"
            elif name == "titles":
                item["speciality"] = f"专业{i}"
            elif name == "achievements":
                item["description"] = f"业绩{i}"
            elif name == "work_periods":
                item["employer"] = f"单位{i}"
            items.append(item)
        record[name] = items
    return record


def _seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _turns(small: Callable[[], Any], large: Callable[[], Any]) -> tuple[float, float]:
    """Seconds of each, summed over small, large, large, small."""
    a = _seconds(small)
    b = _seconds(large) + _seconds(large)
    a += _seconds(small)
    return a / 2, b / 2


def _peak(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _refused(call: Callable[[], Any]) -> bool:
    try:
        call()
    except taian_titles.InputError as exc:
        return [p.code for p in exc.problems] == ["too_many_items"]
    return False


def crossover_pairs(levels: int, periods: int) -> dict[str, Any]:
    """An applicant with ``levels`` dated digital technicians and ``periods`` skilled periods all
    begun before them: a note for every pair (the product the limits bound)."""
    return {"id": "pairs", "as_of": "2025-06-01",
            "skill_levels": [{"level": "technician", "digital": True, "occupation": f"工种{i}",
                              "issued_on": "2020-01-01"} for i in range(levels)],
            "work_periods": [{"kind": "skilled", "direction": "人工智能", "start": "2010-01-01",
                              "end": "2011-01-01", "employer": f"单位{i}"} for i in range(periods)]}


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    say = (options or {}).get("progress") or (lambda message: None)
    rows: list[dict[str, Any]] = []
    limit = ITEMS["candidates"]

    say("limits: quota lists")
    small, large, same = quota_list(limit // 10), quota_list(limit), quota_list(limit, identical=True)
    taian_titles.check_quota(small)
    t_small, t_large = _turns(lambda: taian_titles.check_quota(small), lambda: taian_titles.check_quota(large))
    t_same = _seconds(lambda: taian_titles.check_quota(same))
    peak_small = _peak(lambda: taian_titles.check_quota(small))
    peak = _peak(lambda: taian_titles.check_quota(large))
    rows.append({"name": f"quota list of {limit:,} candidates", "value": round(t_large * 1000), "unit": "ms",
                 "note": f"check_quota from a dict, the limit, in sessions of 4,096 candidates; "
                         f"{limit // 10:,} candidates {t_small * 1000:.0f} ms: ratio {t_large / t_small:.1f} "
                         f"for 10x the candidates; {limit:,} identical ids {t_same * 1000:.0f} ms; "
                         f"tracemalloc peak {peak / 2**20:.0f} MiB ({peak_small / 2**20:.0f} MiB for "
                         f"{limit // 10:,})",
                 "ok_linear": t_large / t_small < 20})
    past = quota_list(limit + 1)
    rows.append({"name": f"quota list of {limit + 1:,} candidates", "value": round(_seconds(
                     lambda: _refused(lambda: taian_titles.check_quota(past))) * 1000, 2), "unit": "ms",
                 "note": "one past the limit: refused (too_many_items, naming candidates and the limit) "
                         "before the engine sees it",
                 "ok": _refused(lambda: taian_titles.check_quota(past))})

    say("limits: an applicant with many items")
    saved = dict(ITEMS)
    ITEMS.update({name: 2000 for name in LISTS})  # past the limits, to see how the cost grows
    try:
        small_record, large_record = applicant(200), applicant(2000)
        taian_titles.evaluate(small_record)
        t_small, t_large = _turns(lambda: taian_titles.evaluate(small_record),
                                  lambda: taian_titles.evaluate(large_record))
        peak_small = _peak(lambda: taian_titles.evaluate(small_record))
        peak = _peak(lambda: taian_titles.evaluate(large_record))
    finally:
        ITEMS.update(saved)
    rows.append({"name": "applicant with 10,000 items", "value": round(t_large, 2), "unit": "s",
                 "note": f"2,000 certificates, work periods, skill levels, titles and achievements each "
                         f"(10x to 40x their limits, raised for this row); 1,000 items {t_small:.3f} s: "
                         f"ratio {t_large / t_small:.1f} for 10x the items; tracemalloc peak "
                         f"{peak / 2**20:.0f} MiB ({peak_small / 2**20:.1f} MiB for 1,000)",
                 "ok_linear": t_large / t_small < 20})
    full = applicant(max(v for k, v in ITEMS.items() if k != "candidates"))
    for name in LISTS:
        full[name] = full[name][:ITEMS[name]]
    t_full = min(_seconds(lambda: taian_titles.evaluate(full)) for _ in range(3))
    items = sum(ITEMS[name] for name in LISTS)
    rows.append({"name": f"applicant at every list's limit ({items} items)", "value": round(t_full * 1000),
                 "unit": "ms", "note": "the default policy (measure nine and the crossover), best of 3",
                 "ok_bounded": t_full < 2})

    say("limits: the product left (skilled work begun before each skill level)")
    levels, periods = ITEMS["skill_levels"], ITEMS["work_periods"]
    tenth, whole = crossover_pairs(levels // 10, periods), crossover_pairs(levels, periods)
    t_tenth, t_whole = _turns(lambda: taian_titles.evaluate(tenth), lambda: taian_titles.evaluate(whole))
    rows.append({"name": f"{levels} skill levels x {periods} skilled periods begun before them",
                 "value": round(t_whole, 2), "unit": "s",
                 "note": f"{levels * periods:,} notes, one per level and period, at the limits; "
                         f"{levels // 10} levels {t_tenth:.3f} s: ratio {t_whole / t_tenth:.1f} for 10x the levels",
                 "ok_bounded": t_whole < 5})
    return rows


if __name__ == "__main__":
    for row in run({"progress": print}):
        print(row)
