"""/export N arrives as a UTF-8 .txt document, /export_all as .zip documents, both checked
by what is inside them."""

import base64
import io
import random
import zipfile

import pytest

from salesbot.adapters.admin_bot.progress import ProgressPace
from salesbot.domain.dialog import DialogStatus, Stage
from salesbot.domain.message import OutKind
from tests.adapters.admin_bot.conftest import Chat

EXPORTED_AT = "Экспорт: 2026-01-05 12:00"


async def _two_dialogs(world):
    account = await world.seed.account("+79001234567")
    first = await world.seed.dialog(
        account,
        "ivan_petrov",
        user_id=5001,
        stage=Stage.CLOSE,
        warmth=80,
        minutes_ago=120,
        notes="владелец салона",
        summary="Согласен на демо во вторник",
    )
    await world.seed.sent(first, account, "Здравствуйте!", kind=OutKind.OPENER, minutes_ago=120)
    await world.seed.received(first, account, "Добрый день", minutes_ago=100)
    await world.seed.sent(first, account, "Созвонимся?", minutes_ago=90)
    second = await world.seed.dialog(
        account, "anna_salon", status=DialogStatus.OPTED_OUT, minutes_ago=60
    )
    await world.seed.sent(second, account, "Привет!", kind=OutKind.OPENER, minutes_ago=60)
    await world.seed.received(second, account, "Не пишите мне", minutes_ago=59)
    return account, first, second


async def test_export_sends_the_dialog_as_a_utf8_text_document(world):
    account, first, _ = await _two_dialogs(world)

    [call] = await world.admin.calls(f"/export {first}")

    assert call.method == "sendDocument"
    assert call.params["caption"] == f"Диалог {first} с @ivan_petrov"
    assert call.document.filename == f"dialog_{first:05d}_ivan_petrov.txt"
    assert call.document.content.decode("utf-8") == (
        f"Диалог {first}\n"
        "Клиент: @ivan_petrov (id 5001)\n"
        f"Аккаунт: +79001234567 (#{account})\n"
        "Статус: активен\n"
        "Этап: закрытие, теплота 80/100\n"
        "Начат: 2026-01-05 10:00\n"
        "Последняя активность: 2026-01-05 10:00\n"
        "Контекст для ИИ: владелец салона\n"
        "Итог: Согласен на демо во вторник\n"
        f"{EXPORTED_AT}\n"
        "\n"
        "[2026-01-05 10:00] мы: Здравствуйте!\n"
        "[2026-01-05 10:20] @ivan_petrov: Добрый день\n"
        "[2026-01-05 10:30] мы: Созвонимся?\n"
    )


async def test_export_all_sends_every_dialog_in_one_zip(world):
    _, first, second = await _two_dialogs(world)
    silent = await world.seed.dialog(await world.seed.account("+79007654321"), "no_messages")

    [status, call] = await world.admin.calls("/export_all")

    assert status.method == "sendMessage"  # the status message, edited as it goes
    assert call.method == "sendDocument"
    assert call.params["caption"] == "Все диалоги: 3. Часть 1 из 1."
    assert call.document.filename == "salesbot_dialogs_20260105_1200.zip"
    archive = zipfile.ZipFile(io.BytesIO(call.document.content))
    assert archive.namelist() == [
        f"dialog_{first:05d}_ivan_petrov.txt",
        f"dialog_{second:05d}_anna_salon.txt",
        f"dialog_{silent:05d}_no_messages.txt",
    ]
    one, two, three = (archive.read(name).decode("utf-8") for name in archive.namelist())
    assert one.endswith("[2026-01-05 10:30] мы: Созвонимся?\n")
    assert "Статус: закрыт: клиент отписался\n" in two
    assert two.endswith(
        "[2026-01-05 11:00] мы: Привет!\n[2026-01-05 11:01] @anna_salon: Не пишите мне\n"
    )
    assert three.endswith(f"{EXPORTED_AT}\n\nСообщений пока нет.\n")


async def test_a_large_export_comes_as_several_zips_each_within_the_upload_limit(make_world):
    limit = 400 * 1024
    world = await make_world(export_part_limit=limit)
    account = await world.seed.account()
    expected = {}
    noise = random.Random(6)
    for d in range(6):
        n = await world.seed.dialog(account, f"lead_{d}")
        # Hardly compressible: base64 of random bytes.
        lines = [base64.b64encode(noise.randbytes(96)).decode() for _ in range(400)]
        await world.seed.received_many(n, account, lines)
        expected[n] = lines

    calls = [c for c in await world.admin.calls("/export_all") if c.method == "sendDocument"]

    assert len(calls) >= 2, "the export should not fit one part"
    assert [c.params["caption"] for c in calls] == [
        f"Все диалоги: 6. Часть {i} из {len(calls)}." for i in range(1, len(calls) + 1)
    ]
    assert calls[0].document.filename == "salesbot_dialogs_20260105_1200_part1.zip"
    found: dict[int, list[str]] = {}
    for call in calls:
        assert len(call.document.content) <= limit
        archive = zipfile.ZipFile(io.BytesIO(call.document.content))
        for name in archive.namelist():
            n = int(name.split("_")[1])
            text = archive.read(name).decode("utf-8")
            found.setdefault(n, []).extend(
                line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("[")
            )
    assert found == expected


async def test_export_all_with_no_dialogs_says_so(world):
    assert await world.admin.reply("/export_all") == "Диалогов пока нет — экспортировать нечего."


async def test_a_slow_export_all_does_not_hold_up_the_next_command(world):
    await _two_dialogs(world)
    release = world.api.hold("sendDocument")  # the upload of the archive takes its time
    mark = world.api.mark()
    await world.api.send_message(world.admin.user_id, "/export_all")
    await world.api.wait_for(lambda: "sendDocument" in world.api.held)

    try:
        # Answered while the upload still hangs (a chat that does not wait for exports).
        listing = await Chat(world.api, world.admin.user_id).reply("/list")
    finally:
        release.set()

    assert "@ivan_petrov" in listing
    [upload] = await world.api.wait_replies(
        world.admin.user_id, 1, since=mark, methods=("sendDocument",)
    )
    assert upload.document.filename.endswith(".zip")


async def test_a_lost_lead_is_exported_and_viewed_with_its_outcome(world):
    account = await world.seed.account("+79001234567")
    n = await world.seed.dialog(account, "ivan_petrov", user_id=5001)
    await world.seed.sent(n, account, "Здравствуйте!", kind=OutKind.OPENER)
    await world.admin.reply(f"/close {n} not_qualified решает головной офис")

    [call] = await world.admin.calls(f"/export {n}")
    viewed = await world.admin.reply(f"/view {n}")

    assert "Статус: завершён — клиент не подходит\n" in call.document.content.decode("utf-8")
    assert "Статус: завершён — клиент не подходит (operator: решает головной офис)" in viewed


PROGRESS = {
    "ru": (
        "⏳ Экспорт: готово диалогов {done} из {total}…",
        "⏳ Экспорт: диалогов {dialogs}, отправлено частей {sent} из {parts}…",
        "✅ Экспорт готов: диалогов {dialogs}, частей {parts}.",
    ),
    "en": (
        "⏳ Exporting: {done} of {total} dialogs done…",
        "⏳ Exporting: {dialogs} dialogs, {sent} of {parts} parts sent…",
        "✅ Export done: {dialogs} dialogs in {parts} parts.",
    ),
}


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_export_all_shows_its_progress_in_one_status_message_it_edits(
    make_world, language
):
    """One sendMessage at the start, then edits of that message only: dialogs done of the
    total, the parts sent, and last that it is done; in the admin's language."""
    limit = 400 * 1024
    pace = ProgressPace(every=2, every_seconds=3600, min_seconds=0)
    world = await make_world(language=language, export_part_limit=limit, export_pace=pace)
    account = await world.seed.account()
    noise = random.Random(7)
    for d in range(5):
        n = await world.seed.dialog(account, f"lead_{d}")
        lines = [base64.b64encode(noise.randbytes(96)).decode() for _ in range(400)]
        await world.seed.received_many(n, account, lines)
    progress, sending, done = PROGRESS[language]
    mark = world.api.mark()

    await world.api.send_message(world.admin.user_id, "/export_all")
    await world.api.wait_for(
        lambda: any(
            (c.text or "").startswith("✅")
            for c in world.api.since(mark, ("editMessageText",))
        )
    )

    calls = [
        c
        for c in world.api.since(mark, ("sendMessage", "editMessageText", "sendDocument"))
        if c.chat_id == world.admin.user_id
    ]
    documents = [c for c in calls if c.method == "sendDocument"]
    parts = len(documents)
    assert parts >= 2
    start, *edits = [c for c in calls if c.method != "sendDocument"]
    assert start.method == "sendMessage"
    assert start.text == progress.format(done=0, total=5)
    assert {c.method for c in edits} == {"editMessageText"}
    assert {int(c.params["message_id"]) for c in edits} == {start.result["message_id"]}
    texts = [c.text for c in edits]
    assert texts[-1] == done.format(dialogs=5, parts=parts)
    counted = [t for t in texts if t in {progress.format(done=d, total=5) for d in range(6)}]
    assert counted and counted == sorted(counted)  # dialogs done, as they got done
    assert texts[-1 - parts : -1] == [
        sending.format(dialogs=5, sent=sent, parts=parts) for sent in range(1, parts + 1)
    ]
    assert len(texts) == len(counted) + parts + 1  # nothing else, nothing twice
