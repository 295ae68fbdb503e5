"""One module per `salesbot` sub-command: `add_arguments(parser)` and `main(args) -> int`.

Modules import their heavy dependencies inside `main`, so building the parser stays cheap.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from salesbot.entrypoints.settings import ConfigError

CONFIG_EXIT = 2


def report_config_error(error: ConfigError) -> int:
    """Print one line per configuration problem, naming the variable; the exit code."""
    print("The configuration has problems:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    return CONFIG_EXIT


def start_logging(level: str, log_file: Path | None, secrets: Any, **options: Any) -> int | None:
    """The logging setup; a log file that cannot be written is one line naming LOG_FILE and
    the configuration error's exit code (None: logging is on)."""
    from salesbot.adapters.logging import configure_logging

    try:
        configure_logging(level, log_file, secrets, **options)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        print(
            f"The configuration has problems:\n  LOG_FILE: cannot write {log_file} ({reason}); "
            "expected a file in a folder this user may write, or no LOG_FILE",
            file=sys.stderr,
        )
        return CONFIG_EXIT
    return None
