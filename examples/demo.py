"""`make demo`: the `taian-titles` command on the bundled examples.

1. Decision letters in Chinese for every applicant of ``examples/applicants.jsonl``
   (``taian-titles evaluate examples/applicants.jsonl --format text``).
2. One letter in English (A-0001, whose intermediate-title route opens on 2025-11-20).
3. The city quota report of ``examples/city-2025.json`` (``taian-titles quota ... --format text``).
4. What the command does with bad records (``examples/applicants-with-errors.jsonl``): one
   error entry per bad record, the others evaluated, exit status 1.

It runs the installed command, as an HR officer would, and prints each command line first.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def command() -> list[str]:
    """The console script installed beside this Python, else ``python -m taian_titles.cli``."""
    script = Path(sys.executable).parent / ("taian-titles.exe" if os.name == "nt" else "taian-titles")
    return [str(script)] if script.exists() else [sys.executable, "-m", "taian_titles.cli"]


def show(title: str, args: list[str], stdin: str | None = None) -> int:
    shown = "taian-titles " + " ".join(shlex.quote(str(a)) for a in args)
    print("=" * 78)
    print(f"# {title}")
    print(f"$ {shown}" + (f" < {stdin}" if stdin else ""))
    print("=" * 78, flush=True)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
        status = subprocess.run([*command(), *args], cwd=ROOT, env=env, stdin=source).returncode
    print(f"(exit status {status})\n", flush=True)
    return status


def main() -> int:
    applicants = "examples/applicants.jsonl"
    statuses = [
        show("决定告知书（中文）· decision letters in Chinese", ["evaluate", applicants, "--format", "text"]),
        show("A decision letter in English (A-0001)",
             ["evaluate", "-", "--format", "text", "--lang", "en"], stdin="examples/applicant-a0001.json"),
        show("全市推荐名单数字人才占比报告 · the city quota report (M9-4)",
             ["quota", "examples/city-2025.json", "--format", "text"]),
    ]
    errors = show("错误记录 · a batch with bad records: each gets its own error entry, the rest go on",
                  ["evaluate", "examples/applicants-with-errors.jsonl", "--format", "text"])
    if any(statuses) or errors != 1:
        print("demo: unexpected exit status", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
