"""Excel and CSV rosters in and out (issue 21): what an HR officer fills in is evaluated as JSON is.

The examples of ``examples/applicants.jsonl`` are written into the template that the command
makes (with openpyxl, as Excel would save it: Chinese enumeration names, date cells, 是/否),
read back, and evaluated; the decisions must equal those of the JSON records.  CSV in every
encoding a Chinese office produces, English headers, extra sheets keyed by id, and every kind
of cell problem (each with its sheet!cell path) are checked the same way.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

openpyxl = pytest.importorskip("openpyxl")

import taian_titles  # noqa: E402
from taian_titles.cli import main  # noqa: E402
from taian_titles.model import CertificateKind, Level, SkillLevel, TitleLevel, WorkKind  # noqa: E402
from taian_titles.roster import (  # noqa: E402
    APPLICANT_TABLE,
    CellProblem,
    RosterRecord,
    header_name,
    open_roster,
    parse_cell_bool,
    parse_cell_date,
    roster_records,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
APPLICANTS = [json.loads(line) for line in (EXAMPLES / "applicants.jsonl").read_text("utf-8").splitlines() if line.strip()]
GROUPS = {g.key: g for g in APPLICANT_TABLE.groups}
ENUMS = {("certificates", "kind"): CertificateKind, ("certificates", "level"): Level,
         ("work_periods", "kind"): WorkKind, ("skill_levels", "level"): SkillLevel, ("titles", "level"): TitleLevel}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def as_cells(record: dict, lang: str = "zh") -> dict[str, object]:
    """An exchange record as a roster row {header: cell value}: Chinese names, date cells, 是/否."""
    row: dict[str, object] = {"编号" if lang == "zh" else "id": record["id"]}
    if "as_of" in record:
        row["评估日期" if lang == "zh" else "as of"] = dt.date.fromisoformat(record["as_of"])
    if record.get("name"):
        row["姓名" if lang == "zh" else "name"] = record["name"]
    for key, group in GROUPS.items():
        for n, item in enumerate(record.get(key, []), 1):
            for column in group.columns:
                if column.field not in item or item[column.field] is None:
                    continue
                value = item[column.field]
                if column.kind == "date":
                    value = dt.date.fromisoformat(value)
                elif column.kind == "bool":
                    value = "是" if value else "否"
                elif (key, column.field) in ENUMS and lang == "zh":
                    value = ENUMS[key, column.field].parse(value).zh
                elif column.field == "programme" and value == "digital_technology_engineer" and lang == "zh":
                    value = "数字技术工程师培育项目"
                row[header_name(column, group, n, lang)] = value
    return row


def fill_template(path: Path, rows: list[dict[str, object]], extra: dict[str, object] | None = None) -> None:
    """Fill the template's applicants' sheet as an officer would: over the example row, adding columns as needed."""
    book = openpyxl.load_workbook(path)
    ws = book["申请人"]
    headers = [c.value for c in ws[1]]
    for row in rows:
        for header in row:
            if header not in headers:
                headers.append(header)
                ws.cell(row=1, column=len(headers), value=header)
    ws.delete_rows(2)  # the example row
    for r, row in enumerate(rows, 2):
        for header, value in row.items():
            ws.cell(row=r, column=headers.index(header) + 1, value=value)
    book.save(path)


def decisions(items) -> list[dict]:
    return [taian_titles.evaluate(r).to_dict() for r in items]


# --------------------------------------------------------------------------- the template

def test_the_template_has_headers_an_example_dropdowns_and_an_explanation(tmp_path, capsys):
    path = tmp_path / "roster.xlsx"
    status, out, _ = run(capsys, "template", str(path))
    assert status == 0 and "说明" in out
    book = openpyxl.load_workbook(path)
    assert book.sheetnames[0] == "申请人" and "说明" in book.sheetnames
    assert {"证书", "工作经历", "技能等级", "职称", "业绩"} <= set(book.sheetnames)
    ws = book["申请人"]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["编号", "姓名", "县区", "评估日期"]  # 县区: an example of the roster's own columns
    assert "证书1级别" in headers and "证书2发证日期" in headers and "工作经历1开始日期" in headers
    assert ws.cell(row=2, column=1).value  # the filled example row
    lists = {re.sub(r"\d", "", str(dv.sqref).split(":")[0]): dv.formula1 for dv in ws.data_validations.dataValidation
             if dv.type == "list"}
    kind_column = openpyxl.utils.get_column_letter(headers.index("证书1类别") + 1)
    assert "专业技术等级证书" in lists[kind_column] and "培训合格证书" in lists[kind_column]
    revoked = openpyxl.utils.get_column_letter(headers.index("证书1已撤销") + 1)
    assert lists[revoked] == '"是,否"'
    skill = openpyxl.utils.get_column_letter(headers.index("技能等级1等级") + 1)
    assert all(level.zh in lists[skill] for level in SkillLevel)
    explained = [row[0] for row in book["说明"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert set(h for h in headers) <= set(explained)
    county = openpyxl.utils.get_column_letter(headers.index("县区") + 1)
    assert "泰安高新区" in lists[county]
    # The template's example row is itself a valid applicant.
    (record,) = roster_records(path)
    assert taian_titles.evaluate(record).highest_recognized_title is not None


def test_an_english_template_reads_back(tmp_path, capsys):
    path = tmp_path / "roster-en.xlsx"
    assert run(capsys, "template", str(path), "--lang", "en")[0] == 0
    book = openpyxl.load_workbook(path)
    headers = [c.value for c in book["applicants"][1]]
    assert headers[:4] == ["id", "name", "county", "as of"] and "certificate 1 level" in headers
    (record,) = roster_records(path)
    assert record["certificates"][0]["kind"] == "professional_level"


def test_the_examples_round_trip_through_the_filled_template(tmp_path, capsys):
    path = tmp_path / "roster.xlsx"
    run(capsys, "template", str(path))
    fill_template(path, [as_cells(r) for r in APPLICANTS])
    records = roster_records(path)
    assert [r["id"] for r in records] == [a["id"] for a in APPLICANTS]
    assert decisions(records) == decisions(APPLICANTS)
    status, out, err = run(capsys, "evaluate", str(path), "--format", "json")
    assert status == 0 and json.loads(out) == decisions(APPLICANTS)
    assert "共 8 条记录" in err


def test_chinese_and_english_headers_and_exchange_paths_are_the_same_columns(tmp_path):
    record = APPLICANTS[0]
    zh, en = as_cells(record, "zh"), as_cells(record, "en")
    paths = {"id": record["id"], "certificates[0].number": record["certificates"][0]["number"],
             "certificates[0].programme": "digital_technology_engineer",
             "certificates[0].kind": "professional_level", "certificates[0].level": "junior",
             "certificates[0].direction": "人工智能", "certificates[0].issued_on": "2023-10-20"}
    for name, row in (("zh", zh), ("en", en), ("paths", paths)):
        path = tmp_path / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(row.keys())
            writer.writerow([v.isoformat() if isinstance(v, dt.date) else v for v in row.values()])
        (read,) = roster_records(path)
        assert read["certificates"][0]["number"] == record["certificates"][0]["number"]
        assert "recognize_junior_title" in {o.code for o in taian_titles.evaluate(read).outcomes}


# --------------------------------------------------------------------------- CSV encodings

CSV_TEXT = ("编号,姓名,县区,评估日期,证书1编号,证书1项目,证书1类别,证书1级别,证书1方向,证书1发证日期,证书1已撤销\n"
            "T-1,张三,泰山区,2025/6/1,N-1,数字技术工程师培育项目,专业技术等级证书,中级,大数据,2024年1月5日,否\n"
            "T-2,李四,岱岳区,2025.06.01,N-2,数字技术工程师培育项目,专业技术等级证书,初级,人工智能,2023-01-05,是\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_in_every_encoding_chinese_excel_writes(tmp_path, encoding):
    path = tmp_path / "roster.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    first, second = roster_records(path)
    assert first["id"] == "T-1" and first["as_of"] == "2025-06-01"
    assert first["certificates"][0]["issued_on"] == "2024-01-05" and first["certificates"][0]["revoked"] is False
    assert second["certificates"][0]["revoked"] is True and second["as_of"] == "2025-06-01"
    assert first.values["县区"] == "泰山区"  # the caller's own column is kept
    assert taian_titles.evaluate(first).highest_recognized_title.code == "intermediate"


def test_a_tab_separated_file_and_a_title_row_above_the_headers(tmp_path):
    path = tmp_path / "roster.csv"
    text = "2025年数字人才职称认定名单\n" + CSV_TEXT.replace(",", "\t")
    path.write_text(text, encoding="gb18030")
    assert [r["id"] for r in roster_records(path)] == ["T-1", "T-2"]


# --------------------------------------------------------------------------- cell problems

def _xlsx(tmp_path: Path, sheets: dict[str, list[list[object]]], name: str = "r.xlsx") -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    path = tmp_path / name
    book.save(path)
    return path


MAIN_HEADERS = ["编号", "评估日期", "证书1编号", "证书1项目", "证书1类别", "证书1级别", "证书1方向", "证书1发证日期"]
GOOD = ["G-1", dt.date(2025, 6, 1), "N-1", "数字技术工程师培育项目", "专业技术等级证书", "初级", "人工智能",
        dt.date(2023, 10, 20)]


def _errors(capsys, path: Path) -> tuple[int, list[dict], str]:
    status, out, err = run(capsys, "evaluate", str(path), "--format", "json")
    return status, json.loads(out), err


def test_every_cell_problem_names_its_sheet_cell_and_header_and_the_rest_is_evaluated(tmp_path, capsys):
    path = _xlsx(tmp_path, {
        "申请人": [MAIN_HEADERS + ["工作经历1开始日期", "工作经历1性质", "工作经历1方向", "证书1已撤销", "县区"],
                   GOOD + [dt.date(2022, 11, 20), "专业技术工作", "人工智能", "否", "泰山区"],
                   ["B-1", "2025-13-01", "N-2", "数字技术工程师培育项目", "专业技术等级证书", "专家", "人工智能",
                    "昨天", "2022/11/20", None, "人工智能", "也许", "岱岳区"],
                   [None, dt.date(2025, 6, 1), "N-3", "数字技术工程师培育项目", "培训合格证书", "高级", "大数据",
                    45000, None, None, None, None, "新泰市"],
                   GOOD[:1] + ["2025-06-01"] + GOOD[2:] + [None, None, None, None, "肥城市"]],
        "工作经历": [["申请人编号", "开始日期", "结束日期", "性质", "方向"],
                     ["G-1", dt.date(2020, 1, 1), dt.date(2021, 1, 1), "专业技术工作", "人工智能"],
                     ["G-1", dt.date(2021, 5, 1), "2021/02/30", "技能工作", "云计算"],
                     ["X-9", dt.date(2021, 5, 1), None, "技能工作", "云计算"]],
    })
    status, answers, err = _errors(capsys, path)
    assert status == 1
    by_row = {a.get("error", {}).get("line"): a for a in answers if "error" in a}
    assert [a.get("id") for a in answers] == ["G-1", "B-1", None, "G-1", "X-9"]
    # Row 2: its own cells are fine, but its second work period on the extra sheet has an impossible end.
    g1 = answers[0]["error"]["problems"]
    assert [p["path"] for p in g1] == ["工作经历!C3"]
    assert "结束日期" in g1[0]["message"] and "work_periods[2].end" in g1[0]["message"]
    # Row 3: every problem at once, each at its cell, naming the header and the field.
    b1 = {p["path"]: p["message"] for p in by_row[3]["error"]["problems"]}
    assert set(b1) == {"申请人!B3", "申请人!F3", "申请人!H3", "申请人!J3", "申请人!L3"}
    assert b1["申请人!B3"].startswith("评估日期 (as_of): '2025-13-01' is not a valid date")
    assert b1["申请人!F3"].startswith("证书1级别 (certificates[0].level): '专家' is not one of")
    assert b1["申请人!H3"].startswith("证书1发证日期 (certificates[0].issued_on): '昨天' is not a date")
    assert b1["申请人!J3"] == "工作经历1性质 (work_periods[0].kind): required field missing"
    assert b1["申请人!L3"].startswith("证书1已撤销 (certificates[0].revoked): '也许' is not 是 or 否")
    # Row 4: no id, a training certificate at senior level, a number where a date belongs.
    row4 = {p["path"]: p["message"] for p in by_row[4]["error"]["problems"]}
    assert row4["申请人!A4"] == "编号 (id): required field missing"
    assert "a number, not a date" in row4["申请人!H4"]
    assert "training certificate" in row4["申请人!F4"]
    # Every problem has its code and a Chinese message that names the header too.
    codes = {p["path"]: p["code"] for p in by_row[3]["error"]["problems"]}
    assert codes == {"申请人!B3": "impossible_date", "申请人!F3": "unknown_value", "申请人!H3": "not_a_date",
                     "申请人!J3": "missing_field", "申请人!L3": "unknown_value"}
    zh = {p["path"]: p["message_zh"] for p in by_row[3]["error"]["problems"]}
    assert zh["申请人!H3"].startswith("证书1发证日期（certificates[0].issued_on）：'昨天' 不是日期")
    assert zh["申请人!J3"] == "工作经历1性质（work_periods[0].kind）：缺少必填字段"
    assert {p["path"]: p["code"] for p in by_row[4]["error"]["problems"]}["申请人!H4"] == "wrong_type"
    # The orphan row of the extra sheet is reported at its key cell; it stops nothing.
    orphan = answers[-1]["error"]
    assert orphan["path"] == "工作经历!A4" and "X-9" in orphan["message"] and orphan["code"] == "orphan_row"
    assert "申请人表（申请人）中没有编号为 'X-9' 的申请人" in orphan["message_zh"]
    # Row 5 (a second G-1) has the extra sheet's rows too, and the same bad end date.
    assert answers[3]["error"]["problems"][0]["path"] == "工作经历!C3"
    assert "共 5 条记录：已评估 0 条，有误 5 条" in err


def test_a_chinese_error_letter_of_a_roster_row_is_in_chinese(tmp_path, capsys):
    path = _xlsx(tmp_path, {"申请人": [MAIN_HEADERS + ["证书1已撤销"], ["B-1"] + GOOD[1:7] + ["昨天", "也许"]]})
    status, out, _ = run(capsys, "evaluate", str(path), "--format", "text")
    assert status == 1
    assert "申请人!H2：证书1发证日期（certificates[0].issued_on）：'昨天' 不是日期" in out
    assert "申请人!I2：证书1已撤销（certificates[0].revoked）：'也许' 不是可选值之一；可选值：是、否" in out
    assert "is not" not in out


def test_a_good_row_beside_bad_ones_is_evaluated(tmp_path, capsys):
    path = _xlsx(tmp_path, {"申请人": [MAIN_HEADERS, ["B-1"] + GOOD[1:5] + ["expert"] + GOOD[6:], GOOD,
                                      ["B-2", "x"] + GOOD[2:]]})
    status, answers, _ = _errors(capsys, path)
    assert status == 1 and [("error" in a) for a in answers] == [True, False, True]
    assert answers[1] == taian_titles.evaluate({"id": "G-1", "as_of": "2025-06-01", "certificates": [
        {"number": "N-1", "programme": "digital_technology_engineer", "kind": "professional_level",
         "level": "junior", "direction": "人工智能", "issued_on": "2023-10-20"}]}).to_dict()


def test_a_misspelt_group_column_or_a_missing_id_column_stops_with_exit_2(tmp_path, capsys):
    bad = _xlsx(tmp_path, {"申请人": [["编号", "证书1以撤销"], ["A", "否"]]}, "bad.xlsx")
    status, out, err = run(capsys, "evaluate", str(bad))
    assert status == 2 and out == "" and "证书1以撤销" in err and "已撤销" in err
    no_id = _xlsx(tmp_path, {"申请人": [["姓名"], ["张三"]]}, "noid.xlsx")
    status, out, err = run(capsys, "evaluate", str(no_id))
    assert status == 2 and "编号" in err
    twice = _xlsx(tmp_path, {"申请人": [["编号", "证书1级别", "证书 1 级别"], ["A", "初级", "初级"]]}, "twice.xlsx")
    assert run(capsys, "evaluate", str(twice))[0] == 2
    not_xlsx = tmp_path / "fake.xlsx"
    not_xlsx.write_text("not a workbook", encoding="utf-8")
    status, out, err = run(capsys, "evaluate", str(not_xlsx))
    assert status == 2 and "not an Excel workbook" in err


def test_extra_sheets_and_repeated_columns_together(tmp_path):
    path = _xlsx(tmp_path, {
        "申请人": [["编号", "评估日期", "证书1编号", "证书1项目", "证书1类别", "证书1级别", "证书1方向", "证书1发证日期"],
                   ["E-1", "2025-06-01", "N-1", "数字技术工程师培育项目", "培训合格证书", "中级", "人工智能", "2024-11-20"]],
        "工作经历": [["申请人编号", "开始日期", "性质", "方向", "备注"],
                     ["E-1", "2022-11-20", "专业技术工作", "人工智能", "现单位"]],
        "证书": [["申请人编号", "证书编号", "项目", "类别", "级别", "方向", "发证日期"],
                 ["E-1", "N-2", "数字技术工程师培育项目", "专业技术等级证书", "初级", "人工智能", "2023-10-20"]],
        "说明": [["这一页不会被读取"]],
    })
    (record,) = roster_records(path)
    assert [c["number"] for c in record["certificates"]] == ["N-1", "N-2"]
    assert record["work_periods"] == [{"start": "2022-11-20", "kind": "专业技术工作", "direction": "人工智能"}]
    decision = taian_titles.evaluate(record)
    assert decision.not_met[0].eligible_on == dt.date(2025, 11, 20)


# --------------------------------------------------------------------------- xlsx out and the summary

def test_xlsx_out_reads_back_with_the_right_rows_and_the_callers_columns(tmp_path, capsys):
    source = tmp_path / "roster.csv"
    source.write_text(CSV_TEXT + "T-3,王五,泰山区,2025-06-01,N-3,数字技术工程师培育项目,培训合格证书,高级,大数据,2024-01-01,否\n",
                      encoding="utf-8-sig")
    target = tmp_path / "结果.xlsx"
    status, out, err = run(capsys, "evaluate", str(source), "--format", "xlsx", "-o", str(target))
    assert status == 1 and out == ""
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["评价结果", "汇总"]
    rows = list(book["评价结果"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:4] == ("行", "编号", "姓名", "状态") and header[-1] == "县区"
    assert [(r[0], r[1], r[2], r[-1]) for r in body] == [(2, "T-1", "张三", "泰山区"), (3, "T-2", "李四", "岱岳区"),
                                                        (4, "T-3", "王五", "泰山区")]
    column = {name: i for i, name in enumerate(header)}
    assert body[0][column["结论代码"]] == "recognize_intermediate_title, technical_may_apply_skill_level"
    assert body[0][column["最高职称代码"]] == "intermediate"
    assert body[1][column["结论"]] is None and "撤销" in body[1][column["未予计入的材料"]]
    assert body[2][column["状态"]] == "有误" and body[2][column["错误"]].startswith("roster!H4: 证书1级别")
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(values_only=True) if r and r[0]}
    assert summary["记录"] == 3 and summary["有误"] == 1


def test_summary_counts_equal_counts_from_the_json_output(tmp_path, capsys):
    records = APPLICANTS + [json.loads(line) for line in
                            (EXAMPLES / "applicants-with-errors.jsonl").read_text("utf-8").splitlines()
                            if line.strip() and line.strip().endswith("}")][:4]
    source = tmp_path / "batch.json"
    source.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    report = tmp_path / "summary.json"
    status, out, err = run(capsys, "evaluate", str(source), "--summary", str(report), "--group-by", "as_of")
    answers = json.loads(out)
    data = json.loads(report.read_text("utf-8"))
    from collections import Counter
    good = [a for a in answers if "error" not in a]
    assert data["records"] == len(answers) and data["errors"] == len(answers) - len(good)
    expected = Counter(o["code"] for a in good for o in a["outcomes"])
    assert {k: v for k, v in data["outcomes"].items() if v} == dict(expected)
    titles = Counter("none" if a["highest_recognized_title"] is None else a["highest_recognized_title"] for a in good)
    assert data["highest_recognized_title"] == dict(titles)
    groups = {g["group"]: g for g in data["groups"]}
    assert sum(g["records"] for g in groups.values()) == len(answers)
    assert groups["2025-06-01"]["records"] == sum(1 for r in records if r.get("as_of") == "2025-06-01")
    # The lines on standard error say the same.
    assert f"共 {len(answers)} 条记录：已评估 {len(good)} 条，有误 {len(answers) - len(good)} 条" in err
    for code, n in expected.items():
        assert f"{code} {n}" in err


@pytest.mark.parametrize("suffix", [".html", ".md"])
def test_a_grouped_summary_report_with_a_chart_per_group(tmp_path, capsys, suffix):
    source = tmp_path / "roster.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    report = tmp_path / f"汇总{suffix}"
    status, _, _ = run(capsys, "evaluate", str(source), "--summary", str(report), "--group-by", "县区")
    text = report.read_text("utf-8")
    assert status == 0 and "泰山区" in text and "岱岳区" in text
    if suffix == ".html":
        assert text.count("<svg") == 3  # all, and each of the two groups
        assert "<script" not in text and "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert 'data-code="recognize_intermediate_title" data-count="1"' in text


def test_group_by_an_unknown_column_is_a_usage_error(tmp_path, capsys):
    source = tmp_path / "roster.csv"
    source.write_text(CSV_TEXT, encoding="utf-8")
    status, out, err = run(capsys, "evaluate", str(source), "--group-by", "单位")
    assert status == 2 and "县区" in err
    assert run(capsys, "evaluate", str(source), "--format", "xlsx")[0] == 2  # no -o FILE.xlsx
    assert run(capsys, "evaluate", str(source), "--summary", str(tmp_path / "s.pdf"))[0] == 2


# --------------------------------------------------------------------------- recommendation lists

def test_recommendation_lists_from_a_roster_with_cell_problems(tmp_path, capsys):
    path = _xlsx(tmp_path, {"推荐名单": [
        ["推荐单位", "评估日期", "人选编号", "姓名", "技能等级", "数字领域"],
        ["泰山区", "2025-09-01", "TS-01", "甲", "技师", "是"],
        ["泰山区", "2025-09-01", "TS-02", "乙", "高级工", "否"],
        ["岱岳区", "2025-09-01", "DY-01", "丙", "大师", "是"],
        ["泰山区", "2025-09-01", "TS-03", "丁", "技师", "否"],
        ["高新区", "2025-09-01", "GX-01", "戊", "高级技师", "是"],
    ]})
    status, out, _ = run(capsys, "quota", str(path), "--format", "json")
    answers = json.loads(out)
    assert status == 1 and [a["unit"] for a in answers] == ["泰山区", "岱岳区", "高新区"]
    assert answers[0]["total"] == 3 and answers[0]["digital"] == 1
    assert answers[1]["error"]["path"] == "推荐名单!E4"
    assert "技能等级" in answers[1]["error"]["message"] and "candidates[0].skill_level" in answers[1]["error"]["message"]
    status, out, _ = run(capsys, "quota", str(path), "--format", "text")
    assert "单位名称问题：推荐单位「高新区」" in out and "合计" in out
    # One unit's list has one date: a second date for it is a problem at its cell.
    twice = _xlsx(tmp_path, {"推荐名单": [["推荐单位", "评估日期", "人选编号", "技能等级", "数字领域"],
                                        ["泰山区", "2025-09-01", "TS-01", "技师", "是"],
                                        ["泰山区", "2025-09-02", "TS-02", "技师", "否"]]}, "twice.xlsx")
    status, out, _ = run(capsys, "quota", str(twice))
    (answer,) = json.loads(out) if out.lstrip().startswith("[") else [json.loads(out)]
    assert status == 1 and answer["error"]["path"] == "推荐名单!B3" and answer["error"]["code"] == "conflicting_value"


# --------------------------------------------------------------------------- dates and yes/no

DATE_FORMS = [
    lambda d: d,
    lambda d: dt.datetime(d.year, d.month, d.day),
    lambda d: d.isoformat(),
    lambda d: f"{d.year}/{d.month}/{d.day}",
    lambda d: f"{d.year}/{d.month:02d}/{d.day:02d}",
    lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",
    lambda d: f"{d.year}-{d.month}-{d.day}",
    lambda d: f"{d.year}年{d.month}月{d.day}日",
    lambda d: f"{d.year} 年 {d.month:02d} 月 {d.day:02d} 日",
    lambda d: f" {d.isoformat()} 00:00:00",
    lambda d: f"{d.year}－{d.month:02d}－{d.day:02d}",  # full-width hyphens, as some input methods type
]


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.sampled_from(range(len(DATE_FORMS))))
def test_every_accepted_date_form_reads_back_as_the_same_date(day, form):
    assert parse_cell_date(DATE_FORMS[form](day)) == day


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2030, 12, 31)), st.sampled_from([0, 2, 3, 7]))
def test_dates_round_trip_through_an_xlsx_roster(tmp_path_factory, day, form):
    path = tmp_path_factory.mktemp("d") / "r.xlsx"
    _xlsx(path.parent, {"申请人": [["编号", "评估日期"], ["D-1", DATE_FORMS[form](day)]]})
    (record,) = roster_records(path)
    assert record["as_of"] == day.isoformat()


@pytest.mark.parametrize("text", ["2024-02-30", "2024/13/1", "24-01-01", "2024-01", "2024年1月", "45000", "明天"])
def test_impossible_or_unreadable_dates_are_refused(text):
    with pytest.raises(CellProblem):
        parse_cell_date(text)
    with pytest.raises(CellProblem, match="number"):
        parse_cell_date(45000)


@pytest.mark.parametrize("text, value", [("是", True), ("否", False), ("Yes", True), ("no", False), ("TRUE", True),
                                          ("false", False), (1, True), (0, False), (True, True), (" 是 ", True)])
def test_yes_no(text, value):
    assert parse_cell_bool(text) is value


def test_a_roster_record_is_an_exchange_dict():
    with open_roster(ROOT / "examples" / "roster.csv") as roster:
        records = [r for _, r in roster.items]
    assert all(isinstance(r, RosterRecord) and isinstance(r, dict) for r in records)
    assert [taian_titles.evaluate(dict(r)).to_dict() for r in records] == decisions(records)
