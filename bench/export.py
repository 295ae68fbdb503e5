"""How fast and how small `/export_all` and `/export N` are, against PostgreSQL's own COPY.

Seeds 1,000,000 messages over 10,000 dialogs (one dialog holds 10,000 of them) through COPY,
then in the same run times:
- `/export_all`: the export use-case (`Exports` on `SqlExportQuery`, as the service's
  container builds them) feeding the admin bot's zip writer (the real code path up to the
  upload), and `COPY (the same rows, same order) TO STDOUT` as the floor;
- `/export N` of the 10,000-message dialog as a `.txt`, and COPY of that dialog's rows;
- where the time goes: the same rows read as Python records through an asyncpg cursor, and
  the export's own stream of rows (`ExportQuery.rows` over every dialog, nothing rendered);
- the process's peak RSS during each export (Linux VmHWM, reset before each; it includes
  what the service's modules take once imported, printed as "rss before the exports");
- the process's CPU time for each export (all its threads): on a shared machine the wall
  times swing with the other work, CPU per export much less.

Targets: export_all <= 4x COPY; peak RSS <= 200 MB whatever the size.
Run: `.venv/bin/python -m bench.export [--quick]`.
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import asyncpg

from bench.common import (
    Stopwatch,
    machine,
    parser,
    peak_rss_mb,
    print_result,
    quiet_logging,
    reset_peak_rss,
    rss_mb,
    run,
    throwaway_database,
)
from bench.seed import seed

if TYPE_CHECKING:
    from salesbot.adapters.admin_bot.export_files import TranscriptRenderer
    from salesbot.application.admin.export_dialogs import Exports
    from salesbot.application.admin.queries import ExportQuery

SESSION_SECRET = "bench-session-secret"  # noqa: S105 - a throwaway database's key
TARGET_RATIO = 4
TARGET_RSS_MB = 200

_COPY_COLUMNS = (
    "m.id, m.dialog_id, m.direction, m.content, m.timestamp, m.sent_at, m.delivery, m.kind"
)
COPY_ALL = f"SELECT {_COPY_COLUMNS} FROM messages m ORDER BY m.dialog_id, m.timestamp, m.id"
COPY_ONE = (
    f"SELECT {_COPY_COLUMNS} FROM messages m WHERE m.dialog_id = $1 ORDER BY m.timestamp, m.id"
)


async def copy_out(dsn: str, query: str, *args: object) -> tuple[float, int]:
    """Seconds and bytes for `COPY (query) TO STDOUT` read by the client."""
    conn = await asyncpg.connect(dsn)
    received = 0

    async def sink(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    try:
        with Stopwatch() as sw:
            if args:
                # COPY takes no parameters: inline the one integer we pass.
                query = query.replace("$1", str(int(args[0])))  # type: ignore[call-overload]
            await conn.copy_from_query(query, output=sink)
    finally:
        await conn.close()
    return sw.seconds, received


def _renderer() -> TranscriptRenderer:
    from salesbot.adapters.admin_bot.catalogue import Texts
    from salesbot.adapters.admin_bot.export_files import TranscriptRenderer
    from salesbot.adapters.admin_bot.formatting import Formatter

    formatter = Formatter(Texts("ru"), ZoneInfo("Europe/Moscow"))
    return TranscriptRenderer(formatter, datetime.now(timezone.utc))


async def cursor_read(dsn: str) -> float:
    """Seconds to read the same rows as Python records through an asyncpg cursor: the floor
    of any exporter written in Python."""
    conn = await asyncpg.connect(dsn)
    try:
        with Stopwatch() as sw:
            async with conn.transaction():
                async for _ in conn.cursor(COPY_ALL, prefetch=1000):
                    pass
    finally:
        await conn.close()
    return sw.seconds


async def export_rows_only(export_query: ExportQuery, last_dialog_id: int) -> float:
    """Seconds for `ExportQuery.rows` alone over every dialog in one stream (the rows
    /export_all reads: COPY parsed into ExportRows), with nothing rendered."""
    with Stopwatch() as sw:
        async for _ in export_query.rows(first_dialog_id=1, last_dialog_id=last_dialog_id):
            pass
    return sw.seconds


async def export_all(exports: Exports, directory: Path) -> tuple[float, float, float, int, int]:
    """Seconds, CPU seconds, peak RSS (MB), dialogs, bytes of the zip parts."""
    from salesbot.adapters.admin_bot.export_files import ZipPartsSink

    reset_peak_rss()
    cpu = time.process_time()
    sink = ZipPartsSink(directory, _renderer())
    with Stopwatch() as sw:
        dialogs = await exports.export_all(sink)
        parts = sink.close()
    cpu = time.process_time() - cpu
    size = sum(part.stat().st_size for part in parts)
    return sw.seconds, cpu, peak_rss_mb(), dialogs, size


async def export_one(
    exports: Exports, dialog_id: int, path: Path
) -> tuple[float, float, float, int]:
    """Seconds, CPU seconds, peak RSS (MB), bytes of the .txt."""
    from salesbot.adapters.admin_bot.export_files import TextFileSink

    reset_peak_rss()
    with path.open("wb") as stream:
        cpu = time.process_time()
        with Stopwatch() as sw:
            await exports.export_dialog(dialog_id, TextFileSink(stream, _renderer()))
        cpu = time.process_time() - cpu
    return sw.seconds, cpu, peak_rss_mb(), path.stat().st_size  # noqa: ASYNC240


async def main(quick: bool) -> None:
    from tests.wiring import container_for, settings_for_tests

    from salesbot.adapters.persistence import FernetSessionCipher, create_engine

    quiet_logging()
    total, dialogs, big = (100_000, 1_000, 10_000) if quick else (1_000_000, 10_000, 10_000)
    print((await machine()).describe())
    print(f"seed: {total:,} messages over {dialogs:,} dialogs, dialog 1 holds {big:,}")
    cipher = FernetSessionCipher(SESSION_SECRET)
    async with throwaway_database("export") as db:
        with Stopwatch() as seeding:
            seeded = await seed(
                db.dsn,
                accounts=10,
                dialogs=dialogs,
                messages=total,
                big_dialog=big,
                encrypt=cipher.encrypt,
            )
        print(f"seeded in {seeding.seconds:.1f} s ({total / seeding.seconds:,.0f} messages/s)")
        assert seeded.big_dialog_id is not None
        engine = create_engine(db.sqlalchemy_url)
        # The export as the service's container builds it: Exports(SqlExportQuery(engine)).
        container = container_for(
            settings_for_tests(SESSION_SECRET=SESSION_SECRET), engine=engine
        )
        exports: Exports = container.exports()
        try:
            copy_all_s, copy_all_bytes = await copy_out(db.dsn, COPY_ALL)
            copy_one_s, _ = await copy_out(db.dsn, COPY_ONE, seeded.big_dialog_id)
            cursor_s = await cursor_read(db.dsn)
            rows_s = await export_rows_only(container.export_query(), dialogs)
            print(f"rss before the exports: {rss_mb():.0f} MB")
            with tempfile.TemporaryDirectory(prefix="salesbot-bench-") as tmp:
                all_s, all_cpu, all_rss, exported, zip_bytes = await export_all(
                    exports, Path(tmp)
                )
                one_s, one_cpu, one_rss, one_bytes = await export_one(
                    exports, seeded.big_dialog_id, Path(tmp) / "one.txt"
                )
        finally:
            await engine.dispose()
    ratio_all = all_s / copy_all_s
    ratio_one = one_s / copy_one_s
    peak = max(all_rss, one_rss)
    print()
    print("| what | rows | time | COPY TO STDOUT | ratio | peak RSS |")
    print("|---|---|---|---|---|---|")
    print(
        f"| /export_all (zip, {exported:,} dialogs, {zip_bytes / 1e6:.1f} MB) | {total:,} | "
        f"{all_s:.2f} s | {copy_all_s:.2f} s ({copy_all_bytes / 1e6:.0f} MB) | "
        f"{ratio_all:.1f}x | {all_rss:.0f} MB |"
    )
    print(
        f"| /export N (txt, {one_bytes / 1e6:.1f} MB) | {big:,} | {one_s * 1000:.0f} ms | "
        f"{copy_one_s * 1000:.0f} ms | {ratio_one:.1f}x | {one_rss:.0f} MB |"
    )
    print(f"export_all throughput: {total / all_s:,.0f} messages/s")
    print(
        f"where the time goes: COPY {copy_all_s:.2f} s; asyncpg cursor into Python records "
        f"{cursor_s:.2f} s; the export's rows alone (ExportQuery.rows, one stream) "
        f"{rows_s:.2f} s ({rows_s / copy_all_s:.1f}x COPY); whole /export_all {all_s:.2f} s"
    )
    verdict = "met" if ratio_all <= TARGET_RATIO and peak <= TARGET_RSS_MB else "MISSED"
    print(
        f"targets: /export_all <= {TARGET_RATIO}x COPY ({ratio_all:.1f}x), peak RSS <= "
        f"{TARGET_RSS_MB} MB ({peak:.0f} MB): {verdict}"
    )
    print_result(
        "export",
        messages=total,
        dialogs=exported,
        export_all_s=round(all_s, 2),
        export_all_cpu_s=round(all_cpu, 2),
        copy_all_s=round(copy_all_s, 2),
        ratio_all=round(ratio_all, 2),
        cursor_s=round(cursor_s, 2),
        rows_s=round(rows_s, 2),
        export_one_ms=round(one_s * 1000, 1),
        export_one_cpu_ms=round(one_cpu * 1000, 1),
        copy_one_ms=round(copy_one_s * 1000, 1),
        ratio_one=round(ratio_one, 2),
        peak_rss_mb=round(peak),
    )


if __name__ == "__main__":
    args = parser(__doc__.splitlines()[0]).parse_args()
    run(main(args.quick))
