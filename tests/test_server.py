"""``taian-titles serve``: the real server, started as the command starts it (two worker
processes, on a free loopback port), called with a real HTTP client (urllib, and a raw socket for
streaming).  Its answers are byte-identical to the command's for the same bytes."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import pytest

import taian_titles as tt
from taian_titles import schema as S
from taian_titles.api import CHINA_TIME
from taian_titles.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
LIMIT = 300_000  # --max-body-bytes of the test server
AS_OF = "2025-06-01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server stopped: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(base + "/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        time.sleep(0.1)
    raise AssertionError("the server did not get ready")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "taian_titles.cli", "serve", "--port", str(port), "--workers", "2",
         "--max-body-bytes", str(LIMIT), "--log-level", "warning", "--no-access-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process)
        yield base, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def call(base: str, path: str, body: bytes | None = None, content_type: str = "application/json",
         method: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(base + path, data=body, method=method or ("POST" if body is not None else "GET"),
                                     headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def command(capsys: pytest.CaptureFixture[str], tmp_path: Path, body: bytes, *argv: str) -> str:
    source = tmp_path / "input"
    source.write_bytes(body)
    capsys.readouterr()
    main([argv[0], str(source), "--no-progress", *argv[1:]])
    return capsys.readouterr().out


def _array() -> bytes:
    records = [json.loads(line) for line in (EXAMPLES / "applicants.jsonl").read_text("utf-8").splitlines() if line]
    return json.dumps(records[:4] + ["not a record"], ensure_ascii=False, indent=1).encode()


CASES = {
    "one pretty object": ("evaluate", lambda: (EXAMPLES / "applicant-a0001.json").read_bytes(), "application/json", ()),
    "one object on one line": ("evaluate", lambda: json.dumps({"id": "A-1", "meta": {"n": 1}}).encode(),
                               "application/json", ()),
    "an array with a bad record": ("evaluate", _array, "application/json", ()),
    "JSON Lines with errors": ("evaluate", lambda: (EXAMPLES / "applicants-with-errors.jsonl").read_bytes(),
                               "application/x-ndjson", ("--format", "jsonl")),
    "lists": ("quota", lambda: (EXAMPLES / "city-2025.json").read_bytes(), "application/json", ()),
    "lists as JSON Lines": ("quota", lambda: b"\n".join(
        json.dumps(r, ensure_ascii=False).encode() for r in json.loads((EXAMPLES / "city-2025.json").read_bytes())),
        "application/x-ndjson", ("--format", "jsonl")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_answers_are_byte_identical_to_the_command(server, capsys, tmp_path, case):
    base, _ = server
    kind, body_of, media, argv = CASES[case]
    body = body_of()
    status, headers, answer = call(base, f"/{kind}?as_of={AS_OF}", body, media)
    expected = command(capsys, tmp_path, body, kind, "--as-of", AS_OF, *argv)
    assert answer.decode("utf-8") == expected
    assert headers["content-type"].startswith(media)
    assert status in (200, 422)


def test_statuses_of_one_record_and_of_requests_that_cannot_be_used(server):
    base, _ = server
    good = json.dumps({"id": "A-1", "as_of": AS_OF}).encode()
    assert call(base, "/evaluate", good)[0] == 200
    status, _, body = call(base, "/evaluate", json.dumps({"id": "A-1", "as_of": "2025-02-30"}).encode())
    entry = json.loads(body)
    assert status == 422 and entry["error"]["code"] == "impossible_date" and entry["id"] == "A-1"
    status, _, body = call(base, "/quota", json.dumps({"unit": "u", "candidates": []}).encode())
    assert status == 422 and json.loads(body)["error"]["code"] == "empty_list"

    def request_error(status: int, body: bytes, code: str) -> dict[str, Any]:
        answer = json.loads(body)
        jsonschema.validate(answer, S.schema("request-error"))
        assert answer["error"]["code"] == code, answer
        assert answer["error"]["message"] and answer["error"]["message_zh"]
        return answer

    status, _, body = call(base, "/evaluate", b"x" * (LIMIT + 1))
    assert status == 413
    assert "300000" in request_error(status, body, "request_too_large")["error"]["message_zh"]
    status, _, body = call(base, "/evaluate", b'{"id": "A-1"}', "text/plain")
    assert status == 415
    assert request_error(status, body, "unsupported_media_type")["error"]["problems"][0]["allowed"] == [
        "application/json", "application/x-ndjson"]
    for bad in (b"", b"{nope", b'{"id": "A"}\n{"id": "B"}\n'):
        status, _, body = call(base, "/evaluate", bad)
        assert status == 400
        request_error(status, body, "unusable_input")
    status, _, body = call(base, "/evaluate?as_of=2025-13-01&lenient=maybe", good)
    assert status == 400
    problems = request_error(status, body, "impossible_date")["error"]["problems"]
    assert [(p["path"], p["code"]) for p in problems] == [("as_of", "impossible_date"), ("lenient", "unknown_value")]
    assert call(base, "/nowhere")[0] == 404
    assert call(base, "/evaluate")[0] == 405


def test_a_stream_over_the_limit_ends_with_an_error_line(server):
    base, _ = server
    line = json.dumps({"id": "A-1", "as_of": AS_OF, "meta": {"pad": "x" * 1000}}).encode() + b"\n"
    count = LIMIT // len(line) + 50
    answers = _stream(base, [line] * count, chunk_lines=10)
    *decisions, last = [json.loads(a) for a in answers]
    assert decisions and all("outcomes" in d for d in decisions)
    assert last["error"]["code"] == "request_too_large" and last["id"] is None


def _stream(base: str, lines: list[bytes], chunk_lines: int = 1, *, interplay: bool = False,
            path: str = "/evaluate") -> list[bytes]:
    """POST JSON Lines with chunked transfer on a raw socket; with ``interplay`` each answer is
    read before the next line is sent (the command's co-process conversation, over HTTP)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-ndjson\r\n"
                     "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode())
        reader = sock.makefile("rb")
        answers: list[bytes] = []
        head_read = False

        def read_head() -> None:
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            while reader.readline() not in (b"\r\n", b""):
                pass

        pending = b""

        def read_line() -> bytes:  # one answer line out of the chunked response
            nonlocal pending
            while b"\n" not in pending:
                size = int(reader.readline().strip(), 16)
                if size == 0:
                    return b""
                pending += reader.read(size)
                reader.readline()
            line, _, pending = pending.partition(b"\n")
            return line

        try:
            for start in range(0, len(lines), chunk_lines):
                chunk = b"".join(lines[start:start + chunk_lines])
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                if interplay:
                    if not head_read:
                        read_head()
                        head_read = True
                    answers.append(read_line())
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading (over the limit): its answer is still there to read
        if not head_read:
            read_head()
        while (line := read_line()):
            answers.append(line)
        return answers


def test_json_lines_are_answered_while_the_request_is_still_being_sent(server):
    base, _ = server
    lines = [json.dumps({"id": f"A-{i}", "as_of": AS_OF}).encode() + b"\n" for i in range(3)]
    answers = _stream(base, lines, interplay=True)
    assert [json.loads(a)["id"] for a in answers] == ["A-0", "A-1", "A-2"]


def test_meta_travels_and_leniency_is_a_query_parameter(server):
    base, _ = server
    record = {"id": "A-1", "as_of": AS_OF, "county": "泰山区", "meta": {"employee_no": "E-7"}}
    status, _, body = call(base, "/evaluate", json.dumps(record, ensure_ascii=False).encode())
    assert status == 422 and json.loads(body)["meta"] == {"employee_no": "E-7"}
    status, _, body = call(base, "/evaluate?lenient=true", json.dumps(record, ensure_ascii=False).encode())
    assert status == 200 and json.loads(body)["meta"] == {"county": "泰山区", "employee_no": "E-7"}


def test_the_default_evaluation_date_is_today_in_asia_shanghai(server):
    base, _ = server
    before = dt.datetime.now(CHINA_TIME).date().isoformat()
    status, _, body = call(base, "/evaluate", b'{"id": "A-1"}')
    after = dt.datetime.now(CHINA_TIME).date().isoformat()
    assert status == 200 and json.loads(body)["as_of"] in (before, after)


def test_health_readiness_rulesets_schemas_and_openapi(server):
    base, process = server
    status, _, body = call(base, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = call(base, "/readyz")
    assert status == 200 and json.loads(body)["rulesets"] == tt.default_policy().refs()
    status, _, body = call(base, "/rulesets")
    documents = json.loads(body)
    assert status == 200 and documents["rulesets"] == tt.default_policy().refs()
    assert "source" not in documents["documents"][0]["ruleset"]
    status, _, body = call(base, "/openapi.json")
    document = json.loads(body)
    assert status == 200 and document == S.openapi()
    assert document["openapi"].startswith("3.1")
    for component in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(component)
    status, headers, body = call(base, "/schemas/decision.json")
    assert status == 200 and json.loads(body) == S.schema("decision")
    assert call(base, "/schemas/nothing.json")[0] == 404


def test_several_worker_processes_answer(server):
    base, process = server
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    if not children.exists():
        pytest.skip("no /proc children file on this system")
    workers = {int(pid) for pid in children.read_text().split()
               if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()}
    assert len(workers) == 2  # --workers 2 (beside multiprocessing's resource tracker)
    answered: set[int] = set()

    def ask() -> None:
        for _ in range(10):
            answered.add(json.loads(call(base, "/healthz")[2])["process"])

    deadline = time.monotonic() + 20
    while answered != workers and time.monotonic() < deadline:
        threads = [threading.Thread(target=ask) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert answered <= workers
    assert answered == workers


def test_it_binds_to_loopback_by_default():
    from taian_titles.cli import build_parser
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8000, 1)


def test_an_internal_fault_over_http_is_an_entry_of_kind_internal(monkeypatch):
    """In this process (so that a fault can be simulated), served by uvicorn on a real port."""
    import uvicorn

    import taian_titles.api as api
    from taian_titles.server import create_app

    real = api.evaluate

    def flaky(record: Any, **kw: Any) -> Any:
        if isinstance(record, dict) and record.get("id") == "BOOM":
            raise RuntimeError("simulated fault")
        return real(record, **kw)

    monkeypatch.setattr(api, "evaluate", flaky)
    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, timeout=30)
        status, _, body = call(base, "/evaluate", b'{"id": "BOOM", "meta": {"k": 1}}')
        entry = json.loads(body)
        assert status == 500 and entry["error"]["kind"] == "internal" and entry["meta"] == {"k": 1}
        assert entry["error"]["code"] == "internal_error" and "path" not in entry["error"]
        status, _, body = call(base, "/evaluate", json.dumps([{"id": "A", "as_of": AS_OF}, {"id": "BOOM"}]).encode())
        answers = json.loads(body)
        assert status == 200 and "outcomes" in answers[0] and answers[1]["error"]["kind"] == "internal"
    finally:
        instance.should_exit = True
        thread.join(timeout=30)


def test_every_connection_has_nagle_off_even_on_a_socket_bound_as_uvicorn_binds_it_for_workers():
    """Without it, at --workers 2 an answer's two writes met the client's delayed acknowledgement:
    about 40 ms a request."""
    import asyncio

    import uvicorn
    from uvicorn.server import ServerState

    from taian_titles.server import HttpProtocol

    with socket.socket(socket.AF_INET) as listener:  # proto 0, as uvicorn binds it for several workers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()):
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0

                class Transport:
                    def get_extra_info(self, name: str, default: Any = None) -> Any:
                        return {"socket": accepted, "sockname": accepted.getsockname(),
                                "peername": accepted.getpeername()}.get(name, default)

                    def is_closing(self) -> bool:
                        return False

                config = uvicorn.Config(app=lambda scope, receive, send: None, http=HttpProtocol, lifespan="off")
                config.load()

                async def connect() -> None:
                    HttpProtocol(config=config, server_state=ServerState(), app_state={}).connection_made(Transport())

                asyncio.run(connect())
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
