"""deploy/salesbot.service: the seed's unit kept, plus the env file (read by salesbot alone),
a stop timeout and hardening.

`systemd-analyze verify` runs when the machine has it (it checks every key systemd knows);
the key checks below run everywhere, since CI machines may lack systemd.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from salesbot.entrypoints.settings import Settings
from salesbot.entrypoints.supervisor import Supervisor
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "salesbot.service"


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """systemd's format: sections, repeatable keys, '#'/';' comments."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections[current][key.strip()].append(value.strip())
    return sections


def one(section: dict[str, list[str]], key: str) -> str:
    assert key in section, f"{key}= is missing"
    return section[key][-1]


def test_the_seed_restart_policy_and_ordering_are_kept():
    unit = parse_unit(UNIT.read_text())
    service = unit["Service"]
    assert one(service, "Restart") == "always"
    assert one(service, "RestartSec") == "10"
    after = " ".join(unit["Unit"]["After"]).split()
    assert {"network.target", "postgresql.service"} <= set(after)
    assert one(unit["Install"], "WantedBy") == "multi-user.target"


def test_it_runs_salesbot_run_as_the_service_user_with_the_env_file():
    service = parse_unit(UNIT.read_text())["Service"]
    assert one(service, "User") == "sales_bot"
    command = one(service, "ExecStart").split()
    assert command[0] == "/opt/salesbot/.venv/bin/salesbot"
    assert command[1:3] == ["--env-file", "/etc/salesbot/salesbot.env"]
    assert command[-1] == "run"


def test_the_env_file_has_one_reader_salesbot_itself():
    """systemd's EnvironmentFile= keeps `"10:00-20:00"  # office` whole where salesbot's reader
    (python-dotenv) drops the comment, and treats quotes, `export ` and backslashes its own
    way: `salesbot check` passed files the service refused. Only --env-file reads it now."""
    service = parse_unit(UNIT.read_text())["Service"]
    assert "EnvironmentFile" not in service


def test_the_unit_sets_no_setting_the_env_file_and_check_would_not_see():
    """A variable in the process environment beats the env file (pydantic-settings), and
    `salesbot check` run from a shell never sees the unit's Environment= lines."""
    service = parse_unit(UNIT.read_text())["Service"]
    names = {
        assignment.partition("=")[0]
        for line in service.get("Environment", [])
        for assignment in line.split()
    }
    assert names, "the unit's PYTHONUNBUFFERED= and friends are gone: is this still parsed?"
    assert names.isdisjoint(Settings.model_fields), names & set(Settings.model_fields)


def test_its_working_directory_is_writable_under_the_sandbox():
    """kurigram writes ./unknown_errors.txt when Telegram answers an error it does not know;
    a read-only working directory would turn that answer into a crash of the send."""
    service = parse_unit(UNIT.read_text())["Service"]
    workdir = one(service, "WorkingDirectory")
    assert workdir == "/var/lib/salesbot"
    assert one(service, "StateDirectory") == "salesbot"
    assert workdir in one(service, "ReadWritePaths")


def test_it_stops_with_sigterm_within_a_timeout_longer_than_the_process_needs():
    service = parse_unit(UNIT.read_text())["Service"]
    assert one(service, "KillSignal") == "SIGTERM"
    timeout = int(one(service, "TimeoutStopSec"))
    shutdown = Supervisor(FakeClock())._shutdown_timeout
    assert timeout >= shutdown + 10, "systemd would SIGKILL before the graceful stop ends"


def test_it_is_hardened_and_may_write_only_its_state_and_log_folders():
    service = parse_unit(UNIT.read_text())["Service"]
    assert one(service, "NoNewPrivileges") == "yes"
    assert one(service, "ProtectSystem") == "strict"
    assert one(service, "PrivateTmp") == "yes"
    assert one(service, "ProtectHome") == "yes"
    assert one(service, "StateDirectory") == "salesbot"
    assert one(service, "LogsDirectory") == "salesbot"
    writable = {p.lstrip("-") for v in service["ReadWritePaths"] for p in v.split()}
    assert writable == {"/var/lib/salesbot", "/var/log/salesbot"}


def test_the_example_log_file_and_data_dir_are_where_the_unit_lets_it_write():
    example = (ROOT / "deploy" / "salesbot.env.example").read_text()
    log_file = re.search(r"^#?\s*LOG_FILE=(\S+)", example, re.M)
    data_dir = re.search(r"^#?\s*DATA_DIR=(\S+)", example, re.M)
    assert log_file and log_file.group(1).startswith("/var/log/salesbot/")
    assert data_dir and data_dir.group(1) == "/var/lib/salesbot"


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path):
    analyze = shutil.which("systemd-analyze")
    text = UNIT.read_text()
    # verify insists that ExecStart's program exists: point it at a stand-in.
    program = tmp_path / "salesbot"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = tmp_path / "salesbot.service"
    unit.write_text(text.replace("/opt/salesbot/.venv/bin/salesbot", str(program)))
    if analyze is None:
        assert parse_unit(unit.read_text())["Service"]["ExecStart"]
        return
    result = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60
    )
    # verify exits 0 even for unknown keys or bad values: it only prints them.
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "salesbot" in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == []
