"""Costs at the limits: a recommendation list and an applicant as large as the library accepts.

Issue 19 found quadratic costs in both (4,000 identical candidate ids: 11 s and 3.87 GB; 10,000
certificates with 3,000 work periods: 293 s).  These rows time, through the API, a list of
10,000 candidates (the limit of ``candidates``) against one of 1,000, the refusal of a list of
100,000, an applicant with 6,000 certificates, work periods and titles (lists no rule pairs)
against one with 600, and an applicant at every list's limit against one at a tenth of each (the
rules pair talents with achievements and skill levels with each other: quadratic, bounded by the
limits).  Each pair is timed in turns (small,
large, large, small) and the ratio is of the sums, since the machine's speed drifts.
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


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    say = (options or {}).get("progress") or (lambda message: None)
    rows: list[dict[str, Any]] = []
    limit = ITEMS["candidates"]

    say("limits: quota lists")
    small, large, same = quota_list(limit // 10), quota_list(limit), quota_list(limit, identical=True)
    taian_titles.check_quota(small)
    t_small, t_large = _turns(lambda: taian_titles.check_quota(small), lambda: taian_titles.check_quota(large))
    t_same = _seconds(lambda: taian_titles.check_quota(same))
    peak = _peak(lambda: taian_titles.check_quota(large))
    rows.append({"name": f"quota list of {limit:,} candidates", "value": round(t_large * 1000), "unit": "ms",
                 "note": f"check_quota from a dict, the limit; {limit // 10:,} candidates {t_small * 1000:.0f} ms: "
                         f"ratio {t_large / t_small:.1f} for 10x the candidates; {limit:,} identical ids "
                         f"{t_same * 1000:.0f} ms; tracemalloc peak {peak / 2**20:.1f} MiB",
                 "ok_linear": t_large / t_small < 20})
    hundred = quota_list(10 * limit)
    t_refused = _seconds(lambda: _refused(lambda: taian_titles.check_quota(hundred)))
    rows.append({"name": f"quota list of {10 * limit:,} candidates", "value": round(t_refused * 1000, 2), "unit": "ms",
                 "note": "refused (too_many_items, naming candidates and the limit) before the engine sees it",
                 "ok": _refused(lambda: taian_titles.check_quota(hundred))})

    say("limits: an applicant with many items")
    # Certificates, work periods and titles pair with nothing: 10x the items, about 10x the time.
    linear = ("certificates", "work_periods", "titles")
    small_record, large_record = applicant(200, linear), applicant(2000, linear)
    saved = dict(ITEMS)
    ITEMS.update({name: 2000 for name in linear})  # past the limits, to see how the cost grows
    try:
        taian_titles.evaluate(small_record)
        t_small, t_large = _turns(lambda: taian_titles.evaluate(small_record),
                                  lambda: taian_titles.evaluate(large_record))
    finally:
        ITEMS.update(saved)
    rows.append({"name": "applicant with 6,000 items (no pairs)", "value": round(t_large, 2), "unit": "s",
                 "note": f"2,000 certificates, work periods and titles each (10x their limits, raised for this "
                         f"row); 600 items {t_small:.2f} s: ratio {t_large / t_small:.1f} "
                         "for 10x the items (the core's indexes grow a little faster than the facts)",
                 "ok_near_linear": t_large / t_small < 30})
    # Every list at its limit: the pairs the rules make (talents x achievements, skill levels x skill
    # levels) are what the limits bound.
    full = applicant(max(v for k, v in ITEMS.items() if k != "candidates"))
    for name in LISTS:
        full[name] = full[name][:ITEMS[name]]
    tenth = {**full, **{name: full[name][:ITEMS[name] // 10] for name in LISTS}}
    taian_titles.evaluate(tenth)
    t_tenth, t_full = _turns(lambda: taian_titles.evaluate(tenth), lambda: taian_titles.evaluate(full))
    items = sum(ITEMS[name] for name in LISTS)
    rows.append({"name": f"applicant at every list's limit ({items} items)", "value": round(t_full, 2), "unit": "s",
                 "note": f"the default policy (measure nine and the crossover); a tenth of each {t_tenth:.3f} s: "
                         f"ratio {t_full / t_tenth:.0f} (quadratic in the paired lists, bounded by their limits)",
                 "ok_bounded": t_full < 10})
    return rows


if __name__ == "__main__":
    for row in run({"progress": print}):
        print(row)
