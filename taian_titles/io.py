"""Reading records and writing answers: the command's input and output, in every format it knows.

Input is one JSON object, a JSON array, or JSON Lines (one object per line), read from a file
or from ``-`` (standard input), UTF-8 with or without a byte-order mark.  JSON Lines is
streamed: each line is evaluated and its answer written and flushed before the next line is
read, so memory stays flat however long the file is.  Answers are written as JSON (mirroring
the input's shape), JSON Lines, or readable letters (:mod:`taian_titles.render`).
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, TextIO

from .errors import InputError, InternalError, Problem, problem
from .render import FORMATS as LETTER_FORMATS
from .render import document_head, document_tail

__all__ = ["UsageError", "Unparsable", "Item", "FORMATS", "read_records", "open_input", "open_output",
           "progress", "Writer", "error_entry", "open_records", "is_roster", "count_lines"]

FORMATS = ("json", "jsonl", *LETTER_FORMATS)
#: A single JSON object larger than this is not an applicant; stop buffering and report.
MAX_OBJECT_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_ID = re.compile(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')


class UsageError(Exception):
    """The input or the command line cannot be used at all (exit status 2)."""


# --------------------------------------------------------------------------- reading input

class Unparsable:
    """A JSON Lines line that is not JSON (or not UTF-8): it becomes that record's error entry.

    ``problem`` is its problem (code ``not_json`` or ``not_utf8``, path ``$``); ``message`` the
    English message.
    """

    def __init__(self, line: int, problem: Problem, raw: str) -> None:
        self.line = line
        self.problem = problem
        self.message = problem.message
        match = _ID.search(raw)
        self.id: str | None = None
        if match:
            with contextlib.suppress(ValueError):
                self.id = json.loads(f'"{match.group(1)}"')

    def error(self) -> InputError:
        return InputError([self.problem], record_id=self.id)


#: One record of the input: (line number or None, the parsed value or an Unparsable).
Item = tuple[int | None, Any]


def _decode(raw: bytes, line: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnicodeError(problem("$", "not_utf8", line=line, byte=exc.start + 1).message) from None


def _numbered(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, 1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        yield number, raw


def _non_blank(lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    return ((n, raw) for n, raw in lines if raw.strip())


def _parse_line(number: int, raw: bytes) -> Item:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return number, Unparsable(number, problem("$", "not_utf8", line=number, byte=exc.start + 1), "")
    try:
        return number, json.loads(text.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        return number, Unparsable(number, problem("$", "not_json", line=number, reason=exc.msg,
                                                  column=exc.colno), text)


def _not_json(exc: json.JSONDecodeError, first_line: int) -> UsageError:
    return UsageError(f"the input is not JSON: {exc.msg} at line {exc.lineno + first_line - 1} "
                      f"column {exc.colno}")


def read_records(stream: BinaryIO) -> tuple[str, Iterator[Item], int | None]:
    """Detect the shape of the input and iterate over its records, lazily for JSON Lines.

    Returns ``(shape, items, count)``: ``shape`` is ``object``, ``array`` or ``lines``;
    ``count`` is known for an array.  The rules: a document whose first character is ``[``
    is an array; a first line that is JSON on its own starts JSON Lines (one object on one
    line is JSON Lines of one record, answered by one object on one line); otherwise the
    lines are read until they make one JSON object (a pretty-printed object).  Raises
    :class:`UsageError` for input that is empty or not JSON at all.
    """
    lines = _non_blank(_numbered(stream))
    first = next(lines, None)
    if first is None:
        raise UsageError("the input is empty")
    number, raw = first
    try:
        text = _decode(raw, number)
    except UnicodeError as exc:
        raise UsageError(str(exc)) from None
    if text.lstrip().startswith("["):
        whole = raw + b"".join(r for _, r in lines)
        try:
            data = json.loads(_decode(whole, number))
        except UnicodeError as exc:
            raise UsageError(f"the input is not UTF-8 text ({exc})") from None
        except json.JSONDecodeError as exc:
            raise _not_json(exc, number) from None
        return "array", ((None, item) for item in data), len(data)
    parsed = _parse_line(number, raw)
    if not isinstance(parsed[1], Unparsable):
        # No look-ahead: an HR system may keep the command open, write a line and wait for
        # its answer.  One object on one line is answered by one object on one line.
        return "lines", _chain([parsed], (_parse_line(n, r) for n, r in lines)), None
    return _multi_line(number, raw, lines)


def _chain(head: list[Item], rest: Iterator[Item]) -> Iterator[Item]:
    yield from head
    yield from rest


def _multi_line(first_number: int, first_raw: bytes, lines: Iterator[tuple[int, bytes]]
                ) -> tuple[str, Iterator[Item], int | None]:
    """A first line that is not JSON alone: one object over several lines, or JSON Lines whose first line is bad."""
    buffered: list[tuple[int, bytes]] = [(first_number, first_raw)]
    size = len(first_raw)
    failure: json.JSONDecodeError | None = None
    exhausted = False
    while True:
        last = buffered[-1][1].rstrip()
        if last.endswith(b"}") or exhausted or size > MAX_OBJECT_BYTES:
            text = b"".join(r for _, r in buffered).decode("utf-8", errors="replace")
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                failure = exc
                # An error before the end of what was read cannot be mended by reading more.
                if exc.pos < len(text.rstrip()) or exhausted or size > MAX_OBJECT_BYTES:
                    break
            else:
                extra = next(lines, None)
                if extra is not None:
                    raise UsageError(f"unexpected data after the JSON object, at line {extra[0]}; "
                                     f"send several records as a JSON array or as JSON Lines")
                return "object", iter([(first_number, value)]), 1
        step = next(lines, None)
        if step is None:
            exhausted = True
            continue
        buffered.append(step)
        size += len(step[1])
    # Not one object.  JSON Lines with a bad first line, if any later line is JSON on its own.
    after = next(lines, None)
    candidates = buffered[1:] + ([after] if after else [])
    if any(not isinstance(_parse_line(n, r)[1], Unparsable) for n, r in candidates):
        replay = [_parse_line(n, r) for n, r in candidates]
        rest = (_parse_line(n, r) for n, r in lines)
        return "lines", _chain([_parse_line(first_number, first_raw), *replay], rest), None
    assert failure is not None
    raise _not_json(failure, first_number)


@contextlib.contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(path, "rb")
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a JSON file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        yield stream


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator[TextIO]:
    if path is None or path == "-":
        out = sys.stdout
        if (getattr(out, "encoding", "utf-8") or "").lower().replace("-", "") != "utf8" \
                and hasattr(out, "reconfigure"):
            out.reconfigure(encoding="utf-8")  # JSON and letters are always UTF-8
        yield out
        out.flush()
        return
    try:
        stream = open(path, "w", encoding="utf-8", newline="\n")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    with stream:
        yield stream


def progress(items: Iterable[Item], total: int | None, out: TextIO, enabled: bool) -> Iterable[Item]:
    """A progress bar on standard error for long batches, only when a person is watching it.

    With ``total`` known the bar shows it and the time left; the bar stays on the screen at the
    end with the final count (the total is set to the count when the estimate was off).
    """
    if not enabled or not _isatty(sys.stderr) or out is sys.stdout and _isatty(sys.stdout):
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # the bar is a convenience; never fail for want of it
        return items
    return _counted(tqdm(total=total, unit=" records", file=sys.stderr, delay=PROGRESS_DELAY, leave=True,
                         dynamic_ncols=True), items)


#: Seconds before the bar appears: a short batch shows none.
PROGRESS_DELAY = 1.0


def _counted(bar: Any, items: Iterable[Item]) -> Iterator[Item]:
    try:
        for item in items:
            yield item
            bar.update()
        bar.total = bar.n  # the bar left on the screen shows the final count, whatever the estimate was
    finally:
        bar.close()


def count_lines(path: str) -> int | None:
    """The non-blank lines of a regular file (the total of a JSON Lines batch), None for standard input."""
    if path == "-":
        return None
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except OSError:
        return None


#: Spreadsheet rosters, read by :mod:`taian_titles.roster`, chosen by the file's extension.
ROSTER_EXTENSIONS = (".xlsx", ".xlsm", ".csv")


def is_roster(path: str) -> bool:
    return path != "-" and path.lower().endswith(ROSTER_EXTENSIONS)


@contextlib.contextmanager
def open_records(path: str, kind: str = "applicants") -> Iterator[tuple[str, Iterator[Item], int | None, Any]]:
    """(shape, items, total, roster) of a JSON input or of a roster (.xlsx, .csv; ``roster`` None for JSON)."""
    if is_roster(path):
        from .roster import open_roster

        with open_roster(path, kind) as roster:
            yield roster.shape, roster.items, roster.total, roster
        return
    with open_input(path) as stream:
        shape, items, total = read_records(stream)
        if total is None and shape == "lines":
            total = count_lines(path)
        yield shape, items, total, None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- writing answers

class Writer:
    """Writes answers in the requested format as they come; JSON mirrors the input's shape."""

    def __init__(self, out: TextIO, fmt: str, shape: str, lang: str, title: str,
                 letter: Callable[[Any], str], error_letter: Callable[[Any, str], str]) -> None:
        self.out, self.fmt, self.shape, self.lang = out, fmt, shape, lang
        self.letter, self.error_letter = letter, error_letter
        self.count = 0
        self.title = title

    def start(self) -> None:
        if self.fmt == "json" and self.shape == "array":
            self.out.write("[")
        elif self.fmt in LETTER_FORMATS:
            self.out.write(document_head(self.fmt, self.lang, self.title))

    def write(self, answer: Any, entry: Mapping[str, Any], is_error: bool, where: str = "",
              record: Any = None) -> None:
        out, fmt = self.out, self.fmt
        if fmt == "jsonl" or (fmt == "json" and self.shape == "lines"):
            out.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
            out.flush()
        elif fmt == "json" and self.shape == "array":
            text = json.dumps(entry, ensure_ascii=False, indent=2)
            out.write(("," if self.count else "") + "\n" + _indent(text))
        elif fmt == "json":
            out.write(json.dumps(entry, ensure_ascii=False, indent=2) + "\n")
        else:
            if self.count and fmt != "html":
                out.write("\n" + ("=" * 60 if fmt == "text" else "---") + "\n\n")
            out.write(self.error_letter(answer, where) if is_error else self.letter(answer))
            if self.shape == "lines":
                out.flush()
        self.count += 1

    def finish(self) -> None:
        if self.fmt == "json" and self.shape == "array":
            self.out.write("\n]\n" if self.count else "]\n")
        elif self.fmt in LETTER_FORMATS:
            self.out.write(document_tail(self.fmt))


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def error_entry(record_id: str | None, error: InputError | InternalError, line: int | None,
                **extra: Any) -> dict[str, Any]:
    data = error.to_dict()
    if line is not None:
        data["line"] = line
    return {**extra, "id": record_id, "error": data}


