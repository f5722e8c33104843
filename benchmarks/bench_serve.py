"""``taian-titles serve`` on loopback: requests per second and latency, at 1 worker and at N.

The server is started exactly as an operator would start it (``taian-titles serve --workers W``
on a free port of 127.0.0.1) and called by a client in this process: ``CONCURRENCY`` threads,
each with its own keep-alive connection (http.client), each request one applicant of the
benchmark's workload (``bench_evaluate.generate_applicants``) as ``application/json``.  The run
is bounded: ``n`` requests per configuration (default 2,000) and at most ``MAX_SECONDS``.
Latency is from sending a request to having read its whole answer.  A last row per
configuration sends 2,000 applicants as one JSON Lines request (records per second streamed).

The client shares the machine (2 vCPUs on the development VM) with the server's workers, so at
N workers the figure is what one machine gives, client included; no other address than
127.0.0.1 is ever called.

``run(options)`` returns rows ``{name, value, unit, note}`` for ``benchmarks/run.py``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Mapping

from bench_evaluate import generate_applicants

N_REQUESTS = 2_000
CONCURRENCY = 4
MAX_SECONDS = 60
STREAM_RECORDS = 2_000
AS_OF = "2025-06-01"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(workers: int):
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "taian_titles.cli", "serve", "--port", str(port),
                                "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {process.stderr.read().decode()[-1000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    connection.close()
                    break
            time.sleep(0.1)
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _load(port: int, bodies: list[bytes], total: int) -> tuple[float, list[float], int]:
    """(wall seconds, latencies in ms, failures) of ``total`` requests from CONCURRENCY threads."""
    lock = threading.Lock()
    next_index = [0]
    latencies: list[float] = []
    failures = [0]
    stop_at = time.monotonic() + MAX_SECONDS

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.monotonic() < stop_at:
            with lock:
                index = next_index[0]
                if index >= total:
                    break
                next_index[0] += 1
            body = bodies[index % len(bodies)]
            start = time.perf_counter()
            connection.request("POST", f"/evaluate?as_of={AS_OF}", body, {"Content-Type": "application/json"})
            answer = connection.getresponse()
            data = answer.read()
            mine.append((time.perf_counter() - start) * 1000)
            if answer.status != 200 or b'"outcomes"' not in data:
                with lock:
                    failures[0] += 1
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CONCURRENCY)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, failures[0]


def _stream(port: int, bodies: list[bytes]) -> tuple[float, int]:
    lines = b"".join(bodies[i % len(bodies)] + b"\n" for i in range(STREAM_RECORDS))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    connection.request("POST", f"/evaluate?as_of={AS_OF}", lines, {"Content-Type": "application/x-ndjson"})
    answers = connection.getresponse().read().splitlines()
    wall = time.perf_counter() - start
    connection.close()
    return wall, sum(b'"outcomes"' in a for a in answers)


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    options = options or {}
    total = int(options.get("n") or N_REQUESTS)
    progress = options.get("progress") or (lambda message: None)
    bodies = [json.dumps(a, ensure_ascii=False, separators=(",", ":")).encode()
              for a in generate_applicants(500)]
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    for workers in sorted({1, max(2, os.cpu_count() or 2)}):
        progress(f"serve: {workers} worker(s), {total} requests")
        with _server(workers) as port:
            _load(port, bodies, 50)  # warm up: every worker compiles its rulesets on first use
            wall, latencies, failures = _load(port, bodies, total)
            stream_wall, streamed = _stream(port, bodies)
        done = len(latencies)
        label = f"serve, {workers} worker{'s' if workers > 1 else ''}"
        rows.append({"name": f"{label}: requests/s", "value": round(done / wall, 1), "unit": "req/s",
                     "note": f"{done:,} requests of one applicant (application/json), {CONCURRENCY} clients "
                             f"with keep-alive on 127.0.0.1; {failures} failed; load average before the "
                             f"runs {load_before:.2f} on {os.cpu_count()} CPUs",
                     "ok": failures == 0 and done == total})
        rows.append({"name": f"{label}: latency p50", "value": round(statistics.median(latencies), 2),
                     "unit": "ms", "note": f"p90 {_percentile(latencies, 90):.2f} ms, "
                                           f"mean {statistics.fmean(latencies):.2f} ms"})
        rows.append({"name": f"{label}: latency p99", "value": round(_percentile(latencies, 99), 2),
                     "unit": "ms", "note": f"max {max(latencies):.2f} ms"})
        rows.append({"name": f"{label}: JSON Lines records/s", "value": round(streamed / stream_wall, 1),
                     "unit": "records/s", "note": f"{STREAM_RECORDS:,} applicants in one application/x-ndjson "
                                                  f"request, answered line by line ({stream_wall:.2f} s)",
                     "ok": streamed == STREAM_RECORDS})
    return rows
