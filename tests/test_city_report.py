"""The city quota report adds up: a 合计 row, the units that sent no list, unit names checked (issue 21).

The recommending units are a ruleset parameter (``recommending_units``, clause M9-4: Taian's
nine); a list from a unit not among them is a finding of the report, not an error.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taian_titles import CityReport, QuotaError, city_report
from taian_titles.cityreport import missing_units, recommending_units, report_dict, totals, unit_findings
from taian_titles.cli import main
from taian_titles.facts import percent_text
from taian_titles.policy import default_policy
from taian_titles.render import quota_table_text, render_quota_report
from taian_titles.ruleset import default_ruleset, default_ruleset_path, parse_ruleset

ROOT = Path(__file__).resolve().parent.parent
CITY = ROOT / "examples" / "city-2025.json"
NINE = ("泰山区", "岱岳区", "新泰市", "肥城市", "宁阳县", "东平县", "泰安高新区", "泰山景区", "徂汶景区")


def make_list(total: int, digital: int, unit: str) -> dict:
    return {"unit": unit, "as_of": "2025-09-01",
            "candidates": [{"id": f"C-{i:02d}", "skill_level": "technician", "digital": i < digital}
                           for i in range(total)]}


def test_the_ruleset_lists_taians_nine_recommending_units():
    assert recommending_units(default_ruleset()) == NINE
    assert recommending_units(default_policy()) == NINE
    assert default_ruleset().parameters["recommending_units"]["clause"] == "M9-4"


def test_the_example_city_has_a_total_row_that_adds_up():
    lists = json.loads(CITY.read_text("utf-8"))
    report = city_report(lists)
    sums = totals(report)
    # Counted as decision 10 says: each distinct id once (its first entry), high-skilled only.
    high = {"senior_worker", "technician", "senior_technician", "special_technician", "chief_technician"}
    counted = []
    for x in lists:
        first = {}
        for c in x["candidates"]:
            first.setdefault(c["id"], c)
        counted += [c for c in first.values() if c["skill_level"] in high]
    assert sums["total"] == len(counted) < sum(len(x["candidates"]) for x in lists)
    assert sums["digital"] == sum(c["digital"] for c in counted)
    assert sums["total"] == sum(r.total for r in report.checked)
    assert sums["share"] == percent_text(Fraction(sums["digital"], sums["total"]))
    assert sums["add_digital_needed"] == sum(r.add_digital_needed for r in report.checked)
    assert sums["swap_needed"] == sum(r.swap_needed for r in report.checked)
    assert sums["meeting"] == report.summary()["meeting"] and sums["checked"] == 9
    assert missing_units(report) == () and unit_findings(report) == ()
    text = quota_table_text(report, "zh")
    total_line = next(line for line in text.splitlines() if line.startswith("合计"))
    cells = total_line.split()
    assert cells[1:4] == [str(sums["total"]), str(sums["digital"]), sums["share"]]
    assert cells[4] == f"{sums['meeting']}/9"
    assert "未报送名单的单位：无" in text
    # Every row of the table, the total row too, is as wide as the header (Chinese counts two columns).
    from taian_titles.render import _width
    table = text.split("\n\n")[0].splitlines()
    assert len({_width(line) for line in table if not set(line) <= {"-", " "}}) >= 1
    plain = re.sub(r"\s+", " ", text)
    assert "9 个单位中" in plain


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_missing_and_unknown_units_are_findings_not_errors(fmt):
    report = city_report([make_list(10, 2, "泰山区"), make_list(10, 1, "高新区"), make_list(5, 1, "新泰市")])
    assert not report.errors and len(report.checked) == 3  # the unknown unit is still checked
    assert missing_units(report) == ("岱岳区", "肥城市", "宁阳县", "东平县", "泰安高新区", "泰山景区", "徂汶景区")
    (finding,) = unit_findings(report)
    assert finding.code == "unknown_unit" and finding.unit == "高新区" and finding.positions == (2,)
    assert "泰安高新区" in finding.explanation["zh"]  # the nearest listed name is suggested
    data = report_dict(report)
    assert data["unit_findings"][0]["code"] == "unknown_unit"
    assert data["missing_units"][0] == "岱岳区"
    assert data["city_total"]["total"] == 25 and data["city_total"]["digital"] == 4
    out = render_quota_report(report, fmt, "zh")
    assert "高新区" in out and "徂汶景区" in out and "合计" in out
    en = render_quota_report(report, fmt, "en")
    assert "city total" in en and "sent no list" in en


def test_a_unit_that_sent_two_lists_is_a_finding():
    report = city_report([make_list(5, 1, "泰山区"), make_list(5, 2, "泰山区 ")])
    codes = [f.code for f in unit_findings(report)]
    assert codes == ["duplicate_unit"] and unit_findings(report)[0].positions == (1, 2)


def test_a_bad_list_is_left_out_of_the_total_but_its_unit_did_send():
    report = city_report([make_list(10, 2, "泰山区"), {"unit": "岱岳区", "as_of": "2025-09-01", "candidates": []}])
    assert isinstance(report.results[1], QuotaError)
    assert totals(report)["total"] == 10 and totals(report)["errors"] == 1
    assert "岱岳区" not in missing_units(report)


def test_without_the_parameter_nothing_is_missing_or_unknown():
    text = default_ruleset_path().read_text("utf-8")
    start = text.index("[parameters.recommending_units]")
    end = text.index("\n\n", start)
    ruleset = parse_ruleset((text[:start] + text[end + 2:]).encode("utf-8"), "no-units")
    report = city_report([make_list(5, 1, "某某区")], ruleset=ruleset)
    assert missing_units(report) == () and unit_findings(report) == ()
    assert "未报送" not in quota_table_text(report)


@given(st.lists(st.tuples(st.integers(1, 40), st.integers(0, 40), st.sampled_from(NINE)), min_size=1, max_size=9))
def test_the_total_row_is_the_sum_of_the_rows(rows):
    lists = [make_list(n, min(d, n), unit) for n, d, unit in rows]
    report = CityReport(results=city_report(lists).results, quota=Fraction(1, 5))
    sums = totals(report)
    assert sums["total"] == sum(n for n, _, _ in rows)
    assert sums["digital"] == sum(min(d, n) for n, d, _ in rows)
    assert sums["add_digital_needed"] == sum(r.add_digital_needed for r in report.checked)
    assert sums["meets_quota"] is (5 * sums["digital"] >= sums["total"])
    assert set(missing_units(report, NINE)) == set(NINE) - {u for _, _, u in rows}


def test_the_quota_command_writes_the_report_as_a_workbook(tmp_path, capsys):
    openpyxl = pytest.importorskip("openpyxl")
    target = tmp_path / "占比报告.xlsx"
    assert main(["quota", str(CITY), "--format", "xlsx", "-o", str(target)]) == 0
    book = openpyxl.load_workbook(target)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:5] == ("单位", "评估日期", "人数", "数字", "占比")
    units = [r for r in rows[1:] if r[0] in NINE]
    total = next(r for r in rows if r[0] == "合计")
    assert len(units) == 9
    assert total[2] == sum(r[2] for r in units) and total[3] == sum(r[3] for r in units)
    assert any(r[0] == "未报送名单的单位" and r[1] == "无" for r in rows)


def test_the_quota_command_text_report_names_units_that_sent_nothing(tmp_path, capsys):
    source = tmp_path / "two.json"
    source.write_text(json.dumps([make_list(10, 2, "泰山区"), make_list(10, 1, "泰安市高新区")], ensure_ascii=False),
                      encoding="utf-8")
    assert main(["quota", str(source), "--format", "text"]) == 0
    out = capsys.readouterr().out
    assert "未报送名单的单位：岱岳区、新泰市、肥城市、宁阳县、东平县、泰安高新区、泰山景区、徂汶景区" in out
    assert "单位名称问题：推荐单位「泰安市高新区」不在规则集所列的推荐单位" in out
    assert re.search(r"^合计\s+20\s+3\s+15\.00%\s+1/2", out, re.MULTILINE)
