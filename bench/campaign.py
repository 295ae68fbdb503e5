"""Importing a 10,000-lead list as a campaign on PostgreSQL: wall time and memory.

Seeds 50,000 dialogs (quick: 10,000) and 1,000 do-not-contact entries, writes a CSV of
10,000 rows with four columns (username, name, company, context) in which 4% are bad: 1%
invalid usernames, 1% repeats of the row before, 1% on do-not-contact, 1% with a dialog.
Then runs the real use-case (`ImportLeads` from the service's container, on the bench's
engine) as `salesbot campaign import` does: read the file, parse, check every name against
do-not-contact and the dialogs, store the campaign and its leads in one transaction, and
write the rows not taken as CSV.

Memory: the process's peak RSS (Linux VmHWM, reset just before the import) minus its RSS
just before; so what the import itself adds on top of an idle process that has already
imported the service's modules and opened its connection pool.
Targets: import_s <= 5 and import_rss_mb <= 50 for 10,000 leads.
Run: `.venv/bin/python -m bench.campaign [--quick]`.

Then the feeder (`bench/campaign_feed.py` `measure_feeder`): its cost per started lead with
10,000 leads queued against 100 queued; target: constant (no more statements, about the same
time), so a large campaign costs no more per lead than a small one.

`measure_import` and `measure_feeder` return their figures as dicts, and `main` prints one
`RESULT campaign` line from both.
"""

from __future__ import annotations

import csv
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.campaign_feed import measure_feeder
from bench.common import (
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
from bench.seed import seed_accounts, seed_dialogs

SESSION_SECRET = "bench-session-secret"  # noqa: S105 - a throwaway database's key
LEADS = 10_000
TARGET_IMPORT_S = 5.0
TARGET_IMPORT_RSS_MB = 50.0


def write_lead_file(path: Path, leads: int) -> dict[str, int]:
    """A CSV of `leads` rows, 1% each of: invalid, duplicate, do-not-contact, has a dialog.
    Returns how many of each (the do-not-contact names are `dnc_<n>`, the dialogs'
    `prospect_<n>`, as seeded)."""
    counts = {"invalid": 0, "duplicate": 0, "do_not_contact": 0, "has_dialog": 0}
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["username", "name", "company", "context"])
        previous = ""
        for index in range(leads):
            kind = index % 100
            if kind == 10:
                name, counts["invalid"] = f"lead_{index}_", counts["invalid"] + 1
            elif kind == 20 and previous:
                name, counts["duplicate"] = previous, counts["duplicate"] + 1
            elif kind == 30:
                name = f"@dnc_{index // 100:05d}"
                counts["do_not_contact"] += 1
            elif kind == 40:
                name, counts["has_dialog"] = f"prospect_{index // 100}", counts["has_dialog"] + 1
            else:
                name = f"@lead_{index:06d}"
            previous = name
            writer.writerow(
                [
                    name,
                    f"Имя Фамилия {index}",
                    f"ООО «Компания {index % 997}»",
                    f"заказывал в {2020 + index % 6} году, интересуется доставкой, "
                    "предпочитает писать вечером",
                ]
            )
    return counts


async def seed_history(dsn: str, dialogs: int, do_not_contact: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        accounts = await seed_accounts(conn, 5)
        await seed_dialogs(conn, accounts, dialogs)
        await conn.execute(
            "INSERT INTO do_not_contact (username, reason, created_at) "
            "SELECT 'dnc_' || lpad(n::text, 5, '0'), 'asked to stop', now() "
            "FROM generate_series(0, $1 - 1) AS n",
            do_not_contact,
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def measure_import(
    sqlalchemy_url: str, folder: Path, *, leads: int = LEADS
) -> dict[str, object]:
    """Import a `leads`-row CSV through the real use-case; its figures for the RESULT line."""
    from tests.wiring import container_for, settings_for_tests

    from salesbot.adapters.persistence import create_engine
    from salesbot.application.campaigns.import_leads import ImportLeads, rejected_csv

    path = folder / "leads.csv"
    bad = write_lead_file(path, leads)
    engine = create_engine(sqlalchemy_url)
    try:
        container = container_for(settings_for_tests(SESSION_SECRET=SESSION_SECRET), engine=engine)
        importer: ImportLeads = container.import_leads()
        async with engine.connect() as connection:  # an idle process has its pool open
            await connection.exec_driver_sql("SELECT 1")
        reset_peak_rss()
        before = rss_mb()
        started = time.perf_counter()
        report = await importer.run(
            path.name, path.read_bytes(), name="bench", variants=("коротко", "с вопросом")
        )
        (folder / "leads.csv.rejected.csv").write_bytes(rejected_csv(report.rejections))
        seconds = time.perf_counter() - started
        added_mb = max(0.0, peak_rss_mb() - before)
    finally:
        await engine.dispose()
    print(
        f"import of {leads:,} rows ({path.stat().st_size / 1024:.0f} KB): "
        f"{report.taken:,} taken, {report.not_taken:,} not (expected "
        f"{sum(bad.values()):,}: {bad}); {seconds:.2f} s, peak RSS +{added_mb:.1f} MB "
        f"above {before:.0f} MB before"
    )
    met = seconds <= TARGET_IMPORT_S and added_mb <= TARGET_IMPORT_RSS_MB
    return {
        "import_leads": leads,
        "import_taken": report.taken,
        "import_s": round(seconds, 2),
        "import_rss_mb": round(added_mb, 1),
        "import_met": met,
    }


def result_figures(*measured: dict[str, object]) -> dict[str, object]:
    """The measurements' figures in one dict; `targets_met` is whether every one met its
    own (each says so in its `<name>_met`)."""
    figures: dict[str, object] = {}
    for one in measured:
        figures.update(one)
    met = all(v for k, v in figures.items() if k.endswith("_met"))
    figures = {k: v for k, v in figures.items() if not k.endswith("_met")}
    figures["targets_met"] = met
    return figures


async def main(quick: bool) -> None:
    quiet_logging()
    print((await machine()).describe())
    dialogs = 10_000 if quick else 50_000
    print(f"seed: {dialogs:,} dialogs, 1,000 do-not-contact entries")
    async with throwaway_database("campaign") as db:
        await seed_history(db.dsn, dialogs, 1_000)
        with tempfile.TemporaryDirectory() as folder:
            imported = await measure_import(db.sqlalchemy_url, Path(folder))
    print(
        f"targets: import <= {TARGET_IMPORT_S:.0f} s and <= {TARGET_IMPORT_RSS_MB:.0f} MB "
        f"for {LEADS:,} leads: {'met' if imported['import_met'] else 'MISSED'}"
    )
    feeder = await measure_feeder(leads=50 if quick else 80)
    fed = {
        "feed_queued": feeder["queued"],
        "feed_ms_per_lead": feeder["feed_ms_per_lead"],
        "feed_ms_per_lead_at_100": feeder["feed_ms_per_lead_at_100"],
        "feed_statements_per_lead": feeder["statements_per_lead"],
        "feed_statements_per_lead_at_100": feeder["statements_per_lead_at_100"],
        "feed_constant": feeder["constant"],
        "feed_met": feeder["constant"],
    }
    print(
        f"feeder: {fed['feed_ms_per_lead']} ms and {fed['feed_statements_per_lead']} statements "
        f"per started lead at {fed['feed_queued']:,} queued, "
        f"{fed['feed_ms_per_lead_at_100']} ms and {fed['feed_statements_per_lead_at_100']} at "
        f"100: {'constant' if fed['feed_constant'] else 'GROWS'}"
    )
    print_result("campaign", **result_figures(imported, fed))


if __name__ == "__main__":
    args = parser(__doc__.splitlines()[0]).parse_args()
    run(main(args.quick))
