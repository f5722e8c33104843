"""The public API as a typed caller sees it: mypy --strict on tests/typing_public_api.py, against
the installed package (its py.typed marker), never against the internal modules' own typing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def test_the_public_api_type_checks_for_a_caller(tmp_path):
    # Copied out of the checkout, so that mypy finds taian_titles as an installed package (its
    # errors silenced, as for any library) and not as source files of this project.
    shutil.copy(HERE / "typing_public_api.py", tmp_path / "caller.py")
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version",
                          f"{sys.version_info.major}.{sys.version_info.minor}", "caller.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
