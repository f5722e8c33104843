"""One letter file per applicant (``--split DIR``), named from the applicant's id, with an index.

File names are made from ids that an HR system chose, so they are made safe for every file
system a Taian office uses (:func:`safe_name`): no path separators, no control characters, no
characters Windows refuses, no names Windows reserves (``CON``, ``COM1``, ...), no leading dot,
no trailing dot or space, at most :data:`MAX_NAME_BYTES` bytes of UTF-8.  Two ids that would
give the same name (``A/1`` and ``A_1``, or ``A-1`` and ``a-1`` on a file system that ignores
case) are told apart by :class:`UniqueNames` (``A_1``, ``A_1~2``).  The index
(``index.html`` or ``index.md``) lists every applicant with a link to the letter, and is
written as the letters are, so memory stays flat however many there are.
"""

from __future__ import annotations

import html
import re
import unicodedata
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from .io import UsageError

__all__ = ["safe_name", "UniqueNames", "SplitWriter", "MAX_NAME_BYTES", "EXTENSIONS"]

#: A file name's stem at most this many bytes of UTF-8 (file systems allow 255 for the whole name).
MAX_NAME_BYTES = 120
EXTENSIONS = {"html": ".html", "markdown": ".md", "text": ".txt", "json": ".json", "jsonl": ".json"}
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in "0123456789¹²³"),
             *(f"lpt{i}" for i in "0123456789¹²³"), "conin$", "conout$"}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]')


def safe_name(text: str | None, fallback: str = "record") -> str:
    """A file name stem made from ``text`` that any common file system accepts, as close to it as it can be."""
    name = unicodedata.normalize("NFC", text or "")
    name = "".join("_" if _UNSAFE.match(ch) or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
                   else (" " if unicodedata.category(ch) == "Zs" else ch) for ch in name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    name = name.lstrip(".-") or ""
    if not name:
        name = fallback
    if name.split(".")[0].strip().lower() in _RESERVED:
        name = "_" + name
    encoded = name.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        name = encoded[:MAX_NAME_BYTES].decode("utf-8", errors="ignore").rstrip(" .")
    return name


class UniqueNames:
    """Hands out names no two alike, even on a file system that ignores case (``A-1`` and ``a-1``)."""

    def __init__(self, reserved: tuple[str, ...] = ("index",)) -> None:
        self.taken: set[str] = {r.casefold() for r in reserved}

    def take(self, stem: str) -> str:
        name, n = stem, 1
        while name.casefold() in self.taken:
            n += 1
            suffix = f"~{n}"
            base = stem.encode("utf-8")[:MAX_NAME_BYTES - len(suffix)].decode("utf-8", errors="ignore")
            name = base + suffix
        self.taken.add(name.casefold())
        return name


_INDEX_WORDS = {
    "zh": {"title": "评价结果告知书索引", "n": "序号", "id": "编号", "name": "姓名", "highest": "可直接认定的最高职称",
           "outcomes": "结论", "file": "告知书", "error": "记录有误，未作评估", "none": "无"},
    "en": {"title": "Index of the notices", "n": "#", "id": "id", "name": "name", "highest": "highest recognised title",
           "outcomes": "outcomes", "file": "notice", "error": "bad record, not evaluated", "none": "none"},
}


class SplitWriter:
    """Writes each answer to its own file in ``directory`` and an index beside them."""

    def __init__(self, directory: str | Path, fmt: str, lang: str, ruleset: Any,
                 letter: Callable[[Any], str], error_letter: Callable[[Any, str], str]) -> None:
        self.directory, self.fmt, self.lang, self.ruleset = Path(directory), fmt, lang, ruleset
        self.letter, self.error_letter = letter, error_letter
        self.names = UniqueNames(("index",))
        self.count = 0
        self.index: TextIO | None = None

    def start(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--split {self.directory}: cannot make the folder: {exc.strerror or exc}") from None
        if not self.directory.is_dir():
            raise UsageError(f"--split {self.directory}: not a folder")
        w = _INDEX_WORDS[self.lang]
        self.index_path = self.directory / ("index.html" if self.fmt == "html" else "index.md")
        self.index = self.index_path.open("w", encoding="utf-8", newline="\n")
        if self.fmt == "html":
            from .render import CJK_FONTS

            self.index.write(
                f'<!DOCTYPE html>\n<html lang="{"zh-CN" if self.lang == "zh" else "en"}">\n<head>\n<meta charset="utf-8">\n'
                f"<title>{html.escape(w['title'])}</title>\n<style>body {{ font-family: {CJK_FONTS}; margin: 2em; }} "
                "table { border-collapse: collapse; } td, th { border: 1px solid #bbb; padding: .2em .6em; text-align: left; } "
                ".error { color: #b22; }</style>\n</head>\n<body>\n"
                f"<h1>{html.escape(w['title'])}</h1>\n<table>\n<thead><tr><th>{w['n']}</th><th>{w['id']}</th>"
                f"<th>{w['name']}</th><th>{w['highest']}</th><th>{w['outcomes']}</th><th>{w['file']}</th></tr></thead>\n<tbody>\n")
        else:
            self.index.write(f"# {w['title']}\n\n| {w['n']} | {w['id']} | {w['name']} | {w['highest']} | "
                             f"{w['outcomes']} | {w['file']} |\n|---:|---|---|---|---|---|\n")

    def write(self, answer: Any, entry: Mapping[str, Any], is_error: bool, where: str = "",
              record: Any = None) -> None:
        from .render import document_head, document_tail, md_escape
        from .roster import record_name
        from .summary import outcome_label, title_label

        assert self.index is not None
        self.count += 1
        w = _INDEX_WORDS[self.lang]
        record_id = entry.get("id")
        stem = self.names.take(safe_name(record_id if isinstance(record_id, str) else None,
                                         fallback=f"record-{self.count}"))
        filename = stem + EXTENSIONS.get(self.fmt, ".txt")
        if self.fmt in ("json", "jsonl"):
            import json

            text = json.dumps(entry, ensure_ascii=False, indent=2) + "\n"
        else:
            title = f"{w['file']} · {record_id}" if record_id else w["file"]
            body = self.error_letter(answer, where) if is_error else self.letter(answer)
            text = document_head(self.fmt, self.lang, title) + body + document_tail(self.fmt)
        try:
            (self.directory / filename).write_text(text, encoding="utf-8", newline="\n")
        except OSError as exc:
            raise UsageError(f"cannot write {self.directory / filename}: {exc.strerror or exc}") from None
        name = record_name(record) or ""
        sep = "；" if self.lang == "zh" else "; "
        if is_error:
            highest, outcomes = "", w["error"]
        else:
            highest = title_label(entry.get("highest_recognized_title"), self.lang, self.ruleset)
            outcomes = sep.join(outcome_label(self.ruleset, o["code"], self.lang) for o in entry.get("outcomes", ())) \
                or w["none"]
        link = urllib.parse.quote(filename)
        if self.fmt == "html":
            e_ = html.escape
            cls = ' class="error"' if is_error else ""
            self.index.write(f"<tr{cls}><td>{self.count}</td><td>{e_(str(record_id or ''))}</td><td>{e_(name)}</td>"
                             f"<td>{e_(highest)}</td><td>{e_(outcomes)}</td>"
                             f'<td><a href="{e_(link)}">{e_(filename)}</a></td></tr>\n')
        else:
            m = md_escape
            self.index.write(f"| {self.count} | {m(str(record_id or ''))} | {m(name)} | {m(highest)} | {m(outcomes)} | "
                             f"[{m(filename)}](<{link}>) |\n")

    def finish(self) -> None:
        assert self.index is not None
        if self.fmt == "html":
            self.index.write("</tbody>\n</table>\n</body>\n</html>\n")
        self.index.close()
