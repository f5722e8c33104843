"""A province's roster on a Dask cluster: JSON Lines evaluated partition by partition.

``pip install 'taian-titles[dask]'``.  A large JSON Lines roster (or several, one per city) is
cut into byte ranges at line boundaries; each range is a partition of a ``dask.bag`` that a
worker reads itself (through fsspec: a path on storage every worker sees, or an ``s3://``,
``gs://``, ``hdfs://`` address with the matching fsspec package) and answers with what
``taian-titles evaluate FILE --format jsonl`` writes for those lines, line numbers of error
entries included.  The bag's partitions are in file order, so concatenating them gives the
command's output byte for byte::

    from distributed import Client
    from taian_titles.distributed import evaluate_jsonl, write_jsonl

    client = Client("tcp://scheduler:8786")
    answers = evaluate_jsonl(["/data/2025/taian.jsonl", "/data/2025/jinan.jsonl"], blocksize=64 << 20)
    write_jsonl(answers, "/data/2025/decisions.jsonl")      # or answers.to_textfiles(...)

Each worker loads the policy once (the shipped one, or the ``rulesets`` files, which every
worker must be able to read) and evaluates its partitions as the command's worker processes do
(:mod:`taian_titles.parallel`: engine sessions shared by 16 applicants).  :func:`evaluate_lines`
is the plain function underneath, usable by any engine that hands out partitions of lines
(Spark's ``mapPartitions``; see docs/developers.md).
"""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Any, Iterable, Iterator, Sequence

__all__ = ["evaluate_lines", "evaluate_jsonl", "write_jsonl", "line_ranges", "BLOCKSIZE"]

#: Bytes of input per partition by default.
BLOCKSIZE = 32 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"

_STATES: dict[Any, Any] = {}
_LOCK = threading.Lock()


def _state(rulesets: tuple[str, ...], as_of: _dt.date | None) -> Any:
    """The process's evaluator for these rulesets and date (a policy is loaded once per process)."""
    from .parallel import Job, _State

    key = (rulesets, as_of)
    with _LOCK:
        state = _STATES.get(key)
        if state is None:
            job = Job(rulesets=rulesets, as_of=as_of, fmt="jsonl", shape="lines", lang="zh")
            state = _STATES[key] = _State(job, batched=True)
    return state


def evaluate_lines(lines: Iterable[bytes | str], *, first_line: int = 1, rulesets: Sequence[str] = (),
                   as_of: _dt.date | str | None = None, chunk: int = 200) -> Iterator[str]:
    """The command's JSON Lines answers (each ending in a newline) to these JSON Lines lines.

    ``first_line`` is the number of the first line in its file (error entries name their line);
    blank lines are skipped but counted, as the command does; a byte-order mark is taken off the
    first line of a file (``first_line`` 1).  ``rulesets``: ruleset files (default: the shipped
    policy); ``as_of`` overrides every record's date, as ``--as-of`` does.
    """
    from .exchange import parse_date
    from .io import Raw

    day = parse_date(as_of) if isinstance(as_of, str) else as_of
    state = _state(tuple(str(r) for r in rulesets), day)
    part: list[tuple[int, int, Any]] = []
    for number, line in enumerate(lines, first_line):
        raw = line.encode("utf-8") if isinstance(line, str) else line
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        if not raw.strip():
            continue
        part.append((number - 1, number, Raw(raw)))
        if len(part) == chunk:
            yield from (piece for _, piece, _, _ in state.chunk(part))
            part = []
    if part:
        yield from (piece for _, piece, _, _ in state.chunk(part))


def line_ranges(path: str, blocksize: int = BLOCKSIZE) -> list[tuple[int, int, int]]:
    """(start byte, end byte, number of the first line) of ranges of about ``blocksize`` bytes
    that begin and end at line boundaries: one pass over the file, counting newlines."""
    import fsspec

    ranges = []
    start, first, seen, pos = 0, 1, 0, 0  # seen: newlines before the block at ``pos``
    with fsspec.open(path, "rb") as f:
        while True:
            block = f.read(min(1 << 20, max(blocksize // 4, 4096)))
            if not block:
                break
            if pos + len(block) - start >= blocksize:
                last = block.rfind(b"\n")
                if last >= 0 and pos + last + 1 > start:
                    cut = pos + last + 1
                    ranges.append((start, cut, first))
                    first = 1 + seen + block.count(b"\n", 0, last + 1)
                    start = cut
            seen += block.count(b"\n")
            pos += len(block)
    if pos > start:
        ranges.append((start, pos, first))
    return ranges


def _read_range(path: str, start: int, end: int) -> list[bytes]:
    """The lines of a byte range, split at newlines only (as the command reads a file)."""
    import fsspec

    with fsspec.open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _evaluate_range(path: str, start: int, end: int, first_line: int, rulesets: tuple[str, ...],
                    as_of: _dt.date | None) -> list[str]:
    return list(evaluate_lines(_read_range(path, start, end), first_line=first_line, rulesets=rulesets,
                               as_of=as_of))


def evaluate_jsonl(paths: str | Sequence[str], *, blocksize: int = BLOCKSIZE, rulesets: Sequence[str] = (),
                   as_of: _dt.date | str | None = None) -> Any:
    """A ``dask.bag`` of the command's JSON Lines answers to every record of ``paths``, one
    partition per range of about ``blocksize`` bytes, in file order (compute it with the
    current client: ``distributed.Client``, or dask's local scheduler)."""
    import dask
    import dask.bag as db

    from .exchange import parse_date

    day = parse_date(as_of) if isinstance(as_of, str) else as_of
    files = [paths] if isinstance(paths, str) else list(paths)
    sets = tuple(str(r) for r in rulesets)
    parts = [dask.delayed(_evaluate_range, pure=True)(path, start, end, line, sets, day)
             for path in files for start, end, line in line_ranges(path, blocksize)]
    return db.from_delayed(parts)


def write_jsonl(answers: Any, target: str) -> int:
    """Write a bag of answers (:func:`evaluate_jsonl`) to one file in order, each partition as
    soon as it and those before it are computed; returns the number of answers written."""
    import fsspec

    try:
        from distributed import get_client

        client = get_client()
    except (ImportError, ValueError):
        client = None
    count = 0
    with fsspec.open(target, "w", encoding="utf-8", newline="\n") as out:
        parts = answers.to_delayed()
        if client is None:
            results: Iterable[Any] = (part.compute() for part in parts)
        else:
            futures = client.compute(parts)
            results = _in_order(futures)
        for lines in results:
            out.writelines(lines)
            count += len(lines)
    return count


def _in_order(futures: list[Any]) -> Iterator[list[str]]:
    for future in futures:
        lines = future.result()
        future.release()
        yield lines
