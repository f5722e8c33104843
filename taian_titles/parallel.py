"""A batch on every core: ``taian-titles evaluate --jobs N``.

The engine evaluates one applicant at a time per process (the C core holds the GIL), so more
cores mean more processes.  :func:`answers` hands chunks of records to ``N`` worker processes
and gives their answers back in input order, so that the command writes exactly what one
process would have written:

* **Streaming, bounded memory.**  A reader thread takes records from the input into a bounded
  queue; at most ``window`` chunks are in flight at once, and the parent writes the answers of
  the oldest chunk as soon as it is done.  However long the input, the parent holds at most
  ``window + 2`` chunks of records.
* **Little work in the parent.**  A JSON Lines line travels to a worker unparsed
  (:class:`~taian_titles.io.Raw`), and the worker sends back what the command writes for it
  (:meth:`~taian_titles.io.Writer.piece`: the JSON line, the indented object, the letter) with
  only what the summary counts; the parent only splits lines and writes.
* **An interactive caller is answered.**  A chunk is sent when it is full, or at once when no
  chunk is in flight: a caller that writes one line and waits for its answer gets it.
* **No record is lost.**  A record whose evaluation raises becomes its own error entry in the
  worker, as in one process.  When a whole chunk fails (a worker process dies: a crash of the C
  core, the out-of-memory killer), the chunks in flight are evaluated again one record at a
  time in fresh workers, so that only the record that brings a worker down again becomes an
  error entry (``kind`` ``internal``), and every other record gets its answer.
* **Small inputs stay in one process.**  Input that ends within the first chunk is evaluated in
  the calling process: no worker is started for one record.

Workers are started by ``forkserver`` (``spawn`` where there is none): nothing of the
parent's threads or open files is inherited, and each worker loads the policy from the same
files.
"""

from __future__ import annotations

import collections
import concurrent.futures as _cf
import datetime as _dt
import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import attrs

from .io import LETTER_FORMATS, Writer, parse_item
from .summary import counted

__all__ = ["Job", "answers", "default_jobs", "CHUNK"]

#: Records per task sent to a worker.
CHUNK = 256
#: Seconds to wait for more records before sending a first chunk that is not full (an
#: interactive caller waits this long once; a file fills the chunk in far less).
FIRST_WAIT = 0.05
#: Seconds between looks at the input while chunks are in flight and the input is slow.
POLL = 0.01

#: (is_error, piece, entry, group): what the command writes for one record (``piece``: the
#: output's text, its UTF-8 for JSON Lines (:meth:`Writer.piece_bytes`), or in ``full`` mode the
#: letter's text or None), the answer's exchange dict in ``full`` mode, otherwise only what the
#: summary counts (:func:`taian_titles.summary.counted`), and its ``--group-by`` value.
Result = tuple[bool, "str | bytes | None", "Mapping[str, Any] | tuple[Any, ...]", "str | None"]


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@attrs.frozen
class Job:
    """What a worker needs to answer records exactly as the command does.

    ``rulesets``: absolute paths of ``--ruleset`` files (empty: the shipped policy);
    ``fmt``: the format answers are written in; ``full``: the writer needs each answer's whole
    exchange dict and letter text (a workbook, one file per applicant) rather than its piece of
    the output.
    """

    rulesets: tuple[str, ...]
    as_of: _dt.date | None
    fmt: str
    shape: str
    lang: str
    templates: str | None = None
    group_by: str | None = None
    full: bool = False
    lenient: bool = False


class _State:
    """A process's means to answer records: the policy and a writer that makes pieces."""

    def __init__(self, job: Job, policy: Any = None, batched: bool = False, binary: bool = False) -> None:
        from .cli import _policy_option
        from .render import render_error, render_fragment

        self.job, self.batched, self.binary = job, batched, binary
        self.policy = policy if policy is not None else _policy_option(list(job.rulesets) or None)
        fmt, lang, templates = job.fmt, job.lang, job.templates
        self.writer = Writer(None, fmt, job.shape, lang, "",  # type: ignore[arg-type]
                             letter=lambda d: render_fragment(d, fmt, lang, templates=templates),
                             error_letter=lambda e, where: render_error(e.id, e.error, fmt, lang, where,
                                                                        templates=templates))

    def answer(self, index: int, line: int | None, record: Any) -> Result:
        from .batch import evaluate_entry

        line, record = parse_item(line, record)
        answer, entry = evaluate_entry(index, line, record, as_of=self.job.as_of, policy=self.policy,
                                       lenient=self.job.lenient)
        return self._finish(index, line, record, answer, entry)

    def _finish(self, index: int, line: int | None, record: Any, answer: Any,
                entry: dict[str, Any] | None = None) -> Result:
        """The result of an answer; its entry made as :func:`taian_titles.batch.evaluate_entry` makes it."""
        from .api import BatchError
        from .cli import _where
        from .summary import group_value

        job = self.job
        if entry is None:
            entry = answer.to_dict()
            if line is not None and isinstance(answer, BatchError):
                entry["error"]["line"] = line
        if isinstance(answer, BatchError):
            return self._result(answer, entry, True, _where(index, line, job.lang), group_value(record, job.group_by))
        return self._result(answer, entry, False, "", group_value(record, job.group_by))

    def failed(self, index: int, line: int | None, record: Any, cause: BaseException) -> Result:
        """The error entry of a record whose evaluation failed outside the library's own handling."""
        from .api import BatchError, _record_id
        from .cli import _where
        from .errors import InternalError
        from .io import Unparsable
        from .summary import group_value

        try:
            line, record = parse_item(line, record)
        except Exception:  # pragma: no cover - parsing never raises
            pass
        record_id = record.id if isinstance(record, Unparsable) else _record_id(record)
        answer = BatchError(index, record_id, InternalError(cause, record_id=record_id))
        try:
            group = group_value(record, self.job.group_by)
        except Exception:  # pragma: no cover - a value of a record that does not read
            group = None
        entry = answer.to_dict()
        if line is not None:
            entry["error"]["line"] = line
        return self._result(answer, entry, True, _where(index, line, self.job.lang), group)

    def _result(self, answer: Any, entry: dict[str, Any], is_error: bool, where: str,
                group: str | None) -> Result:
        job = self.job
        if job.full:
            text = self.writer.piece(answer, entry, is_error, where) if job.fmt in LETTER_FORMATS else None
            return is_error, text, entry, group
        piece = (self.writer.piece_bytes if self.binary else self.writer.piece)(answer, entry, is_error, where)
        return is_error, piece, counted(entry), group

    def chunk(self, part: Sequence[tuple[int, int | None, Any]]) -> list[Result]:
        if self.batched:
            return self._batched(part)
        out = []
        for index, line, record in part:
            try:
                out.append(self.answer(index, line, record))
            except Exception as exc:  # a fault outside evaluate_record (rendering): this record's entry
                out.append(self.failed(index, line, record, exc))
        return out


    def _batched(self, part: Sequence[tuple[int, int | None, Any]]) -> list[Result]:
        """The answers of :meth:`answer`, record by record, with the engine runs of the chunk
        sharing sessions (:func:`taian_titles.api.evaluate_records`), :data:`~taian_titles.api.BATCH`
        records at a time as one process evaluates a file, each batch's answers made before the
        next batch is evaluated: a batch's memory (facts, firings, decisions) stays small enough
        for the processor's caches (a worker evaluating its 200 records at once spent 7% more
        an applicant)."""
        from .api import BATCH

        out: list[Result] = []
        for start in range(0, len(part), BATCH):
            out.extend(self._batch(part[start:start + BATCH]))
        return out

    def _batch(self, part: Sequence[tuple[int, int | None, Any]]) -> list[Result]:
        from .api import BatchError, evaluate_records
        from .io import Unparsable

        parsed = []
        for index, line, record in part:
            line, record = parse_item(line, record)
            parsed.append((index, line, record))
        evaluable = [(index, record) for index, _, record in parsed if not isinstance(record, Unparsable)]
        try:
            answers = iter(evaluate_records(evaluable, as_of=self.job.as_of, policy=self.policy,
                                             lenient=self.job.lenient))
        except Exception:  # pragma: no cover - evaluate_records never raises; one by one then
            return [self.chunk_alone(item) for item in part]
        out = []
        for index, line, record in parsed:
            try:
                if isinstance(record, Unparsable):
                    answer: Any = BatchError(index, record.id, record.error())
                else:
                    answer = next(answers)
                    settle = getattr(record, "settle", None)  # a roster's row: problems at their cells
                    if settle:
                        answer = settle(answer, index)
                out.append(self._finish(index, line, record, answer))
            except Exception as exc:  # a fault outside evaluation (rendering): this record's entry
                out.append(self.failed(index, line, record, exc))
        return out

    def chunk_alone(self, item: tuple[int, int | None, Any]) -> Result:
        try:
            return self.answer(*item)
        except Exception as exc:
            return self.failed(*item, exc)


# --------------------------------------------------------------------------- worker processes

_WORKER: _State | None = None


def _init(job: Job) -> None:
    global _WORKER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent answers ^C; workers are shut down by it
    _WORKER = _State(job, batched=True, binary=True)  # chunks share engine sessions; JSON Lines as UTF-8


def work(part: Sequence[tuple[int, int | None, Any]]) -> list[Result]:
    """A worker's task: the results of one chunk, in order."""
    assert _WORKER is not None, "worker not initialised"
    return _WORKER.chunk(part)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["taian_titles.cli", "taian_titles.parallel"])
        return context
    return multiprocessing.get_context("spawn")


# --------------------------------------------------------------------------- the parent

def _came_back(future: Any) -> bool:
    """Whether a chunk's results are there (its worker finished it before another died)."""
    return isinstance(future, _cf.Future) and future.done() and not future.cancelled() \
        and future.exception() is None

_END = object()


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _Reader(threading.Thread):
    """Takes (index, line, record) from the input into a bounded queue, then ``_END``.

    ``batch``: records go into the queue as lists of up to that many (an input that never
    keeps a reader waiting, a regular file: one queue operation a list rather than a record);
    otherwise one by one, so that a caller who writes one line and waits is answered."""

    def __init__(self, items: Iterable[tuple[int | None, Any]], size: int, batch: int = 0) -> None:
        super().__init__(name="taian-titles input", daemon=True)
        self.items, self.batch = items, batch
        self.queue: queue.Queue[Any] = queue.Queue(max(2, size // batch) if batch else size)
        self.stopped = threading.Event()

    def run(self) -> None:
        batch, held = self.batch, []
        try:
            for index, (line, record) in enumerate(self.items):
                if not batch:
                    if not self._put((index, line, record)):
                        return
                    continue
                held.append((index, line, record))
                if len(held) >= batch:
                    if not self._put(held):
                        return
                    held = []
        except BaseException as exc:  # raised in the caller once the answers before it are written
            if held and not self._put(held):
                return
            self._put(_Failed(exc))
            return
        if held and not self._put(held):
            return
        self._put(_END)

    def _put(self, item: Any) -> bool:
        while not self.stopped.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


class _Pool:
    """The worker processes, started when first needed and again after one dies."""

    def __init__(self, jobs: int, job: Job, task: Callable[..., list[Result]]) -> None:
        self.jobs, self.job, self.task = jobs, job, task
        self.executor: _cf.ProcessPoolExecutor | None = None

    def submit(self, part: list[tuple[int, int | None, Any]]) -> _cf.Future[list[Result]]:
        if self.executor is None:
            self.executor = _cf.ProcessPoolExecutor(self.jobs, mp_context=_context(), initializer=_init,
                                                    initargs=(self.job,))
        return self.executor.submit(self.task, part)

    def renew(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None

    def close(self, wait: bool = True) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=wait, cancel_futures=True)
            self.executor = None


def answers(items: Iterable[tuple[int | None, Any]], job: Job, jobs: int, policy: Any = None, *,
            chunk: int = CHUNK, window: int | None = None,
            task: Callable[..., list[Result]] | None = None,
            chunk_done: Callable[[], None] | None = None,
            first_wait: float | None = None, read_ahead: bool = False) -> Iterator[tuple[int, int | None, Any, Result]]:
    """(index, line, record, result) of every item ``(line, record)`` of the input, in input order.

    ``policy`` is the calling process's policy (for an input that ends within the first chunk,
    and for the error entries of records lost with a worker); ``window`` chunks at most are in
    flight (default ``2 × jobs``); ``task`` replaces :func:`work` (tests make workers fail);
    ``chunk_done`` is called once the caller has taken the last result of a chunk (the command
    flushes its output then).  The first chunk is sent when it is full or the input ends, or
    with ``first_wait`` (seconds; for a caller that may write a line and wait for its answer)
    when no more records came in that time.  ``read_ahead``: the input never keeps a reader
    waiting (a regular file), so records are taken from it a chunk at a time.
    """
    local = _State(job, policy, binary=True)
    pool = _Pool(jobs, job, task or work)
    window = window or max(2, 2 * jobs)
    reader = _Reader(items, 2 * chunk, batch=chunk if read_ahead else 0)
    reader.start()
    buffer: list[tuple[int, int | None, Any]] = []
    inflight: collections.deque[list[Any]] = collections.deque()  # [part, future or results]
    state = {"ended": False, "failure": None}

    def take(block: bool, deadline: float | None = None, fill: bool = False) -> None:
        """Move records from the reader's queue into ``buffer``, up to a chunk: waiting for the
        first (``block``), for every one (``fill``), until ``deadline``, or for none."""
        while len(buffer) < chunk and not state["ended"]:
            try:
                if fill or (block and not buffer):
                    item = reader.queue.get()
                elif deadline is not None:
                    left = deadline - time.monotonic()
                    item = reader.queue.get(timeout=left) if left > 0 else reader.queue.get_nowait()
                else:
                    item = reader.queue.get_nowait()
            except queue.Empty:
                return
            if item is _END:
                state["ended"] = True
            elif isinstance(item, _Failed):
                state["ended"], state["failure"] = True, item.exc
            elif type(item) is list:  # a batch of records (read_ahead)
                buffer.extend(item)
            else:
                buffer.append(item)

    def isolated(part: list[tuple[int, int | None, Any]]) -> list[Result]:
        """The records of a failed chunk one by one, each in a worker of its own task."""
        out = []
        for item in part:
            for attempt in (1, 2):
                try:
                    out.extend(pool.submit([item]).result())
                except BrokenProcessPool as exc:
                    # the record's own worker died, or the pool was already broken by another
                    # record: a fresh pool and a second try tell which
                    pool.renew()
                    if attempt == 1:
                        continue
                    out.append(local.failed(*item, exc))
                except Exception as exc:
                    out.append(local.failed(*item, exc))
                break
        return out

    started = False
    try:
        while True:
            while len(inflight) < window and not any(entry[1] is None for entry in inflight):
                # (no new chunk while records of lost ones wait to run alone: a worker dying
                # then is theirs)
                if not state["ended"] and len(buffer) < chunk:
                    if not inflight and not buffer:
                        take(True)  # nothing in flight: wait for input
                        if not started:  # the first chunk: all of it, or a moment for it to arrive
                            if first_wait is None:
                                take(True, fill=True)
                            else:
                                take(False, time.monotonic() + first_wait)
                    else:
                        take(False)
                if not buffer or (len(buffer) < chunk and not state["ended"] and inflight):
                    break  # nothing to send, or a chunk still filling while others are in flight
                part, buffer[:] = buffer[:chunk], buffer[chunk:]
                if not started and state["ended"] and not buffer:
                    inflight.append([part, local.chunk(part)])  # the whole input: no workers needed
                else:
                    try:
                        inflight.append([part, pool.submit(part)])
                    except BrokenProcessPool:
                        # a worker died since the last look: this chunk runs record by record
                        # once the lost chunks before it are answered
                        inflight.append([part, None])
                started = True
            if not inflight:
                if state["ended"]:
                    break
                continue
            part, pending = inflight[0]
            if isinstance(pending, _cf.Future):
                if not pending.done() and not state["ended"] and len(inflight) < window:
                    _cf.wait([pending], timeout=POLL)
                    if not pending.done():
                        continue  # look at the input again
                try:
                    results = pending.result()
                except BrokenProcessPool:
                    # A worker died: every chunk in flight is lost with it.  Find the record
                    # that kills a worker by running each of those chunks record by record.
                    pool.renew()
                    for entry in inflight:
                        if not _came_back(entry[1]):
                            entry[1] = None
                    results = isolated(part)
                except Exception:  # the chunk's results did not come back (not picklable)
                    results = isolated(part)
            elif pending is None:
                results = isolated(part)
            else:
                results = pending
            inflight.popleft()
            for (index, line, record), result in zip(part, results):
                yield index, line, record, result
            if chunk_done is not None:
                chunk_done()
        if state["failure"] is not None:
            raise state["failure"]
    finally:
        reader.stopped.set()
        pool.close(wait=not inflight)
