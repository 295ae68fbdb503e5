"""pytest plugin: every log line written during the whole test session, searched for secrets.

At the start of the session logging is set up the production way (`configure_logging`:
loguru with the process's secret mask, the standard library routed in) with one extra sink, a
file that receives every record at every level. Tests that reconfigure logging remove all
loguru sinks; the guard sets production logging and its sink up again around every test.
At the end of the session the file is searched for every value in tests/secrets.py; if one
appears, the run fails and the offending lines are printed (masked).

Registered from tests/conftest.py with `pytest_plugins = ("tests.log_leak_guard",)`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from salesbot.adapters.logging import configure_logging
from tests.secrets import SECRETS, fragments

# Everything a record carries that a sink could write: the formatted message, its extras
# (loguru's `bind`), and the traceback with the exception's arguments.
_FORMAT = (
    "{time:HH:mm:ss.SSS} | {level} | {name}:{function}:{line} - {message} | {extra}\n{exception}"
)


class LeakGuard:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="salesbot-log-guard-"))
        self.path = self.folder / "session.log"
        self._file = self.path.open("a", encoding="utf-8")
        self._sink_id: int | None = None
        self.leaks: list[tuple[str, int, str]] = []

    def _write(self, message: Any) -> None:
        self._file.write(str(message))
        self._file.flush()

    def attach(self) -> None:
        """(Re)add the guard's sink: a test that called `logger.remove()` dropped it."""
        if self._sink_id is not None:
            with contextlib.suppress(ValueError):
                logger.remove(self._sink_id)
        self._sink_id = logger.add(
            self._write, level=0, format=_FORMAT, backtrace=False, diagnose=False, catch=True
        )

    def start(self) -> None:
        """Production's set-up (the process's mask, stdlib routed in; its sink writes to the
        guard's file too) plus the guard's own sink. Run before and after every test, so a
        test that configured logging with a mask of its own cannot hide later lines."""
        self._sink_id = None
        configure_logging("DEBUG", stream=self._file)
        self.attach()

    def scan(self) -> list[tuple[str, int, str]]:
        self._file.flush()
        pieces = [
            (label, piece)
            for name, value in SECRETS.items()
            for label, piece in fragments(name, value)
        ]
        found = []
        with self.path.open(encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, 1):
                for label, piece in pieces:
                    if piece in line:
                        found.append((label, number, line.replace(piece, f"<{label}>").rstrip()))
        self.leaks = found
        return found

    def close(self) -> None:
        if self._sink_id is not None:
            with contextlib.suppress(ValueError):
                logger.remove(self._sink_id)
        self._file.close()


_guard: LeakGuard | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _guard
    _guard = LeakGuard()
    _guard.start()


@pytest.fixture(autouse=True)
def _log_leak_guard_sink() -> Iterator[None]:
    """Every test starts and ends with production logging and the guard's sink attached."""
    if _guard is not None:
        _guard.start()
    yield
    if _guard is not None:
        _guard.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _guard is None:
        return
    leaks = _guard.scan()
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _guard is None:
        return
    if _guard.leaks:
        terminalreporter.section("secrets leaked into the logs", sep="=", red=True, bold=True)
        for label, number, line in _guard.leaks[:50]:
            terminalreporter.write_line(f"{label} at log line {number}: {line[:300]}")
        terminalreporter.write_line(f"the whole session log: {_guard.path}")
    else:
        size = _guard.path.stat().st_size if _guard.path.exists() else 0
        terminalreporter.write_line(
            f"log leak guard: {size} bytes of log lines searched, no test secret found"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    global _guard
    if _guard is None:
        return
    _guard.close()
    if not _guard.leaks:
        shutil.rmtree(_guard.folder, ignore_errors=True)
    _guard = None
