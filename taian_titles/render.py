"""Every human-facing rendering: decision letters, error letters and the city quota report.

A letter has a letterhead, the applicant's name and id, the evaluation date and the highest title
that can be recognised; the documents applied with their issuers; one section per outcome with
its explanation, the clause's verbatim Chinese text under its own document, and the next step;
what is not yet met and from when; the notes, under their own headings where the policy gives
one (the measure not applying, nothing applying) and otherwise under "materials not used"; the
contact office; and the rulesets' id, version and digest.  Chinese (``zh``) or English
(``en``): an English letter still quotes the clause in Chinese, the authoritative text, and
gives the working translation beside it.

Letters are rendered from Jinja2 templates (``taian_titles/templates``: ``letter.txt.j2``,
``letter.md.j2``, ``letter.html.j2``, ``error.*.j2``, ``page_head.html.j2``,
``page_tail.html.j2``); an office replaces any of them by putting a file of the same name in a
folder of its own and passing it as ``templates=`` (``--templates DIR``).  The wording that
belongs to the policy — letterhead, contact, next steps, title names, note headings — comes
from the ruleset (``[words.*]``, ``[labels.*]``), not from code.  HTML is autoescaped and
self-contained (UTF-8, inline CSS, no scripts, no external resources); Markdown escapes what
Markdown would read.

Renderings are the last step of the data flow: they read a result and the policy it carries,
and never evaluate anything.  For batches, :func:`document_head`, :func:`render_fragment`,
:func:`render_error` and :func:`document_tail` let a caller stream many letters into one
document in constant memory; :func:`render_decision` is the one-letter shorthand.
"""

from __future__ import annotations

import html
import re
import unicodedata
from pathlib import Path
from typing import Any, Iterable, Mapping

import jinja2

from .decision import Decision
from .errors import RecordError
from .escaping import neutralise, neutralise_tree
from .facts import percent_text
from .model import Level
from .policy import Policy, default_policy

__all__ = ["FORMATS", "LANGS", "render_decision", "render_fragment", "render_error", "render_quota_report",
           "document_head", "document_tail", "describe_basis", "letter_context", "CJK_FONTS",
           "quota_table_text", "quota_summary_line", "quota_unit_lines", "md_escape"]

#: Readable formats of a letter.
FORMATS = ("text", "markdown", "html")
LANGS = ("zh", "en")
_SUFFIX = {"text": "txt", "markdown": "md", "html": "html"}

#: Font fallback list of the HTML letters: common CJK fonts on Linux, macOS and Windows.
CJK_FONTS = ('"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", '
             '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", '
             '"WenQuanYi Zen Hei", "SimSun", "Droid Sans Fallback", sans-serif')

#: The words of the letter's layout (what belongs to the policy comes from the ruleset).
_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "数字人才评价结果告知书",
        "policy": "依据",
        "document_line": "{document}《{title}》，{issued_on}印发",
        "document_line_year": "{document}《{title}》，{issued_on}年印发",
        "issuers": "发文单位",
        "name": "申请人",
        "applicant": "申请人编号",
        "as_of": "评估日期",
        "highest": "可直接认定的最高职称",
        "none": "无",
        "outcomes": "一、适用的条款及结论",
        "no_outcomes": "依据所提交的材料，本次评估未适用任何条款。",
        "not_met": "二、尚未满足的条件",
        "no_not_met": "无。",
        "eligible_from": "如情况不变，自 {date} 起满足",
        "no_date": "仅凭时间推移无法满足",
        "notes": "三、未予计入的材料及原因",
        "no_notes": "无。",
        "explanation": "说明",
        "clause_text": "条款原文",
        "translation": "英文译文",
        "basis": "依据材料",
        "next_step": "下一步",
        "ruleset": "规则集",
        "version": "版本",
        "digest": "摘要",
        "footer": "本告知书由 taian-titles 按上述规则集自动生成，供申请人了解评价结果；"
                  "最终结论以人力资源社会保障部门及评审委员会的认定为准。",
        "error_title": "无法评估的记录",
        "error_intro": "提交的材料有误，未作评估。请更正以下各项后重新提交：",
        "internal_intro": "程序在评估这条记录时出错，未作评估；这不是所提交材料的问题，请将以下信息告知系统维护方：",
        "letter_title": "评价结果告知书 · {id}",
        "batch_title": "评价结果告知书",
        "colon": "：", "sep": "，", "dash": "——", "list_sep": "、",
    },
    "en": {
        "title": "Notice of evaluation: digital talent title routes",
        "policy": "Under",
        "document_line": "{document}, {title_en}, issued on {issued_on}",
        "document_line_year": "{document}, {title_en}, issued in {issued_on}",
        "issuers": "Issued by",
        "name": "Applicant",
        "applicant": "Applicant id",
        "as_of": "Evaluation date",
        "highest": "Highest title that can be directly recognised",
        "none": "none",
        "outcomes": "1. Clauses that apply and what they allow",
        "no_outcomes": "On the records submitted, no clause applies on this date.",
        "not_met": "2. Conditions not yet met",
        "no_not_met": "None.",
        "eligible_from": "met from {date} if nothing else changes",
        "no_date": "time alone will not close the gap",
        "notes": "3. Records not used, and why",
        "no_notes": "None.",
        "explanation": "Explanation",
        "clause_text": "Clause (Chinese, authoritative)",
        "translation": "Working translation",
        "basis": "Based on",
        "next_step": "Next step",
        "ruleset": "Ruleset",
        "version": "version",
        "digest": "digest",
        "footer": "This notice was generated by taian-titles from the ruleset above so that the "
                  "applicant can see the result and its reasons; the human-resources bureau and the "
                  "review committee make the final decision.",
        "error_title": "Record not evaluated",
        "error_intro": "The records submitted contain errors and were not evaluated. Please correct:",
        "internal_intro": "The program failed while evaluating this record, which was not evaluated; "
                          "the records submitted are not at fault. Please pass this on to the "
                          "system's maintainers:",
        "letter_title": "Notice of evaluation · {id}",
        "batch_title": "Notices of evaluation",
        "colon": ": ", "sep": ", ", "dash": "—", "list_sep": ", ",
    },
}

_BASIS_KINDS = {
    "certificate": ("证书 {key}", "certificate {key}"),
    "work_period": ("第{n}段工作经历", "work period {n}"),
    "skill_level": ("第{n}项职业技能等级", "skill level {n}"),
    "title": ("第{n}项职称", "title {n}"),
    "achievement": ("第{n}项业绩", "achievement {n}"),
}


def _check(fmt: str, lang: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if lang not in LANGS:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGS)}")


def describe_basis(ref: str, lang: str) -> str:
    """A basis reference in words: ``work_period:0`` → 第1段工作经历 / work period 1 (counted from 1)."""
    kind, _, key = ref.partition(":")
    pattern = _BASIS_KINDS.get(kind)
    if pattern is None:
        return ref
    n = str(int(key) + 1) if key.isdigit() else key
    return pattern[0 if lang == "zh" else 1].format(key=key, n=n)


# --------------------------------------------------------------------------- Markdown escaping

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_MD_LINE_START = re.compile(r"^(\s*)([#>+\-=]|\d+[.)])", re.MULTILINE)


def md_escape(text: str, line_start: bool = False) -> str:
    """Backslash-escape what Markdown would read as markup or raw HTML; dates and numbers stay readable.

    With ``line_start``, text that begins a line is also kept from starting a heading, a
    quote or a list.  Control, bidi and line-breaking characters are first written visibly
    (:func:`taian_titles.escaping.neutralise`), so a value cannot leave its line.
    """
    text = _MD_SPECIAL.sub(r"\\\1", neutralise(str(text)).replace("&", "&amp;"))
    if not line_start:
        return text

    def escape_start(m: re.Match[str]) -> str:
        mark = m.group(2)
        return m.group(1) + (mark[:-1] + "\\" + mark[-1] if mark[0].isdigit() else "\\" + mark)

    return _MD_LINE_START.sub(escape_start, text)


# --------------------------------------------------------------------------- templates

_PACKAGED = jinja2.PackageLoader("taian_titles", "templates")
_ENVIRONMENTS: dict[str | None, jinja2.Environment] = {}


def _environment(templates: str | Path | None) -> jinja2.Environment:
    """The template environment: an office's own folder first (if given), then the package's."""
    key = None if templates is None else str(Path(templates).resolve())
    env = _ENVIRONMENTS.get(key)
    if env is None:
        loader: jinja2.BaseLoader = _PACKAGED if key is None else jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(key), _PACKAGED])
        env = jinja2.Environment(
            loader=loader, autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
            keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
        env.filters["md"] = md_escape
        env.filters["mdline"] = lambda text: md_escape(text, True)
        env.filters["code"] = lambda text: neutralise(str(text)).replace("`", "")
        _ENVIRONMENTS[key] = env
    return env


def _template(name: str, templates: str | Path | None) -> jinja2.Template:
    try:
        return _environment(templates).get_template(name)
    except jinja2.TemplateError as exc:
        raise ValueError(f"letter template {name}: {exc}") from None


# --------------------------------------------------------------------------- the letter as data

def _outcome_label(policy: Policy, code: str, lang: str) -> str:
    entry = policy.outcome(code)
    return entry[lang] if entry and entry.get(lang) else code


def _level_label(policy: Policy, level: Level | None, lang: str) -> str:
    if level is None:
        return _WORDS[lang]["none"]
    name = policy.label("titles", level.code, lang)
    return name or (level.zh if lang == "zh" else level.en)


def _documents(policy: Policy, lang: str) -> list[dict[str, str]]:
    w = _WORDS[lang]
    out = []
    for document in policy.documents:
        meta = document.metadata
        issued = meta.get("issued_on")
        issued = issued.isoformat() if hasattr(issued, "isoformat") else str(meta.get("issued", issued or ""))
        # A document known only by its year (鲁人社发〔2020〕16号) is "issued in 2020", never "on".
        line = w["document_line_year"] if len(issued) == 4 and issued.isdigit() else w["document_line"]
        out.append({"id": document.id, "document": str(meta.get("document", document.id)),
                    "line": line.format(
                        document=meta.get("document", document.id), title=meta.get("title", ""),
                        title_en=meta.get("title_en", meta.get("title", "")), issued_on=issued),
                    "issuers": w["list_sep"].join(str(i) for i in meta.get("issuers", ()))})
    return out


def _lead_document(decision: Decision, policy: Policy) -> Any:
    """The document a letter is headed by: the first document of the policy whose rules gave an
    outcome or a not-met entry, or the policy's first when none did.  A skilled talent whose only
    routes are the crossover's gets the crossover's heading, not measure nine's "digital talent"."""
    used = set()
    for entry in (*decision.outcomes, *decision.not_met):
        for rule_id in entry.rules[:1]:
            try:
                used.add(policy.rule(rule_id).document)
            except KeyError:
                pass
    return next((d for d in policy.documents if d.id in used), policy.first)


def letter_context(decision: Decision, lang: str = "zh", name: str | None = None) -> dict[str, Any]:
    """Everything a letter shows, as plain strings, in the order it shows them (the templates'
    ``letter``).  ``name`` is the applicant's name (the record's optional ``name``)."""
    _check("text", lang)
    policy: Policy = decision.policy or default_policy()
    w = _WORDS[lang]
    sep = "；" if lang == "zh" else "; "

    def item(entry: Any, label: str, when: str | None = None, step: bool = True) -> dict[str, Any]:
        kind = (policy.outcome(entry.code) or {}).get("next_step")
        return {"code": entry.code, "label": label, "clause": entry.clause, "when": when,
                "document": str(policy.document_of_clause(entry.clause).metadata.get("document", "")),
                "explanation": entry.explanation[lang], "clause_text": entry.clause_text,
                "translation": policy.clause(entry.clause).get("en", "") if lang == "en" else "",
                "basis": sep.join(describe_basis(b, lang) for b in entry.basis),
                "next_step": (policy.label("next_steps", kind, lang) or "") if step and kind else ""}

    outcomes = [item(o, _outcome_label(policy, o.code, lang)) for o in decision.outcomes]
    not_met = []
    for n in decision.not_met:
        when = (w["eligible_from"].format(date=n.eligible_on.isoformat()) if n.eligible_on else w["no_date"])
        not_met.append(item(n, _outcome_label(policy, n.code, lang), when, step=False))
    headed: dict[str, list[str]] = {}
    plain: list[str] = []
    for note in decision.notes:
        heading = policy.label("note_headings", note.code, lang)
        (headed.setdefault(heading, []) if heading else plain).append(note.explanation[lang])
    sections = [{"heading": heading, "notes": notes, "empty": ""} for heading, notes in headed.items()]
    sections.append({"heading": w["notes"], "notes": plain, "empty": w["no_notes"]})
    header = [(w["applicant"], decision.id), (w["as_of"], decision.as_of.isoformat()),
              (w["highest"], _level_label(policy, decision.highest_recognized_title, lang))]
    name = name if name is not None else getattr(decision, "name", None)
    if name:
        header.insert(0, (w["name"], name))
    lead = _lead_document(decision, policy)
    return {
        "title": lead.words.get("letter_title", {}).get(lang) or policy.words("letter_title", lang, w["title"]),
        "letterhead": policy.words("letterhead", lang, ""),
        "documents": _documents(policy, lang),
        "header": header,
        "outcomes": outcomes, "not_met": not_met, "note_sections": sections,
        "no_outcomes": (lead.words.get("no_outcomes", {}).get(lang)
                        or policy.words("no_outcomes", lang, w["no_outcomes"])),
        "contact": policy.words("contact", lang, ""),
        "rulesets": [dict(r) for r in (decision.rulesets or (decision.ruleset,))],
    }


# --------------------------------------------------------------------------- public

def render_fragment(decision: Decision, fmt: str, lang: str = "zh", *,
                    templates: str | Path | None = None) -> str:
    """One letter as a part of a document (an ``<article>`` in HTML; the whole letter otherwise)."""
    _check(fmt, lang)
    letter = letter_context(decision, lang)
    if fmt != "html":  # HTML is escaped by the template engine; text and Markdown show no control character
        letter = neutralise_tree(letter)
    return _template(f"letter.{_SUFFIX[fmt]}.j2", templates).render(letter=letter, w=_WORDS[lang], lang=lang)


def render_decision(decision: Decision, fmt: str, lang: str = "zh", *,
                    templates: str | Path | None = None) -> str:
    """A decision letter: ``fmt`` is ``text``, ``markdown`` or ``html`` (a complete page); ``lang`` zh or en.

    The outcome names, the clauses and their translations come from the policy the decision
    was made with, and the footer cites its rulesets.
    """
    title = _WORDS[lang]["letter_title"].format(id=decision.id) if lang in LANGS else None
    return (document_head(fmt, lang, title, templates=templates)
            + render_fragment(decision, fmt, lang, templates=templates) + document_tail(fmt, templates=templates))


_CSS = """
body { font-family: %s; line-height: 1.6; color: #1a1a1a; max-width: 46em; margin: 2em auto;
       padding: 0 1em; }
article.letter { border: 1px solid #ccc; padding: 1.5em 2em; margin-bottom: 2em; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin-top: 1.4em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1em; margin: 1em 0 .3em; }
.letterhead { font-weight: bold; color: #b22; margin: 0 0 .4em; }
.policy { color: #555; margin-top: 0; }
.issuers { font-size: .85em; }
dl.header { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.header dt { font-weight: bold; }
dl.header dd { margin: 0; }
.clause-id { color: #555; font-weight: normal; }
.when { font-weight: bold; color: #8a4b00; }
blockquote.clause { margin: .4em 0; padding: .3em .8em; border-left: 4px solid #b22; background: #faf5f5; }
.basis { color: #555; font-size: .9em; }
.next-step { background: #f3f7fb; padding: .3em .6em; }
footer { margin-top: 1.5em; border-top: 1px solid #ccc; padding-top: .6em; font-size: .85em; color: #444; }
code { word-break: break-all; }
.error { border-color: #b22; }
@media print {
  @page { size: A4; margin: 18mm 16mm; }
  body { max-width: none; margin: 0; padding: 0; }
  article.letter { border: none; padding: 0; margin: 0; break-after: page; page-break-after: always; }
  article.letter:last-of-type { break-after: auto; page-break-after: auto; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  blockquote.clause, dl.header, footer { break-inside: avoid; page-break-inside: avoid; }
}
""" % CJK_FONTS


def document_head(fmt: str, lang: str, title: str | None = None, *, templates: str | Path | None = None) -> str:
    """What comes before the letters of a document (the HTML page's head; nothing otherwise)."""
    _check(fmt, lang)
    if fmt != "html":
        return ""
    return _template("page_head.html.j2", templates).render(
        title=title or _WORDS[lang]["batch_title"], html_lang="zh-CN" if lang == "zh" else "en", css=_CSS)


def document_tail(fmt: str, *, templates: str | Path | None = None) -> str:
    """What comes after the letters of a document (closes the HTML page; nothing otherwise)."""
    return _template("page_tail.html.j2", templates).render() if fmt == "html" else ""


def _error_items(error: RecordError | Mapping[str, Any], lang: str) -> tuple[bool, list[tuple[str | None, str]]]:
    """(internal?, [(path or None, message in ``lang``)]) of an error or its ``to_dict()``.

    The Chinese message (``message_zh``) in Chinese, the English one in English; a problem
    without a Chinese message (built by a caller) keeps its English one.
    """
    data = error.to_dict() if isinstance(error, RecordError) else dict(error)
    key = "message_zh" if lang == "zh" else "message"
    if data.get("kind") == "internal":
        return True, [(None, str(data.get(key) or data.get("message", "")))]
    problems: Iterable[Mapping[str, Any]] = data.get("problems") or [
        {"path": data.get("path", "$"), "message": data.get("message", ""), "message_zh": data.get("message_zh")}]
    return False, [(str(p.get("path", "$")), str(p.get(key) or p.get("message", ""))) for p in problems]


def render_error(record_id: str | None, error: RecordError | Mapping[str, Any], fmt: str,
                 lang: str = "zh", where: str | None = None, *, templates: str | Path | None = None) -> str:
    """A record that could not be evaluated, with every problem and its path, as part of a document.

    ``error`` is an :class:`~taian_titles.errors.InputError` or an
    :class:`~taian_titles.errors.InternalError`, or its ``to_dict()``; the messages are in
    ``lang``.  ``where`` optionally says where the record was (``line 7``).
    """
    _check(fmt, lang)
    w = _WORDS[lang]
    internal, pairs = _error_items(error, lang)
    who = record_id if record_id is not None else ("（无编号）" if lang == "zh" else "(no id)")
    if lang == "zh":
        heading = f"{w['error_title']}：{who}" + (f"（{where}）" if where else "")
    else:
        heading = f"{w['error_title']}: {who}" + (f" ({where})" if where else "")
    problems = [{"path": path or "", "message": message} for path, message in pairs]
    if fmt != "html":
        heading, problems = neutralise(heading), neutralise_tree(problems)
    return _template(f"error.{_SUFFIX[fmt]}.j2", templates).render(
        heading=heading, intro=w["internal_intro" if internal else "error_intro"], w=w, problems=problems)


# --------------------------------------------------------------------------- the city quota report (M9-4)

_QUOTA_WORDS = {
    "zh": {"columns": ["单位", "评估日期", "人数", "数字", "占比", "达标", "需增加", "需替换"],
           "yes": "是", "no": "否", "na": "—", "details": "各单位说明", "findings": "名单问题",
           "error": "名单有误，未能检查", "internal": "程序出错，未能检查（不是名单的问题）", "clause": "条款原文",
           "total": "合计", "missing": "未报送名单的单位", "unit_findings": "单位名称问题", "nothing": "无"},
    "en": {"columns": ["unit", "as of", "total", "digital", "share", "meets", "add", "swap"],
           "yes": "yes", "no": "no", "na": "-", "details": "Per unit", "findings": "Findings",
           "error": "bad input, not checked", "internal": "not checked: a fault of the program, not of the list",
           "clause": "Clause", "total": "city total", "missing": "Units that sent no list", "unit_findings": "Unit names",
           "nothing": "none"},
}


def _quota_rows(report: Any, lang: str) -> list[list[str] | tuple[str, list[tuple[str | None, str]], str]]:
    w = _QUOTA_WORDS[lang]
    rows: list[Any] = []
    for i, r in enumerate(report.results, 1):
        if hasattr(r, "error"):
            internal, items = _error_items(r.error, lang)
            rows.append((r.unit or f"#{i}", items, w["internal" if internal else "error"]))
            continue
        meets = w["na"] if r.meets_quota is None else (w["yes"] if r.meets_quota else w["no"])
        rows.append([r.unit, r.as_of.isoformat(), str(r.total), str(r.digital), r.share_text or w["na"], meets,
                     w["na"] if r.add_digital_needed is None else str(r.add_digital_needed),
                     w["na"] if r.swap_needed is None else str(r.swap_needed)])
    return rows


def _quota_total_row(report: Any, lang: str, with_date: bool) -> list[str]:
    """The 合计 row: the sums of the lists checked, the share of the sums, units meeting / lists checked."""
    from .cityreport import totals

    w = _QUOTA_WORDS[lang]
    t = totals(report)
    row = [w["total"]] + ([w["na"]] if with_date else [])
    return row + [str(t["total"]), str(t["digital"]), t["share"] or w["na"], f"{t['meeting']}/{t['checked']}",
                  str(t["add_digital_needed"]), str(t["swap_needed"])]


def quota_unit_lines(report: Any, lang: str = "zh") -> list[str]:
    """The units the policy lists that sent no list, then each finding about a unit's name."""
    from .cityreport import missing_units, unit_findings, units_of

    w = _QUOTA_WORDS[lang]
    colon = "：" if lang == "zh" else ": "
    units = units_of(report)
    lines = []
    if units:
        missing = missing_units(report, units)
        lines.append(f"{w['missing']}{colon}" + (("、" if lang == "zh" else ", ").join(missing) or w["nothing"]))
    lines += [f"{w['unit_findings']}{colon}{f.explanation[lang]}" for f in unit_findings(report, units)]
    return [neutralise(line) for line in lines]


def render_quota_report(report: Any, fmt: str, lang: str = "zh") -> str:
    """The city quota report of :func:`taian_titles.city_report` as text, Markdown or HTML.

    A table of every unit (total, digital, share, whether it meets the quota, how many digital
    candidates to add or swap in), the summary line, then each unit's explanation and findings.
    The heading, the clause and the rulesets are the report's policy's.
    """
    _check(fmt, lang)
    policy: Policy = report.policy or default_policy()
    w = {**_QUOTA_WORDS[lang], "title": policy.words("quota_report_title", lang, "")}
    code, clause_id = policy.quota_outcome()
    clause = policy.clause_text(clause_id)
    rulesets = " ".join(f"{d.id} {d.version} {d.digest}" for d in policy.documents)
    checked = [r for r in report.results if not hasattr(r, "error")]
    if fmt == "text":
        out = [w["title"], f"{w['clause']}：「{clause}」" if lang == "zh" else f"{w['clause']}: 「{clause}」",
               "", quota_table_text(report, lang).rstrip("\n"), "", w["details"]]
        n_ = neutralise
        for r in checked:
            out.append(f"  {n_(r.unit)}: {n_(r.explanation[lang])}")
            out += [f"    - {n_(f.explanation[lang])}" for f in r.findings]
        out += ["", "-" * 60,
                f"{'规则集' if lang == 'zh' else 'Ruleset'}: {rulesets}"]
        return "\n".join(out) + "\n"
    rows = _quota_rows(report, lang)
    if fmt == "markdown":
        e_ = md_escape
        out = [f"# {e_(w['title'])}", "", f"> {e_(w['clause'])}：{e_(clause)}", "",
               "| " + " | ".join(e_(c) for c in w["columns"]) + " |",
               "|" + "---|" * len(w["columns"])]
        for row in rows:
            if isinstance(row, tuple):
                problems = "; ".join(f"`{neutralise(p)}`: {e_(m)}" if p else e_(m) for p, m in row[1])
                out.append(f"| {e_(row[0])} | {e_(row[2])}: {problems} |" + " |" * (len(w["columns"]) - 2))
            else:
                out.append("| " + " | ".join(e_(c) for c in row) + " |")
        if hasattr(report, "checked"):
            out.append("| " + " | ".join(f"**{e_(c)}**" for c in _quota_total_row(report, lang, True)) + " |")
            out += [""] + [f"- {e_(line)}" for line in quota_unit_lines(report, lang)]
        out += ["", f"**{e_(quota_summary_line(report, lang))}**", "", f"## {e_(w['details'])}", ""]
        for r in checked:
            out.append(f"- **{e_(r.unit)}**：{e_(r.explanation[lang])}")
            out += [f"  - {e_(f.explanation[lang])}" for f in r.findings]
        out += ["", "---", ""] + [f"`{d.id}` `{d.version}` `{d.digest}`" for d in policy.documents]
        return "\n".join(out) + "\n"
    e_ = html.escape
    body = [f"<h1>{e_(w['title'])}</h1>", f'<blockquote class="clause" lang="zh-CN">{e_(clause)}</blockquote>',
            '<table class="quota"><thead><tr>' + "".join(f"<th>{e_(c)}</th>" for c in w["columns"])
            + "</tr></thead><tbody>"]
    for row in rows:
        if isinstance(row, tuple):
            problems = "; ".join(f"<code>{e_(p)}</code>: {e_(m)}" if p else e_(m) for p, m in row[1])
            body.append(f'<tr class="error"><td>{e_(row[0])}</td><td colspan="{len(w["columns"]) - 1}">'
                        f"{e_(row[2])}: {problems}</td></tr>")
        else:
            body.append("<tr>" + "".join(f"<td>{e_(c)}</td>" for c in row) + "</tr>")
    if hasattr(report, "checked"):
        body.append('</tbody><tfoot><tr class="total">' + "".join(
            f"<th>{e_(c)}</th>" for c in _quota_total_row(report, lang, True)) + "</tr></tfoot>")
        units = quota_unit_lines(report, lang)
        body.append("</table>" + ("<ul class=\"units\">" + "".join(f"<li>{e_(x)}</li>" for x in units) + "</ul>"
                                  if units else ""))
    else:
        body.append("</tbody></table>")
    body.append(f"<p><strong>{e_(quota_summary_line(report, lang))}</strong></p>")
    body.append(f"<h2>{e_(w['details'])}</h2><ul>")
    for r in checked:
        findings = "".join(f"<li>{e_(f.explanation[lang])}</li>" for f in r.findings)
        body.append(f"<li><strong>{e_(r.unit)}</strong>：{e_(r.explanation[lang])}"
                    + (f"<ul>{findings}</ul>" if findings else "") + "</li>")
    body.append("</ul><footer>" + "<br>".join(
        f"<code>{e_(d.id)}</code> <code>{e_(d.version)}</code> <code>{e_(d.digest)}</code>"
        for d in policy.documents) + "</footer>")
    style = ("<style>table.quota { border-collapse: collapse; } table.quota td, table.quota th "
             "{ border: 1px solid #bbb; padding: .2em .6em; text-align: right; } "
             "table.quota td:first-child { text-align: left; } tr.error td { color: #b22; text-align: left; } "
             "table.quota tfoot th { border: 1px solid #bbb; border-top: 2px solid #555; padding: .2em .6em; "
             "text-align: right; } table.quota tfoot th:first-child { text-align: left; }</style>\n")
    return (document_head("html", lang, w["title"]).replace("</head>", style + "</head>")
            + '<article class="letter report">\n' + "\n".join(body) + "\n</article>\n" + document_tail("html"))


def quota_summary_line(report: Any, lang: str = "zh") -> str:
    """One line: how many units meet the quota, how many lists could not be checked or judged."""
    s = report.summary()
    quota = percent_text(report.quota, trim=True)
    if lang == "zh":
        line = f"{s['units']} 个单位中 {s['meeting']} 个达到{quota}要求"
        if s["errors"]:
            line += f"，{s['errors']} 个单位名单有误未能检查"
        if s["not_evaluated"]:
            line += f"，{s['not_evaluated']} 个单位的评估日期早于措施施行日期"
        return line
    line = f"{s['meeting']} of {s['units']} units meet the {quota} quota"
    if s["errors"]:
        line += f"; {s['errors']} could not be checked (bad input)"
    if s["not_evaluated"]:
        line += f"; {s['not_evaluated']} dated before the policy applies"
    return line


def quota_table_text(report: Any, lang: str = "zh") -> str:
    """A fixed-width table (Chinese counts two columns per character), then the summary line."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r} is not one of {', '.join(LANGS)}")
    zh = lang == "zh"
    header = (["单位", "人数", "数字", "占比", "达标", "需增加", "需替换", "问题"] if zh else
              ["unit", "total", "digital", "share", "meets", "add", "swap", "findings"])
    yes, no, na = ("是", "否", "—") if zh else ("yes", "no", "-")
    rows: list[list[str]] = []
    for r in report.results:
        if hasattr(r, "error"):
            internal, items = _error_items(r.error, lang)
            label = ("程序出错：" if internal else "名单有误：") if zh else ("internal fault: " if internal else "bad input: ")
            message = label + ("；" if zh else "; ").join(f"{p}: {m}" if p else m for p, m in items)
            rows.append([neutralise(r.unit) if r.unit else f"#{r.index + 1}", neutralise(message)])
            continue
        meets = na if r.meets_quota is None else (yes if r.meets_quota else no)
        rows.append([neutralise(r.unit), str(r.total), str(r.digital), r.share_text or na, meets,
                     na if r.add_digital_needed is None else str(r.add_digital_needed),
                     na if r.swap_needed is None else str(r.swap_needed), str(len(r.findings))])
    total_row: list[str] | None = None
    if hasattr(report, "checked"):
        from .cityreport import totals

        t = totals(report)
        total_row = [_QUOTA_WORDS[lang]["total"], str(t["total"]), str(t["digital"]), t["share"] or na,
                     f"{t['meeting']}/{t['checked']}", str(t["add_digital_needed"]), str(t["swap_needed"]),
                     str(t["findings"])]
    widths = [max([_width(header[i])] + [_width(row[i]) for row in rows + ([total_row] if total_row else [])
                                         if len(row) == len(header)])
              for i in range(len(header))]
    lines = [_line(header, widths), "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append(_line(row, widths) if len(row) == len(header) else f"{_pad(row[0], widths[0])}  {row[1]}")
    if total_row:
        lines.append("  ".join("-" * w for w in widths))
        lines.append(_line(total_row, widths))
    lines.append("")
    lines += quota_unit_lines(report, lang)
    lines.append(quota_summary_line(report, lang))
    return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * (width - _width(text))
    return fill + text if right else text + fill


def _line(cells: list[str], widths: list[int]) -> str:
    # The unit name is left-aligned, the numbers right-aligned.
    return "  ".join(_pad(c, w, right=i > 0) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
