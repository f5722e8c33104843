"""The wheel carries the ruleset and the strategies, so an installed library works anywhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_an_installed_wheel_evaluates_outside_a_checkout(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT),
                            "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("taian_titles-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "taian_titles/rulesets/tairenshefa-2025-5.toml" in names
    assert "taian_titles/rulesets/tairenshefa-2025-5.cases.toml" in names
    assert "taian_titles/rulesets/lurenshefa-2020-16.toml" in names
    assert "taian_titles/rulesets/lurenshefa-2020-16.cases.toml" in names
    assert "taian_titles/strategies.py" in names
    assert "taian_titles/py.typed" in names  # PEP 561: type checkers read the package's annotations
    assert "taian_titles/schemas/applicant.schema.json" in names and "taian_titles/schemas/openapi.json" in names
    target = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                              "--target", str(target), str(wheel)], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    code = (
        "import taian_titles, taian_titles.strategies, pathlib\n"
        "from taian_titles.ruleset import default_ruleset_path\n"
        f"assert pathlib.Path(taian_titles.__file__).is_relative_to({str(target)!r}), taian_titles.__file__\n"
        f"assert default_ruleset_path().is_relative_to({str(target)!r}), default_ruleset_path()\n"
        "d = taian_titles.evaluate({'id': 'X', 'as_of': '2025-06-01', 'certificates': [{'number': 'N',"
        " 'programme': 'digital_technology_engineer', 'kind': 'professional_level', 'level': 'junior',"
        " 'direction': '人工智能', 'issued_on': '2024-01-01'}]})\n"
        "print(d.highest_recognized_title.code)\n"
        "from taian_titles.casebook import shipped_casebooks\n"
        "books = shipped_casebooks()\n"
        f"assert all(b.is_relative_to({str(target)!r}) for b in books), books\n"
        "assert [b.name for b in books] == ['lurenshefa-2020-16.cases.toml', 'tairenshefa-2025-5.cases.toml'], books\n"
        "import json, taian_titles.schema as S\n"
        "shipped = pathlib.Path(taian_titles.__file__).parent / 'schemas' / 'decision.schema.json'\n"
        "assert json.loads(shipped.read_text('utf-8')) == S.schema('decision')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "junior"
