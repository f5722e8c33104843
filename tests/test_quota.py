"""M9-4 (decision 10): the 20% digital share of a recommendation list, and the city report.

The expected numbers are worked out by hand in each test from the quota p = 1/5:
a list of n with d digital candidates meets it when 5·d >= n; adding x digital candidates
meets it when 5·(d + x) >= n + x; swapping y non-digital ones when 5·(d + y) >= n.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taian_titles.errors import InputError, RulesetError
from taian_titles.facts import add_digital_needed, percent_text, required_digital, swap_digital_needed
from taian_titles.model import Candidate, RecommendationList, SkillLevel
from taian_titles.render import quota_table_text
from taian_titles import CityReport, QuotaError, QuotaResult, check_quota, city_report
from taian_titles.ruleset import default_ruleset, default_ruleset_path, parse_ruleset

ROOT = Path(__file__).resolve().parent.parent
CITY = ROOT / "examples" / "city-2025.json"
TAIAN_UNITS = {"泰山区", "岱岳区", "新泰市", "肥城市", "宁阳县", "东平县", "泰安高新区", "泰山景区", "徂汶景区"}


def make_list(total: int, digital: int, *, unit: str = "泰山区", level: str = "technician",
              as_of: str = "2025-09-01") -> dict:
    """An exchange-format list: the first ``digital`` candidates are digital, ids unique."""
    return {"unit": unit, "as_of": as_of,
            "candidates": [{"id": f"C-{i + 1:02d}", "skill_level": level, "digital": i < digital}
                           for i in range(total)]}


def ruleset_with_quota(share: str):
    """The shipped ruleset with quota_share edited, as an HR office would edit the file."""
    text = default_ruleset_path().read_text(encoding="utf-8")
    old = 'value = "20%"\ntype = "share"'
    assert text.count(old) == 1
    return parse_ruleset(text.replace(old, f'value = "{share}"\ntype = "share"').encode("utf-8"), "test")


# --------------------------------------------------------------------------- the boundary cases

@pytest.mark.parametrize("total, digital", [(15, 3), (35, 7), (45, 9)])
def test_exactly_twenty_percent_meets_the_quota(total: int, digital: int) -> None:
    # d/n = 1/5 exactly: "不低于20%" includes 20%, so nothing needs to change.
    result = check_quota(make_list(total, digital))
    assert result.meets_quota is True
    assert (result.total, result.digital) == (total, digital)
    assert result.share == Fraction(1, 5)
    assert result.add_digital_needed == 0 and result.swap_needed == 0
    out = result.to_dict()
    assert out["share"] == "20.00%"
    assert out["code"] == "digital_share_quota" and out["clause"] == "M9-4"
    assert out["findings"] == []
    assert "20.00%" in out["explanation"]["zh"] and "不低于20%" in out["explanation"]["zh"]
    assert "not below 20%" in out["explanation"]["en"]


def test_two_of_fifteen_does_not_meet_and_says_what_to_change() -> None:
    # 2/15 = 13.33%.  A list of 15 needs ceil(15/5) = 3 digital candidates.
    # Swap: 2 + y >= 3 -> y = 1.  Add: 5(2 + x) >= 15 + x -> 4x >= 5 -> x = 2
    # (3 of 16 is 18.75%, still short; 4 of 17 is 23.5%).
    result = check_quota(make_list(15, 2))
    assert result.meets_quota is False
    assert result.required_digital == 3
    assert result.add_digital_needed == 2
    assert result.swap_needed == 1
    out = result.to_dict()
    assert out["share"] == "13.33%"
    assert out["meets_quota"] is False
    assert "再增加2名" in out["explanation"]["zh"] and "将1名计入的非数字领域人选替换" in out["explanation"]["zh"]
    assert "add 2 more" in out["explanation"]["en"] and "replace 1 counted non-digital" in out["explanation"]["en"]


def test_the_numbers_it_names_are_enough() -> None:
    # Following the advice of the 2-of-15 result either way meets the quota.
    assert check_quota(make_list(17, 4)).meets_quota is True   # 2 added
    assert check_quota(make_list(16, 3)).meets_quota is False  # only 1 added
    assert check_quota(make_list(15, 3)).meets_quota is True   # 1 swapped


def test_a_list_without_any_digital_candidate() -> None:
    # 0 of 5: needs 1; swap 1; add: 5x >= 5 + x -> x = 2 (1 of 6 is 16.67%).
    result = check_quota(make_list(5, 0))
    assert (result.meets_quota, result.add_digital_needed, result.swap_needed) == (False, 2, 1)
    assert result.to_dict()["share"] == "0.00%"


def test_one_candidate_lists() -> None:
    assert check_quota(make_list(1, 1)).meets_quota is True
    # 0 of 1: swap the one; add: 5x >= 1 + x -> x = 1 (1 of 2 is 50%).
    lonely = check_quota(make_list(1, 0))
    assert (lonely.meets_quota, lonely.add_digital_needed, lonely.swap_needed) == (False, 1, 1)


def test_share_is_rounded_half_up_exactly() -> None:
    assert percent_text(Fraction(1, 6)) == "16.67%"
    assert percent_text(Fraction(2, 3)) == "66.67%"
    assert percent_text(Fraction(1, 3)) == "33.33%"
    # 1/800 = 0.125% exactly; half-up gives 0.13% (binary floating point prints 0.12%).
    assert percent_text(Fraction(1, 800)) == "0.13%"
    assert percent_text(Fraction(1, 5), trim=True) == "20%"
    assert percent_text(Fraction(1, 3), trim=True) == "33.33%"
    assert check_quota(make_list(6, 1)).to_dict()["share"] == "16.67%"


# --------------------------------------------------------------------------- bad input

def test_an_empty_list_is_bad_input_naming_candidates() -> None:
    with pytest.raises(InputError) as exc:
        check_quota({"unit": "泰山区", "as_of": "2025-09-01", "candidates": []})
    assert exc.value.path == "candidates"
    assert "at least one candidate" in str(exc.value)


def test_an_empty_model_list_is_bad_input_too() -> None:
    with pytest.raises(InputError) as exc:
        check_quota(RecommendationList(unit="泰山区", candidates=()))
    assert exc.value.path == "candidates"


def test_an_unknown_skill_level_names_its_place() -> None:
    bad = make_list(3, 1)
    bad["candidates"][2]["skill_level"] = "grandmaster"
    with pytest.raises(InputError) as exc:
        check_quota(bad)
    assert "candidates[2].skill_level" in str(exc.value)


def test_a_bad_as_of_is_named() -> None:
    with pytest.raises(InputError) as exc:
        check_quota(make_list(5, 1), as_of="2025-13-01")
    assert exc.value.path == "as_of"


# --------------------------------------------------------------------------- findings

def test_a_candidate_below_senior_worker_is_a_finding() -> None:
    rec = make_list(5, 1)
    rec["candidates"][3]["skill_level"] = "intermediate_worker"  # 中级工, below 高级工
    rec["candidates"][4]["skill_level"] = "senior_worker"        # 高级工 itself is high-skilled
    result = check_quota(rec)
    assert [(f.code, f.candidate, f.positions) for f in result.findings] == [
        ("candidate_not_high_skilled", "C-04", (4,))]
    finding = result.to_dict()["findings"][0]
    assert finding["candidate"] == "C-04"
    assert "中级工" in finding["explanation"]["zh"] and "低于高级工" in finding["explanation"]["zh"]
    assert "below senior worker" in finding["explanation"]["en"]
    # Decision 10: the candidate below 高级工 is counted in neither number (1 of 4 meets 20%).
    assert (result.listed, result.total, result.digital, result.meets_quota) == (5, 4, 1, True)


def test_every_level_below_senior_worker_is_reported_and_none_above() -> None:
    levels = list(SkillLevel)
    rec = {"unit": "岱岳区", "as_of": "2025-09-01",
           "candidates": [{"id": f"L{lv.rank}", "skill_level": lv.code, "digital": True} for lv in levels]}
    flagged = {f.candidate for f in check_quota(rec).findings}
    assert flagged == {"L1", "L2", "L3"}  # 学徒工, 初级工, 中级工


def test_duplicate_ids_are_found_and_counted_once() -> None:
    rec = make_list(6, 1)
    rec["candidates"][4]["id"] = "C-02"
    rec["candidates"][5]["id"] = "C-02"
    result = check_quota(rec)
    dups = [f for f in result.findings if f.code == "duplicate_candidate_id"]
    # C-02 appears at positions 2, 5 and 6: one finding per repeated entry, each naming the first.
    assert [(f.candidate, f.positions) for f in dups] == [("C-02", (2, 5)), ("C-02", (2, 6))]
    assert "第2位和第5位" in dups[0].explanation.zh and "只按第2位计入一次" in dups[0].explanation.zh
    assert "positions 2 and 5" in dups[0].explanation.en
    assert (result.listed, result.total) == (6, 4)  # decision 10: each distinct id once


def test_a_repeated_digital_candidate_does_not_make_a_failing_list_pass() -> None:
    # 15 entries, 3 digital, but one digital candidate listed twice: 2 of 14 (ruleset 1.0 passed it).
    rec = make_list(15, 2)
    rec["candidates"][14] = dict(rec["candidates"][0])  # 3 digital entries as listed: 3 of 15
    result = check_quota(rec)
    assert (result.listed, result.total, result.digital, result.meets_quota) == (15, 14, 2, False)


def test_repeated_entries_that_disagree_are_said_to_and_the_first_counts() -> None:
    rec = make_list(5, 1)
    rec["candidates"][4] = {**rec["candidates"][0], "digital": False}  # C-00 again, said not digital
    result = check_quota(rec)
    (dup,) = [f for f in result.findings if f.code == "duplicate_candidate_id"]
    assert "不一致" in dup.explanation.zh and "disagree" in dup.explanation.en
    assert (result.total, result.digital) == (4, 1)


def test_a_list_in_which_nobody_counts_cannot_be_judged() -> None:
    rec = make_list(3, 1, level="intermediate_worker")
    result = check_quota(rec)
    assert result.meets_quota is None and result.add_digital_needed is None and result.swap_needed is None
    assert (result.listed, result.total, result.digital) == (3, 0, 0)
    assert "no_candidate_counted" in {f.code for f in result.findings}
    assert result.to_dict()["share"] is None


def test_the_high_skilled_level_is_the_ruleset_parameter() -> None:
    text = default_ruleset_path().read_text(encoding="utf-8")
    old = 'value = "senior_worker"\ntype = "skill_level"\nclause = "M9-4"'
    assert text.count(old) == 1
    technician_up = parse_ruleset(text.replace(old, old.replace("senior_worker", "technician")).encode(), "test")
    rec = make_list(5, 1, level="senior_worker")
    assert check_quota(rec).findings == ()
    assert {f.code for f in check_quota(rec, ruleset=technician_up).findings} == {
        "candidate_not_high_skilled", "no_candidate_counted"}
    assert len(check_quota(rec, ruleset=technician_up).findings) == 6


# --------------------------------------------------------------------------- dates and the ruleset

def test_before_measure_nine_no_check_is_made() -> None:
    result = check_quota(make_list(15, 2), as_of="2025-04-29")
    assert result.meets_quota is None and result.add_digital_needed is None and result.swap_needed is None
    assert "印发" in result.explanation.zh and "早于该日" in result.explanation.zh
    assert result.to_dict()["as_of"] == "2025-04-29"
    assert check_quota(make_list(15, 2), as_of=dt.date(2025, 4, 30)).meets_quota is False


def test_as_of_defaults_to_the_lists_own_date() -> None:
    assert check_quota(make_list(3, 1, as_of="2025-06-01")).as_of == dt.date(2025, 6, 1)


def test_editing_the_quota_parameter_changes_the_result() -> None:
    quarter = ruleset_with_quota("25%")
    assert quarter.param("quota_share") == Fraction(1, 4)
    result = check_quota(make_list(15, 3), ruleset=quarter)
    # 3/15 = 20% < 25%.  Needs ceil(15/4) = 4: swap 1; add 4(3 + x) >= 15 + x -> 3x >= 3 -> x = 1.
    assert (result.meets_quota, result.required_digital) == (False, 4)
    assert (result.add_digital_needed, result.swap_needed) == (1, 1)
    assert "低于25%" in result.explanation.zh
    assert result.to_dict()["ruleset"]["digest"] != default_ruleset().digest
    assert check_quota(make_list(15, 3)).meets_quota is True


def test_a_quota_of_one_hundred_percent_can_only_be_met_by_swapping() -> None:
    everyone = ruleset_with_quota("100%")
    result = check_quota(make_list(4, 3), ruleset=everyone)
    assert (result.meets_quota, result.add_digital_needed, result.swap_needed) == (False, None, 1)
    assert result.rules == ("M9-4-not-met-swap-only",)
    assert result.to_dict()["add_digital_needed"] is None
    assert check_quota(make_list(4, 4), ruleset=everyone).meets_quota is True


def test_a_quota_rule_must_state_its_verdict() -> None:
    text = default_ruleset_path().read_text(encoding="utf-8")
    old = 'then = { quota = "digital_share_quota", basis = ["s"], set = { meets_quota = true, '
    assert text.count(old) == 1
    with pytest.raises(RulesetError, match="must say its verdict"):
        parse_ruleset(text.replace(old, 'then = { quota = "digital_share_quota", basis = ["s"], set = { ').encode(), "t")


def test_the_verdict_comes_from_a_rule() -> None:
    met, not_met = check_quota(make_list(15, 3)), check_quota(make_list(15, 2))
    assert met.rules == ("M9-4-met",) and not_met.rules == ("M9-4-not-met",)


# --------------------------------------------------------------------------- the city report

def test_the_example_city_submission() -> None:
    lists = json.loads(CITY.read_text(encoding="utf-8"))
    report = city_report(lists)
    assert isinstance(report, CityReport)
    assert {r.unit for r in report.results} == TAIAN_UNITS
    # Each unit meets the quota exactly when 5·digital >= total.
    for raw, result in zip(lists, report.results):
        assert isinstance(result, QuotaResult)
        total = len(raw["candidates"])
        digital = sum(1 for c in raw["candidates"] if c["digital"])
        assert result.unit == raw["unit"]
        assert result.meets_quota is (5 * digital >= total)
    meeting = sum(1 for r in report.results if r.meets_quota)
    assert 0 < meeting < len(TAIAN_UNITS)  # some meet, some do not
    assert report.to_dict()["summary"] == {"units": 9, "meeting": meeting, "not_meeting": 9 - meeting,
                                           "errors": 0, "not_evaluated": 0}
    assert any(r.findings for r in report.checked)
    text_zh, text_en = quota_table_text(report, "zh"), quota_table_text(report, "en")
    assert text_zh.rstrip().endswith(f"9 个单位中 {meeting} 个达到20%要求")
    assert text_en.rstrip().endswith(f"{meeting} of 9 units meet the 20% quota")
    for unit in TAIAN_UNITS:
        assert unit in text_zh and unit in text_en
    json.loads(json.dumps(report.to_dict(), ensure_ascii=False))  # plain JSON


def test_a_bad_list_does_not_stop_the_others() -> None:
    report = city_report([make_list(15, 3, unit="泰山区"),
                          {"unit": "岱岳区", "as_of": "2025-09-01", "candidates": []},
                          make_list(15, 2, unit="新泰市")])
    first, bad, last = report.results
    assert first.meets_quota is True and last.meets_quota is False
    assert isinstance(bad, QuotaError) and bad.unit == "岱岳区" and bad.error.path == "candidates"
    assert report.to_dict()["units"][1]["error"]["path"] == "candidates"
    assert report.summary() == {"units": 3, "meeting": 1, "not_meeting": 1, "errors": 1, "not_evaluated": 0}
    assert "岱岳区" in quota_table_text(report) and "名单有误" in quota_table_text(report)
    assert "1 could not be checked" in quota_table_text(report, "en")


def test_the_text_table_lines_up() -> None:
    report = city_report([make_list(15, 3, unit="泰山区"), make_list(8, 3, unit="泰安高新区")])
    lines = quota_table_text(report, "zh").splitlines()
    # Chinese characters take two columns: every row of the table is equally wide.
    from taian_titles.render import _width
    assert len({_width(line) for line in lines[:4]}) == 1


def test_a_city_report_wants_an_array() -> None:
    with pytest.raises(InputError, match="array"):
        city_report(make_list(3, 1))


# --------------------------------------------------------------------------- properties

levels = st.sampled_from([lv.code for lv in SkillLevel])


@st.composite
def recommendation_lists(draw: st.DrawFn, max_size: int = 40) -> RecommendationList:
    people = draw(st.lists(st.tuples(levels, st.booleans()), min_size=1, max_size=max_size))
    ids = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]) | st.text("XYZ", min_size=1, max_size=3),
                        min_size=len(people), max_size=len(people)))
    return RecommendationList(unit="泰山区", as_of=dt.date(2025, 9, 1),
                              candidates=tuple(Candidate(id=i, skill_level=lv, digital=dg)
                                               for i, (lv, dg) in zip(ids, people)))


def with_extra_digital(rec: RecommendationList, count: int) -> RecommendationList:
    extra = tuple(Candidate(id=f"new-{i}", skill_level="technician", digital=True) for i in range(count))
    return RecommendationList(unit=rec.unit, as_of=rec.as_of, candidates=rec.candidates + extra)


def counted(rec: RecommendationList) -> list[Candidate]:
    """Decision 10, written out: each distinct id once (its first entry), high-skilled only."""
    first: dict[str, Candidate] = {}
    for c in rec.candidates:
        first.setdefault(c.id, c)
    return [c for c in first.values() if c.skill_level.rank >= SkillLevel.senior_worker.rank]


def with_swapped(rec: RecommendationList, count: int) -> RecommendationList:
    """``count`` counted non-digital candidates made digital (their first entries)."""
    out, left = [], count
    swappable = {id(c) for c in counted(rec) if not c.digital}
    for c in rec.candidates:
        if left and id(c) in swappable:
            c, left = Candidate(id=c.id, skill_level=c.skill_level, digital=True), left - 1
        out.append(c)
    assert left == 0, "not enough non-digital candidates to swap"
    return RecommendationList(unit=rec.unit, as_of=rec.as_of, candidates=tuple(out))


@settings(max_examples=60, deadline=None)
@given(recommendation_lists())
def test_meets_quota_is_the_exact_fraction_comparison(rec: RecommendationList) -> None:
    result = check_quota(rec)
    people = counted(rec)
    assert (result.listed, result.total) == (len(rec.candidates), len(people))
    if not people:  # nobody counts: cannot be judged
        assert result.meets_quota is None and result.add_digital_needed is None and result.swap_needed is None
        return
    digital = sum(c.digital for c in people)
    assert result.digital == digital
    assert result.meets_quota is (Fraction(digital, len(people)) >= Fraction(1, 5))
    assert (result.add_digital_needed == 0) is result.meets_quota
    assert (result.swap_needed == 0) is result.meets_quota


@settings(max_examples=30, deadline=None)
@given(recommendation_lists(max_size=25))
def test_adding_the_named_number_is_enough_and_one_fewer_is_not(rec: RecommendationList) -> None:
    add = check_quota(rec).add_digital_needed
    assert (add is None) is (not counted(rec))
    if add is None:
        return
    assert check_quota(with_extra_digital(rec, add)).meets_quota is True
    if add > 0:
        assert check_quota(with_extra_digital(rec, add - 1)).meets_quota is False


@settings(max_examples=30, deadline=None)
@given(recommendation_lists(max_size=25))
def test_swapping_the_named_number_is_enough_and_one_fewer_is_not(rec: RecommendationList) -> None:
    swap = check_quota(rec).swap_needed
    assert (swap is None) is (not counted(rec))
    if swap is None:
        return
    assert check_quota(with_swapped(rec, swap)).meets_quota is True
    if swap > 0:
        assert check_quota(with_swapped(rec, swap - 1)).meets_quota is False


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_the_result_does_not_depend_on_the_order_of_candidates(data: st.DataObject) -> None:
    rec = data.draw(recommendation_lists(max_size=20))
    # Decision 10: where a repeated id's entries disagree, the first counts, so the order does
    # matter then (and only then).
    seen: dict[str, Candidate] = {}
    for c in rec.candidates:
        if (c.skill_level, c.digital) != (seen.setdefault(c.id, c).skill_level, seen[c.id].digital):
            return
    shuffled = RecommendationList(unit=rec.unit, as_of=rec.as_of,
                                  candidates=tuple(data.draw(st.permutations(rec.candidates))))
    a, b = check_quota(rec).to_dict(), check_quota(shuffled).to_dict()
    # Findings name positions in the list as given; what is found does not change.
    fa, fb = a.pop("findings"), b.pop("findings")
    assert a == b
    assert Counter((f["code"], f["candidate"]) for f in fa) == Counter((f["code"], f["candidate"]) for f in fb)


@settings(max_examples=300)
@given(st.fractions(min_value=0, max_value=1).filter(lambda p: p > 0),
       st.integers(min_value=1, max_value=500), st.data())
def test_the_arithmetic_is_minimal_for_any_quota(quota: Fraction, total: int, data: st.DataObject) -> None:
    digital = data.draw(st.integers(min_value=0, max_value=total))
    def meets(d: int, n: int) -> bool:
        return Fraction(d, n) >= quota
    need = required_digital(total, quota)
    assert meets(need, total) and (need == 0 or not meets(need - 1, total))
    swap = swap_digital_needed(total, digital, quota)
    assert 0 <= swap <= total - digital
    assert meets(digital + swap, total) and (swap == 0 or not meets(digital + swap - 1, total))
    add = add_digital_needed(total, digital, quota)
    if add is None:  # only a quota of 100% cannot be reached by adding
        assert quota == 1 and digital < total
    else:
        assert meets(digital + add, total + add)
        assert add == 0 or not meets(digital + add - 1, total + add - 1)
