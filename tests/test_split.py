"""One letter file per applicant (``--split DIR``): safe, unique file names from ids, and an index (issue 21)."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taian_titles.cli import main
from taian_titles.split import MAX_NAME_BYTES, UniqueNames, safe_name

ROOT = Path(__file__).resolve().parent.parent
APPLICANTS = ROOT / "examples" / "applicants.jsonl"
WINDOWS_FORBIDDEN = set('<>:"/\\|?*')
RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)$", re.IGNORECASE)


def minimal(record_id: str) -> dict:
    return {"id": record_id, "as_of": "2025-06-01",
            "certificates": [{"number": "N-1", "programme": "digital_technology_engineer", "kind": "professional_level",
                              "level": "junior", "direction": "人工智能", "issued_on": "2023-10-20"}]}


def check_safe(name: str) -> None:
    assert name and name not in (".", "..")
    assert not (WINDOWS_FORBIDDEN & set(name)), name
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp") for ch in name), repr(name)
    assert not name.startswith((".", "-")) and not name.endswith((".", " ")) and name == name.strip()
    assert not RESERVED.match(name.split(".")[0].strip())
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES


@given(st.text(max_size=200))
def test_a_safe_name_has_no_separator_control_or_reserved_name(text):
    check_safe(safe_name(text))


@given(st.lists(st.text(max_size=60), max_size=40))
def test_names_handed_out_are_unique_even_ignoring_case(ids):
    names = UniqueNames(("index",))
    taken = [names.take(safe_name(i)) for i in ids]
    assert len({t.casefold() for t in taken}) == len(taken)
    assert "index" not in {t.casefold() for t in taken}
    for t in taken:
        check_safe(t)


@pytest.mark.parametrize("text, expected", [
    ("A-0001", "A-0001"), ("泰安/2025\\001", "泰安_2025_001"), ("../../etc/passwd", "_.._etc_passwd"),
    ("CON", "_CON"), ("com1.txt", "_com1.txt"), ("a\x00b\nc", "a_b_c"), ("  spaced out.  ", "spaced out"),
    ("", "record"), ("...", "record"), ("张三：初级?", "张三：初级_"), ("nul ", "_nul"),
])
def test_safe_names_of_awkward_ids(text, expected):
    assert safe_name(text) == expected


def test_split_writes_one_letter_per_applicant_and_an_index(tmp_path, capsys):
    records = [json.loads(line) for line in APPLICANTS.read_text("utf-8").splitlines() if line.strip()]
    records += [minimal("A/1"), minimal("A_1"), minimal("a_1"), minimal("CON"), minimal("index"),
                {"id": "bad/id", "as_of": "2025-06-01", "certificates": [{"number": "x"}]}]
    source = tmp_path / "batch.json"
    source.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    out_dir = tmp_path / "letters"
    status = main(["evaluate", str(source), "--format", "html", "--split", str(out_dir)])
    out, err = capsys.readouterr()
    assert status == 1 and out == "" and f"共 {len(records)} 条记录" in err
    files = sorted(p.name for p in out_dir.iterdir())
    assert "index.html" in files and len(files) == len(records) + 1
    assert {"A_1.html", "A_1~2.html", "a_1~3.html", "_CON.html", "index~2.html", "bad_id.html"} <= set(files)
    letter = (out_dir / "A-0001.html").read_text("utf-8")
    assert letter.count('<article class="letter">') == 1 and "A-0001" in letter and "<script" not in letter
    assert "break-after: page" in letter  # the print stylesheet
    assert "无法评估的记录" in (out_dir / "bad_id.html").read_text("utf-8")
    index = (out_dir / "index.html").read_text("utf-8")
    for name in files:
        if name != "index.html":
            assert f'href="{name.replace("~", "%7E")}"' in index or f'href="{name}"' in index
    assert index.count("<tr") == len(records) + 1


def test_split_markdown_and_text_from_a_roster(tmp_path, capsys):
    out_dir = tmp_path / "md"
    status = main(["evaluate", str(ROOT / "examples" / "roster.csv"), "--format", "markdown", "--split", str(out_dir)])
    capsys.readouterr()
    assert status == 0
    index = (out_dir / "index.md").read_text("utf-8")
    assert "张三" in index and "[A-0001.md](<A-0001.md>)" in index
    assert (out_dir / "A-0001.md").read_text("utf-8").startswith("# 数字人才职称评价结果告知书")
    assert main(["evaluate", str(APPLICANTS), "--split", str(tmp_path / "x"), "-o", "y"]) == 2


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_split_into_a_folder_that_cannot_be_made(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main(["evaluate", str(APPLICANTS), "--format", "text", "--split", str(blocker / "sub")]) == 2
    assert "--split" in capsys.readouterr().err


def test_progress_keeps_the_bar_with_the_final_count(monkeypatch, tmp_path):
    import sys

    from taian_titles import io

    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, text):
            self.text += text
            return len(text)

        def flush(self):
            pass

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(io, "PROGRESS_DELAY", 0)
    items = [(None, {}) for _ in range(7)]
    with open(tmp_path / "out", "w", encoding="utf-8") as out:
        bar = io.progress(items, 9, out, enabled=True)  # an estimate of 9 that turns out to be 7
        assert list(bar) == items
    last = screen.text.split("\r")[-1]
    assert "7/7" in last and last.endswith("\n")  # left on the screen, with the final count
