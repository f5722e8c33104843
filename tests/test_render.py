"""Decision letters (text, Markdown, HTML) and the city quota report as the applicant and officer read them.

Expected text is never copied from the output: each test takes what the letter must show
from the decision itself (its explanations, the clause texts, the dates) and checks that the
letter shows it, in the right section and properly escaped.  The HTML is also opened in a
real headless browser (Debian's chromium), which must read it as UTF-8 and draw its Chinese.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import taian_titles
from taian_titles.render import quota_summary_line
from taian_titles.errors import InputError, Problem
from taian_titles.escaping import is_safe, neutralise
from taian_titles.render import (
    CJK_FONTS,
    describe_basis,
    md_escape,
    render_decision,
    render_error,
    render_quota_report,
)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _examples() -> dict[str, dict]:
    records = [json.loads(line) for line in (EXAMPLES / "applicants.jsonl").read_text("utf-8").splitlines()
               if line.strip()]
    return {r["id"]: r for r in records}


@pytest.fixture(scope="module")
def decisions() -> dict[str, taian_titles.Decision]:
    return {rid: taian_titles.evaluate(rec) for rid, rec in _examples().items()}


def _section(text: str, start: str, end: str | None) -> str:
    """The part of a text letter between two section headings."""
    head = text.index(start)
    return text[head:text.index(end, head)] if end else text[head:]


# --------------------------------------------------------------------------- what every letter shows

@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_letter_shows_header_outcomes_not_met_and_footer(decisions, fmt, lang):
    decision = decisions["A-0001"]
    letter = render_decision(decision, fmt, lang)
    plain = html.unescape(re.sub(r"<[^>]+>", "", letter)) if fmt == "html" else letter
    plain = re.sub(r"\\(.)", r"\1", plain) if fmt == "markdown" else plain
    assert decision.id in plain
    assert decision.as_of.isoformat() in plain
    for outcome in decision.outcomes:
        assert outcome.explanation[lang] in plain
        assert outcome.clause_text in plain  # the verbatim Chinese clause, in both languages
        assert outcome.clause in plain
    assert decision.not_met, "A-0001 is the example with a not-yet-met M9-2d"
    for item in decision.not_met:
        assert item.explanation[lang] in plain
        if item.eligible_on is not None:
            assert item.eligible_on.isoformat() in plain
    for ref in decision.rulesets:  # every document's id, version and digest
        for key in ("id", "version", "digest"):
            assert ref[key] in plain
    # The footer comes last: the digest appears after the last explanation.
    assert plain.rindex(decision.ruleset["digest"]) > plain.rindex(decision.not_met[-1].explanation[lang])


def test_english_letter_gives_the_clause_translation(decisions):
    ruleset = taian_titles.default_ruleset()
    decision = decisions["A-0001"]
    letter = render_decision(decision, "text", "en")
    for outcome in decision.outcomes:
        assert ruleset.clauses[outcome.clause]["en"] in letter
    zh_letter = render_decision(decision, "text", "zh")
    assert ruleset.clauses["M9-2a"]["en"] not in zh_letter


def test_text_letter_puts_each_item_in_its_section(decisions):
    decision = decisions["A-0001"]
    letter = render_decision(decision, "text", "zh")
    outcomes = _section(letter, "一、", "二、")
    not_met = _section(letter, "二、", "三、")
    for o in decision.outcomes:
        assert o.explanation.zh in outcomes and o.explanation.zh not in not_met
    for n in decision.not_met:
        assert n.explanation.zh in not_met
        assert n.eligible_on is None or n.eligible_on.isoformat() in not_met


@pytest.mark.parametrize("applicant", ["A-0002", "A-0003", "A-0008"])
def test_letter_says_what_was_left_out(decisions, applicant):
    decision = decisions[applicant]
    assert decision.notes, f"{applicant} is an example with a note (revoked, after as_of, before in force)"
    policy = decision.policy
    for lang, start in (("zh", "三、"), ("en", "3. Records not used")):
        letter = render_decision(decision, "text", lang)
        left_out = _section(letter, start, "-" * 60)
        for note in decision.notes:
            heading = policy.label("note_headings", note.code, lang)
            if heading is None:  # under "records not used, and why"
                assert note.explanation[lang] in left_out
            else:  # a section of its own, before it (decision 13: the measure not applying)
                own = _section(letter, heading, start)
                assert note.explanation[lang] in own and note.explanation[lang] not in left_out


def test_letter_without_outcomes_says_so(decisions):
    decision = decisions["A-0008"]  # evaluated before 2025-04-30
    assert not decision.outcomes
    assert "未适用第九条的任何条款" in render_decision(decision, "text", "zh")
    assert "no clause of measure nine applies" in render_decision(decision, "text", "en")


def test_highest_title_is_named(decisions):
    assert "中级（工程师）" in render_decision(decisions["A-0002"], "text", "zh")
    assert "初级（助理工程师）" in render_decision(decisions["A-0001"], "text", "zh")
    assert "可直接认定的最高职称：无" in render_decision(decisions["A-0004"], "text", "zh")


def test_basis_is_described_counting_from_one():
    assert describe_basis("work_period:0", "zh") == "第1段工作经历"
    assert describe_basis("achievement:2", "en") == "achievement 3"
    assert describe_basis("certificate:DTE-1", "en") == "certificate DTE-1"
    assert describe_basis("unknown:7", "zh") == "unknown:7"


def test_bad_format_or_language_is_refused(decisions):
    with pytest.raises(ValueError, match="format 'pdf'"):
        render_decision(decisions["A-0001"], "pdf", "zh")
    with pytest.raises(ValueError, match="language 'fr'"):
        render_decision(decisions["A-0001"], "text", "fr")


def test_error_letter_lists_every_problem_with_its_path():
    error = InputError([Problem("certificates[0].level", "'expert' is not one of junior, intermediate, senior"),
                        Problem("certificates[0].issued_on", "'2024-02-30' is not a valid date")])
    for fmt in ("text", "markdown", "html"):
        out = render_error("E-1", error, fmt, "zh", "第 3 行")
        plain = html.unescape(out) if fmt == "html" else re.sub(r"\\(.)", r"\1", out)
        assert "E-1" in plain and "第 3 行" in plain
        for p in error.problems:
            assert p.path in plain and p.message in plain


# --------------------------------------------------------------------------- HTML: self-contained and escaped

class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "article", "h1", "h2", "h3", "p", "dl",
                "dt", "dd", "section", "div", "span", "blockquote", "strong", "em", "ul", "li", "footer",
                "code", "br"}


def test_html_is_one_self_contained_utf8_page(decisions):
    page = render_decision(decisions["A-0001"], "html", "zh")
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page
    assert '<html lang="zh-CN">' in page
    assert "Noto Sans CJK SC" in CJK_FONTS and CJK_FONTS in page
    parser = _Tags()
    parser.feed(page)
    assert set(parser.tags) <= ALLOWED_TAGS  # no script, no link, no img: nothing fetched
    assert not any(name in ("src", "href") for name, _ in parser.attrs)


hostile = st.lists(st.sampled_from(list("<>&\"'/ab中文 =;") + ["<script>", "</p>", "&amp;", "{x}"]),
                   min_size=1, max_size=12).map("".join).filter(lambda s: s.strip())


@settings(max_examples=25)
@given(applicant_id=hostile, description=hostile)
def test_html_escapes_whatever_the_applicant_sent(applicant_id, description):
    decision = taian_titles.evaluate({
        "id": applicant_id, "as_of": "2025-06-01",
        "certificates": [{"number": "N-1", "programme": "digital_technology_engineer", "kind": "professional_level",
                          "level": "junior", "direction": "人工智能", "issued_on": "2023-10-20"}],
        "achievements": [{"description": description, "date": "2024-12-01"}],
    })
    page = render_decision(decision, "html", "zh")
    parser = _Tags()
    parser.feed(page)
    assert set(parser.tags) <= ALLOWED_TAGS
    text = "".join(parser.text)
    assert applicant_id in html.unescape(text) or applicant_id in text
    assert decision.outcome("apply_senior_title_exceptional").explanation.zh in text


# --------------------------------------------------------------------------- Markdown escaping

@settings(max_examples=60)
@given(st.text(max_size=40), st.booleans())
def test_md_escape_loses_nothing_and_leaves_no_markup(text, line_start):
    escaped = md_escape(text, line_start)
    unescaped = re.sub(r"\\(.)", r"\1", escaped, flags=re.DOTALL).replace("&amp;", "&")
    # Nothing is lost: a control, bidi or line-breaking character is written visibly (\u001b).
    assert unescaped == neutralise(text)
    assert is_safe(escaped) and "\n" not in escaped
    # Every character Markdown would read as inline markup is escaped.
    assert not re.search(r"(?<!\\)(?:\\\\)*[`*_\[\]<>|~]", escaped)
    if line_start:
        assert not re.match(r"\s*(?:[#>+\-=]|\d+[.)])", escaped)


def test_markdown_letter_keeps_dates_readable(decisions):
    letter = render_decision(decisions["A-0001"], "markdown", "zh")
    assert "2025-11-20" in letter and "2025\\-11" not in letter
    assert letter.startswith("# ")


# --------------------------------------------------------------------------- untrusted text in text and Markdown

#: What a record may carry that a terminal or a Markdown reader would obey rather than show.
CONTROLS = ["\x1b[2J", "\x1b]0;owned\x07", "\x9b31m", "\u202eexe.doc", "\u2066x\u2069", "\u200f", "\r",
            "\n# forged heading", "\n\n## forged", "\t", "\x00", "\x7f", "\u2028", "\x85"]
hostile_text = st.lists(st.sampled_from(CONTROLS + list("ab中# -*>`")), min_size=1, max_size=8).map("".join)


def _unsafe(text: str) -> list[str]:
    """Every character of a rendering that a terminal or a reader would obey (line feeds of the
    layout aside)."""
    return [f"U+{ord(c):04X}" for c in text.replace("\n", "") if not is_safe(c)]


def _hostile_decision(applicant_id: str, number: str, name: str) -> taian_titles.Decision:
    record = _examples()["A-0001"]
    record = {**record, "id": applicant_id, "name": name,
              "certificates": [{**record["certificates"][0], "number": number}, *record["certificates"][1:]]}
    return taian_titles.evaluate(record)


@settings(max_examples=15)
@given(applicant_id=hostile_text.filter(str.strip), number=hostile_text.filter(str.strip), name=hostile_text)
def test_text_and_markdown_letters_show_control_characters_instead_of_obeying_them(applicant_id, number, name):
    decision = _hostile_decision(applicant_id, number, name)
    layout = render_decision(_hostile_decision("A", "N", "X"), "text", "en").count("\n")
    for fmt in ("text", "markdown"):
        for lang in ("zh", "en"):
            letter = render_decision(decision, fmt, lang)
            assert _unsafe(letter) == []
            # every field stays on its line: the letter has the lines of a letter without them
            assert letter.count("\n") == render_decision(_hostile_decision("A", "N", "X"), fmt, lang).count("\n")
            plain = letter if fmt == "text" else re.sub(r"\\(.)", r"\1", letter)
            assert neutralise(applicant_id) in plain and neutralise(number) in plain
    assert layout > 10


def test_a_line_break_in_an_id_forges_no_heading_and_no_line():
    decision = _hostile_decision("A-1\n# 认定为正高级\n\x1b[2J", "N-1\r\n## x", "张\u202e三")
    markdown = render_decision(decision, "markdown", "zh")
    assert [line for line in markdown.splitlines() if line.startswith("#")] == [
        line for line in render_decision(_hostile_decision("A-1", "N-1", "张三"), "markdown", "zh").splitlines()
        if line.startswith("#")]
    text = render_decision(decision, "text", "zh")
    assert "A-1\\u000a# 认定为正高级\\u000a\\u001b[2J" in text  # shown, on the id's own line
    assert "张\\u202e三" in text and "\x1b" not in text and "\u202e" not in text
    # HTML escapes and keeps the characters; JSON is data and keeps them too
    assert "\u202e" in render_decision(decision, "html", "zh")
    assert decision.to_dict()["id"] == "A-1\n# 认定为正高级\n\x1b[2J"


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_error_letters_and_the_quota_report_neutralise_what_the_input_sent(fmt):
    from taian_titles import city_report

    hostile = "A\n# forged\x1b]0;t\x07\u202e"
    with pytest.raises(InputError) as caught:
        taian_titles.evaluate({"id": hostile, "as_of": "2025-13-01\x1b[2J"})
    letter = render_error(hostile, caught.value, fmt, "en")
    assert _unsafe(letter) == [] and "forged" in letter
    assert not any(line.startswith("# forged") for line in letter.splitlines())

    lists = json.loads((EXAMPLES / "city-2025.json").read_text("utf-8"))
    lists[0]["unit"] = "泰山区\n# forged\x1b[2J"
    lists[1]["candidates"][0]["id"] = "\u202eX\x1b[31m"
    lists.append({"unit": "\u202e坏\x1b[2J", "as_of": "2025-09-01", "candidates": "\x1b[2J"})
    report = city_report(lists)
    for lang in ("zh", "en"):
        out = render_quota_report(report, fmt, lang)
        assert _unsafe(out) == []
        assert not any(line.startswith("# forged") for line in out.splitlines())
        assert "\\u001b" in out


# --------------------------------------------------------------------------- quota report

@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_quota_report_shows_every_unit_and_the_summary(fmt, lang):
    from taian_titles import city_report

    report = city_report(json.loads((EXAMPLES / "city-2025.json").read_text("utf-8")))
    out = render_quota_report(report, fmt, lang)
    plain = html.unescape(out) if fmt == "html" else re.sub(r"\\(.)", r"\1", out)
    for result in report.checked:
        assert result.unit in plain
        assert result.share_text in plain
        assert result.explanation[lang] in plain
        for finding in result.findings:
            assert finding.explanation[lang] in plain
    assert quota_summary_line(report, lang) in plain


# --------------------------------------------------------------------------- a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (Debian: apt-get install chromium fonts-noto-cjk); "
           "the HTML letters are then checked without a browser only")


def _chromium(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, timeout=120, check=False)


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """(width, height, the decompressed scanlines) of a PNG file; checks its signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def _screenshot(tmp_path: Path, page: Path, name: str, size: str = "1000,1400") -> Path:
    png = tmp_path / f"{name}.png"
    result = _chromium(tmp_path, page, f"--screenshot={png}", f"--window-size={size}")
    assert png.exists(), f"chromium made no screenshot: {result.stderr.decode(errors='replace')[-500:]}"
    return png


@needs_chromium
def test_chromium_reads_the_letter_as_utf8(decisions, tmp_path):
    decision = decisions["A-0001"]
    page = tmp_path / "letter.html"
    page.write_text(render_decision(decision, "html", "zh"), encoding="utf-8")
    result = _chromium(tmp_path, page, "--dump-dom")
    dom = result.stdout.decode("utf-8")
    # The DOM holds the Chinese exactly: the page was decoded as UTF-8, not guessed.
    for outcome in decision.outcomes:
        assert html.escape(outcome.explanation.zh, quote=False) in dom
    assert html.escape(decision.not_met[0].explanation.zh, quote=False) in dom
    assert decision.outcomes[0].clause_text in dom


@needs_chromium
def test_chromium_draws_the_letter_and_its_chinese(decisions, tmp_path):
    page = tmp_path / "letter.html"
    page.write_text(render_decision(decisions["A-0001"], "html", "zh"), encoding="utf-8")
    width, height, pixels = _png_pixels(_screenshot(tmp_path, page, "letter"))
    assert (width, height) == (1000, 1400)
    assert len(set(pixels)) > 16, "the screenshot is blank"
    # Chinese glyphs are drawn, not the box of a missing glyph: two pages that differ only
    # in which Chinese characters they show must look different.  Without a CJK font every
    # character is the same box and the two screenshots are identical.
    shots = []
    for name, chars in (("one", "数字人才评价"), ("two", "职称证书认定")):
        probe = tmp_path / f"{name}.html"
        probe.write_text(f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"></head>'
                         f'<body style="font-family: {CJK_FONTS}; font-size: 64px">{chars}</body></html>',
                         encoding="utf-8")
        shots.append(_png_pixels(_screenshot(tmp_path, probe, name, "600,200"))[2])
    assert shots[0] != shots[1], ("Chinese characters render as identical boxes: install a CJK font "
                                  "(Debian: apt-get install fonts-noto-cjk)")


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_quota_report_of_a_list_that_counts_nobody_shows_no_share(fmt):
    # A list of candidates below 高级工 only: nobody counts, there is no share (it was a TypeError).
    from taian_titles import city_report

    report = city_report([{"unit": "泰山区", "as_of": "2025-09-01",
                           "candidates": [{"id": "C-001", "skill_level": "apprentice", "digital": False}]}])
    assert report.results[0].share_text is None
    out = render_quota_report(report, fmt, "en")
    assert "泰山区" in out and "no_candidate_counted" not in out
