"""Adopting the seed bot's PostgreSQL database: its rows moved into salesbot's schema.

The seed created `accounts`, `dialogs` and `messages` by hand (no alembic_version), with
session strings in clear, naive timestamps and free-text statuses; alembic's initial
revision cannot create its tables over them. `adopt_seed_database` does it in ONE
transaction: the seed's tables (with their indexes and sequences) move aside into a
schema of their own, the normal migrations run, the rows are copied — ids kept, session
strings encrypted, phones and usernames normalised, statuses mapped conservatively,
naive timestamps read as UTC, outgoing messages marked sent (a dialog's first message, when
ours, as its opener), the dialogs' counters of them set, a limited account given the end
of its cool-down — the sequences are reset
and the seed's tables dropped. Any row it had to change is reported; a row it cannot
place (a dialog of a missing account, a message of an unknown direction) makes it
refuse, as do tables that look like neither the seed's nor ours: nothing is changed then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from salesbot.application.ports import SessionCipher
from salesbot.domain.account import AccountStatus
from salesbot.domain.dialog import OPEN_STATUSES, DialogStatus
from salesbot.domain.errors import InvalidPhone, InvalidUsername
from salesbot.domain.phone import normalize_phone
from salesbot.domain.username import normalize_username

SEED_COLUMNS: dict[str, frozenset[str]] = {
    "accounts": frozenset(
        {"id", "phone", "session_string", "status", "last_used", "daily_messages"}
    ),
    "dialogs": frozenset({"id", "account_id", "target_username", "status", "created_at"}),
    "messages": frozenset({"id", "dialog_id", "direction", "content", "timestamp"}),
}
# Tables our migrations create besides the seed's: present without alembic_version, the
# database is neither the seed's nor ours.
OUR_OTHER_TABLES = frozenset({"settings", "peers", "do_not_contact"})
ASIDE = "salesbot_seed_adoption"  # the schema the seed's tables wait in during adoption
PHONE_LENGTH = 32
USERNAME_LENGTH = 64
UTC = timezone.utc
ADOPTED_COOLDOWN = timedelta(hours=24)
"""A limited account's cool-down from its adoption (the seed kept no end; 24 h is the
default LIMITED_COOLDOWN_HOURS): without an end it would never be lifted."""


class NotASeedDatabase(RuntimeError):
    """The database has tables salesbot would create, but not as the seed or salesbot
    made them (or rows that cannot be placed): nothing was changed."""


@dataclass
class AdoptionReport:
    accounts: int = 0
    dialogs: int = 0
    messages: int = 0
    changes: list[str] = field(default_factory=list)

    def line(self) -> str:
        adopted = (
            f"Adopted the seed bot's database: {self.accounts} accounts, {self.dialogs} "
            f"dialogs, {self.messages} messages"
        )
        if not self.changes:
            return adopted + " (no row needed a change)."
        return f"{adopted}; changed {len(self.changes)}: " + "; ".join(self.changes) + "."


@dataclass(frozen=True)
class SeedTables:
    """What detection found: column name -> data type, per seed table."""

    types: dict[str, dict[str, str]]

    def naive(self, table: str, column: str) -> bool:
        return self.types[table][column] == "timestamp without time zone"


_COLUMNS = text(
    "SELECT table_name, column_name, data_type FROM information_schema.columns "
    "WHERE table_schema = current_schema()"
)


async def detect_seed(connection: AsyncConnection) -> SeedTables | None:
    """The seed's tables when the database is the seed's, None when it is empty or ours.

    Raises NotASeedDatabase when tables named like ours are there but are not the seed's.
    """
    columns: dict[str, dict[str, str]] = defaultdict(dict)
    for table, column, data_type in (await connection.execute(_COLUMNS)).all():
        columns[table][column] = data_type
    if "alembic_version" in columns:
        return None
    present = sorted(set(SEED_COLUMNS) & set(columns))
    if not present:
        return None
    problems = []
    missing = sorted(set(SEED_COLUMNS) - set(columns))
    if missing:
        problems.append(f"table {', '.join(missing)} missing")
    for table in present:
        found = set(columns[table])
        if found != SEED_COLUMNS[table]:
            extra = sorted(found - SEED_COLUMNS[table])
            lacking = sorted(SEED_COLUMNS[table] - found)
            problems.append(
                f"{table} has "
                + ", ".join(
                    part
                    for part in (
                        f"unknown columns {', '.join(extra)}" if extra else "",
                        f"no {', '.join(lacking)}" if lacking else "",
                    )
                    if part
                )
            )
    ours = sorted(OUR_OTHER_TABLES & set(columns))
    if ours:
        problems.append(f"table {', '.join(ours)} present without alembic_version")
    if ASIDE in await _schemas(connection):
        problems.append(f"schema {ASIDE} left from an earlier attempt")
    if problems:
        raise NotASeedDatabase(
            "the database has tables named like salesbot's but neither the seed bot's nor "
            f"salesbot's ({'; '.join(problems)}); nothing was changed"
        )
    return SeedTables(types={table: dict(columns[table]) for table in SEED_COLUMNS})


async def _schemas(connection: AsyncConnection) -> set[str]:
    rows = await connection.execute(text("SELECT schema_name FROM information_schema.schemata"))
    return {name for (name,) in rows.all()}


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clean(value: Any) -> str:
    return "" if value is None else str(value).strip()


async def adopt_seed_database(
    connection: AsyncConnection,
    alembic: Config,
    cipher_factory: Callable[[], SessionCipher],
) -> AdoptionReport | None:
    """Adopt the seed's database on `connection`, inside its (caller's) transaction.

    Returns None when the database is not the seed's (empty or already salesbot's): the
    caller migrates it the usual way. The caller commits; any exception rolls it all back.
    """
    seed = await detect_seed(connection)
    if seed is None:
        return None
    # The seed bot must not write while its rows move (and a second `migrate` waits here).
    await connection.execute(text("LOCK TABLE accounts, dialogs, messages IN EXCLUSIVE MODE"))
    report = AdoptionReport()
    accounts = (await connection.execute(text("SELECT * FROM accounts ORDER BY id"))).mappings()
    account_rows = [dict(row) for row in accounts.all()]
    dialog_rows = [
        dict(row)
        for row in (await connection.execute(text("SELECT * FROM dialogs ORDER BY id")))
        .mappings()
        .all()
    ]
    await _refuse_orphans(connection, account_rows, dialog_rows)

    await connection.execute(text(f'CREATE SCHEMA "{ASIDE}"'))
    for table in SEED_COLUMNS:
        await connection.execute(text(f'ALTER TABLE "{table}" SET SCHEMA "{ASIDE}"'))

    def upgrade(sync_connection: Connection) -> None:
        alembic.attributes["connection"] = sync_connection
        try:
            command.upgrade(alembic, "head")
        finally:
            alembic.attributes.pop("connection", None)

    await connection.run_sync(upgrade)

    cipher = cipher_factory()
    await _copy_accounts(connection, account_rows, cipher, report)
    newest = {
        dialog_id: _utc(at)
        for dialog_id, at in (
            await connection.execute(
                text(
                    f'SELECT dialog_id, max("timestamp") FROM "{ASIDE}".messages '  # noqa: S608
                    "GROUP BY dialog_id"
                )
            )
        ).all()
    }
    await _copy_dialogs(connection, dialog_rows, newest, report)
    report.messages = await _copy_messages(connection, seed)
    for table in SEED_COLUMNS:
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        )
    # No CASCADE: a view or foreign key of someone else's on the seed's tables stops the
    # adoption (rolled back whole) instead of vanishing with them.
    await connection.execute(
        text(f'DROP TABLE "{ASIDE}".messages, "{ASIDE}".dialogs, "{ASIDE}".accounts')
    )
    await connection.execute(text(f'DROP SCHEMA "{ASIDE}"'))
    return report


async def _refuse_orphans(
    connection: AsyncConnection,
    account_rows: list[dict[str, Any]],
    dialog_rows: list[dict[str, Any]],
) -> None:
    """Rows that cannot be placed in salesbot's schema: refuse rather than drop them."""
    problems = []
    account_ids = {row["id"] for row in account_rows}
    orphans = [row["id"] for row in dialog_rows if row["account_id"] not in account_ids]
    if orphans:
        problems.append(f"dialogs {_ids(orphans)} belong to no account")
    dialog_ids = {row["id"] for row in dialog_rows}
    lost = await connection.execute(
        text(
            "SELECT id, dialog_id, lower(trim(coalesce(direction, ''))) AS direction "
            "FROM messages ORDER BY id"
        )
    )
    no_dialog, no_direction = [], []
    for message_id, dialog_id, direction in lost.all():
        if dialog_id not in dialog_ids:
            no_dialog.append(message_id)
        if direction not in ("in", "out"):
            no_direction.append(message_id)
    if no_dialog:
        problems.append(f"messages {_ids(no_dialog)} belong to no dialog")
    if no_direction:
        problems.append(f"messages {_ids(no_direction)} are neither 'in' nor 'out'")
    if problems:
        raise NotASeedDatabase(
            "the seed bot's database has rows salesbot cannot place without losing them ("
            + "; ".join(problems)
            + "); fix or remove them and run `salesbot migrate` again. Nothing was changed"
        )


def _ids(ids: list[int]) -> str:
    shown = ", ".join(f"#{i}" for i in ids[:10])
    return shown + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


ACCOUNT_STATUSES = {status.value for status in AccountStatus}
DIALOG_STATUSES = {status.value for status in DialogStatus}


async def _copy_accounts(
    connection: AsyncConnection,
    rows: list[dict[str, Any]],
    cipher: SessionCipher,
    report: AdoptionReport,
) -> None:
    normalised: dict[int, str] = {}
    statuses: dict[int, str] = {}
    for row in rows:
        account = f"account #{row['id']}"
        raw_phone = _clean(row["phone"])
        try:
            phone = normalize_phone(raw_phone)
        except InvalidPhone:
            phone = raw_phone[:PHONE_LENGTH] or f"seed-{row['id']}"
            report.changes.append(f"{account} phone {raw_phone!r} is not a phone number, kept")
        else:
            if phone != raw_phone:
                report.changes.append(f"{account} phone {raw_phone!r} -> {phone}")
        normalised[row["id"]] = phone
        raw_status = _clean(row["status"]).lower()
        status = raw_status if raw_status in ACCOUNT_STATUSES else AccountStatus.DISABLED.value
        if status != raw_status:
            report.changes.append(f"{account} status {row['status']!r} unknown -> disabled")
        elif status != row["status"]:
            report.changes.append(f"{account} status {row['status']!r} -> {status}")
        statuses[row["id"]] = status
    # One account per phone: an active one keeps it, else the newest; the others are
    # kept disabled under a marked phone.
    keeper: dict[str, int] = {}
    for account_id in sorted(
        normalised,
        key=lambda i: (statuses[i] == AccountStatus.ACTIVE.value, i),
        reverse=True,
    ):
        keeper.setdefault(normalised[account_id], account_id)
    values = []
    cooled_down = datetime.now(UTC) + ADOPTED_COOLDOWN
    for row in rows:
        account = f"account #{row['id']}"
        phone, status = normalised[row["id"]], statuses[row["id"]]
        if keeper[phone] != row["id"]:
            duplicate = f"{phone}#{row['id']}"[-PHONE_LENGTH:]
            report.changes.append(
                f"{account} has the phone of account #{keeper[phone]}: phone -> {duplicate}, "
                "not active"
            )
            phone = duplicate
            if status not in (AccountStatus.BANNED.value, AccountStatus.LOGGED_OUT.value):
                status = AccountStatus.DISABLED.value
        session = row["session_string"] or ""
        if not session.strip() and status != AccountStatus.LOGGED_OUT.value:
            report.changes.append(f"{account} has no session string -> logged_out")
            status = AccountStatus.LOGGED_OUT.value
        last_used = _utc(row["last_used"])
        limited_until = None
        if status == AccountStatus.LIMITED.value:
            limited_until = cooled_down
            report.changes.append(
                f"{account} is limited: its cool-down ends {cooled_down:%Y-%m-%d %H:%M} UTC"
            )
        values.append(
            {
                "id": row["id"],
                "phone": phone,
                "session_string": cipher.encrypt(session),
                "status": status,
                "last_used": last_used,
                "daily_messages": row["daily_messages"] or 0,
                "quota_day": last_used.date() if last_used is not None else None,
                "limited_until": limited_until,
            }
        )
    if values:
        await connection.execute(
            text(
                "INSERT INTO accounts (id, phone, session_string, status, last_used, "
                "daily_messages, quota_day, limited_until) VALUES (:id, :phone, "
                ":session_string, :status, :last_used, :daily_messages, :quota_day, "
                ":limited_until)"
            ),
            values,
        )
    report.accounts = len(values)


async def _copy_dialogs(
    connection: AsyncConnection,
    rows: list[dict[str, Any]],
    newest_message: dict[int, datetime | None],
    report: AdoptionReport,
) -> None:
    now = datetime.now(UTC)
    prepared = []
    for row in rows:
        dialog = f"dialog #{row['id']}"
        raw_name = _clean(row["target_username"])
        raw_status = _clean(row["status"]).lower()
        status = raw_status if raw_status in DIALOG_STATUSES else DialogStatus.STOPPED.value
        reason = ""
        if status != raw_status:
            reason = f"status {row['status']!r} unknown"
            report.changes.append(f"{dialog} status {row['status']!r} unknown -> stopped")
        elif status != row["status"]:
            report.changes.append(f"{dialog} status {row['status']!r} -> {status}")
        try:
            username = normalize_username(raw_name)
        except InvalidUsername as error:
            username = raw_name[:USERNAME_LENGTH]
            if status in _OPEN:
                status, reason = DialogStatus.STOPPED.value, f"username {raw_name!r} invalid"
                report.changes.append(
                    f"{dialog} username {raw_name!r} invalid ({error}) -> stopped"
                )
            else:
                report.changes.append(f"{dialog} username {raw_name!r} invalid, kept")
        else:
            if username != raw_name:
                report.changes.append(f"{dialog} username {raw_name!r} -> {username}")
        created_at = _utc(row["created_at"])
        if created_at is None:
            created_at = newest_message.get(row["id"]) or now
            report.changes.append(f"{dialog} had no created_at -> {created_at:%Y-%m-%d %H:%M}")
        activity = max(created_at, newest_message.get(row["id"]) or created_at)
        prepared.append(
            {
                "id": row["id"],
                "account_id": row["account_id"],
                "target_username": username,
                "status": status,
                "created_at": created_at,
                "last_activity_at": activity,
                "status_reason": f"adopted from the seed bot: {reason}" if reason else "",
            }
        )
    # One open dialog per prospect: the one most recently active stays open.
    open_by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for values in prepared:
        if values["status"] in _OPEN:
            open_by_name[values["target_username"]].append(values)
    for username, group in open_by_name.items():
        group.sort(key=lambda v: (v["last_activity_at"], v["id"]), reverse=True)
        kept = group[0]
        for extra in group[1:]:
            extra["status"] = DialogStatus.STOPPED.value
            extra["status_reason"] = (
                f"adopted from the seed bot: dialog #{kept['id']} with {username} stays open"
            )
            report.changes.append(
                f"dialog #{extra['id']} stopped: dialog #{kept['id']} with {username} stays open"
            )
    if prepared:
        await connection.execute(
            text(
                "INSERT INTO dialogs (id, account_id, target_username, status, created_at, "
                "last_activity_at, status_reason) VALUES (:id, :account_id, :target_username, "
                ":status, :created_at, :last_activity_at, :status_reason)"
            ),
            prepared,
        )
    report.dialogs = len(prepared)


_OPEN = {status.value for status in OPEN_STATUSES}


async def _copy_messages(connection: AsyncConnection, seed: SeedTables) -> int:
    """One INSERT ... SELECT: no message passes through Python, however many there are."""
    moment = (
        "m.\"timestamp\" AT TIME ZONE 'UTC'"
        if seed.naive("messages", "timestamp")
        else 'm."timestamp"'
    )
    when = f"coalesce({moment}, d.created_at)"
    first = f"row_number() OVER (PARTITION BY m.dialog_id ORDER BY {when}, m.id) = 1"
    result = await connection.execute(
        text(
            "INSERT INTO messages (id, dialog_id, account_id, direction, content, "  # noqa: S608
            '"timestamp", delivery, sent_at, kind) '
            f"SELECT m.id, m.dialog_id, d.account_id, lower(trim(m.direction)), "
            f"coalesce(m.content, ''), {when}, "
            "CASE WHEN lower(trim(m.direction)) = 'out' THEN 'sent' END, "
            f"CASE WHEN lower(trim(m.direction)) = 'out' THEN {when} END, "
            "CASE WHEN lower(trim(m.direction)) = 'out' "
            f"THEN CASE WHEN {first} THEN 'opener' ELSE 'reply' END END "
            f'FROM "{ASIDE}".messages m JOIN dialogs d ON d.id = m.dialog_id ORDER BY m.id'
        )
    )
    return result.rowcount
