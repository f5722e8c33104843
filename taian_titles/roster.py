"""Rosters: applicants and recommendation lists as Excel workbooks (.xlsx) or CSV files.

An HR office keeps its applicants in a spreadsheet, one row per applicant.  This module reads
such a roster into the exchange format's records (``docs/exchange.md``), so that a roster is
evaluated exactly as JSON is, and writes the roster template and the answers as workbooks.

**Columns.** One table, :data:`APPLICANT_TABLE` (and :data:`LIST_TABLE` for recommendation
lists), maps every column header to its exchange field.  Headers are Chinese (``编号``,
``证书1级别``) or English (``id``, ``certificate 1 level``, or the exchange path
``certificates[0].level``); spaces, case, full-width digits and a note in brackets
(``发证日期（YYYY-MM-DD）``) do not matter.  Certificates, work periods, skill levels, titles
and achievements come as numbered column groups on the applicants' sheet (``证书1编号``,
``证书1级别``, ``证书2编号``, ...), as extra sheets keyed by the applicant's id (a sheet
``证书`` with a column ``申请人编号`` and one row per certificate), or both.  Any other column
of the applicants' sheet is the caller's own: it is carried through to the output unchanged.

**Values.** Dates as date cells or as text (``2024-01-01``, ``2024/1/1``, ``2024.01.01``,
``2024年1月1日``); 是/否 (or yes/no, true/false, 1/0) for yes-or-no columns; enumerations
by their code, Chinese or English name (the model accepts all three).  A blank cell is a field
not given.

**Problems.** A cell that cannot be read, and every problem the exchange format finds in a
record, is reported at its cell: the path is ``sheet!cell`` (``工作经历!C7``) and the message
names the column header and the exchange field.  A bad row becomes that record's error entry;
the rest of the roster is still evaluated.  Only a roster that cannot be used at all (no id
column, a misspelt group column, not a workbook) stops the command (exit status 2).

**Streaming.** The applicants' sheet is read row by row (openpyxl's read-only mode; CSV line
by line), so a 100,000-row roster is evaluated in flat memory.  Extra sheets are read whole
first (they are keyed by id).  CSV: UTF-8 with or without a byte-order mark, GB18030 (what
Chinese Excel writes as "CSV"), or UTF-16 with a byte-order mark; comma, tab or semicolon.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import csv
import datetime as _dt
import re
import unicodedata
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import attrs

from .errors import InputError, Problem, Words, problem
from .escaping import neutralise
from .io import Item, Unparsable, UsageError
from .model import (
    Achievement,
    Applicant,
    Candidate,
    Certificate,
    CertificateKind,
    Labelled,
    Level,
    RecommendationList,
    SkillLevel,
    TitleLevel,
    SkillLevelRecord,
    Title,
    WorkKind,
    WorkPeriod,
)

__all__ = ["Column", "Group", "Table", "APPLICANT_TABLE", "LIST_TABLE", "ROSTER_EXTENSIONS", "Roster",
           "RosterRecord", "open_roster", "parse_cell_date", "parse_cell_bool", "write_template",
           "XlsxWriter", "write_city_report_xlsx", "header_name"]

from .io import ROSTER_EXTENSIONS  # noqa: E402  (re-exported)

# --------------------------------------------------------------------------- the column table


@attrs.frozen
class Column:
    """One field of a record: its exchange name, its headers, how its cells are read, its help."""

    field: str
    zh: str
    en: str
    kind: str  # text | date | bool | enum (a fixed list) | choice (suggestions; other text allowed)
    help_zh: str
    help_en: str
    example: Any = None
    aliases: tuple[str, ...] = ()
    enum: type[Labelled] | None = None
    choices: tuple[str, ...] = ()
    owner: type | None = None  # the model class of the field, when not the table's or group's
    strict: bool = False  # a choice column whose dropdown refuses other values


@attrs.frozen
class Group:
    """A repeated part of a record (certificates, work periods, ...): numbered columns or a sheet."""

    key: str  # the exchange field: certificates
    zh: str  # the header prefix: 证书 (证书1编号)
    en: str  # certificate (certificate 1 number)
    sheet_zh: str
    sheet_en: str
    model: type
    columns: tuple[Column, ...]
    repeats: int  # column groups on the template's main sheet
    aliases: tuple[str, ...] = ()


@attrs.frozen
class Table:
    """Every column a roster of one kind may have."""

    kind: str  # applicants | lists
    sheet_zh: str
    sheet_en: str
    model: type
    columns: tuple[Column, ...]  # one per row: the record's own fields
    groups: tuple[Group, ...] = ()
    key: str = "id"  # the column that names the record (extra sheets refer to it)
    sheet_aliases: tuple[str, ...] = ()


def _yes_no(zh: str, en: str) -> tuple[str, str]:
    return (f"{zh}填“是”或“否”。", f"{en} 是 (yes) or 否 (no).")


_DATE_HELP = ("日期：单元格设为日期格式，或写 2024-01-01、2024/1/1、2024年1月1日。",
              "a date cell, or text such as 2024-01-01, 2024/1/1 or 2024年1月1日.")

APPLICANT_TABLE = Table(
    kind="applicants", sheet_zh="申请人", sheet_en="applicants", model=Applicant,
    sheet_aliases=("申请人名单", "roster"),
    columns=(
        Column("id", "编号", "id", "text", "申请人编号，必填，每人唯一；附加工作表用它对应到申请人。",
               "the applicant's id, required and unique; extra sheets refer to it.", "TA-2025-0001",
               aliases=("申请人编号", "applicant id")),
        Column("name", "姓名", "name", "text", "申请人姓名，选填，写入结果表和告知书索引。",
               "the applicant's name, optional; shown in the result workbook and the letters' index.",
               "张三"),
        Column("as_of", "评估日期", "as of", "date", "按哪一天评估，选填；不填为今天（命令行 --as-of 优先）。" + _DATE_HELP[0],
               "the evaluation date, optional; today when blank (the command's --as-of wins); " + _DATE_HELP[1],
               _dt.date(2025, 6, 1), aliases=("as_of",)),
        Column("appraisals_passed", "近3年年度考核合格", "appraisals passed", "bool",
               *_yes_no("职业贯通的基本条件：在现工作岗位上近3年年度考核是否均合格，选填；不填即记录中未说明"
                        "（告知书列为申报时须另行证明的条件）；",
                        "the crossover's basic condition: were the annual appraisals of the last 3 years in the "
                        "current post all passed, optional; blank means not stated (the letter names it as a "
                        "condition still to show):"),
               "是", aliases=("年度考核合格", "appraisals_passed")),
        Column("continuing_education_done", "已参加继续教育", "continuing education done", "bool",
               *_yes_no("职业贯通的基本条件：是否按照规定参加专业技术人员继续教育，选填；不填即记录中未说明；",
                        "the crossover's basic condition: was continuing education done as required, optional; "
                        "blank means not stated:"),
               None, aliases=("继续教育", "continuing_education_done")),
    ),
    groups=(
        Group("certificates", "证书", "certificate", "证书", "certificates", Certificate, repeats=2,
              aliases=("certificates", "cert"), columns=(
            Column("number", "编号", "number", "text", "证书编号，同一申请人不得重复。",
                   "the certificate number; unique for an applicant.", "DTE-AI-2023-000123",
                   aliases=("证书编号",)),
            Column("programme", "项目", "programme", "choice",
                   "培育项目：数字技术工程师培育项目；其他项目照写（保留，但不作为认定依据）。",
                   "the programme: 数字技术工程师培育项目 (digital_technology_engineer); other programmes "
                   "are kept but never count for the title routes.", "数字技术工程师培育项目",
                   choices=("数字技术工程师培育项目",), aliases=("培育项目", "program")),
            Column("kind", "类别", "kind", "enum", "证书类别。", "the kind of certificate.", "专业技术等级证书",
                   enum=CertificateKind, aliases=("证书类别", "种类", "type")),
            Column("level", "级别", "level", "enum", "证书级别（培训合格证书没有高级）。",
                   "the certificate's level (a training certificate has no senior level).", "初级",
                   enum=Level, aliases=("等级",)),
            Column("direction", "方向", "direction", "choice", "培育方向（规则集所列的数字技术工程师培育方向）。",
                   "the programme direction (one of the directions the ruleset lists).", "人工智能",
                   choices=("@directions",), strict=True, aliases=("专业方向",)),
            Column("issued_on", "发证日期", "issued on", "date", "发证日期。" + _DATE_HELP[0],
                   "the date of issue: " + _DATE_HELP[1], _dt.date(2023, 10, 20),
                   aliases=("取得日期", "issued_on", "issued")),
            Column("revoked", "已撤销", "revoked", "bool", *_yes_no("证书是否已被撤销，选填，不填为否；", "whether it was revoked, optional (no when blank):"),
                   "否", aliases=("是否撤销", "撤销")),
        )),
        Group("work_periods", "工作经历", "work period", "工作经历", "work periods", WorkPeriod, repeats=2,
              aliases=("work_periods", "workperiods", "工作"), columns=(
            Column("start", "开始日期", "start", "date", "开始日期。" + _DATE_HELP[0], "the first day: " + _DATE_HELP[1],
                   _dt.date(2022, 11, 20), aliases=("起始日期", "开始")),
            Column("end", "结束日期", "end", "date", "结束日期，至今仍在做的不填。",
                   "the last day; blank while the work goes on.", None, aliases=("截止日期", "结束")),
            Column("kind", "性质", "kind", "enum", "工作性质。", "the kind of work.", "专业技术工作",
                   enum=WorkKind, aliases=("工作性质", "类别", "type")),
            Column("direction", "方向", "direction", "choice", "从事的专业方向；培育方向以外的照写。",
                   "the field of the work; directions outside the programme are written as they are.", "人工智能",
                   choices=("@directions",), aliases=("专业方向", "专业")),
            Column("employer", "单位", "employer", "text", "工作单位，选填。", "the employer, optional.",
                   "泰安某科技有限公司", aliases=("工作单位",)),
        )),
        Group("skill_levels", "技能等级", "skill level", "技能等级", "skill levels", SkillLevelRecord, repeats=1,
              aliases=("skill_levels", "skilllevels", "职业技能等级"), columns=(
            Column("level", "等级", "level", "enum", "职业技能等级（新八级工）。",
                   "the vocational skill level (eight levels).", "技师", enum=SkillLevel, aliases=("级别",)),
            Column("occupation", "职业", "occupation", "text", "职业（工种），选填。", "the occupation, optional.",
                   "工业互联网运维员", aliases=("工种",)),
            Column("digital", "数字领域", "digital", "bool", *_yes_no("是否数字领域职业；", "whether the occupation is in the digital field:"),
                   "是", aliases=("是否数字领域", "数字")),
            Column("issued_on", "发证日期", "issued on", "date",
                   "发证日期，选填；职业贯通的年限自此日起算，不填则无法确认贯通年限。" + _DATE_HELP[0],
                   "the date of issue, optional; the crossover counts its years from it, so without it "
                   "they cannot be confirmed: " + _DATE_HELP[1], _dt.date(2023, 5, 10),
                   aliases=("取得日期", "issued_on", "issued")),
        )),
        Group("titles", "职称", "title", "职称", "titles", Title, repeats=1, columns=(
            Column("level", "级别", "level", "enum", "已取得职称的级别：员级、初级（助理级）、中级、副高级、正高级，"
                   "或不知正副的高级。", "the level of the title held: entry, junior, intermediate, deputy senior, "
                   "full senior, or senior of unknown grade.", "员级", enum=TitleLevel, aliases=("等级",)),
            Column("speciality", "专业", "speciality", "text", "职称专业，选填。", "the title's speciality, optional.",
                   "计算机应用", aliases=("specialty",)),
            Column("digital", "数字领域", "digital", "bool", *_yes_no("是否数字领域专业；", "whether the speciality is in the digital field:"),
                   "是", aliases=("是否数字领域", "数字")),
        )),
        Group("achievements", "业绩", "achievement", "业绩", "achievements", Achievement, repeats=1,
              aliases=("业绩成果",), columns=(
            Column("description", "描述", "description", "text", "业绩成果（如获奖、项目），用于破格申报。",
                   "an outstanding achievement (an award, a project), for an exceptional application.", "省级科学技术进步奖二等奖（第一完成人）",
                   aliases=("内容", "名称")),
            Column("date", "日期", "date", "date", "取得日期，选填。" + _DATE_HELP[0], "its date, optional: " + _DATE_HELP[1],
                   _dt.date(2024, 12, 1)),
        )),
    ),
)

LIST_TABLE = Table(
    kind="lists", sheet_zh="推荐名单", sheet_en="lists", model=Candidate, key="unit",
    sheet_aliases=("recommendation lists", "名单"),
    columns=(
        Column("unit", "推荐单位", "unit", "choice", "推荐单位（县、市、区或功能区），同一单位的人选写在同一单位名下。",
               "the recommending unit (county, city, district or zone); its candidates share its name.", "泰山区",
               aliases=("单位", "recommending unit"), owner=RecommendationList),
        Column("as_of", "评估日期", "as of", "date", "按哪一天检查，选填；同一单位只写一个日期。" + _DATE_HELP[0],
               "the date of the check, optional, one per unit: " + _DATE_HELP[1], _dt.date(2025, 9, 1),
               aliases=("as_of",), owner=RecommendationList),
        Column("id", "人选编号", "candidate id", "text", "人选编号，必填。", "the candidate's id, required.", "TS-01",
               aliases=("编号", "id")),
        Column("name", "姓名", "name", "text", "人选姓名，选填。", "the candidate's name, optional.", "李四"),
        Column("skill_level", "技能等级", "skill level", "enum", "职业技能等级（规则集所定等级及以上为高技能人才）。",
               "the skill level (from the level the ruleset names upwards, high-skilled).", "技师", enum=SkillLevel,
               aliases=("等级", "skill_level")),
        Column("digital", "数字领域", "digital", "bool", *_yes_no("是否数字领域技能人才；", "whether a digital-field skilled talent:"),
               "是", aliases=("是否数字领域", "数字")),
    ),
)

#: Sheets that explain a roster, never read.
_EXPLANATION_SHEETS = {"说明", "填写说明", "columns", "readme", "help"}
#: Columns of an extra sheet that are only for people (ignored).
_REMARK_COLUMNS = {"备注", "说明", "remarks", "remark", "notes", "note"}
#: The column of an extra sheet that names the applicant.
_KEY_HEADERS = ("申请人编号", "applicant id", "applicant", "申请人")
_HEADER_SCAN_ROWS = 10
#: Characters of a line read to find the header and the delimiter (a line without end is not read whole).
_HEADER_SCAN_CHARS = 1 << 20


def _norm(text: Any) -> str:
    """A header as compared: NFKC, lower case, without spaces, punctuation or a note in brackets."""
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    t = re.sub(r"[(\[（【][^)\]）】]*[)\]）】]\s*$", "", t)
    return re.sub(r"[\s_\-.:：*＊/、]+", "", t)


def _required(model: type, field: str) -> bool:
    fields = attrs.fields_dict(model)
    return field in fields and fields[field].default is attrs.NOTHING


@functools.lru_cache(maxsize=256)
def _accepts(model: type, field: str) -> bool:
    return field in attrs.fields_dict(model)


def enum_of(model: type, column: Column) -> type[Labelled] | None:
    """The enumeration of a column: the model field's converter when it is one, else the table's."""
    field = attrs.fields_dict(model).get(column.field)
    owner = getattr(getattr(field, "converter", None), "__self__", None)
    if isinstance(owner, type) and issubclass(owner, Labelled):
        return owner
    return column.enum


def header_name(column: Column, group: Group | None, n: int | None, lang: str = "zh") -> str:
    """The header the template writes: 证书1编号 / certificate 1 number; 编号 / id."""
    if group is None or n is None:
        return column.zh if lang == "zh" else column.en
    return f"{group.zh}{n}{column.zh}" if lang == "zh" else f"{group.en} {n} {column.en}"


def sheet_header(column: Column, lang: str = "zh") -> str:
    return column.zh if lang == "zh" else column.en


@attrs.frozen
class Target:
    """Where a column's cells go: (group, 1-based number) and field; group None for the record's own."""

    column: Column
    group: Group | None = None
    n: int | None = None


class _Headers:
    """Header → target lookups of one table, built once from the table."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.own: dict[str, Column] = {}
        for c in table.columns:
            for spelling in (c.zh, c.en, c.field, *c.aliases):
                self.own.setdefault(_norm(spelling), c)
        self.groups: dict[str, Group] = {}
        self.fields: dict[str, dict[str, Column]] = {}
        self.sheet_fields: dict[str, dict[str, Column]] = {}
        self.sheets: dict[str, Group] = {}
        for g in table.groups:
            for spelling in (g.zh, g.en, g.key, *g.aliases):
                self.groups.setdefault(_norm(spelling), g)
            for spelling in (g.sheet_zh, g.sheet_en, g.key, *g.aliases):
                self.sheets.setdefault(_norm(spelling), g)
            fields: dict[str, Column] = {}
            for c in g.columns:
                for spelling in (c.zh, c.en, c.field, *c.aliases):
                    fields.setdefault(_norm(spelling), c)
            self.fields[g.key] = fields
            on_sheet = dict(fields)
            for c in g.columns:  # on a group's own sheet, 证书编号 as well as 编号
                for prefix in (g.zh, g.en):
                    for spelling in (c.zh, c.en, *c.aliases):
                        on_sheet.setdefault(_norm(prefix + spelling), c)
            self.sheet_fields[g.key] = on_sheet
        names = sorted(self.groups, key=len, reverse=True)
        self.pattern = re.compile("^(" + "|".join(re.escape(n) for n in names) + r")(\d{1,2})(?!\d)(.*)$") \
            if names else None
        self.main_sheets = {_norm(s) for s in (table.sheet_zh, table.sheet_en, table.kind, *table.sheet_aliases)}

    def resolve(self, header: Any, where: str) -> Target | None:
        """The target of a main-sheet header, None for the caller's own column; UsageError for a misspelt group column."""
        raw = str(header).strip()
        path = re.match(r"^([a-z_]+)\[(\d+)\]\.([a-z_]+)$", raw)
        if path:
            group = next((g for g in self.table.groups if g.key == path.group(1)), None)
            column = self.fields.get(group.key, {}).get(_norm(path.group(3))) if group else None
            if group and column:
                return Target(column, group, int(path.group(2)) + 1)
        key = _norm(raw)
        if key in self.own:
            return Target(self.own[key])
        match = self.pattern.match(key) if self.pattern else None
        if match:
            group = self.groups[match.group(1)]
            n = int(match.group(2))
            column = self.fields[group.key].get(match.group(3))
            if column is None or n < 1:
                allowed = "、".join(c.zh for c in group.columns)
                raise UsageError(f"column {raw!r} ({where}) looks like a {group.en} column, but "
                                 f"{'its number must be 1 or more' if n < 1 else 'its field is unknown'}; "
                                 f"{group.zh}{max(n, 1)} columns are {allowed} (e.g. {header_name(group.columns[0], group, max(n, 1))})")
            return Target(column, group, n)
        return None

    def resolve_sheet_column(self, group: Group, header: Any, where: str) -> Column | str | None:
        """A header of a group's sheet: its column, ``"key"`` for the applicant id, None to ignore."""
        key = _norm(header)
        if not key:
            return None
        if key in {_norm(k) for k in _KEY_HEADERS}:
            return "key"
        column = self.sheet_fields[group.key].get(key)
        if column is not None:
            return column
        if key in {_norm(r) for r in _REMARK_COLUMNS}:
            return None
        if key in {_norm(s) for s in ("编号", "id")}:
            return "key"
        allowed = "、".join([_KEY_HEADERS[0], *(c.zh for c in group.columns)])
        raise UsageError(f"column {str(header).strip()!r} ({where}) of sheet {group.sheet_zh!r} is not one of "
                         f"{allowed} (a column 备注 is ignored)")


_HEADERS: dict[str, _Headers] = {}


def _headers(table: Table) -> _Headers:
    found = _HEADERS.get(table.kind)
    if found is None:
        found = _HEADERS[table.kind] = _Headers(table)
    return found


# --------------------------------------------------------------------------- cell values

class CellProblem(ValueError):
    """A cell whose value cannot be read as its column asks: a problem code and its English and Chinese messages."""

    def __init__(self, code: str, message: str, message_zh: str, allowed: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.message_zh, self.allowed = code, message, message_zh, allowed

    def at(self, ref: str, header: str, path: str) -> Problem:
        """The problem at cell ``ref``, its messages naming the column header and the field."""
        return Problem(ref, f"{header} ({path}): {self.message}", self.code, f"{header}（{path}）：{self.message_zh}",
                       self.allowed)


_ISO_LIKE = re.compile(r"^(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?$")
_CHINESE_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$")
_TRUE = {"是", "yes", "y", "true", "t", "1", "对", "√", "✓"}
_FALSE = {"否", "no", "n", "false", "f", "0", "不是", "×", "✗"}


def parse_cell_date(value: Any) -> _dt.date:
    """A date cell, or text 2024-01-01, 2024/1/1, 2024.01.01, 2024年1月1日 (a time of 00:00 is allowed)."""
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, bool) or isinstance(value, (int, float)):
        raise CellProblem("wrong_type", f"{value!r} is a number, not a date (format the cell as a date, or write 2024-01-01)",
                          f"{value!r} 是数字，不是日期（请把单元格设为日期格式，或写 2024-01-01）")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _ISO_LIKE.match(text)
    parts = (match.group(1), match.group(3), match.group(4)) if match else None
    if parts is None:
        match = _CHINESE_DATE.match(text)
        parts = match.groups() if match else None
    if parts is None:
        shown = repr(str(value).strip())
        raise CellProblem("not_a_date", f"{shown} is not a date: write 2024-01-01, 2024/1/1 or 2024年1月1日",
                          f"{shown} 不是日期：可写 2024-01-01、2024/1/1 或 2024年1月1日，或把单元格设为日期格式")
    try:
        return _dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError as exc:
        shown = repr(str(value).strip())
        raise CellProblem("impossible_date", f"{shown} is not a valid date: {exc}",
                          f"{shown} 不是日历上存在的日期") from None


def parse_cell_bool(value: Any) -> bool:
    """是/否 (yes/no, true/false, 1/0, √/×) or a TRUE/FALSE cell."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    shown = repr(str(value).strip())
    raise CellProblem("unknown_value", f"{shown} is not 是 or 否 (yes or no)",
                      f"{shown} 不是可选值之一；可选值：是、否", ("是", "否"))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _convert(value: Any, column: Column) -> Any:
    if column.kind == "date":
        return parse_cell_date(value).isoformat()
    if column.kind == "bool":
        return parse_cell_bool(value)
    return _text(value)


def display(value: Any) -> Any:
    """A cell value as carried to the output: dates as dates, text stripped, numbers as they are."""
    if isinstance(value, _dt.datetime) and value.time() == _dt.time():
        return value.date()
    if isinstance(value, str):
        return value.strip()
    return value


# --------------------------------------------------------------------------- records read from rows

@functools.lru_cache(maxsize=1024)
def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@functools.lru_cache(maxsize=64)
def _sheet_name(sheet: str) -> str:
    return sheet if re.fullmatch(r"[\w\u4e00-\u9fff]+", sheet) else "'" + sheet.replace("'", "''") + "'"


def cell_ref(sheet: str, column_index: int, row: int) -> str:
    """``工作经历!C7``; a sheet name with spaces or punctuation is quoted as Excel quotes it."""
    return f"{_sheet_name(sheet)}!{_column_letter(column_index)}{row}"


def row_ref(sheet: str, row: int) -> str:
    return f"{_sheet_name(sheet)}!{row}:{row}"


class RosterRecord(dict):  # type: ignore[type-arg]
    """An exchange-format record read from a roster, with where each of its fields came from.

    The dict is what the exchange format reads; ``cells`` maps each field's exchange path
    (``certificates[0].level``) to (cell reference, header); ``values`` holds every column of
    the row as read (the caller's own columns among them); ``problems`` are the cells that
    could not be read.  :meth:`settle` turns an answer about the record into one whose
    problems name their cells.
    """

    __slots__ = ("row_ref", "cells", "values", "problems", "index", "table")

    def __init__(self, table: Table, row_ref: str) -> None:
        super().__init__()
        self.table = table
        self.row_ref = row_ref
        self.cells: dict[str, tuple[str, str]] = {}
        self.values: dict[str, Any] = {}
        self.problems: list[Problem] = []

    @property
    def record_id(self) -> str | None:
        value = self.get(self.table.key)
        return value if isinstance(value, str) and value else None

    def locate(self, error: InputError) -> InputError:
        """The same problems at their cells (``证书!C7``), each naming its header and field, with the cells' own problems."""
        problems = list(self.problems)
        taken = {p.path for p in self.problems}
        for found in error.problems:
            where, header = self._where(found.path)
            if where in taken and found.code == "missing_field":
                continue  # the cell's own problem says more
            label, label_zh = (f"{header} ({found.path})", f"{header}（{found.path}）") if header else \
                (found.path, found.path)
            problems.append(Problem(where, f"{label}: {found.message}", found.code,
                                    f"{label_zh}：{found.message_zh or found.message}", found.allowed))
        return InputError(sorted(problems, key=lambda p: _ref_key(p.path)), record_id=error.record_id or self.record_id)

    def _where(self, path: str) -> tuple[str, str]:
        if path in self.cells:
            return self.cells[path]
        header = _header_for_path(self.table, path)
        parent = path.rsplit(".", 1)[0] if "." in path else ""
        # A field of a group whose column is absent: the group's first cell, else the row.
        for known, (ref, _) in self.cells.items():
            if parent and known.startswith(parent + "."):
                sheet_row = ref.rsplit("!", 1)
                return row_ref(sheet_row[0].strip("'"), int(re.sub(r"\D", "", sheet_row[1]))), header
        return self.row_ref, header

    def settle(self, answer: Any, index: int) -> Any:
        """An answer about this record with its problems located; a record with unreadable cells is an error entry."""
        error = getattr(answer, "error", None)
        if not self.problems and not isinstance(error, InputError):
            return answer
        located = self.locate(error if isinstance(error, InputError) else InputError([]))
        if isinstance(error, InputError):
            return attrs.evolve(answer, error=located)
        if self.table.kind == "lists":
            from .decision import QuotaError
            return QuotaError(index, self.record_id, located, answer.code, answer.clause)
        from .api import BatchError
        return BatchError(index, self.record_id, located)


def _header_for_path(table: Table, path: str) -> str:
    match = re.match(r"^([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?$", path)
    if not match:
        return ""
    first, index, field = match.groups()
    for c in table.columns:
        if c.field == first:
            return c.zh
    for g in table.groups:
        if g.key == first:
            column = next((c for c in g.columns if c.field == field), None)
            n = int(index) + 1 if index is not None else None
            if column is None:
                return f"{g.zh}{n or ''}"
            return header_name(column, g, n)
    if first == "candidates" and field:
        column = next((c for c in table.columns if c.field == field), None)
        return column.zh if column else ""
    return ""


def _ref_key(ref: str) -> tuple[str, int, int]:
    """Sort key of ``sheet!C7`` (and ``sheet!7:7``): sheet, row, column."""
    sheet, _, cell = ref.rpartition("!")
    match = re.fullmatch(r"([A-Z]*)(\d+)(?::\d+)?", cell)
    if not match:
        return (sheet, 0, 0)
    column = 0
    for ch in match.group(1):
        column = column * 26 + ord(ch) - 64
    return (sheet, int(match.group(2)), column)


class RowProblem(Unparsable):
    """A row that belongs to no record (an extra sheet's row naming an unknown applicant)."""

    def __init__(self, record_id: str | None, problem: Problem) -> None:
        self.line = None
        self.problem = problem
        self.message = problem.message
        self.id = record_id

    def error(self) -> InputError:
        return InputError([self.problem], record_id=self.id)


# --------------------------------------------------------------------------- a sheet, whatever the file

class _Sheet:
    """The rows of one sheet: (row number, values), header included; CSV or a workbook's sheet."""

    def __init__(self, name: str, rows: Callable[[], Iterator[tuple[int, Sequence[Any]]]],
                 size: int | None) -> None:
        self.name, self.rows, self.size = name, rows, size


@attrs.define
class _Layout:
    header_row: int
    headers: list[Any]


def _find_header(sheet: _Sheet, is_key: Callable[[Any], bool], what: str) -> tuple[_Layout, Iterator[tuple[int, Sequence[Any]]]]:
    rows = sheet.rows()
    for number, values in rows:
        if any(is_key(v) for v in values if not _blank(v)):
            return _Layout(number, list(values)), rows
        if number >= _HEADER_SCAN_ROWS:
            break
    raise UsageError(f"sheet {sheet.name!r} has no {what} column in its first {_HEADER_SCAN_ROWS} rows")


def _duplicates(headers: Sequence[Any], sheet: str, layout_row: int) -> None:
    seen: dict[str, int] = {}
    for i, h in enumerate(headers):
        if _blank(h):
            continue
        key = _norm(h)
        if key in seen:
            raise UsageError(f"sheet {sheet!r} has the column {str(h).strip()!r} twice "
                             f"({cell_ref(sheet, seen[key], layout_row).split('!')[1]} and "
                             f"{cell_ref(sheet, i, layout_row).split('!')[1]})")
        seen[key] = i


class Roster:
    """An open roster: ``shape`` (always ``array``), ``items`` (the io module's (row, record) pairs), ``total``.

    ``headers`` are the main sheet's headers as written; ``extra_headers`` the caller's own.
    """

    shape = "array"

    def __init__(self, table: Table, main: _Sheet, extra: Sequence[_Sheet] = ()) -> None:
        self.table = table
        self.lookup = _headers(table)
        key_column = next(c for c in table.columns if c.field == table.key)
        is_key = lambda v: self.lookup.own.get(_norm(v)) is key_column  # noqa: E731
        self.main = main
        self.layout, self._rows = _find_header(main, is_key, f"{key_column.zh} ({key_column.en})")
        _duplicates(self.layout.headers, main.name, self.layout.header_row)
        self.targets: list[tuple[int, Target]] = []
        self.extra_headers: list[str] = []
        self.extra_columns: list[tuple[int, str]] = []
        for i, header in enumerate(self.layout.headers):
            if _blank(header):
                continue
            target = self.lookup.resolve(header, cell_ref(main.name, i, self.layout.header_row))
            if target is None:
                self.extra_headers.append(str(header).strip())
                self.extra_columns.append((i, str(header).strip()))
            else:
                self.targets.append((i, target))
        self.headers = [str(h).strip() for h in self.layout.headers if not _blank(h)]
        self._plan()
        self.total = (main.size - self.layout.header_row) if main.size and table.kind == "applicants" else None
        self._extra = {sheet.name: sheet for sheet in extra}
        self._attached: dict[str, list[tuple[Group, _Sheet, int, list[tuple[int, Column]], Sequence[Any]]]] = {}
        self._key_cells: dict[tuple[str, int], int] = {}
        self._seen_ids: set[str] = set()
        for sheet in extra:
            self._load_group_sheet(sheet)
        self.items: Iterator[Item] = self._records_of_lists() if table.kind == "lists" else self._records()

    # --- extra sheets ---------------------------------------------------------------
    def _load_group_sheet(self, sheet: _Sheet) -> None:
        group = self.lookup.sheets[_norm(sheet.name)]
        keys = {_norm(k) for k in (*_KEY_HEADERS, "编号", "id")}
        layout, rows = _find_header(sheet, lambda v: _norm(v) in keys, _KEY_HEADERS[0])
        _duplicates(layout.headers, sheet.name, layout.header_row)
        columns: list[tuple[int, Column]] = []
        key_index = None
        for i, header in enumerate(layout.headers):
            if _blank(header):
                continue
            resolved = self.lookup.resolve_sheet_column(group, header, cell_ref(sheet.name, i, layout.header_row))
            if resolved == "key":
                key_index = i
            elif isinstance(resolved, Column):
                columns.append((i, resolved))
        if key_index is None:
            raise UsageError(f"sheet {sheet.name!r} needs a column {_KEY_HEADERS[0]} ({_KEY_HEADERS[1]}) naming "
                             f"the applicant of each row")
        for number, values in rows:
            if all(_blank(v) for v in values):
                continue
            key_value = values[key_index] if key_index < len(values) else None
            key = "" if _blank(key_value) else _text(key_value)
            self._attached.setdefault(key, []).append((group, sheet, number, columns, values))
            self._key_cells[(sheet.name, number)] = key_index

    # --- applicants ----------------------------------------------------------------
    def _records(self) -> Iterator[Item]:
        for number, values in self._rows:
            if all(_blank(v) for v in values):
                continue
            record = self._applicant(number, values)
            yield number, record
        for key, entries in self._attached.items():
            if key in self._seen_ids:
                continue
            for group, sheet, number, _columns, _values in entries:
                index = self._key_cells.get((sheet.name, number), 0)
                ref = cell_ref(sheet.name, index, number)
                if key:
                    found = problem(ref, "orphan_row", value=repr(key), sheet=self.main.name,
                                    what=Words(group.en, group.zh))
                    found = found._replace(message=f"{_KEY_HEADERS[0]} ({_KEY_HEADERS[1]}): {found.message}",
                                           message_zh=f"{_KEY_HEADERS[0]}：{found.message_zh}")
                else:
                    found = problem(ref, "missing_field")
                    found = found._replace(message=f"{_KEY_HEADERS[0]} ({_KEY_HEADERS[1]}): {found.message}; "
                                                   f"this {group.en} row belongs to no applicant",
                                           message_zh=f"{_KEY_HEADERS[0]}：{found.message_zh}，本行{group.zh}不属于任何申请人")
                # No line: the row is not the applicants' sheet's; the path names its cell.
                yield None, RowProblem(key or None, found)

    def _plan(self) -> None:
        """What each column of the applicants' sheet fills, worked out once: (index, column, letter, header, taken)."""
        self._q = _sheet_name(self.main.name)
        self._own: list[tuple[int, Column, str, str, bool, str]] = []
        groups: dict[tuple[str, int], list[tuple[int, Column, str, str, bool]]] = {}
        for i, target in self.targets:
            column, letter = target.column, _column_letter(i)
            if target.group is None:
                self._own.append((i, column, letter, header_name(column, None, None),
                                  _accepts(self.table.model, column.field), str(self.layout.headers[i]).strip()))
            else:
                groups.setdefault((target.group.key, target.n or 1), []).append(
                    (i, column, letter, header_name(column, target.group, target.n), _accepts(target.group.model, column.field)))
        self._groups = sorted(groups.items(), key=lambda kv: kv[0][1])

    def _applicant(self, number: int, values: Sequence[Any]) -> RosterRecord:
        q, size = self._q, len(values)
        record = RosterRecord(self.table, f"{q}!{number}:{number}")
        cells, problems, shown = record.cells, record.problems, record.values
        for i, column, letter, header, taken, raw_header in self._own:
            raw = values[i] if i < size else None
            ref = f"{q}!{letter}{number}"
            cells[column.field] = (ref, header)
            shown[raw_header] = display(raw)
            if _blank(raw) or not taken:
                continue
            try:
                record[column.field] = _convert(raw, column)
            except CellProblem as exc:
                problems.append(exc.at(ref, header, column.field))
        for i, header in self.extra_columns:
            shown[header] = display(values[i] if i < size else None)
        lists: dict[str, list[dict[str, Any]]] = {}
        for (key, _n), plan in self._groups:
            raws = [values[i] if i < size else None for i, *_ in plan]
            if all(_blank(raw) for raw in raws):
                continue
            items = lists.setdefault(key, [])
            item: dict[str, Any] = {}
            path = f"{key}[{len(items)}]"
            for (i, column, letter, header, taken), raw in zip(plan, raws):
                ref = f"{q}!{letter}{number}"
                field_path = f"{path}.{column.field}"
                cells[field_path] = (ref, header)
                if _blank(raw) or not taken:
                    continue
                try:
                    item[column.field] = _convert(raw, column)
                except CellProblem as exc:
                    problems.append(exc.at(ref, header, field_path))
            items.append(item)
        record_id = record.record_id
        if record_id is not None and self._attached:  # ids kept only when extra sheets refer to them
            self._seen_ids.add(record_id)
            for group, extra_sheet, row, columns, row_values in self._attached.get(record_id, ()):
                items = lists.setdefault(group.key, [])
                item = {}
                path = f"{group.key}[{len(items)}]"
                for i, column in columns:
                    raw = row_values[i] if i < len(row_values) else None
                    self._put(item, column.field, f"{path}.{column.field}", raw, column,
                              cell_ref(extra_sheet.name, i, row), sheet_header(column), group.model, record)
                for column in group.columns:  # a column the sheet lacks: its problems name the row
                    record.cells.setdefault(f"{path}.{column.field}", (row_ref(extra_sheet.name, row),
                                                                        f"{sheet_header(column)} ({extra_sheet.name})"))
                items.append(item)
        for group in self.table.groups:  # the exchange format's order of fields
            if group.key in lists:
                record[group.key] = lists[group.key]
        return record

    @staticmethod
    def _put(target: dict[str, Any], field: str, path: str, raw: Any, column: Column, ref: str,
             header: str, model: type, record: RosterRecord | None = None) -> None:
        owner = record if record is not None else target
        assert isinstance(owner, RosterRecord)
        owner.cells[path] = (ref, header)
        if _blank(raw):
            return
        if not _accepts(model, field):  # a column the model does not take (yet): carried only
            return
        try:
            target[field] = _convert(raw, column)
        except CellProblem as exc:
            owner.problems.append(exc.at(ref, header, path))

    # --- recommendation lists --------------------------------------------------------
    def _records_of_lists(self) -> Iterator[Item]:
        sheet = self.main.name
        units: dict[str, RosterRecord] = {}
        first_rows: dict[str, int] = {}
        for number, values in self._rows:
            if all(_blank(v) for v in values):
                continue
            by_field = {t.column.field: (i, t.column) for i, t in self.targets}
            unit_cell = by_field.get("unit")
            raw_unit = values[unit_cell[0]] if unit_cell and unit_cell[0] < len(values) else None
            unit = "" if _blank(raw_unit) else _text(raw_unit)
            record = units.get(unit)
            if record is None:
                record = units[unit] = RosterRecord(self.table, row_ref(sheet, number))
                first_rows[unit] = number
                record["candidates"] = []
                if unit:
                    record["unit"] = unit
                if unit_cell:
                    record.cells["unit"] = (cell_ref(sheet, unit_cell[0], number), unit_cell[1].zh)
            candidates = record["candidates"]
            candidate: dict[str, Any] = {}
            path = f"candidates[{len(candidates)}]"
            for i, target in self.targets:
                column = target.column
                raw = values[i] if i < len(values) else None
                ref = cell_ref(sheet, i, number)
                if column.field == "unit":
                    continue
                if column.field == "as_of":
                    if _blank(raw):
                        continue
                    try:
                        day = parse_cell_date(raw).isoformat()
                    except CellProblem as exc:
                        record.problems.append(exc.at(ref, column.zh, "as_of"))
                        continue
                    if "as_of" in record and record["as_of"] != day:
                        found = problem(ref, "conflicting_value", value=repr(day), other=repr(record["as_of"]),
                                        record=Words(unit or "this unit", unit or "本单位"),
                                        what=Words("date", "评估日期"))
                        record.problems.append(found._replace(
                            message=f"{column.zh} (as_of): {found.message}",
                            message_zh=f"{column.zh}（as_of）：{found.message_zh}"))
                    else:
                        record["as_of"] = day
                        record.cells["as_of"] = (ref, column.zh)
                    continue
                self._put(candidate, column.field, f"{path}.{column.field}", raw, column, ref, column.zh,
                          Candidate, record)
            candidates.append(candidate)
        for unit, record in units.items():
            yield first_rows[unit], record
        self.total = len(units)


# --------------------------------------------------------------------------- opening files

def _csv_encoding(path: Path) -> str:
    """utf-8-sig for a UTF-8 BOM, utf-16 for a UTF-16 BOM, utf-8 when every byte decodes so, else gb18030."""
    with path.open("rb") as f:
        head = f.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        f.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _csv_sheet(path: Path) -> _Sheet:
    encoding = _csv_encoding(path)
    with path.open("r", encoding=encoding, newline="", errors="replace") as f:
        head = "".join(f.readline(_HEADER_SCAN_CHARS) for _ in range(_HEADER_SCAN_ROWS))
    delimiter = max((",", "\t", ";"), key=head.count) if head else ","

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        with path.open("r", encoding=encoding, newline="") as f:
            try:
                for number, values in enumerate(csv.reader(f, delimiter=delimiter), 1):
                    yield number, values
            except UnicodeDecodeError as exc:
                raise UsageError(f"{path.name} is not {encoding} text throughout ({exc.reason})") from None
            except csv.Error as exc:
                raise UsageError(f"{path.name} is not a readable CSV file: {exc}") from None

    def count() -> int:
        n = 0
        with path.open("r", encoding=encoding, newline="") as f:
            for values in csv.reader(f, delimiter=delimiter):
                n += 1
        return n

    try:
        size = count()
    except (UnicodeDecodeError, csv.Error):
        size = None
    return _Sheet(path.stem, rows, size)


def _zip_parts(path: Path, size: int) -> int | None:
    """The number of parts a zip file declares in its end record (read from its last 64 KiB,
    before its directory is), or None when it has no end record (not a zip file)."""
    import struct

    with path.open("rb") as f:
        f.seek(max(0, size - (22 + 0xFFFF)))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    return int(struct.unpack_from("<H", tail, at + 10)[0])


def check_workbook(path: str | Path) -> None:
    """Refuse a workbook past the limits before openpyxl opens it (UsageError naming the limit):
    its size (``input_bytes``), its parts (``workbook_parts``), and what its parts unpack to as
    their zip directory declares it (``workbook_unpacked_bytes``, ``workbook_whole_parts_bytes``).
    A part is never unpacked past its declared size (Python's zipfile stops there and fails the
    check of its CRC), so a zip bomb is refused without unpacking anything."""
    import zipfile

    from .limits import INPUT_BYTES, WORKBOOK_PARTS, WORKBOOK_UNPACKED_BYTES, WORKBOOK_WHOLE_PARTS_BYTES

    path = Path(path)
    size = path.stat().st_size
    if size > INPUT_BYTES:
        raise UsageError(f"{path} has {size:,} bytes; a workbook may have at most {INPUT_BYTES:,} "
                         "(limit input_bytes; send a larger roster as CSV, which is read a line at a time)")
    parts = _zip_parts(path, size)
    if parts is None:
        return  # not a zip file: openpyxl says so
    if parts > WORKBOOK_PARTS:
        raise UsageError(f"{path} has {'more than 65,534' if parts == 0xFFFF else format(parts, ',')} parts; "
                         f"a workbook may have at most {WORKBOOK_PARTS:,} (limit workbook_parts)")
    try:
        with zipfile.ZipFile(path) as book:
            members = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # openpyxl says what is wrong with it
    unpacked = sum(m.file_size for m in members)
    if unpacked > WORKBOOK_UNPACKED_BYTES:
        raise UsageError(f"{path} unpacks to {unpacked:,} bytes; a workbook may unpack to at most "
                         f"{WORKBOOK_UNPACKED_BYTES:,} (limit workbook_unpacked_bytes)")
    whole = sum(m.file_size for m in members if not m.filename.startswith("xl/worksheets/"))
    if whole > WORKBOOK_WHOLE_PARTS_BYTES:
        raise UsageError(f"{path}: the parts other than its worksheets unpack to {whole:,} bytes; at most "
                         f"{WORKBOOK_WHOLE_PARTS_BYTES:,} are read (limit workbook_whole_parts_bytes)")


def _xlsx_sheets(path: Path, table: Table, stack: contextlib.ExitStack) -> tuple[_Sheet, list[_Sheet]]:
    import zipfile

    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of the package
        raise UsageError("reading .xlsx needs openpyxl (pip install openpyxl)") from None
    check_workbook(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UsageError(f"{path} is not an Excel workbook (.xlsx): {exc}") from None
    stack.callback(book.close)
    lookup = _headers(table)

    def sheet(ws: Any) -> _Sheet:
        def rows() -> Iterator[tuple[int, Sequence[Any]]]:
            for number, values in enumerate(ws.iter_rows(values_only=True), 1):
                yield number, values
        return _Sheet(ws.title, rows, ws.max_row)

    worksheets = [ws for ws in book.worksheets if _norm(ws.title) not in {_norm(s) for s in _EXPLANATION_SHEETS}]
    main = next((ws for ws in worksheets if _norm(ws.title) in lookup.main_sheets), None)
    if main is None:
        main = next((ws for ws in worksheets if _norm(ws.title) not in lookup.sheets), None)
    if main is None:
        raise UsageError(f"{path} has no sheet of {table.kind} (name it {table.sheet_zh!r})")
    extra = [sheet(ws) for ws in worksheets if ws is not main and _norm(ws.title) in lookup.sheets]
    return sheet(main), extra


@contextlib.contextmanager
def open_roster(path: str | Path, kind: str = "applicants") -> Iterator[Roster]:
    """Open a roster (.xlsx or .csv) of applicants or of recommendation lists; UsageError when unusable."""
    table = APPLICANT_TABLE if kind == "applicants" else LIST_TABLE
    path = Path(path)
    if not path.exists():
        raise UsageError(f"no such file: {path}")
    if path.is_dir():
        raise UsageError(f"{path} is a directory, not a roster")
    if not path.is_file():  # a FIFO or a device: a roster is read more than once, and must end
        raise UsageError(f"{path} is not a regular file; a roster must be one")
    with contextlib.ExitStack() as stack:
        if path.suffix.lower() == ".csv":
            main, extra = _csv_sheet(path), []
        else:
            main, extra = _xlsx_sheets(path, table, stack)
        yield Roster(table, main, extra)


def roster_records(path: str | Path, kind: str = "applicants") -> list[Any]:
    """Every record of a roster, read whole (a convenience for small rosters and tests)."""
    with open_roster(path, kind) as roster:
        return [record for _, record in roster.items]


# --------------------------------------------------------------------------- the template

def _choices(model: type, column: Column, lang: str) -> list[str]:
    if column.kind == "bool":
        return ["是", "否"]
    enum = enum_of(model, column)
    if column.kind == "enum" and enum is not None:
        return [m.zh if lang == "zh" else m.code for m in enum]
    out: list[str] = []
    for choice in column.choices:
        out += _policy_choices(choice[1:]) if choice.startswith("@") else [choice]
    return out


def _policy_choices(name: str) -> list[str]:
    """Values the shipped policy lists: its programme directions, its recommending units."""
    from .cityreport import recommending_units
    from .policy import default_policy

    policy = default_policy()
    if name == "directions":
        return list(policy.directions)
    if name == "units":
        return list(recommending_units(policy))
    return []


def _example(column: Column) -> Any:
    return column.example


def _columns_of(table: Table, lang: str) -> list[tuple[str, Column, Group | None, type, int | None]]:
    out: list[tuple[str, Column, Group | None, type, int | None]] = [
        (header_name(c, None, None, lang), c, None, c.owner or table.model, None) for c in table.columns]
    for g in table.groups:
        for n in range(1, g.repeats + 1):
            out += [(header_name(c, g, n, lang), c, g, g.model, n) for c in g.columns]
    return out


def _county_column() -> Column:
    """A column of the roster's own that the template offers: the county, for ``--group-by 县区``."""
    return Column(_OWN_COLUMN, "县区", "county", "choice",
                  "名单自有列示例：申请人所在县（市、区）或功能区；原样带入结果表，可用 --group-by 县区 分组汇总。"
                  "本工具不认识的列都照此处理，可自行增删（如“单位”）。",
                  "an example of the roster's own columns: the applicant's county or zone; carried to the "
                  "results, and --group-by county counts per county. Every column the tool does not know is "
                  "treated so; add or remove such columns freely (employer, phone).",
                  "泰山区", choices=("@units",))


_OWN_COLUMN = "(own)"


def _template_columns(table: Table, lang: str) -> list[tuple[str, Column, Group | None, type, int | None]]:
    columns = _columns_of(table, lang)
    if table.kind == "applicants":
        county = _county_column()
        columns.insert(2, (county.zh if lang == "zh" else county.en, county, None, table.model, None))
    return columns


def write_template(path: str | Path, kind: str = "applicants", lang: str = "zh") -> None:
    """An empty roster: headers, one filled example row, dropdown lists, extra sheets and a sheet explaining each column."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    table = APPLICANT_TABLE if kind == "applicants" else LIST_TABLE
    zh = lang == "zh"
    book = Workbook()
    main = book.active
    main.title = table.sheet_zh if zh else table.sheet_en
    bold, example_font = Font(bold=True), Font(italic=True, color="555555")
    fill = PatternFill("solid", fgColor="DDEBF7")
    last_row = 2000

    def layout(ws: Any, columns: list[tuple[str, Column, Group | None, type, int | None]], example: bool) -> None:
        for i, (header, column, group, model, n) in enumerate(columns, 1):
            cell = ws.cell(row=1, column=i, value=header)
            cell.font, cell.fill = bold, fill
            cell.comment = Comment((column.help_zh if zh else column.help_en), "taian-titles")
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(30, 2 * len(header) + 2))
            letter = get_column_letter(i)
            if example and n in (None, 1) and column.example is not None:
                value = column.example
                if column.kind == "enum" and isinstance(value, str) and not zh:
                    enum = enum_of(model, column)
                    value = enum.parse(value).code if enum else value
                cell = ws.cell(row=2, column=i, value=value)
                cell.font = example_font
                if column.kind == "date":
                    cell.number_format = "yyyy-mm-dd"
            choices = _choices(model, column, lang)
            if choices:
                strict = column.kind in ("enum", "bool") or column.strict
                dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                                    showErrorMessage=strict, showDropDown=False)
                dv.errorTitle = "不在可选范围内" if zh else "Not an allowed value"
                dv.error = ("请从下拉列表中选择：" if zh else "Choose from the list: ") + "、".join(choices)
                dv.add(f"{letter}2:{letter}{last_row}")
                ws.add_data_validation(dv)
            elif column.kind == "date":
                dv = DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True,
                                    showErrorMessage=False)
                dv.add(f"{letter}2:{letter}{last_row}")
                ws.add_data_validation(dv)
        ws.freeze_panes = "B2"

    layout(main, _template_columns(table, lang), example=True)
    key = next(c for c in table.columns if c.field == table.key)
    for group in table.groups:
        ws = book.create_sheet(group.sheet_zh if zh else group.sheet_en)
        key_column = Column("key", _KEY_HEADERS[0] if zh else _KEY_HEADERS[1], _KEY_HEADERS[1], "text",
                            f"对应申请人表的“{key.zh}”。", f"the applicant's {key.en} on the applicants' sheet.")
        columns = [(key_column.zh if zh else key_column.en, key_column, None, table.model, None)]
        columns += [(sheet_header(c, lang), c, group, group.model, None) for c in group.columns]
        layout(ws, columns, example=False)

    help_ws = book.create_sheet("说明" if zh else "columns")
    head = (["列名", "Column", "字段", "必填", "可填的值", "说明", "Explanation", "示例"] if zh else
            ["Column", "列名", "Field", "Required", "Values", "Explanation", "说明", "Example"])
    help_ws.append(head)
    for cell in help_ws[1]:
        cell.font, cell.fill = bold, fill
    intro = ("第 2 行是示例，填写前请覆盖或删除。证书、工作经历等可在申请人表中按编号重复（证书1…、证书2…，可自行增加证书3…），"
             "也可写在同名的附加工作表中，每行一项，用“申请人编号”对应申请人。申请人表中其他列（如县区、单位）原样带入结果。")
    intro_en = ("Row 2 is an example: overwrite or delete it. Certificates, work periods, ... come as numbered column "
                "groups on the applicants' sheet (certificate 1 ..., certificate 2 ..., add certificate 3 ... as needed) "
                "or on the extra sheet of that name, one per row, keyed by 'applicant id'. Other columns of the "
                "applicants' sheet (county, employer) are carried to the results unchanged.")
    rows: list[list[Any]] = []
    for header, column, group, model, _n in _template_columns(table, lang):
        other = header_name(column, group, 1 if group else None, "en" if zh else "zh")
        field = f"{group.key}[].{column.field}" if group else column.field
        if field == _OWN_COLUMN:
            field = "（名单自有列）" if zh else "(the roster's own)"
        required = _required(column.owner or model, column.field)
        req = ("是" if required else "否") if zh else ("yes" if required else "no")
        if group is not None and required:
            req = f"{req}（该项填写时）" if zh else f"{req} (when the item is given)"
        values = "、".join(_choices(model, column, lang)) or {
            "date": "日期" if zh else "a date", "bool": "是/否", "text": "文字" if zh else "text"}.get(column.kind, "")
        example = column.example.isoformat() if isinstance(column.example, _dt.date) else column.example
        if zh:
            rows.append([header, other, field, req, values, column.help_zh, column.help_en, example])
        else:
            rows.append([header, other, field, req, values, column.help_en, column.help_zh, example])
    for row in rows:
        help_ws.append(row)
    help_ws.append([])
    help_ws.append([intro])
    help_ws.append([intro_en])
    for letter, width in zip("ABCDEFGH", (16, 24, 26, 14, 40, 50, 60, 22)):
        help_ws.column_dimensions[letter].width = width
    for row in help_ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.save(path)


# --------------------------------------------------------------------------- decisions as a workbook

_OUT_WORDS = {
    "zh": {"sheet": "评价结果", "summary": "汇总", "row": "行", "id": "编号", "name": "姓名", "outcomes": "结论",
           "codes": "结论代码", "highest": "可直接认定的最高职称", "highest_code": "最高职称代码",
           "not_met": "尚未满足的条件", "not_met_codes": "尚未满足代码", "notes": "未予计入的材料", "error": "错误",
           "status": "状态", "ok": "已评估", "bad": "有误", "from": "自 {date} 起满足", "never": "仅凭时间推移无法满足"},
    "en": {"sheet": "decisions", "summary": "summary", "row": "row", "id": "id", "name": "name", "outcomes": "outcomes",
           "codes": "outcome codes", "highest": "highest recognised title", "highest_code": "highest title code",
           "not_met": "not yet met", "not_met_codes": "not met codes", "notes": "left out", "error": "errors",
           "status": "status", "ok": "evaluated", "bad": "error", "from": "met from {date}",
           "never": "time alone will not close the gap"},
}


def record_name(record: Any) -> str | None:
    """The applicant's name as the roster or the record gives it, if any."""
    if isinstance(record, RosterRecord):
        for key, value in record.values.items():
            if _norm(key) in {_norm("姓名"), "name"} and not _blank(value):
                return _text(value)
    if isinstance(record, Mapping) and isinstance(record.get("name"), str):
        return record["name"]
    return None


def caller_values(record: Any, headers: Sequence[str]) -> list[Any]:
    if isinstance(record, RosterRecord):
        return [record.values.get(h) for h in headers]
    return [None for _ in headers]


def cells(values: Sequence[Any]) -> list[Any]:
    """A row's values for a worksheet: text from records with its control and bidi characters
    shown as ``\\uXXXX`` (:mod:`taian_titles.escaping`); a worksheet cannot hold control
    characters at all (openpyxl raises IllegalCharacterError) nor lone surrogates."""
    return [neutralise(v) if isinstance(v, str) else v for v in values]


class XlsxWriter:
    """Decisions as a workbook, row by row (openpyxl's write-only mode): one row per applicant, and a summary sheet."""

    def __init__(self, path: str | Path, lang: str, ruleset: Any, summary: Any = None,
                 extra_headers: Sequence[str] = ()) -> None:
        from openpyxl import Workbook

        self.path, self.lang, self.ruleset, self.summary = Path(path), lang, ruleset, summary
        self.extra_headers = list(extra_headers)
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(_OUT_WORDS[lang]["sheet"])
        self.count = 0

    def start(self) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        w = _OUT_WORDS[self.lang]
        names = [w["row"], w["id"], w["name"], w["status"], w["outcomes"], w["codes"], w["highest"],
                 w["highest_code"], w["not_met"], w["not_met_codes"], w["notes"], w["error"], *self.extra_headers]
        widths = [6, 16, 10, 8, 50, 40, 20, 12, 50, 30, 40, 60] + [14] * len(self.extra_headers)
        from openpyxl.utils import get_column_letter
        for i, width in enumerate(widths, 1):
            self.sheet.column_dimensions[get_column_letter(i)].width = width
        self.sheet.freeze_panes = "C2"
        header = []
        for name in names:
            cell = WriteOnlyCell(self.sheet, value=name)
            cell.font = Font(bold=True)
            header.append(cell)
        self.sheet.append(header)

    def write(self, answer: Any, entry: Mapping[str, Any], is_error: bool, where: str = "",
              record: Any = None) -> None:
        from .summary import outcome_label, title_label

        w, lang = _OUT_WORDS[self.lang], self.lang
        sep = "；" if lang == "zh" else "; "
        row_number = getattr(record, "row_ref", "")
        row_number = int(row_number.rsplit(":", 1)[-1]) if row_number else None
        base = [row_number, entry.get("id"), record_name(record)]
        if is_error:
            error = entry.get("error", {})
            problems = error.get("problems") or [{"path": error.get("path", "$"), "message": error.get("message", "")}]
            text = sep.join(f"{p['path']}: {p['message']}" for p in problems)
            row = base + [w["bad"], None, None, None, None, None, None, None, text]
        else:
            outcomes = entry.get("outcomes", [])
            not_met = entry.get("not_met", [])
            highest = entry.get("highest_recognized_title")
            row = base + [
                w["ok"],
                sep.join(outcome_label(self.ruleset, o["code"], lang) for o in outcomes) or None,
                ", ".join(o["code"] for o in outcomes) or None,
                title_label(highest, lang, self.ruleset),
                highest,
                sep.join(f"{outcome_label(self.ruleset, n['code'], lang)}〔{n['clause']}〕"
                         f"{'：' if lang == 'zh' else ': '}"
                         + (w["from"].format(date=n["eligible_on"]) if n.get("eligible_on") else w["never"])
                         for n in not_met) or None,
                ", ".join(f"{n['code']}" + (f" {n['eligible_on']}" if n.get("eligible_on") else "")
                          for n in not_met) or None,
                sep.join(_note_text(n, lang) for n in entry.get("notes", [])) or None,
                None,
            ]
        self.sheet.append(cells(row + caller_values(record, self.extra_headers)))
        self.count += 1

    def finish(self) -> None:
        if self.summary is not None:
            self.summary.write_sheet(self.book, self.lang)
        try:
            self.book.save(self.path)
        except OSError as exc:
            raise UsageError(f"cannot write {self.path}: {exc.strerror or exc}") from None


def _note_text(note: Any, lang: str) -> str:
    if isinstance(note, Mapping):
        explanation = note.get("explanation")
        if isinstance(explanation, Mapping) and explanation.get(lang):
            return str(explanation[lang])
        return str(note.get("code", ""))
    return str(note)


# --------------------------------------------------------------------------- the city quota report as a workbook

def write_city_report_xlsx(report: Any, path: str | Path, lang: str = "zh", ruleset: Any = None) -> None:
    """The city quota report (:class:`~taian_titles.quota.CityReport`) as a workbook: the table with its 合计 row, then findings."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from .render import quota_summary_line

    zh = lang == "zh"
    book = Workbook()
    ws = book.active
    ws.title = "占比检查" if zh else "quota check"
    header = (["单位", "评估日期", "人数", "数字", "占比", "达标", "需增加", "需替换", "问题数", "说明"] if zh else
              ["unit", "as of", "total", "digital", "share", "meets", "add", "swap", "findings", "explanation"])
    ws.append(header)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    yes, no = ("是", "否") if zh else ("yes", "no")
    for i, r in enumerate(report.results, 1):
        if hasattr(r, "error"):
            ws.append(cells([r.unit or f"#{i}", None, None, None, None, None, None, None, None,
                             ("名单有误，未能检查：" if zh else "bad input, not checked: ") + str(r.error)]))
            continue
        meets = None if r.meets_quota is None else (yes if r.meets_quota else no)
        ws.append(cells([r.unit, r.as_of, r.total, r.digital, r.share_text, meets, r.add_digital_needed,
                         r.swap_needed, len(r.findings), r.explanation[lang]]))
        ws.cell(row=ws.max_row, column=2).number_format = "yyyy-mm-dd"
    from .cityreport import missing_units, totals as city_totals, unit_findings, units_of

    totals = city_totals(report)
    ws.append(["合计" if zh else "city total", None, totals["total"], totals["digital"], totals["share"],
               f"{totals['meeting']}/{totals['checked']}", totals["add_digital_needed"], totals["swap_needed"],
               totals["findings"], quota_summary_line(report, lang)])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.append([])
    units = units_of(report)
    missing = missing_units(report, units)
    if units:
        ws.append(cells([("未报送名单的单位" if zh else "units that sent no list"),
                         ("、" if zh else ", ").join(missing) or ("无" if zh else "none")]))
    for finding in unit_findings(report, units):
        ws.append(cells([("单位名称问题" if zh else "unit name"), finding.unit, None, None, None, None, None, None,
                         None, finding.explanation[lang]]))
    for letter, width in zip("ABCDEFGHIJ", (14, 12, 8, 8, 10, 8, 8, 8, 8, 80)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "B2"
    details = book.create_sheet("名单问题" if zh else "findings")
    details.append(["单位", "人选编号", "位置", "问题代码", "说明"] if zh else
                   ["unit", "candidate", "positions", "code", "explanation"])
    for cell in details[1]:
        cell.font = Font(bold=True)
    for r in report.results:
        for f in getattr(r, "findings", ()):
            details.append(cells([r.unit, f.candidate, ", ".join(str(p) for p in f.positions), f.code,
                                  f.explanation[lang]]))
    details.column_dimensions["A"].width = 14
    details.column_dimensions["E"].width = 80
    if ruleset is not None:
        details.append([])
        for document in getattr(ruleset, "documents", (ruleset,)):
            details.append([f"{document.id} {document.version} {document.digest}"])
    try:
        book.save(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
