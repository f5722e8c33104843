"""``taian-titles serve``: the command's ``evaluate`` and ``quota`` over HTTP.

An ASGI application on Starlette, served by uvicorn (``serve --workers N`` runs N processes
sharing one socket).  Each request runs the command's own batch code (:mod:`taian_titles.batch`)
with the command's reader and writer (:mod:`taian_titles.io`), so an answer is byte-identical to
what ``taian-titles evaluate`` (or ``quota``) writes for the same bytes:

* ``Content-Type: application/json``: one record (answered by its entry) or a JSON array
  (answered by an array), as ``--format json``.  A single record whose answer is an error entry
  is answered with status 422 (bad input) or 500 (a fault of the program); a batch with 200.
* ``Content-Type: application/x-ndjson`` (JSON Lines): answered line by line, as ``--format
  jsonl``, streamed while the request is read; status 200.

Evaluations in one process take turns (the engine adapter holds a process-wide lock); they run
in worker threads, so that health checks are answered while a batch is evaluated.  The service
has no authentication of its own and binds to loopback by default: records carry personal data,
so it belongs behind the bureau's gateway (docs/developers.md).

Requests that cannot be used as a whole (a body over the limit, another Content-Type, a body
that is not JSON, a bad query parameter) are answered with 413, 415 or 400 and a body
``{"error": {kind input, code, path, message, message_zh, problems}, "exchange_version"}``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io as _io
import json
import os
import socket
from typing import Any, AsyncIterator, BinaryIO, Callable

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import __version__
from .batch import write_evaluations, write_quota
from .errors import InputError, InternalError, Problem, Words, problem
from .exchange import EXCHANGE_VERSION, parse_as_of
from .io import UsageError, Writer, read_records
from .policy import Policy, default_policy, load_policy
from .schema import NAMES, dumps, openapi, schema
from .tools import ruleset_to_dict, smoke_test

__all__ = ["create_app", "app_from_environment", "CONFIG_ENV", "DEFAULT_MAX_BODY_BYTES"]

JSON = "application/json"
NDJSON = "application/x-ndjson"
#: Other names of JSON Lines that clients send.
NDJSON_TYPES = (NDJSON, "application/jsonl", "application/x-jsonlines", "application/jsonlines")
#: The largest request body accepted (answered 413 beyond it).
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: How ``serve`` hands its options to the worker processes uvicorn starts.
CONFIG_ENV = "TAIAN_TITLES_SERVE"
_SERVING = Words("answering this request", "处理本请求")


class _TooLarge(Exception):
    pass


def _problems_response(status: int, problems: list[Problem]) -> Response:
    body = {"error": InputError(problems).to_dict(), "exchange_version": EXCHANGE_VERSION}
    return Response(json.dumps(body, ensure_ascii=False, indent=2) + "\n", status_code=status,
                    media_type=f"{JSON}; charset=utf-8")


def _too_large(limit: int) -> Response:
    return _problems_response(413, [problem("$", "request_too_large", limit=limit)])


def _unusable(reason: str) -> Response:
    return _problems_response(400, [problem("$", "unusable_input", reason=reason)])


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, indent=2) + "\n", status_code=status,
                    media_type=f"{JSON}; charset=utf-8")


class _Options:
    """What one request asks for: its kind of batch and its query parameters."""

    def __init__(self, kind: str, as_of: _dt.date | None, lenient: bool) -> None:
        self.kind, self.as_of, self.lenient = kind, as_of, lenient


def _options(request: Request, kind: str) -> _Options:
    problems: list[Problem] = []
    as_of = None
    try:
        as_of = parse_as_of(request.query_params.get("as_of"))
    except InputError as exc:
        problems.extend(exc.problems)
    text = request.query_params.get("lenient", "false").strip().lower()
    if text not in ("true", "false", "1", "0", "yes", "no", ""):
        problems.append(problem("lenient", "unknown_value", value=repr(text), allowed=["true", "false"]))
    if problems:
        raise InputError(problems)
    return _Options(kind, as_of, text in ("true", "1", "yes"))


def _run_batch(policy: Policy, options: _Options, stream: BinaryIO, out: Any, fmt: str,
               check: Callable[[str, Any], Any] | None = None) -> int:
    """The command's batch: records read from ``stream``, answers written to ``out``; the
    number of error entries.  ``check(shape, items)`` may look at the records first."""
    shape, items, _ = read_records(stream)
    if check is not None:
        items = check(shape, items)
    writer = Writer(out, fmt, shape, "zh", "", letter=str, error_letter=lambda answer, where: str(answer))
    write = write_evaluations if options.kind == "evaluate" else write_quota
    return write(items, writer, as_of=options.as_of, policy=policy, lenient=options.lenient)


def _one_value_at_most(shape: str, items: Any) -> Any:
    """Under application/json the body is one JSON value: one record per line is JSON Lines."""
    if shape != "lines":
        return items
    records = list(items)
    if len(records) > 1:
        raise UsageError("the body holds several JSON values: send one record, a JSON array, or JSON Lines "
                         f"with Content-Type {NDJSON}")
    return iter(records)


#: How long the rest of a body over the limit is read (and dropped) before the answer ends:
#: closing a connection with unread data resets it, and the client could lose the answer.
DRAIN_SECONDS = 10


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    with anyio.move_on_after(DRAIN_SECONDS), contextlib.suppress(Exception):
        async for _ in chunks:
            pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            await _drain(stream)
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class _RawBody(_io.RawIOBase):
    """The request body as a blocking stream, for the worker thread: each read waits for the
    next chunk from the event loop."""

    def __init__(self, next_chunk: Callable[[], bytes]) -> None:
        self._next, self._buffer, self._done = next_chunk, b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer and not self._done:
            self._buffer = self._next()
            self._done = not self._buffer
        n = min(len(target), len(self._buffer))
        target[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n


class _LineSink:
    """What the writer writes, handed to the event loop one piece at a time."""

    def __init__(self, put: Callable[[str], None]) -> None:
        self._put = put

    def write(self, text: str) -> int:
        if text:
            self._put(text)
        return len(text)

    def flush(self) -> None:
        pass


class _StreamedBatch:
    """JSON Lines in, JSON Lines out: the command's batch runs in a worker thread, reading the
    body as it arrives and sending each answer as it is written.  A request that cannot be used
    at all is answered 400 or 413 when that is known before the first answer, and otherwise by a
    last line with its error entry."""

    def __init__(self, request: Request, policy: Policy, options: _Options, limit: int) -> None:
        self.request, self.policy, self.options, self.limit = request, policy, options, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks = self.request.stream().__aiter__()
        received = 0
        limit = self.limit
        over = False

        async def next_chunk() -> bytes:
            nonlocal received, over
            try:
                chunk: bytes = await chunks.__anext__()
            except StopAsyncIteration:
                return b""
            received += len(chunk)
            if received > limit:
                over = True
                raise _TooLarge
            return chunk

        sender, answers = anyio.create_memory_object_stream[tuple[str, Any]](64)

        def work() -> None:
            body = _io.BufferedReader(_RawBody(lambda: anyio.from_thread.run(next_chunk)))
            sink = _LineSink(lambda text: anyio.from_thread.run(sender.send, ("line", text)))
            try:
                _run_batch(self.policy, self.options, body, sink, "jsonl")
            except _TooLarge:
                anyio.from_thread.run(sender.send, ("fail", _too_large(limit)))
            except UsageError as exc:
                anyio.from_thread.run(sender.send, ("fail", _unusable(str(exc))))

        async def run_work() -> None:
            async with sender:
                await anyio.to_thread.run_sync(work)

        started = False
        headers = [(b"content-type", f"{NDJSON}; charset=utf-8".encode())]
        async with anyio.create_task_group() as group:
            group.start_soon(run_work)
            async with answers:
                async for kind, payload in answers:
                    if kind == "line":
                        if not started:
                            await send({"type": "http.response.start", "status": 200, "headers": headers})
                            started = True
                        await send({"type": "http.response.body", "body": payload.encode("utf-8"),
                                    "more_body": True})
                    elif not started:  # nothing answered yet: the request fails as a whole
                        if over:
                            await _drain(chunks)
                        await payload(scope, receive, send)
                        return
                    else:  # answers already sent: the failure is the last line
                        entry = {"id": None, "error": json.loads(payload.body)["error"],
                                 "exchange_version": EXCHANGE_VERSION}
                        text = json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n"
                        await send({"type": "http.response.body", "body": text.encode("utf-8"),
                                    "more_body": True})
        if not started:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        if over:
            await _drain(chunks)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def create_app(policy: Policy | None = None, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Starlette:
    """The service for ``policy`` (default: the shipped one)."""
    chosen = policy or default_policy()
    state: dict[str, Any] = {"ready": False}
    openapi_text = dumps(openapi(chosen))
    schema_texts = {f"{name}.json": dumps(schema(name, chosen)) for name in NAMES}

    async def batch(request: Request, kind: str) -> Any:
        try:
            options = _options(request, kind)
        except InputError as exc:
            return _problems_response(400, list(exc.problems))
        media = request.headers.get("content-type", JSON).split(";")[0].strip().lower() or JSON
        if media in NDJSON_TYPES:
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
                return _too_large(max_body_bytes)
            return _StreamedBatch(request, chosen, options, max_body_bytes)
        if media != JSON and not media.endswith("+json"):
            return _problems_response(415, [problem("$", "unsupported_media_type", got=repr(media),
                                                    allowed=[JSON, NDJSON])])
        try:
            body = await _read_body(request, max_body_bytes)
        except _TooLarge:
            return _too_large(max_body_bytes)

        def work() -> tuple[str, int]:
            out = _io.StringIO()
            errors = _run_batch(chosen, options, _io.BytesIO(body), out, "json", _one_value_at_most)
            return out.getvalue(), errors

        try:
            text, errors = await run_in_threadpool(work)
        except UsageError as exc:
            return _unusable(str(exc))
        status = 200
        if errors and not text.startswith("["):  # one record: its error entry says why
            status = 500 if json.loads(text)["error"]["kind"] == "internal" else 422
        return Response(text, status_code=status, media_type=f"{JSON}; charset=utf-8")

    async def evaluate(request: Request) -> Any:
        return await batch(request, "evaluate")

    async def quota(request: Request) -> Any:
        return await batch(request, "quota")

    async def rulesets(request: Request) -> Response:
        documents = []
        for document in chosen.documents:
            data = ruleset_to_dict(document)
            data["ruleset"].pop("source", None)  # a path on the server says nothing to a client
            documents.append(data)
        return _json({"rulesets": [d.ref() for d in chosen.documents], "documents": documents,
                      "exchange_version": EXCHANGE_VERSION})

    async def schemas(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in schema_texts:
            return _json({"error": f"no schema {name}; the schemas are {', '.join(schema_texts)}"}, 404)
        return Response(schema_texts[name], media_type="application/schema+json; charset=utf-8")

    async def openapi_document(request: Request) -> Response:
        return Response(openapi_text, media_type=f"{JSON}; charset=utf-8")

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok", "version": __version__, "process": os.getpid()})

    async def readyz(request: Request) -> Response:
        if not state["ready"]:
            return _json({"status": "not ready"}, 503)
        return _json({"status": "ready", "rulesets": chosen.refs(), "exchange_version": EXCHANGE_VERSION})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        problems = await run_in_threadpool(smoke_test, chosen)  # the policy must run, not only load
        if problems:
            raise RuntimeError("; ".join(problems))
        state["ready"] = True
        yield
        state["ready"] = False

    routes = [
        Route("/evaluate", evaluate, methods=["POST"]),
        Route("/quota", quota, methods=["POST"]),
        Route("/rulesets", rulesets, methods=["GET"]),
        Route("/schemas/{name}", schemas, methods=["GET"]),
        Route("/openapi.json", openapi_document, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]

    async def fault(request: Request, exc: Exception) -> Response:  # never a bare traceback
        body = {"id": None, "error": InternalError(exc, doing=_SERVING).to_dict(), "exchange_version": EXCHANGE_VERSION}
        return _json(body, 500)

    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={Exception: fault})


def _no_delay(base: type) -> type:
    class NoDelay(base):  # type: ignore[valid-type,misc]
        """uvicorn's HTTP protocol with Nagle's algorithm off on every connection.

        With ``--workers`` above 1 uvicorn binds the listening socket itself as
        ``socket.socket(AF_INET)``, whose ``proto`` is 0, and asyncio turns on ``TCP_NODELAY``
        only for sockets whose ``proto`` is ``IPPROTO_TCP``: an answer's headers and body, two
        writes, then meet the client's delayed acknowledgement, about 40 ms a request
        (measured: 90 requests/s at 2 workers against 450 at 1).
        """

        def connection_made(self, transport: Any) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)

    NoDelay.__name__ = NoDelay.__qualname__ = f"NoDelay{base.__name__}"
    return NoDelay


def _protocol() -> type:
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        return _no_delay(HttpToolsProtocol)
    except ImportError:  # httptools is optional: h11 (pure Python) comes with uvicorn
        from uvicorn.protocols.http.h11_impl import H11Protocol
        return _no_delay(H11Protocol)


#: The HTTP protocol ``serve`` gives uvicorn (``http="taian_titles.server:HttpProtocol"``).
HttpProtocol = _protocol()


def app_from_environment() -> Starlette:
    """The application of ``taian-titles serve`` in each worker process: its options come in
    :data:`CONFIG_ENV` (JSON: ``rulesets``, a list of paths, and ``max_body_bytes``)."""
    config = json.loads(os.environ.get(CONFIG_ENV) or "{}")
    paths = config.get("rulesets") or []
    policy = load_policy(*paths) if paths else default_policy()
    return create_app(policy, max_body_bytes=int(config.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES))
