"""A roster evaluated on a Dask cluster (``taian_titles.distributed``): the command's output.

A ``distributed.LocalCluster`` of two worker processes on the loopback interface evaluates a
JSON Lines roster cut into several partitions; the answers, in order, are byte for byte what
``taian-titles evaluate FILE --format jsonl`` writes (error entries and their line numbers
included).  ``dask[distributed]`` is in the ``test`` extra, so ``make test`` (and CI) runs this.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed "
                                  "(pip install -e '.[test]' installs it)")

from taian_titles.cli import main  # noqa: E402
from taian_titles.distributed import evaluate_jsonl, evaluate_lines, line_ranges, write_jsonl  # noqa: E402

from .test_parallel import _lines  # noqa: E402


@pytest.fixture(scope="module")
def cluster() -> Any:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, protocol="tcp") as local:
        with distributed.Client(local) as client:
            yield client


@pytest.fixture(scope="module")
def roster(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("province") / "province.jsonl"
    lines = _lines(700)
    lines.insert(300, "")  # a blank line: skipped, but counted in the line numbers
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _command(path: Path, capsys: Any, *extra: str) -> str:
    main(["evaluate", str(path), "--format", "jsonl", "--no-progress", "--jobs", "1", *extra])
    return capsys.readouterr().out


def test_two_workers_give_the_command_s_output(cluster: Any, roster: Path, tmp_path: Path, capsys: Any) -> None:
    ranges = line_ranges(str(roster), blocksize=40_000)
    assert len(ranges) >= 4  # several partitions
    answers = evaluate_jsonl(str(roster), blocksize=40_000)
    assert answers.npartitions == len(ranges)
    target = tmp_path / "answers.jsonl"
    assert write_jsonl(answers, str(target)) == 700
    expected = _command(roster, capsys)
    assert target.read_text("utf-8") == expected
    assert "".join(answers.compute()) == expected
    workers = cluster.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2  # two worker processes did it
    lines = [json.loads(line) for line in expected.splitlines()]
    broken = next(line for line in lines if line.get("id") == "broken-304")
    assert broken["error"]["line"] == 306  # record 305, after the blank line


def test_as_of_and_rulesets_reach_the_workers(cluster: Any, roster: Path, capsys: Any) -> None:
    from taian_titles.ruleset import default_ruleset_path

    ruleset = str(default_ruleset_path())
    answers = evaluate_jsonl([str(roster)], blocksize=100_000, rulesets=[ruleset], as_of="2025-06-01")
    assert "".join(answers.compute()) == _command(roster, capsys, "--ruleset", ruleset, "--as-of", "2025-06-01")


def test_the_plain_function_for_any_engine_that_hands_out_lines(roster: Path, capsys: Any) -> None:
    with roster.open("rb") as f:
        got = "".join(evaluate_lines(f))
    assert got == _command(roster, capsys)
