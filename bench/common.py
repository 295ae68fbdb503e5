"""What every benchmark shares: the machine it ran on, timing, memory and a throwaway database.

Each script in `bench/` takes `--quick` (the whole run under a minute), prints its figures
as it goes, and ends with exactly one machine-readable line, `RESULT <name> key=value ...`.
Benchmarks never assert: they measure and report.

The database is a fresh PostgreSQL database on 127.0.0.1:5432 (user postgres, trust auth;
`BENCH_PG_DSN` overrides the server), migrated with the project's alembic migrations and
dropped at the end, so a run never touches real data and leaves nothing behind.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import resource
import signal
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from salesbot.entrypoints import event_loop

SERVER_DSN = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


# --- the machine -------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    ram_gb: float
    python: str
    postgres: str

    def describe(self) -> str:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
        return (
            f"machine: {self.cpu}, {self.cores} cores, {self.ram_gb:.1f} GB RAM, "
            f"Python {self.python}, PostgreSQL {self.postgres}; load average {load:.1f} "
            "(other work on the machine slows every figure)"
        )


async def machine(dsn: str = SERVER_DSN) -> Machine:
    postgres = "unreachable"
    try:
        conn = await asyncpg.connect(dsn)
        try:
            postgres = str(await conn.fetchval("SHOW server_version")).split()[0]
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError):
        pass
    return Machine(
        cpu=_cpu_model(),
        cores=usable_cores(),
        ram_gb=_ram_gb(),
        python=platform.python_version(),
        postgres=postgres,
    )


# --- timing ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Latencies:
    """Durations in seconds; figures in milliseconds."""

    samples: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    def extend(self, seconds: Iterable[float]) -> None:
        self.samples.extend(seconds)

    def ms(self, p: float) -> float:
        return percentile(self.samples, p) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.samples) * 1000 if self.samples else 0.0

    def summary(self) -> str:
        return (
            f"n={len(self.samples)} p50={self.ms(50):.2f} ms p90={self.ms(90):.2f} ms "
            f"p99={self.ms(99):.2f} ms max={self.ms(100):.2f} ms"
        )


class Stopwatch:
    """`with Stopwatch() as sw: ...` then `sw.seconds`."""

    def __init__(self) -> None:
        self.started = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


# --- memory ------------------------------------------------------------------------------


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb() -> float:
    """The process's resident memory now."""
    kb = _status_kb("VmRSS")
    return (kb or 0) / 1024


def peak_rss_mb() -> float:
    """The process's peak resident memory since start, or since `reset_peak_rss()`."""
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: lifetime peak only (kilobytes on Linux, bytes on macOS)
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kb //= 1024
    return kb / 1024


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window (Linux: writing 5 to /proc/self/clear_refs resets VmHWM)."""
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# --- a throwaway database ----------------------------------------------------------------


def _with_database(dsn: str, name: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


@dataclass(frozen=True)
class BenchDatabase:
    name: str
    dsn: str  # postgresql://... for asyncpg and alembic

    @property
    def sqlalchemy_url(self) -> str:
        return "postgresql+asyncpg://" + self.dsn.split("://", 1)[1]


async def _migrate(url: str) -> None:
    from salesbot.adapters.persistence import run_migrations

    # run_migrations drives alembic, which runs its own event loop: keep it off ours.
    await asyncio.to_thread(run_migrations, url)


@asynccontextmanager
async def throwaway_database(
    label: str, *, migrate: bool = True, dsn: str = SERVER_DSN
) -> AsyncIterator[BenchDatabase]:
    """A fresh database `salesbot_bench_<label>_<random>`, migrated, dropped afterwards."""
    name = f"salesbot_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    database = BenchDatabase(name=name, dsn=_with_database(dsn, name))
    try:
        if migrate:
            await _migrate(database.dsn)
        yield database
    finally:
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


# --- the command line and the result line ------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(description=description)
    cli.add_argument("--quick", action="store_true", help="a smaller run, under a minute")
    return cli


def _format(value: Any) -> str:
    if isinstance(value, float):
        if value == int(value) and abs(value) >= 100:
            return str(int(value))
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value).replace(" ", "_")


def result_line(name: str, **figures: Any) -> str:
    """`RESULT <name> key=value ...`: the one machine-readable line a benchmark ends with."""
    parts = " ".join(f"{key}={_format(value)}" for key, value in figures.items())
    return f"RESULT {name} {parts}".rstrip()


def print_result(name: str, **figures: Any) -> None:
    sys.stdout.flush()
    print(result_line(name, **figures), flush=True)


def run(main: Coroutine[Any, Any, None]) -> None:
    """`main` on the event loop `salesbot run` uses (uvloop), with SIGTERM (e.g.
    `timeout`) unwinding like Ctrl-C, so the throwaway database is still dropped."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    event_loop.run(main)


def quiet_logging() -> None:
    """Benchmarks measure the code, not the terminal: only warnings and errors are logged."""
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")
