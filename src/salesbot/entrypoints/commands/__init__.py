"""One module per `salesbot` sub-command: `add_arguments(parser)` and `main(args) -> int`.

Modules import their heavy dependencies inside `main`, so building the parser stays cheap.
"""

from __future__ import annotations

import sys

from salesbot.entrypoints.settings import ConfigError

CONFIG_EXIT = 2


def report_config_error(error: ConfigError) -> int:
    """Print one line per configuration problem, naming the variable; the exit code."""
    print("The configuration has problems:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    return CONFIG_EXIT
