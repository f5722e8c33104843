"""The summary of a batch: how many records, how many errors, how many applicants per outcome and per highest title.

The command counts every answer as it writes it (:meth:`BatchSummary.add` reads the answer's
exchange-format dict, the same that ``--format json`` writes), so the counts are those of the
output and memory stays flat however long the batch.  After every ``evaluate`` run a few lines
go to standard error (:meth:`BatchSummary.stderr_text`); ``--summary FILE`` writes the same
counts as HTML (tables and a bar chart of outcomes as inline SVG: no script, no external
resource), Markdown or JSON, grouped by a column of the roster when ``--group-by`` names one.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping

from .escaping import neutralise
from .io import UsageError

__all__ = ["BatchSummary", "Counts", "outcome_label", "title_label", "group_value", "SUMMARY_FORMATS"]

#: ``--summary`` file extensions and the format each writes.
SUMMARY_FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".json": "json"}
_QUOTA_CODE = "digital_share_quota"  # a recommendation list's code, never an applicant's

_WORDS = {
    "zh": {"title": "评价结果汇总", "records": "记录", "evaluated": "已评估", "errors": "有误", "outcome": "结论",
           "code": "代码", "count": "人数", "share": "占已评估", "highest": "可直接认定的最高职称", "none": "无",
           "no_outcome": "未适用任何条款", "not_met": "尚未满足的条件", "group": "分组", "blank": "（未填）",
           "all": "全部", "chart": "各结论人数", "by_group": "按{column}分组", "ruleset": "规则集"},
    "en": {"title": "Summary of the evaluation", "records": "records", "evaluated": "evaluated", "errors": "errors",
           "outcome": "outcome", "code": "code", "count": "applicants", "share": "of evaluated",
           "highest": "highest recognised title", "none": "none", "no_outcome": "no clause applies",
           "not_met": "not yet met", "group": "group", "blank": "(blank)", "all": "all",
           "chart": "applicants per outcome", "by_group": "by {column}", "ruleset": "ruleset"},
}


def outcome_label(policy: Any, code: str, lang: str) -> str:
    """The outcome's name in the policy (可直接认定初级职称（助理工程师）), else its code."""
    lookup = getattr(policy, "outcome", None)
    if callable(lookup):
        entry = lookup(code)
    else:  # a single ruleset document
        entry = getattr(policy, "outcomes", {}).get(code) if policy is not None else None
    return str(entry[lang]) if entry and entry.get(lang) else code


def outcome_codes(policy: Any) -> list[str]:
    """Every outcome code the policy declares, in its documents' order."""
    documents = getattr(policy, "documents", None) or ([policy] if policy is not None else [])
    return list(dict.fromkeys(code for d in documents for code in getattr(d, "outcomes", {})))


def title_label(code: str | None, lang: str, policy: Any = None) -> str:
    """初级 / junior for ``junior`` (the policy's name for it when it has one); 无 / none for no title."""
    if code is None:
        return _WORDS[lang]["none"]
    label = getattr(policy, "label", None)
    if callable(label):
        name = label("titles", code, lang)
        if name:
            return str(name)
    from .model import Level

    try:
        level = Level.parse(code)
    except ValueError:
        return code
    return level.zh if lang == "zh" else level.en


def group_value(record: Any, column: str | None) -> str | None:
    """The value of ``column`` for a record: a roster's column (by its header) or a JSON record's top-level field."""
    if column is None:
        return None
    from .roster import RosterRecord, _norm, _text, _blank

    if isinstance(record, RosterRecord):
        wanted = _norm(column)
        for header, value in record.values.items():
            if _norm(header) == wanted:
                return None if _blank(value) else _text(value)
        return None
    if isinstance(record, Mapping):
        value = record.get(column)
        if value is None or isinstance(value, (dict, list)):
            return None
        return str(value).strip() or None
    return None


class Counts:
    """The counts of one group (or of the whole batch)."""

    def __init__(self) -> None:
        self.records = 0
        self.errors = 0
        self.no_outcome = 0
        self.outcomes: Counter[str] = Counter()
        self.titles: Counter[str | None] = Counter()
        self.not_met: Counter[str] = Counter()

    @property
    def evaluated(self) -> int:
        return self.records - self.errors

    def add(self, entry: Mapping[str, Any] | tuple[Any, ...]) -> None:
        """Count one answer: its exchange dict, or what :func:`counted` keeps of it."""
        if type(entry) is tuple:
            self.add_counted(*entry)
            return
        if "error" in entry:
            self.add_counted(True, (), None, ())
            return
        self.add_counted(False, {o["code"] for o in entry.get("outcomes", ())}, entry.get("highest_recognized_title"),
                         {n["code"] for n in entry.get("not_met", ())})

    def add_counted(self, error: bool, codes: Iterable[str], title: str | None, not_met: Iterable[str]) -> None:
        self.records += 1
        if error:
            self.errors += 1
            return
        self.outcomes.update(codes)
        if not codes:
            self.no_outcome += 1
        self.titles[title] += 1
        self.not_met.update(not_met)

    def to_dict(self, codes: Iterable[str]) -> dict[str, Any]:
        return {"records": self.records, "evaluated": self.evaluated, "errors": self.errors,
                "outcomes": {c: self.outcomes.get(c, 0) for c in codes},
                "no_outcome": self.no_outcome,
                "highest_recognized_title": {("none" if k is None else k): v for k, v in _titles(self.titles)},
                "not_met": dict(sorted(self.not_met.items()))}


def _titles(titles: Counter[str | None]) -> list[tuple[str | None, int]]:
    from .model import Level

    def rank(code: str | None) -> tuple[int, str]:
        if code is None:
            return (99, "")
        try:
            return (Level.parse(code).rank, code)
        except ValueError:
            return (50, code)
    return sorted(titles.items(), key=lambda kv: rank(kv[0]))


def counted(entry: Mapping[str, Any]) -> tuple[bool, tuple[str, ...], str | None, tuple[str, ...]]:
    """What a summary counts of an answer (whether it is an error, its distinct outcome codes,
    its highest title, its distinct not-met codes): small to send between processes."""
    if "error" in entry:
        return (True, (), None, ())
    return (False, tuple(dict.fromkeys(o["code"] for o in entry.get("outcomes", ()))),
            entry.get("highest_recognized_title"), tuple(dict.fromkeys(n["code"] for n in entry.get("not_met", ()))))


class BatchSummary:
    """Counts of a batch's answers, overall and per group (``group_by``: a column name)."""

    def __init__(self, ruleset: Any = None, group_by: str | None = None) -> None:
        self.ruleset = ruleset
        self.group_by = group_by
        self.total = Counts()
        self.groups: dict[str | None, Counts] = {}
        self.carried: list[str] = []

    def add(self, entry: Mapping[str, Any], group: str | None = None) -> None:
        self.total.add(entry)
        if self.group_by is not None:
            self.groups.setdefault(group, Counts()).add(entry)

    def codes(self) -> list[str]:
        """Every applicant outcome code of the ruleset, in its order, then any other code seen."""
        quota = {r.then.target for r in getattr(self.ruleset, "rules", ()) if r.then.kind == "quota"} or {_QUOTA_CODE}
        declared = [c for c in outcome_codes(self.ruleset) if c not in quota]
        seen = [c for c in self.total.outcomes if c not in declared]
        return declared + sorted(seen)

    def to_dict(self) -> dict[str, Any]:
        codes = self.codes()
        data: dict[str, Any] = self.total.to_dict(codes)
        data["outcome_labels"] = {c: {"zh": outcome_label(self.ruleset, c, "zh"),
                                      "en": outcome_label(self.ruleset, c, "en")} for c in codes}
        if self.group_by is not None:
            data["group_by"] = self.group_by
            data["groups"] = [{"group": g, **c.to_dict(codes)} for g, c in self.groups.items()]
        if self.ruleset is not None and hasattr(self.ruleset, "ref"):
            data["ruleset"] = self.ruleset.ref()
        return data

    # --- standard error --------------------------------------------------------------
    def stderr_text(self, lang: str = "zh", prog: str = "taian-titles") -> str:
        t, sep = self.total, ("；" if lang == "zh" else "; ")
        codes = [c for c in self.codes() if t.outcomes.get(c)]
        if lang == "zh":
            lines = [f"{prog}: 共 {t.records} 条记录：已评估 {t.evaluated} 条，有误 {t.errors} 条"
                     + ("（错误条目已写入输出）" if t.errors else "")]
            outcomes = sep.join(f"{outcome_label(self.ruleset, c, 'zh')} {c} {t.outcomes[c]}" for c in codes)
            lines.append(f"  各结论人数：{outcomes or '无'}" + (f"{sep}未适用任何条款 {t.no_outcome}" if t.no_outcome else ""))
            lines.append("  可直接认定的最高职称：" + (sep.join(f"{title_label(k, 'zh', self.ruleset)} {v}" for k, v in _titles(t.titles)) or "—"))
            if self.carried:
                lines.append("  名单自有列（原样带入结果）：" + "、".join(self.carried))
        else:
            lines = [f"{prog}: {t.records} records: {t.evaluated} evaluated, {t.errors} with errors"
                     + (" (their error entries are in the output)" if t.errors else "")]
            outcomes = sep.join(f"{c} {t.outcomes[c]}" for c in codes)
            lines.append(f"  outcomes: {outcomes or 'none'}" + (f"{sep}no clause applies {t.no_outcome}" if t.no_outcome else ""))
            lines.append("  highest recognised title: " + (sep.join(f"{title_label(k, 'en', self.ruleset)} {v}" for k, v in _titles(t.titles)) or "-"))
            if self.carried:
                lines.append("  the roster's own columns (carried to the results): " + ", ".join(self.carried))
        return "\n".join(neutralise(line) for line in lines) + "\n"  # column names are the roster's

    # --- files -------------------------------------------------------------------------
    def write(self, path: str | Path, lang: str = "zh") -> None:
        path = Path(path)
        fmt = SUMMARY_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise UsageError(f"--summary {path}: the file name must end in .html, .md or .json")
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n" if fmt == "json" else \
            self.render(fmt, lang)
        try:
            path.write_text(text, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None

    def _sections(self) -> list[tuple[str | None, Counts]]:
        return [(None, self.total)] + ([(g, c) for g, c in self.groups.items()] if self.group_by else [])

    def _group_name(self, group: str | None, lang: str) -> str:
        return _WORDS[lang]["blank"] if group is None else group

    def render(self, fmt: str, lang: str = "zh") -> str:
        """The report as ``markdown`` or ``html`` (a self-contained page with a bar chart per group)."""
        return self._html(lang) if fmt == "html" else self._markdown(lang)

    def _markdown(self, lang: str) -> str:
        from .render import md_escape as e_

        w, codes = _WORDS[lang], self.codes()
        out = [f"# {e_(w['title'])}", ""]
        for group, counts in self._sections():
            if group is not None or self.group_by is not None:
                name = w["all"] if group is None and counts is self.total else self._group_name(group, lang)
                out += [f"## {e_(self.group_by or '')}：{e_(name)}" if lang == "zh" else f"## {e_(self.group_by or '')}: {e_(name)}", ""]
            out.append(f"{w['records']} {counts.records} · {w['evaluated']} {counts.evaluated} · {w['errors']} {counts.errors}")
            out += ["", f"| {w['outcome']} | {w['code']} | {w['count']} | {w['share']} |", "|---|---|---:|---:|"]
            for c in codes:
                out.append(f"| {e_(outcome_label(self.ruleset, c, lang))} | `{c}` | {counts.outcomes.get(c, 0)} | "
                           f"{_percent(counts.outcomes.get(c, 0), counts.evaluated)} |")
            out.append(f"| {e_(w['no_outcome'])} | | {counts.no_outcome} | {_percent(counts.no_outcome, counts.evaluated)} |")
            out += ["", f"| {w['highest']} | {w['count']} |", "|---|---:|"]
            out += [f"| {e_(title_label(k, lang, self.ruleset))} | {v} |" for k, v in _titles(counts.titles)]
            out.append("")
        if self.group_by is not None:
            out += [f"## {e_(w['by_group'].format(column=self.group_by))}", "",
                    "| " + " | ".join([e_(self.group_by), w["records"], w["errors"], *(f"`{c}`" for c in codes)]) + " |",
                    "|---|" + "---:|" * (2 + len(codes))]
            for group, counts in self.groups.items():
                out.append("| " + " | ".join([e_(self._group_name(group, lang)), str(counts.records), str(counts.errors),
                                              *(str(counts.outcomes.get(c, 0)) for c in codes)]) + " |")
            out.append("")
        if self.ruleset is not None and hasattr(self.ruleset, "ref"):
            ref = self.ruleset.ref()
            out += ["---", "", f"{w['ruleset']}: `{ref['id']}` `{ref['version']}` `{ref['digest']}`"]
        return "\n".join(out) + "\n"

    def _html(self, lang: str) -> str:
        from .render import CJK_FONTS

        w, codes, e_ = _WORDS[lang], self.codes(), html.escape
        body = [f"<h1>{e_(w['title'])}</h1>"]
        for n, (group, counts) in enumerate(self._sections()):
            if self.group_by is not None:
                name = w["all"] if n == 0 else self._group_name(group, lang)
                colon = "：" if lang == "zh" else ": "
                body.append(f'<section class="group"><h2>{e_(self.group_by)}{colon}{e_(name)}</h2>')
            else:
                body.append('<section class="group">')
            body.append(f'<p class="counts">{e_(w["records"])} <b>{counts.records}</b> · {e_(w["evaluated"])} '
                        f'<b>{counts.evaluated}</b> · {e_(w["errors"])} <b>{counts.errors}</b></p>')
            bars = [(outcome_label(self.ruleset, c, lang), c, counts.outcomes.get(c, 0)) for c in codes]
            bars.append((w["no_outcome"], "", counts.no_outcome))
            body.append(_svg_chart(bars, f"{w['chart']} · {self._group_name(group, lang) if n else w['all']}", n))
            body.append(f'<table><thead><tr><th>{e_(w["outcome"])}</th><th>{e_(w["code"])}</th>'
                        f'<th>{e_(w["count"])}</th><th>{e_(w["share"])}</th></tr></thead><tbody>')
            for label, code, count in bars:
                body.append(f"<tr><td>{e_(label)}</td><td><code>{e_(code)}</code></td><td>{count}</td>"
                            f"<td>{_percent(count, counts.evaluated)}</td></tr>")
            body.append("</tbody></table>")
            body.append(f'<table><thead><tr><th>{e_(w["highest"])}</th><th>{e_(w["count"])}</th></tr></thead><tbody>')
            body += [f"<tr><td>{e_(title_label(k, lang, self.ruleset))}</td><td>{v}</td></tr>" for k, v in _titles(counts.titles)]
            body.append("</tbody></table></section>")
        if self.group_by is not None:
            body.append(f"<h2>{e_(w['by_group'].format(column=self.group_by))}</h2><table><thead><tr>"
                        f"<th>{e_(self.group_by)}</th><th>{e_(w['records'])}</th><th>{e_(w['errors'])}</th>"
                        + "".join(f'<th title="{e_(c)}">{e_(outcome_label(self.ruleset, c, lang))}</th>' for c in codes)
                        + "</tr></thead><tbody>")
            for group, counts in self.groups.items():
                body.append(f"<tr><td>{e_(self._group_name(group, lang))}</td><td>{counts.records}</td>"
                            f"<td>{counts.errors}</td>" + "".join(f"<td>{counts.outcomes.get(c, 0)}</td>" for c in codes)
                            + "</tr>")
            body.append("</tbody></table>")
        if self.ruleset is not None and hasattr(self.ruleset, "ref"):
            ref = self.ruleset.ref()
            body.append(f"<footer>{e_(w['ruleset'])}: <code>{e_(ref['id'])}</code> <code>{e_(ref['version'])}</code> "
                        f"<code>{e_(ref['digest'])}</code></footer>")
        style = (f"body {{ font-family: {CJK_FONTS}; color: #1a1a1a; max-width: 60em; margin: 2em auto; padding: 0 1em; }}"
                 " table { border-collapse: collapse; margin: .8em 0; } td, th { border: 1px solid #bbb; padding: .2em .6em; }"
                 " td:nth-child(n+2) { text-align: right; } section.group { margin-bottom: 2em; }"
                 " svg.chart { display: block; max-width: 100%; height: auto; }"
                 " footer { color: #555; font-size: .85em; border-top: 1px solid #ccc; padding-top: .5em; }"
                 " @media print { section.group { break-inside: avoid; } }")
        html_lang = "zh-CN" if lang == "zh" else "en"
        return (f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                f"<title>{e_(w['title'])}</title>\n<style>{style}</style>\n</head>\n<body>\n"
                + "\n".join(body) + "\n</body>\n</html>\n")

    # --- a workbook's summary sheet ----------------------------------------------------------
    def write_sheet(self, book: Any, lang: str = "zh") -> None:
        """Append a summary sheet to an openpyxl workbook (write-only or not)."""
        w, codes = _WORDS[lang], self.codes()
        ws = book.create_sheet("汇总" if lang == "zh" else "summary")
        t = self.total
        ws.append([w["records"], t.records])
        ws.append([w["evaluated"], t.evaluated])
        ws.append([w["errors"], t.errors])
        ws.append([])
        ws.append([w["outcome"], w["code"], w["count"]])
        for c in codes:
            ws.append([outcome_label(self.ruleset, c, lang), c, t.outcomes.get(c, 0)])
        ws.append([w["no_outcome"], None, t.no_outcome])
        ws.append([])
        ws.append([w["highest"], w["code"], w["count"]])
        for k, v in _titles(t.titles):
            ws.append([title_label(k, lang, self.ruleset), k, v])
        if self.group_by is not None:
            ws.append([])
            ws.append([neutralise(self.group_by), w["records"], w["errors"], *codes])
            for group, counts in self.groups.items():
                ws.append([neutralise(self._group_name(group, lang)), counts.records, counts.errors,
                           *(counts.outcomes.get(c, 0) for c in codes)])


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    from fractions import Fraction

    from .facts import percent_text

    return percent_text(Fraction(part, whole), 1)


_BAR_COLOURS = ("#2f6db5", "#3f8f4f", "#b5642f", "#7a4fb5", "#b52f5b", "#2f9ab5", "#8f8a2f", "#1f7a6a")


def _svg_chart(bars: list[tuple[str, str, int]], caption: str, number: int) -> str:
    """A horizontal bar chart as inline SVG: one bar per outcome, its label on the left and its count on the right."""
    e_ = html.escape
    import unicodedata

    def text_width(text: str) -> int:  # 13 px type: a CJK character is about 13 px, others about 7
        return sum(13 if unicodedata.east_asian_width(ch) in "WF" else 7 for ch in text)

    label_w = min(560, max([text_width(label) for label, _, _ in bars] + [80]) + 16)
    bar_w, count_w, row_h, top = 380, 60, 30, 34
    width, height = label_w + bar_w + count_w, top + row_h * len(bars) + 10
    peak = max([count for _, _, count in bars] + [1])
    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" aria-labelledby="chart-{number}">',
           f'<title id="chart-{number}">{e_(caption)}</title>',
           f'<text x="0" y="20" font-size="15" font-weight="bold">{e_(caption)}</text>',
           f'<line x1="{label_w}" y1="{top - 4}" x2="{label_w}" y2="{height - 6}" stroke="#888" stroke-width="1"/>']
    for i, (label, code, count) in enumerate(bars):
        y = top + i * row_h
        length = round(bar_w * count / peak) if count else 0
        colour = _BAR_COLOURS[i % len(_BAR_COLOURS)] if code else "#9a9a9a"
        out.append(f'<g class="bar" data-code="{e_(code)}" data-count="{count}">'
                   f'<text x="{label_w - 8}" y="{y + 19}" font-size="13" text-anchor="end">{e_(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 4}" width="{length}" height="{row_h - 8}" fill="{colour}"/>'
                   f'<text x="{label_w + length + 6}" y="{y + 19}" font-size="13">{count}</text></g>')
    out.append("</svg>")
    return "".join(out)
