"""Transcripts of one dialog or all, on PostgreSQL: the export reads in SQL (COPY)."""

from collections.abc import Sequence

import pytest

from salesbot.adapters.persistence.queries import SqlExportQuery
from salesbot.application.admin.export_dialogs import Exports
from salesbot.application.admin.queries import ExportRow, TranscriptHeader
from salesbot.application.errors import UnknownDialog
from salesbot.domain.message import OutKind
from tests.application.admin_seed import Seed
from tests.fakes import FakeClock


class RecordingSink:
    def __init__(self) -> None:
        self.dialogs: list[tuple[TranscriptHeader, list[str]]] = []
        self.open = False

    def begin(self, header: TranscriptHeader) -> None:
        assert not self.open, "begin() before the previous dialog's end()"
        self.open = True
        self.dialogs.append((header, []))

    def messages(self, messages: Sequence[ExportRow]) -> None:
        assert self.open and messages
        self.dialogs[-1][1].extend(message.content for message in messages)

    def end(self) -> None:
        assert self.open
        self.open = False


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def seed(uow_factory, clock) -> Seed:
    return Seed(uow_factory, clock)


async def test_one_dialog_is_exported_with_its_header_and_messages_in_order(engine, seed):
    account = await seed.account("+79001234567")
    dialog = await seed.dialog(account, "ivan_petrov", user_id=555, notes="met at expo")
    await seed.sent(dialog, account, "Hello", kind=OutKind.OPENER, minutes_ago=3)
    await seed.received(dialog, account, "Hi", minutes_ago=2)
    sink = RecordingSink()

    header = await Exports(SqlExportQuery(engine)).export_dialog(dialog, sink)

    assert (header.username, header.user_id, header.account_phone, header.notes) == (
        "ivan_petrov",
        555,
        "+79001234567",
        "met at expo",
    )
    assert sink.dialogs == [(header, ["Hello", "Hi"])]
    with pytest.raises(UnknownDialog):
        await Exports(SqlExportQuery(engine)).export_dialog(77, RecordingSink())


async def test_every_dialog_is_exported_once_in_dialog_order_even_without_messages(engine, seed):
    account = await seed.account()
    first = await seed.dialog(account, "lead_one")
    silent = await seed.dialog(account, "lead_silent")
    third = await seed.dialog(account, "lead_three")
    await seed.sent(third, account, "Three", kind=OutKind.OPENER, minutes_ago=5)
    await seed.sent(first, account, "One", kind=OutKind.OPENER, minutes_ago=4)
    await seed.received(first, account, "One back", minutes_ago=1)
    sink = RecordingSink()

    count = await Exports(SqlExportQuery(engine), batch_size=2).export_all(sink)

    assert count == 3 and not sink.open
    assert [(h.dialog_id, texts) for h, texts in sink.dialogs] == [
        (first, ["One", "One back"]),
        (silent, []),
        (third, ["Three"]),
    ]


async def test_exporting_nothing_writes_nothing(engine):
    sink = RecordingSink()
    assert await Exports(SqlExportQuery(engine)).export_all(sink) == 0
    assert sink.dialogs == []


async def test_every_dialog_is_exported_across_pages_with_its_own_messages(engine, seed):
    account = await seed.account()
    dialogs = [await seed.dialog(account, f"lead_{n}") for n in range(7)]
    talking = dialogs[1::2]  # pages of two: a silent dialog starts every page
    for n, dialog in enumerate(talking):
        await seed.sent(dialog, account, f"{n}: hello", kind=OutKind.OPENER, minutes_ago=9)
        await seed.received(dialog, account, f"{n}: hi", minutes_ago=8)
        await seed.sent(dialog, account, f"{n}: bye", minutes_ago=7)
    sink = RecordingSink()

    exports = Exports(SqlExportQuery(engine), batch_size=4, dialog_page=2)
    count = await exports.export_all(sink)

    assert count == 7 and not sink.open
    expected = {d: [] for d in dialogs}
    for n, dialog in enumerate(talking):
        expected[dialog] = [f"{n}: hello", f"{n}: hi", f"{n}: bye"]
    assert [(h.dialog_id, texts) for h, texts in sink.dialogs] == list(expected.items())


class RecordingProgress:
    def __init__(self, sink: RecordingSink) -> None:
        self.sink = sink
        self.told: list[tuple[int, int]] = []

    async def dialogs_done(self, done: int, total: int) -> None:
        ended = len(self.sink.dialogs) - (1 if self.sink.open else 0)
        assert done == ended  # only dialogs written to their end count
        self.told.append((done, total))


async def test_exporting_every_dialog_tells_how_many_of_the_total_are_done(engine, seed):
    account = await seed.account()
    dialogs = [await seed.dialog(account, f"lead_{n}") for n in range(5)]
    for n, dialog in enumerate(dialogs):
        for line in range(3):
            await seed.received(dialog, account, f"{n}.{line}", minutes_ago=9 - line)
    sink = RecordingSink()
    progress = RecordingProgress(sink)
    exports = Exports(SqlExportQuery(engine), batch_size=4, dialog_page=2)

    assert await exports.count() == 5
    await exports.export_all(sink, progress)

    assert progress.told[-1] == (5, 5)
    assert len(progress.told) > 3  # after every batch, not once at the end
    assert [done for done, _ in progress.told] == sorted(done for done, _ in progress.told)
    assert {total for _, total in progress.told} == {5}
