"""Hypothesis profiles of the test suite, chosen by the environment variable HYPOTHESIS_PROFILE.

* ``ci`` (the default, used by ``make test`` and CI): few examples, derandomized.  The
  property tests drive the rule engine (a few milliseconds an evaluation), so the example
  count is what keeps the suite fast.  Derandomized means every run tries the same examples:
  a red CI run always replays on a developer's machine, and a change is never failed by a
  counter-example unrelated to it that chance found today.  Finding new counter-examples is
  the deep profile's job.  (It extends Hypothesis's own built-in ``ci`` profile: no deadline,
  since an evaluation's time depends on the machine and the first one compiles the ruleset;
  no example database, which derandomize implies; ``print_blob`` so a failure prints the
  line that reproduces it.)
* ``deep`` (``make test-deep``): many random examples, saved to the local example database
  (``.hypothesis/``) so that a counter-example it finds is replayed first on the next run.
* ``dev``: Hypothesis's defaults (100 random examples, 200 ms deadline), for local work.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    settings.get_profile("ci"),
    max_examples=40,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    max_examples=1000,
    derandomize=False,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", settings.get_profile("default"))

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    # tests/test_cli.py marks its long streaming test; registered so pytest does not warn.
    config.addinivalue_line("markers", "slow: a test that takes many seconds (select with -m slow)")
