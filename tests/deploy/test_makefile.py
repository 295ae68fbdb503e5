"""The Makefile's targets do what they are listed for (`make -n`: printed, not run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# The Makefile's own variables as a user's shell has them: not those of a `make test` that
# runs this test (CI's second pass sets VENV=.venv-py310, which make hands down).
_MAKE_STATE = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "VENV", "PYTHON", "ENV_FILE")


def planned(*args: str) -> list[str]:
    env = {name: value for name, value in os.environ.items() if name not in _MAKE_STATE}
    result = subprocess.run(
        ["make", "-n", "-s", "-C", str(ROOT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [" ".join(line.split()) for line in result.stdout.splitlines()]


pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def test_check_and_migrate_run_their_commands():
    assert planned("check")[-1] == ".venv/bin/salesbot check"
    assert planned("migrate")[-1] == ".venv/bin/salesbot migrate"


def test_env_file_names_the_file_for_every_command():
    env = "ENV_FILE=/etc/salesbot/salesbot.env"
    assert planned("check", env)[-1] == (
        ".venv/bin/salesbot --env-file /etc/salesbot/salesbot.env check"
    )
    assert planned("migrate", env)[-1] == (
        ".venv/bin/salesbot --env-file /etc/salesbot/salesbot.env migrate"
    )


def test_every_phony_target_has_a_recipe():
    """`make check` and `make migrate` were listed in .PHONY with nothing behind them."""
    text = (ROOT / "Makefile").read_text()
    phony = next(line for line in text.splitlines() if line.startswith(".PHONY:"))
    for target in set(phony.split(":", 1)[1].split()) - {"setup"}:  # setup: the venv's stamp
        recipe = planned(target)
        assert recipe, f"make {target} does nothing"
