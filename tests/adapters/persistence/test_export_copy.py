"""PostgreSQL sends the export's rows by COPY, parsed by hand: the transcripts hold every
message as it was stored, byte for byte, whatever the messages hold and whatever DateStyle
the server's sessions use."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.export_files import TextFileSink, TranscriptRenderer, ZipPartsSink
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.persistence.engine import async_url
from salesbot.adapters.persistence.queries import SqlExportQuery
from salesbot.application.admin.export_dialogs import Exports
from salesbot.domain.message import Delivery, OutKind
from tests.contracts.seeding import add_account, add_dialog, at, incoming, outgoing

EXPORTED_AT = datetime(2026, 1, 6, 12, 0, tzinfo=timezone.utc)
AWKWARD = [
    "line one\nline two\r\nline three",
    "tab\there, a backslash \\ and \\N and \\t as typed",
    "emoji 😀👍🏽, кириллица, 中文",
    "\\",
    "\b\f\v control \x01 characters",
    "  spaces around  ",
    "",
]


async def _seed(uow_factory) -> list[int]:
    async with uow_factory() as uow:
        account = await add_account(uow)
        awkward = await add_dialog(
            uow, account.id, "awkward_one", target_user_id=42, notes="a\tb"
        )
        silent = await add_dialog(uow, account.id, "silent")
        every = await add_dialog(uow, account.id, "every_kind")
        for n, content in enumerate(AWKWARD):
            when = at(n) + timedelta(microseconds=[0, 500_000, 123_456, 1, 10][n % 5])
            await uow.messages.add(incoming(awkward, content, 500 + n, when))
        combinations = [(kind, delivery) for kind in OutKind for delivery in Delivery]
        for n, (kind, delivery) in enumerate(combinations):
            message = outgoing(every, f"{kind.value} {delivery.value}\\n", kind=kind)
            message.timestamp = at(30 + 7 * n) + timedelta(seconds=n, microseconds=250_000 * n)
            message.delivery = delivery
            message.sent_at = [None, message.timestamp, message.timestamp + timedelta(hours=2)][
                n % 3
            ]
            await uow.messages.add(message)
        await uow.messages.add(incoming(every, "back\\slash", 900, at(31)))
        await uow.commit()
    return [awkward.id, silent.id, every.id]


async def _transcripts(engine, dialog_ids: list[int], directory: Path) -> dict[str, bytes]:
    """Every member of /export_all's zip, and /export of each dialog."""
    renderer = TranscriptRenderer(Formatter(Texts("en"), ZoneInfo("Asia/Kolkata")), EXPORTED_AT)
    exports = Exports(SqlExportQuery(engine), batch_size=3, dialog_page=2)  # pages, COPYs
    directory.mkdir()
    sink = ZipPartsSink(directory, renderer)
    try:
        await exports.export_all(sink)
    finally:
        parts = sink.close()
    files: dict[str, bytes] = {}
    for part in parts:
        with zipfile.ZipFile(part) as archive:
            files.update({name: archive.read(name) for name in archive.namelist()})
    for dialog_id in dialog_ids:
        buffer = io.BytesIO()
        await exports.export_dialog(dialog_id, TextFileSink(buffer, renderer))
        files[f"/export {dialog_id}"] = buffer.getvalue()
    return files


async def test_transcripts_hold_every_message_byte_for_byte_whatever_the_date_style(
    engine, uow_factory, database_url, session_cipher, tmp_path
):
    dialog_ids = await _seed(uow_factory)
    other_style = create_async_engine(
        async_url(database_url), connect_args={"server_settings": {"DateStyle": "SQL, DMY"}}
    )
    try:
        by_copy = await _transcripts(engine, dialog_ids, tmp_path / "iso")
        other = await _transcripts(
            other_style, dialog_ids, tmp_path / "sql_dmy"
        )
    finally:
        await other_style.dispose()

    assert by_copy == other
    awkward = by_copy[f"/export {dialog_ids[0]}"].decode("utf-8")
    assert awkward.endswith(
        "[2026-01-05 14:30] @awkward_one: line one\nline two\r\nline three\n"
        "[2026-01-05 14:31] @awkward_one: tab\there, a backslash \\ and \\N and \\t as typed\n"
        "[2026-01-05 14:32] @awkward_one: emoji 😀👍🏽, кириллица, 中文\n"
        "[2026-01-05 14:33] @awkward_one: \\\n"
        "[2026-01-05 14:34] @awkward_one: \b\f\v control \x01 characters\n"
        "[2026-01-05 14:35] @awkward_one:   spaces around  \n"
        "[2026-01-05 14:36] @awkward_one: \n"
    )
    every = by_copy[f"/export {dialog_ids[2]}"].decode("utf-8")
    assert "(cancelled)" not in every and "cancelled" not in every.split("\n\n", 1)[1]
    assert "[2026-01-05 15:01] @every_kind: back\\slash\n" in every
    # Every kind in every delivery but the two that never reached anyone (cancelled,
    # discarded), and the prospect's one message.
    assert every.count("\n[") == len(OutKind) * (len(Delivery) - 2) + 1
    assert f"dialog_{dialog_ids[1]:05d}_silent.txt" in by_copy


class _DiskFull(Exception):
    pass


class _FailingSink:
    def begin(self, header) -> None:
        pass

    def messages(self, messages) -> None:
        raise _DiskFull

    def end(self) -> None:
        pass


async def test_a_failing_sink_stops_the_export_with_its_own_error(engine, uow_factory):
    dialog_ids = await _seed(uow_factory)

    with pytest.raises(_DiskFull):
        await Exports(SqlExportQuery(engine), batch_size=2).export_all(_FailingSink())
    with pytest.raises(_DiskFull):
        exports = Exports(SqlExportQuery(engine), batch_size=2)
        await exports.export_dialog(dialog_ids[0], _FailingSink())

    async with uow_factory() as uow:  # the pooled connection is fine
        assert (await uow.dialogs.get(dialog_ids[0])) is not None
