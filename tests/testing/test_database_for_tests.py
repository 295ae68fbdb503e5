"""The tests run anywhere: a server that does not answer is one clear line and exit 3, not
an error per test (measured before: 156 errors with no hint)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again once the socket is


def test_a_test_database_server_that_does_not_answer_is_one_clear_line():
    url = f"postgresql://postgres:not-shown@127.0.0.1:{_closed_port()}/postgres"
    env = {**os.environ, "TEST_DATABASE_URL": url}
    run = subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "-q", "-p", "no:cacheprovider"),
            "tests/contracts/test_admin_update_repository.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 3, run.stdout + run.stderr
    output = run.stdout + run.stderr
    assert output.count("The tests need PostgreSQL") == 1, output
    assert "could not create a database" in output and "TEST_DATABASE_URL" in output
    assert "not-shown" not in output  # the password is masked
    assert "ERROR at setup" not in output and " errors" not in output  # not one per test
