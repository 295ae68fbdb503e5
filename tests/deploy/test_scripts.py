"""deploy/install.sh and upgrade.sh parse (`bash -n`) and are shellcheck-clean.

shellcheck comes from apt (.ci/run installs it when it is missing); where it still is not
on the machine only `bash -n` runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [ROOT / "deploy" / "install.sh", ROOT / "deploy" / "upgrade.sh"]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_script_parses_and_is_shellcheck_clean(script: Path):
    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    shellcheck = shutil.which("shellcheck")
    if shellcheck is not None:
        result = subprocess.run(
            [shellcheck, "--severity=style", str(script)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_script_stops_at_the_first_failure(script: Path):
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text


def test_install_never_overwrites_an_existing_env_file_and_keeps_it_private():
    text = (ROOT / "deploy" / "install.sh").read_text()
    body = re.search(r"write_env_file\(\) \{\n(.*?)\n\}", text, re.S)
    assert body, "write_env_file() is missing"
    lines = body.group(1).splitlines()
    assert lines[0].strip() == "if [[ -f $ENV_FILE ]]; then"
    assert lines[1].strip() == "return"
    assert "chmod 600" in body.group(1)


def test_install_uses_the_paths_the_unit_expects():
    install = (ROOT / "deploy" / "install.sh").read_text()
    unit = (ROOT / "deploy" / "salesbot.service").read_text()
    for path in ("/opt/salesbot", "/etc/salesbot", "/var/lib/salesbot", "/var/log/salesbot"):
        assert path in install and path in unit, path
    assert 'APP_USER="${SALESBOT_USER:-sales_bot}"' in install
