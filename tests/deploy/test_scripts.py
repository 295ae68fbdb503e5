"""deploy/install.sh and upgrade.sh parse (`bash -n`) and are shellcheck-clean, share one apt
package list, keep the env file root:sales_bot 0640, and an upgrade restarts once.

shellcheck comes from apt (.ci/run installs it when it is missing); where it still is not
on the machine only `bash -n` runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from salesbot.entrypoints.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = [ROOT / "deploy" / "install.sh", ROOT / "deploy" / "upgrade.sh"]
APT_PACKAGES = ROOT / "deploy" / "apt-packages.txt"


def function(script: str, name: str) -> str:
    """One shell function's text, `name() { ... }` or `name() { ...; }` on one line."""
    found = re.search(rf"^{name}\(\) \{{(?: [^\n]*\}}$|\n.*?\n\}}$)", script, re.S | re.M)
    assert found, f"{name}() is missing"
    return found.group(0)


def _code(script: str) -> str:
    """The script without its comment lines."""
    return "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))


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
    assert 'chown "root:$APP_USER" "$tmp"' in body.group(1)
    assert "chmod 640" in body.group(1)


def test_the_env_file_is_root_owned_and_only_readable_by_the_service_user_on_every_run():
    """root:sales_bot 0640: the service reads its configuration but cannot rewrite it. Set on
    every run (upgrade.sh runs install.sh), so older installs' sales_bot-owned files change."""
    install = (ROOT / "deploy" / "install.sh").read_text()
    secure = function(install, "secure_env_file")
    assert 'chown "root:$APP_USER" "$ENV_FILE"' in secure
    assert 'chmod 640 "$ENV_FILE"' in secure
    steps = function(install, "main").split()
    assert steps.index("secure_env_file") > steps.index("write_env_file")
    assert steps.index("secure_env_file") < steps.index("migrate")
    assert "600" not in install.replace("3600", "")
    assert 'install -d -o root -g "$APP_USER" -m 750 "$ETC_DIR"' in install


def test_one_apt_package_list_serves_install_and_upgrade(tmp_path):
    install = (ROOT / "deploy" / "install.sh").read_text()
    upgrade = (ROOT / "deploy" / "upgrade.sh").read_text()
    listed = [
        line.split("#", 1)[0].strip()
        for line in APT_PACKAGES.read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    assert {"postgresql", "python3-venv", "git"} <= set(listed)
    assert 'APT_PACKAGES_FILE="$SOURCE_DIR/deploy/apt-packages.txt"' in install
    for script in (install, upgrade):  # no second list inside the scripts
        for package in ("postgresql-contrib", "python3-venv", "build-essential"):
            assert package not in _code(script), package
    # upgrade.sh runs the pulled install.sh and no longer skips its apt step.
    assert "SALESBOT_SKIP_APT" not in upgrade
    assert 'bash "$HOME_DIR/deploy/install.sh"' in upgrade
    # install.sh's own reading of the list gives the same packages.
    reader = function(install, "apt_packages")
    script = f'APT_PACKAGES_FILE="{APT_PACKAGES}"\n{reader}\napt_packages\n'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == listed


def _enable_service_calls(tmp_path: Path, **env: str) -> list[str]:
    """install.sh's enable_service() with systemctl recorded instead of run."""
    install = (ROOT / "deploy" / "install.sh").read_text()
    systemd = tmp_path / "run-systemd-system"
    systemd.mkdir(exist_ok=True)
    env_file = tmp_path / "salesbot.env"
    env_file.write_text("BOT_TOKEN=123:configured\n")
    calls = tmp_path / "calls"
    calls.write_text("")
    functions = "\n".join(
        function(install, name) for name in ("say", "configured", "enable_service")
    ).replace("/run/systemd/system", str(systemd))
    script = (
        f'systemctl() {{ echo "$*" >>"{calls}"; [[ $1 != is-active ]] || return 0; }}\n'
        f'ENV_FILE="{env_file}"\nHOME_DIR=/opt/salesbot\nPLACEHOLDER_TOKEN=x\n'
        f"UNIT_CHANGED=1\n{functions}\nenable_service\n"
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", **env},
    )
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines()


def test_upgrade_restarts_the_service_once_even_when_the_unit_changed(tmp_path):
    upgrade = (ROOT / "deploy" / "upgrade.sh").read_text()
    assert 'SALESBOT_NO_RESTART=1 bash "$HOME_DIR/deploy/install.sh"' in upgrade
    assert len(re.findall(r"systemctl (?:re)?start", _code(upgrade))) == 1
    # install.sh, as upgrade.sh runs it: reloads the changed unit, starts nothing.
    quiet = _enable_service_calls(tmp_path, SALESBOT_NO_RESTART="1")
    assert quiet == ["daemon-reload", "enable --quiet salesbot.service"]
    # install.sh on its own still restarts a running service whose unit changed.
    alone = _enable_service_calls(tmp_path)
    assert alone[-1] == "restart salesbot.service"


def test_an_env_file_without_data_dir_gets_the_state_folder_once(tmp_path, monkeypatch):
    """The unit no longer sets DATA_DIR (only the env file does): install.sh adds the line
    to a file written by hand without it, and leaves a file that has one alone."""
    install = (ROOT / "deploy" / "install.sh").read_text()
    functions = function(install, "say") + "\n" + function(install, "ensure_data_dir_setting")

    def run(env_file: Path) -> None:
        script = f'ENV_FILE="{env_file}"\nSTATE_DIR=/var/lib/salesbot\n{functions}\n'
        script += "ensure_data_dir_setting\n"
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr

    bare = tmp_path / "bare.env"
    bare.write_text("API_ID=1\n# DATA_DIR=/somewhere/else\n")
    run(bare)
    run(bare)
    assert bare.read_text().count("\nDATA_DIR=/var/lib/salesbot\n") == 1
    monkeypatch.delenv("DATA_DIR", raising=False)
    assert str(load_settings(env_file=bare).DATA_DIR) == "/var/lib/salesbot"
    own = tmp_path / "own.env"
    own.write_text("DATA_DIR=/srv/salesbot\n")
    run(own)
    assert own.read_text() == "DATA_DIR=/srv/salesbot\n"


def test_install_uses_the_paths_the_unit_expects():
    install = (ROOT / "deploy" / "install.sh").read_text()
    unit = (ROOT / "deploy" / "salesbot.service").read_text()
    for path in ("/opt/salesbot", "/etc/salesbot", "/var/lib/salesbot", "/var/log/salesbot"):
        assert path in install and path in unit, path
    assert 'APP_USER="${SALESBOT_USER:-sales_bot}"' in install


@pytest.mark.parametrize(
    "line",
    [
        "DATABASE_URL=postgresql://sales_bot:s3cret@localhost:5432/sales_bot",
        'DATABASE_URL="postgresql://sales_bot:s3cret@localhost:5432/sales_bot"',
        "DATABASE_URL='postgresql+asyncpg://sales_bot:s3cret@127.0.0.1/sales_bot'",
    ],
    ids=["bare", "double-quoted", "single-quoted"],
)
def test_install_reads_the_database_url_however_salesbot_accepts_it(tmp_path, monkeypatch, line):
    """install.sh reads the env file too (the local database's role and password): a quoted
    value, which salesbot reads, must not make it skip or re-password the database."""
    env_file = tmp_path / "salesbot.env"
    env_file.write_text(f"API_ID=1\n{line}\n")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = load_settings(env_file=env_file).DATABASE_URL
    assert url is not None and url.get_secret_value().split("://")[1].startswith("sales_bot:s3cret@")
    install = (ROOT / "deploy" / "install.sh").read_text()
    functions = function(install, "password_from_env_file") + "\n"
    functions += function(install, "uses_local_database")
    script = (
        f'ENV_FILE="{env_file}"\n{functions}\n'
        'uses_local_database && echo local\npassword_from_env_file\n'
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["local", "s3cret"]


def test_install_leaves_a_remote_database_alone(tmp_path):
    env_file = tmp_path / "salesbot.env"
    env_file.write_text('DATABASE_URL="postgresql://u:p@db.example.com:5432/sales"\n')
    install = (ROOT / "deploy" / "install.sh").read_text()
    script = f'ENV_FILE="{env_file}"\n{function(install, "uses_local_database")}\n'
    script += "uses_local_database || echo remote\n"
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["remote"]
