"""Reading records and writing answers: the command's input and output, in every format it knows.

Input is one JSON object, a JSON array, or JSON Lines (one object per line), read from a file
or from ``-`` (standard input), UTF-8 with or without a byte-order mark.  JSON Lines is
streamed: each line is evaluated and its answer written and flushed before the next line is
read, so memory stays flat however long the file is.  Answers are written as JSON (mirroring
the input's shape), JSON Lines, or readable letters (:mod:`taian_titles.render`).
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import json
import os
import re
import stat
import sys
import tempfile
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, TextIO

import orjson

from .errors import InputError, InternalError, Problem, problem
from .exchange import shown
from .limits import CHUNK_BYTES, DEPTH, INPUT_BYTES, LINE_BYTES, RECORD_BYTES, may_be_deeper, nesting_depth
from .render import FORMATS as LETTER_FORMATS
from .render import document_head, document_tail

__all__ = ["UsageError", "OutputError", "OutputClosed", "Unparsable", "Item", "FORMATS", "read_records",
           "parse_record", "open_input", "open_output", "progress", "Writer", "error_entry", "open_records",
           "is_roster", "count_lines", "Raw", "parse_item"]

FORMATS = ("json", "jsonl", *LETTER_FORMATS)
_BOM = b"\xef\xbb\xbf"
_ID = re.compile(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')


class UsageError(Exception):
    """The input or the command line cannot be used at all (exit status 2)."""


# --------------------------------------------------------------------------- reading input

class Unparsable:
    """A record that cannot be evaluated as read (not JSON, not UTF-8, too large, too deep,
    a key given twice): it becomes that record's error entry, the others go on.

    ``problems`` are its problems (the first is ``problem``, its English message ``message``);
    ``id`` is the record's id when it can be told.
    """

    def __init__(self, line: int | None, problem: Problem | list[Problem], raw: str,
                 record_id: str | None = None) -> None:
        self.line = line
        self.problems = list(problem) if isinstance(problem, list) else [problem]
        self.problem = self.problems[0]
        self.message = self.problem.message
        self.id: str | None = record_id
        match = _ID.search(raw) if record_id is None and len(raw) <= RECORD_BYTES else None
        if match:
            with contextlib.suppress(ValueError):
                self.id = json.loads(f'"{match.group(1)}"')

    def error(self) -> InputError:
        return InputError(self.problems, record_id=self.id)


#: One record of the input: (line number or None, the parsed value or an Unparsable).
Item = tuple[int | None, Any]


class _TooLong:
    """A line longer than ``LINE_BYTES``, skipped: ``size`` is how many bytes it had."""

    def __init__(self, size: int) -> None:
        self.size = size

    def strip(self) -> bytes:  # never blank
        return b"x"


class _ArrayHead(bytes):
    """The first ``LINE_BYTES`` of a first line that is longer and opens a JSON array (an array
    written on one line): the array is read on from the stream (:func:`_array`), not as lines."""


def _bounded_lines(stream: BinaryIO) -> Iterator[tuple[int, bytes | _TooLong]]:
    """The numbered lines of ``stream``, each read with a bounded ``readline``: a line longer
    than ``LINE_BYTES`` is skipped in bounded chunks and given as a :class:`_TooLong`, and one
    that has not ended after ``INPUT_BYTES`` ends the input (a device such as /dev/zero).  A
    first line longer than ``LINE_BYTES`` that opens an array is given as an :class:`_ArrayHead`
    and ends the lines: the caller reads the array on from ``stream``."""
    number, content = 0, False
    while True:
        raw = stream.readline(LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if len(raw) > LINE_BYTES and not raw.endswith(b"\n") and not content and raw.lstrip().startswith(b"["):
            yield number, _ArrayHead(raw)
            return
        content = content or bool(raw.strip())
        if len(raw) > LINE_BYTES and not raw.endswith(b"\n"):
            size = len(raw)
            while not raw.endswith(b"\n"):
                raw = stream.readline(CHUNK_BYTES)
                if not raw:
                    break
                size += len(raw)
                if size > INPUT_BYTES:
                    raise UsageError(f"line {number} has not ended after {INPUT_BYTES:,} bytes; "
                                     f"the input is not JSON Lines")
            yield number, _TooLong(size)
            continue
        yield number, raw


def _non_blank(lines: Iterator[tuple[int, bytes | _TooLong]]) -> Iterator[tuple[int, bytes | _TooLong]]:
    return ((n, raw) for n, raw in lines if raw.strip())


class _Keys:
    """The ``object_pairs_hook`` of one parse: objects as dicts, noting any key given twice."""

    def __init__(self) -> None:
        self.twice: list[tuple[dict[str, Any], dict[str, int]]] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs):
            counts: dict[str, int] = {}
            for key, _ in pairs:
                counts[key] = counts.get(key, 0) + 1
            self.twice.append((obj, {k: n for k, n in counts.items() if n > 1}))
        return obj

    def problems(self, value: Any) -> list[Problem]:
        """Each key given twice, at its path in ``value``."""
        where = {id(obj): counts for obj, counts in self.twice}
        found: list[Problem] = []
        pending: list[tuple[Any, str]] = [(value, "")]
        while pending:
            item, path = pending.pop()
            if isinstance(item, dict):
                for key, count in where.get(id(item), {}).items():
                    found.append(problem(f"{path}.{key}" if path else key, "duplicate_key",
                                         key=shown(key), count=count))
                pending.extend((v, f"{path}.{k}" if path else k) for k, v in item.items()
                               if isinstance(v, (dict, list)))
            elif isinstance(item, list):
                pending.extend((v, f"{path}[{i}]") for i, v in enumerate(item) if isinstance(v, (dict, list)))
        return sorted(found)


def _record_id(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("id", "unit"):
            if isinstance(value.get(key), str):
                return value[key]
    return None


def parse_record(text: str, line: int | None = None,
                 where: Callable[[], tuple[int, int]] | None = None) -> Any:
    """One record's JSON text, parsed strictly: a value, or an :class:`Unparsable` for text that
    is not JSON, nests deeper than ``DEPTH`` or gives a key twice.

    ``line`` is its line (JSON Lines); ``where()`` gives the (line, column) of its start in a
    larger document (an element of an array), for the messages.
    """
    keys = _Keys()
    try:
        value = json.JSONDecoder(object_pairs_hook=keys).decode(text)
    except json.JSONDecodeError as exc:
        at_line, column = exc.lineno, exc.colno
        if where is not None:
            first_line, first_column = where()
            at_line = first_line + exc.lineno - 1
            column = first_column + exc.colno - 1 if exc.lineno == 1 else exc.colno
        return Unparsable(line, problem("$", "not_json", line=line or at_line, reason=exc.msg, column=column), text)
    except RecursionError:
        return Unparsable(line, problem("$", "too_deep", limit=DEPTH), text)
    except ValueError as exc:  # a number of more digits than Python converts
        at_line = line or (where()[0] if where is not None else 1)
        return Unparsable(line, problem("$", "not_json", line=at_line, reason=" ".join(str(exc).split()),
                                        column=1), text)
    if may_be_deeper(text) and nesting_depth(value) > DEPTH:
        return Unparsable(line, problem("$", "too_deep", limit=DEPTH), text, _record_id(value))
    if keys.twice:
        return Unparsable(line, keys.problems(value), text, _record_id(value))
    return value


def _too_large(line: int | None, size: int) -> Unparsable:
    return Unparsable(line, problem("$", "too_large", size=f"{size:,}", limit=f"{RECORD_BYTES:,}"), "")


def _parse_line(number: int, raw: bytes | _TooLong) -> Item:
    if isinstance(raw, _TooLong):
        return number, _too_large(number, raw.size)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return number, Unparsable(number, problem("$", "not_utf8", line=number, byte=exc.start + 1),
                                  raw.decode("utf-8", "replace"))
    return number, parse_record(text.rstrip("\r\n"), number)


def _not_json(exc: json.JSONDecodeError, first_line: int) -> UsageError:
    return UsageError(f"the input is not JSON: {exc.msg} at line {exc.lineno + first_line - 1} "
                      f"column {exc.colno}")


class Raw:
    """A JSON Lines line not parsed yet (``read_records(unparsed=True)``): the worker process that
    evaluates it parses it (:func:`parse_item`), so that the reading process only splits lines."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __reduce__(self) -> tuple[Any, ...]:
        return (Raw, (self.data,))


def parse_item(line: int | None, record: Any) -> Item:
    """An item of :func:`read_records` with a :class:`Raw` line parsed (others as they are)."""
    if type(record) is Raw:
        return _parse_line(line or 0, record.data)
    return line, record


def read_records(stream: BinaryIO, unparsed: bool = False) -> tuple[str, Iterator[Item], int | None]:
    """Detect the shape of the input and iterate over its records, lazily for JSON Lines.

    Returns ``(shape, items, count)``: ``shape`` is ``object``, ``array`` or ``lines``;
    ``count`` is known for an array.  The rules: a document whose first character is ``[``
    is an array; a first line that is JSON on its own starts JSON Lines (one object on one
    line is JSON Lines of one record, answered by one object on one line); otherwise the
    lines are read until they make one JSON object (a pretty-printed object).  Raises
    :class:`UsageError` for input that is empty or not JSON at all.

    Everything is read within the limits of :mod:`taian_titles.limits`: a line at a time with a
    bounded ``readline`` (JSON Lines is never read ahead: an HR system may keep the command
    open, write a line and wait for its answer), an array or an object whole but at most
    ``INPUT_BYTES``, in chunks.  A record past a limit, nested too deep, not UTF-8 or with a
    key given twice is an :class:`Unparsable` item, which the command answers with that
    record's error entry.  With ``unparsed``, the lines of JSON Lines after the first are given
    as :class:`Raw` (see :func:`parse_item`): a worker process of ``--jobs`` parses them.
    """
    lines = _non_blank(_bounded_lines(stream))
    first = next(lines, None)
    if first is None:
        raise UsageError("the input is empty")
    number, raw = first
    if not isinstance(raw, _TooLong) and raw.lstrip().startswith(b"["):
        return _array(number, raw, stream)
    if isinstance(raw, _TooLong):  # one record on a line too long, the first of JSON Lines
        return "lines", _chain([_parse_line(number, raw)], (_parse_line(n, r) for n, r in lines)), None
    parsed = _parse_line(number, raw)
    if isinstance(parsed[1], Unparsable) and parsed[1].problem.code == "not_utf8":
        # JSON Lines whose first line is not UTF-8, if it is JSON once mended; else unusable
        if isinstance(parse_record(raw.decode("utf-8", "replace")), Unparsable):
            raise UsageError(parsed[1].message)
    elif isinstance(parsed[1], Unparsable) and parsed[1].problem.code == "not_json":
        return _multi_line(number, raw, lines)
    # No look-ahead: an HR system may keep the command open, write a line and wait for its
    # answer.  One object on one line is answered by one object on one line.
    rest = (((n, Raw(r)) if isinstance(r, bytes) else _parse_line(n, r)) for n, r in lines) if unparsed else \
        (_parse_line(n, r) for n, r in lines)
    return "lines", _chain([parsed], rest), None


def _chain(head: list[Item], rest: Iterator[Item]) -> Iterator[Item]:
    yield from head
    yield from rest


# --------------------------------------------------------------------------- one object over several lines

# A JSON string (an unterminated one runs to the end of the line): its brackets are not structure.
_JSON_STRING = re.compile(rb'"[^"\\\n]*(?:\\.[^"\\\n]*)*(?:"|$)', re.MULTILINE)


def _depth_change(raw: bytes) -> int:
    """How much deeper the arrays and objects are after this line than before it."""
    bare = _JSON_STRING.sub(b"", raw)
    return bare.count(b"[") + bare.count(b"{") - bare.count(b"]") - bare.count(b"}")


def _multi_line(first_number: int, first_raw: bytes, lines: Iterator[tuple[int, bytes | _TooLong]]
                ) -> tuple[str, Iterator[Item], int | None]:
    """A first line that is not JSON alone: one object over several lines, or JSON Lines whose
    first line is bad.  The lines are parsed as one object only once their brackets close (a
    string cannot span lines in JSON), so reading costs time linear in the input; at most
    ``RECORD_BYTES`` are kept in the hope of an object, and a larger one is read on (at most
    ``INPUT_BYTES``) only to find its end: it is answered as a record too large."""
    buffered: list[tuple[int, bytes]] = [(first_number, first_raw)]
    size, depth = len(first_raw), _depth_change(first_raw)
    pushed: list[tuple[int, bytes | _TooLong]] = []
    while depth > 0 and size <= RECORD_BYTES:
        step = next(lines, None)
        if step is None:
            break
        if isinstance(step[1], _TooLong):
            pushed.append(step)
            break
        buffered.append(step)  # type: ignore[arg-type]
        size += len(step[1])
        depth += _depth_change(step[1])  # type: ignore[arg-type]
    failure: BaseException | None = None
    if depth <= 0 and size <= RECORD_BYTES and not pushed:
        whole = b"".join(r for _, r in buffered)
        try:
            json.loads(whole.decode("utf-8", errors="replace"))
        except RecursionError:  # closed, but nested too deep to parse: the object's error
            return _one_object(first_number, Unparsable(None, problem("$", "too_deep", limit=DEPTH), ""), lines)
        except ValueError as exc:  # JSONDecodeError too
            failure = exc
        else:
            return _one_object(first_number, _object(whole), lines)
    rest = _chain_lines(pushed, lines)
    # Not one object.  JSON Lines with a bad first line, if any later line is JSON on its own.
    after = next(rest, None)
    candidates = buffered[1:] + ([after] if after else [])
    if any(not isinstance(_parse_line(n, r)[1], Unparsable) for n, r in candidates):
        replay = [_parse_line(n, r) for n, r in candidates]
        tail = (_parse_line(n, r) for n, r in rest)
        return "lines", _chain([_parse_line(first_number, first_raw), *replay], tail), None
    if size > RECORD_BYTES:
        # Larger than a record: read on to its end, keeping nothing, to answer it as too large.
        pending = [after] if after is not None else []
        if depth <= 0:  # it ended with the line that took it past the limit
            return _one_object(first_number, _too_large(None, size), _chain_lines(pending, rest))
        for number, raw in _chain_lines(pending, rest):
            if isinstance(raw, _TooLong):
                raise UsageError(f"the input is not JSON: line {number} is longer than {LINE_BYTES:,} bytes")
            size += len(raw)
            depth += _depth_change(raw)
            if depth <= 0:
                return _one_object(first_number, _too_large(None, size), rest)
            if size > INPUT_BYTES:
                break
        raise UsageError(f"the input is not JSON: no object ends within {INPUT_BYTES:,} bytes")
    if isinstance(failure, json.JSONDecodeError):
        raise _not_json(failure, first_number)
    text = b"".join(r for _, r in buffered).decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise _not_json(exc, first_number) from None
    except (RecursionError, ValueError):
        pass
    raise UsageError("the input is not JSON")


def _one_object(number: int, item: Any, lines: Iterator[tuple[int, bytes | _TooLong]]
                ) -> tuple[str, Iterator[Item], int | None]:
    extra = next(lines, None)
    if extra is not None:
        raise UsageError(f"unexpected data after the JSON object, at line {extra[0]}; "
                         f"send several records as a JSON array or as JSON Lines")
    return "object", iter([(number, item)]), 1


def _chain_lines(head: list[tuple[int, bytes | _TooLong]], rest: Iterator[tuple[int, bytes | _TooLong]]
                 ) -> Iterator[tuple[int, bytes | _TooLong]]:
    yield from head
    yield from rest


def _object(whole: bytes) -> Any:
    """The one pretty-printed object, parsed strictly (UTF-8, depth, keys)."""
    try:
        text = whole.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = whole.count(b"\n", 0, exc.start) + 1
        byte = exc.start - (whole.rfind(b"\n", 0, exc.start) + 1) + 1
        return Unparsable(None, problem("$", "not_utf8", line=line, byte=byte), whole.decode("utf-8", "replace"))
    return parse_record(text, None)


# --------------------------------------------------------------------------- a JSON array

_WS = re.compile(r"[ \t\n\r]*")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')
_RAW_BYTE = re.compile("[\udc80-\udcff]")  # a byte that is not UTF-8, kept by surrogateescape
_CLOSER = {"[": "]", "{": "}"}


def _read_whole(first: bytes, stream: BinaryIO) -> bytes:
    """The rest of the input after its first line, read in chunks, at most ``INPUT_BYTES`` in all."""
    chunks, size = [first], len(first)
    while True:
        chunk = stream.read(min(CHUNK_BYTES, INPUT_BYTES + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > INPUT_BYTES:
            raise UsageError(f"the input is larger than {INPUT_BYTES:,} bytes, the most read as one JSON "
                             f"array; send longer batches as JSON Lines (one record per line), which "
                             f"is read a line at a time")


def _skip_value(text: str, pos: int) -> int | None:
    """The end of the array element that starts at ``pos`` and could not be parsed, found by its
    brackets (strings skipped); None when they do not close before the array does."""
    expected: list[str] = []
    for match in _TOKEN.finditer(text, pos):
        token = match.group()
        if token in ("[", "{"):
            expected.append(_CLOSER[token])
        elif token in ("]", "}"):
            if not expected:
                return match.start()  # the array's own end, after a scalar element
            if expected.pop() != token:
                return None
            if not expected:
                return match.end()
        elif token == "," and not expected:
            return match.start()
    return None


class _Position:
    """(line, column) of an offset of a text, counted only when a message needs one."""

    def __init__(self, text: str, first_line: int) -> None:
        self.text, self.first_line = text, first_line
        self._newlines: list[int] | None = None

    def __call__(self, offset: int) -> tuple[int, int]:
        if self._newlines is None:
            self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        index = bisect.bisect_left(self._newlines, offset)
        start = self._newlines[index - 1] + 1 if index else 0
        return self.first_line + index, offset - start + 1


def _array(first_number: int, first_raw: bytes, stream: BinaryIO) -> tuple[str, Iterator[Item], int | None]:
    """A JSON array, read whole (at most ``INPUT_BYTES``) and checked as a whole before any
    record is evaluated; each element is then parsed when its turn comes.  An element that is
    too large, nested too deep, not UTF-8, not JSON or gives a key twice is that record's
    :class:`Unparsable`; an array whose elements cannot be told apart is not JSON."""
    whole = _read_whole(first_raw, stream)
    text = whole.decode("utf-8", "surrogateescape")
    position = _Position(text, first_number)
    decoder = json.JSONDecoder()
    pos = _WS.match(text, text.index("[") + 1).end()
    spans: list[tuple[int, int, BaseException | None]] = []
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            start = pos
            failure: BaseException | None = None
            try:
                _, end = decoder.raw_decode(text, pos)
            except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
                failure = exc
                found = _skip_value(text, pos)
                if found is None or found == start:
                    if isinstance(exc, json.JSONDecodeError):
                        line, column = position(exc.pos)
                        raise UsageError(f"the input is not JSON: {exc.msg} at line {line} column {column}") from None
                    raise UsageError("the input is not JSON: an element of the array does not end") from None
                end = found
            spans.append((start, end, failure))
            pos = _WS.match(text, end).end()
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            line, column = position(pos)
            what = "the array is not closed" if pos >= len(text) else "expecting ',' or ']'"
            raise UsageError(f"the input is not JSON: {what} at line {line} column {column}")
    rest = text[pos:].strip()
    if rest:
        line, column = position(pos + text[pos:].index(rest[0]))
        raise UsageError(f"the input is not JSON: unexpected data after the array at line {line} column {column}")

    def items() -> Iterator[Item]:
        for start, end, failure in spans:
            yield None, _element(text, start, end, failure, position)

    return "array", items(), len(spans)


def _element(text: str, start: int, end: int, failure: BaseException | None, position: _Position) -> Any:
    """One element of an array: its value, or its :class:`Unparsable`."""
    source = text[start:end]
    if (end - start) * 4 > RECORD_BYTES:  # a character is at most 4 bytes
        size = len(source.encode("utf-8", "surrogateescape"))
        if size > RECORD_BYTES:
            return Unparsable(None, problem("$", "too_large", size=f"{size:,}", limit=f"{RECORD_BYTES:,}"), source)
    bad = _RAW_BYTE.search(source) if not source.isascii() else None
    if bad is not None:
        line, column = position(start + bad.start())
        line_start = text.rfind("\n", 0, start + bad.start()) + 1
        byte = len(text[line_start:start + bad.start()].encode("utf-8", "surrogateescape")) + 1
        return Unparsable(None, problem("$", "not_utf8", line=line, byte=byte), source.encode(
            "utf-8", "surrogateescape").decode("utf-8", "replace"))
    if isinstance(failure, RecursionError):
        return Unparsable(None, problem("$", "too_deep", limit=DEPTH), source)
    return parse_record(source, None, lambda: position(start))


class OutputError(Exception):
    """The answers could not be written (a full disk, an I/O error): exit status 3."""


class OutputClosed(Exception):
    """The reader of the answers went away (a closed pipe): exit status 4."""


class _Reading:
    """A binary input whose read errors are the input's fault as a whole (exit status 2)."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream, self.name = stream, name

    def readline(self, size: int = -1) -> bytes:
        try:
            return self.stream.readline(size)
        except OSError as exc:
            raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None

    def read(self, size: int = -1) -> bytes:
        try:
            return self.stream.read(size)
        except OSError as exc:
            raise UsageError(f"cannot read {self.name}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def open_input(path: str) -> Iterator[BinaryIO]:
    """The input ``path`` (``-``: standard input), read only in bounded pieces (see
    :func:`read_records`), so a device or a FIFO is read like a file without exhausting memory."""
    if path == "-":
        yield _Reading(sys.stdin.buffer, "standard input")  # type: ignore[misc]
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
        yield _Reading(stream, path)  # type: ignore[misc]


class _Output:
    """A text output whose write errors say what went wrong: :class:`OutputClosed` when the
    reader went away, :class:`OutputError` for any other (a full disk)."""

    def __init__(self, stream: TextIO, name: str, note: str = "") -> None:
        self.stream, self.name, self.note = stream, name, note

    def _failed(self, exc: OSError) -> Exception:
        if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
            return OutputClosed(f"{self.name} was closed by its reader{self.note}")
        return OutputError(f"cannot write {self.name}: {exc.strerror or exc}{self.note}")

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except OSError as exc:
            raise self._failed(exc) from None

    def write_bytes(self, data: bytes) -> None:
        """UTF-8 that the text stream would have written (``--jobs`` workers encode their
        answers): straight to the stream's buffer where there is one and no newline is
        translated, else decoded and written."""
        buffer = getattr(self.stream, "buffer", None)
        try:
            if buffer is None or os.linesep != "\n":
                self.stream.write(data.decode("utf-8"))
            else:
                self.stream.flush()
                buffer.write(data)
        except OSError as exc:
            raise self._failed(exc) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as exc:
            raise self._failed(exc) from None

    def close(self) -> None:
        try:
            self.stream.close()
        except OSError as exc:
            raise self._failed(exc) from None

    def isatty(self) -> bool:
        return _isatty(self.stream)


def _text_stream(fd: int) -> TextIO:
    # UTF-8 always; a lone surrogate (which a record may carry in its id) is written as the JSON
    # escape \udXXX rather than failing the write.
    return open(fd, "w", encoding="utf-8", errors="backslashreplace", newline="\n")


@contextlib.contextmanager
def open_output(path: str | None) -> Iterator[TextIO]:
    """Where the answers go: standard output (``None`` or ``-``) or the file ``path``.

    A regular file, or a path that does not exist yet, is written whole or not at all: the
    answers go to a temporary file in the same folder, which replaces the target (keeping its
    permissions) only when the block ends normally; when it raises (an unusable input, a
    write error, an interruption) the temporary file is removed and the target is untouched.
    A symbolic link is followed: its target is replaced, not the link.  Anything else that
    exists (a device, a FIFO) is written directly.  Write errors become :class:`OutputError`
    or :class:`OutputClosed`.
    """
    if path is None or path == "-":
        out = sys.stdout
        if hasattr(out, "reconfigure"):
            out.reconfigure(encoding="utf-8", errors="backslashreplace")  # JSON and letters are always UTF-8
        guarded = _Output(out, "standard output")
        yield guarded  # type: ignore[misc]
        guarded.flush()
        return
    try:
        status = os.stat(path)
    except FileNotFoundError:
        status = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise UsageError(f"cannot write {path}: it is a directory")
    if status is not None and not stat.S_ISREG(status.st_mode):
        try:  # a device or a FIFO: written as it is
            fd = os.open(path, os.O_WRONLY)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
        device = _Output(_text_stream(fd), path)
        try:
            yield device  # type: ignore[misc]
        finally:
            with contextlib.suppress(Exception):
                device.flush()
            device.close()
        return
    target = os.path.realpath(path)
    folder = os.path.dirname(target)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    except OSError as exc:  # the answers are written whole or not at all: beside the target
        raise UsageError(f"cannot write {path}: no temporary file can be made in its folder "
                         f"({exc.strerror or exc})") from None
    done = False
    stream = _Output(_text_stream(fd), path, f"; {path} was left as it was")
    try:
        os.chmod(temporary, stat.S_IMODE(status.st_mode) if status is not None else 0o666 & ~_umask())
        yield stream  # type: ignore[misc]
        stream.flush()
        with contextlib.suppress(OSError):
            os.fsync(stream.stream.fileno())
        stream.close()
        try:
            os.replace(temporary, target)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}; {path} was left as it was") from None
        done = True
    finally:
        if not done:
            with contextlib.suppress(Exception):
                stream.stream.close()
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def progress(items: Iterable[Item], total: int | None, out: TextIO, enabled: bool) -> Iterable[Item]:
    """A progress bar on standard error for long batches, only when a person is watching it.

    With ``total`` known the bar shows it and the time left; the bar stays on the screen at the
    end with the final count (the total is set to the count when the estimate was off).
    """
    stream = getattr(out, "stream", out)
    if not enabled or not _isatty(sys.stderr) or stream is sys.stdout and _isatty(sys.stdout):
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


def is_regular_file(path: str) -> bool:
    """Whether the input (``-``: standard input) is a regular file, which is read to its end
    without waiting for anyone: not a terminal, a pipe or a FIFO, whose writer may wait for an
    answer before writing more."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode if path == "-" else os.stat(path).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISREG(mode)


def count_lines(path: str) -> int | None:
    """The non-blank lines of a regular file (the total of a JSON Lines batch), None for standard
    input or anything that is not a regular file (a FIFO would lose what is read here, a device
    never ends).  Read in chunks: a line of any length costs no memory."""
    if path == "-":
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        count, pending = 0, False  # pending: the line read so far has something on it
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
                *ended, last = chunk.split(b"\n")
                for line in ended:
                    if pending or line.strip():
                        count += 1
                    pending = False
                pending = pending or bool(last.strip())
        return count + pending
    except OSError:
        return None


#: Spreadsheet rosters, read by :mod:`taian_titles.roster`, chosen by the file's extension.
ROSTER_EXTENSIONS = (".xlsx", ".xlsm", ".csv")


def is_roster(path: str) -> bool:
    return path != "-" and path.lower().endswith(ROSTER_EXTENSIONS)


@contextlib.contextmanager
def open_records(path: str, kind: str = "applicants", unparsed: bool = False
                 ) -> Iterator[tuple[str, Iterator[Item], int | None, Any]]:
    """(shape, items, total, roster) of a JSON input or of a roster (.xlsx, .csv; ``roster`` None for JSON);
    ``unparsed``: JSON Lines lines left for :func:`parse_item`."""
    if is_roster(path):
        from .roster import open_roster

        with open_roster(path, kind) as roster:
            yield roster.shape, roster.items, roster.total, roster
        return
    with open_input(path) as stream:
        shape, items, total = read_records(stream, unparsed)
        if total is None and shape == "lines":
            total = count_lines(path)
        yield shape, items, total, None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- writing answers

def jsonl_bytes(entry: Mapping[str, Any]) -> bytes:
    """One answer's JSON Lines line in UTF-8: the bytes of ``json.dumps(entry,
    ensure_ascii=False, separators=(",", ":")) + "\n"`` as the output writes them (a lone
    surrogate as a backslash escape).  orjson makes them, several times faster, where it writes
    the same: not for a ``meta`` the caller sent (its numbers could be written otherwise), nor
    for what orjson refuses (a lone surrogate, an integer past 64 bits)."""
    if "meta" not in entry:
        try:
            return orjson.dumps(entry) + b"\n"
        except (TypeError, orjson.JSONEncodeError):
            pass
    return (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "backslashreplace")


class Writer:
    """Writes answers in the requested format as they come; JSON mirrors the input's shape."""

    def __init__(self, out: TextIO, fmt: str, shape: str, lang: str, title: str,
                 letter: Callable[[Any], str], error_letter: Callable[[Any, str], str]) -> None:
        self.out, self.fmt, self.shape, self.lang = out, fmt, shape, lang
        self.letter, self.error_letter = letter, error_letter
        #: The answers are JSON Lines: one compact line each (``jsonl``, or ``json`` answering JSON Lines).
        self.lines = fmt == "jsonl" or (fmt == "json" and shape == "lines")
        self.count = 0
        self.title = title

    def start(self) -> None:
        if self.fmt == "json" and self.shape == "array":
            self.out.write("[")
        elif self.fmt in LETTER_FORMATS:
            self.out.write(document_head(self.fmt, self.lang, self.title))

    def write(self, answer: Any, entry: Mapping[str, Any], is_error: bool, where: str = "",
              record: Any = None) -> None:
        if self.lines and hasattr(self.out, "write_bytes"):  # JSON Lines as UTF-8 (orjson), flushed: one line answers one
            self.out.write_bytes(jsonl_bytes(entry))
            self.out.flush()
            self.count += 1
            return
        self.emit(self.piece(answer, entry, is_error, where))

    def piece(self, answer: Any, entry: Mapping[str, Any], is_error: bool, where: str = "") -> str:
        """What one answer adds to the output, without what separates it from the previous one.

        It depends on nothing written before, so a worker process of ``--jobs`` can make it
        (:mod:`taian_titles.parallel`) and the parent only :meth:`emit` s it in input order.
        """
        fmt = self.fmt
        if self.lines:
            return json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
        if fmt == "json" and self.shape == "array":
            return _indent(json.dumps(entry, ensure_ascii=False, indent=2))
        if fmt == "json":
            return json.dumps(entry, ensure_ascii=False, indent=2) + "\n"
        return self.error_letter(answer, where) if is_error else self.letter(answer)

    def piece_bytes(self, answer: Any, entry: Mapping[str, Any], is_error: bool, where: str = "") -> bytes | str:
        """:meth:`piece` as the output's UTF-8 where the output is JSON Lines (what a worker
        of ``--jobs`` sends back: bytes cross processes and reach the file without decoding
        and encoding again), otherwise the text."""
        if self.lines:
            return jsonl_bytes(entry)
        return self.piece(answer, entry, is_error, where)

    def emit(self, piece: str, flush: bool = True) -> None:
        """Write one answer's :meth:`piece` after the separator it needs; JSON Lines and letters
        answering JSON Lines are flushed (unless ``flush`` is false: the caller flushes)."""
        out, fmt = self.out, self.fmt
        if self.lines:
            out.write(piece)
            if flush:
                out.flush()
        elif fmt == "json" and self.shape == "array":
            out.write(("," if self.count else "") + "\n" + piece)
        elif fmt == "json":
            out.write(piece)
        else:
            if self.count and fmt != "html":
                out.write("\n" + ("=" * 60 if fmt == "text" else "---") + "\n\n")
            out.write(piece)
            if self.shape == "lines" and flush:
                out.flush()
        self.count += 1

    def emit_all(self, pieces: list[Any]) -> None:
        """:meth:`emit` of each piece (text, or :meth:`piece_bytes`), the caller flushing;
        JSON Lines in one write."""
        if not pieces:
            return
        if self.lines:
            if isinstance(pieces[0], bytes):
                data = b"".join(pieces)
                write_bytes = getattr(self.out, "write_bytes", None)
                if write_bytes is not None:
                    write_bytes(data)
                else:
                    self.out.write(data.decode("utf-8"))
            else:
                self.out.write("".join(pieces))
            self.count += len(pieces)
            return
        for piece in pieces:
            self.emit(piece, flush=False)

    def flush(self) -> None:
        self.out.flush()

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


