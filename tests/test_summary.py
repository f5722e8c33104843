"""The batch summary's HTML report in a real browser: its bar chart of outcomes is drawn (issue 21)."""

from __future__ import annotations

import html
import zlib
from pathlib import Path

import pytest

import taian_titles

from taian_titles.cli import main
from taian_titles.summary import BatchSummary

from .test_render import _chromium, _png_pixels, _screenshot, needs_chromium

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "examples" / "roster.csv"
FIRST_BAR = (0x2F, 0x6D, 0xB5)  # the first outcome's bar colour (summary._BAR_COLOURS[0])


def _rgb_rows(path: Path) -> list[bytes]:
    """The PNG's rows as RGB bytes: the scanline filters undone (8-bit RGB or RGBA, as Chromium writes)."""
    width, height, data = _png_pixels(path)
    raw = path.read_bytes()
    colour_type = raw[25]
    channels = {2: 3, 6: 4}[colour_type]
    stride = width * channels
    rows, previous, pos = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = data[pos], bytearray(data[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        previous = line
        rows.append(bytes(b for j in range(0, stride, channels) for b in line[j:j + 3]))
    return rows


def _count(rows: list[bytes], colour: tuple[int, int, int]) -> int:
    needle = bytes(colour)
    return sum(sum(1 for j in range(0, len(row), 3) if row[j:j + 3] == needle) for row in rows)


def test_the_summary_chart_is_inline_svg_without_scripts():
    summary = BatchSummary(group_by="县区")
    summary.add({"id": "A", "outcomes": [{"code": "x"}], "not_met": [], "highest_recognized_title": None}, "甲")
    summary.add({"id": "B", "error": {"path": "$", "message": "bad"}}, None)
    page = summary.render("html", "zh")
    assert page.count("<svg") == 3 and "<script" not in page and "<link" not in page and "src=" not in page
    assert "（未填）" in page  # a blank group value has a name


@needs_chromium
def test_chromium_draws_the_summary_chart(tmp_path, capsys):
    page = tmp_path / "summary.html"
    assert main(["evaluate", str(ROSTER), "--summary", str(page), "--group-by", "县区", "-o", str(tmp_path / "o.json")]) == 0
    capsys.readouterr()
    # The DOM: one chart for all and one per county, each bar with its count.
    dom = _chromium(tmp_path, page, "--dump-dom").stdout.decode("utf-8")
    assert dom.count("<svg") == 1 + len({"泰山区", "岱岳区", "新泰市", "肥城市", "宁阳县", "东平县", "泰安高新区"})
    from taian_titles.summary import outcome_codes
    policy = taian_titles.default_policy()
    quota_code = policy.quota_outcome()[0]  # lists are not applicants
    bars = len([c for c in outcome_codes(policy) if c != quota_code]) + 1  # every outcome, and 'no clause applies'
    assert dom.count('class="bar"') == bars * 8  # in each of 8 charts
    # The picture: the first outcome's bar is painted, in its colour, over a visible area.
    png = _screenshot(tmp_path, page, "summary", "1000,900")
    rows = _rgb_rows(png)
    assert len(set(rows)) > 16, "the screenshot is blank"
    assert _count(rows, FIRST_BAR) > 200, "no bar of the chart is drawn"
    assert html.escape("各结论人数") in dom
