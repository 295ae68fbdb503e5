"""/dnc, /dnc_add, /dnc_remove end to end: the do-not-contact list read, added to and
taken from by the admin, and what /start then does."""

from salesbot.domain.dialog import DialogStatus
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.peer import Peer
from tests.adapters.admin_bot.conftest import ADMIN, model_answer
from tests.fakes.bot_api_server import ApiCall

OPENER = "Здравствуйте! Я из Запись+. Удобно пару минут?"
REFUSED = "@anna_salon просил(а) больше не писать и в списке «не беспокоить» — диалог не начат."


def _buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.json("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def _press(world, api, call: ApiCall, data: str) -> ApiCall:
    """Press the button with `data` under the bot's message `call`; the edit it made."""
    mark = api.mark()
    await api.press_button(ADMIN, call.result["message_id"], data, text=call.text or "")
    [edit] = await api.wait_replies(ADMIN, 1, since=mark, methods=["editMessageText"])
    assert edit.params["message_id"] == str(call.result["message_id"])
    return edit


async def test_an_added_prospect_is_listed_and_start_refuses_them(world):
    assert await world.admin.reply("/dnc") == (
        "Список «не беспокоить» пуст. Добавить: /dnc_add @username [причина]"
    )

    assert await world.admin.reply("/dnc_add @Anna_Salon просила не писать, грубо") == (
        "@anna_salon в списке «не беспокоить»: ни один аккаунт не начнёт с ним(ней) диалог "
        "и не напишет напоминание. Убрать: /dnc_remove @anna_salon"
    )

    assert await world.admin.reply("/dnc") == (
        "Не беспокоить: 1 (стр. 1/1), сначала новые:\n"
        "@anna_salon — просила не писать, грубо, 2026-01-05 12:00"
    )
    await world.connected_account()
    world.telegram.add_user("anna_salon", 5002)
    assert await world.admin.reply("/start @anna_salon") == REFUSED
    assert await world.dialogs() == []
    assert await world.admin.reply("/dnc_add anna_salon") == (
        "@anna_salon уже в списке «не беспокоить». Весь список: /dnc"
    )


async def test_help_names_the_do_not_contact_commands_in_russian(world):
    text = await world.admin.reply("/help")
    assert "/dnc — список «не беспокоить»" in text
    assert "/dnc_add @username [причина] — больше никогда не писать ему(ей)" in text
    assert "/dnc_remove @username|id — убрать из «не беспокоить»" in text


async def test_adding_a_known_prospect_keeps_their_user_id_and_names_their_open_dialog(world):
    account = await world.seed.account()
    n = await world.seed.dialog(account, "anna_salon", user_id=5002)
    async with world.uow() as uow:
        await uow.peers.put(Peer(account, "anna_salon", 5002, 777))
        await uow.commit()

    answer = await world.admin.reply("/dnc_add @anna_salon")

    assert answer.endswith(f"\nДиалог {n} с @anna_salon ещё открыт — остановить: /stop {n}")
    assert (await world.admin.reply("/dnc")).splitlines()[1] == (
        "@anna_salon (id 5002) — причина не указана, 2026-01-05 12:00"
    )
    # Renamed, they are still known by their user id.
    async with world.uow() as uow:
        assert await uow.do_not_contact.contains(username="anna_new_name", user_id=5002)


async def test_removing_asks_first_cancel_keeps_them_and_confirming_lets_start_write(world, api):
    await world.connected_account()
    world.telegram.add_user("anna_salon", 5002)
    await world.admin.reply("/dnc_add @anna_salon")

    [question] = await world.admin.calls("/dnc_remove @anna_salon")
    assert question.text == (
        "Убрать @anna_salon из списка «не беспокоить»? После этого с ним(ней) снова можно "
        "начать диалог."
    )
    assert _buttons(question) == [
        ("🗑 Убрать", "dnc_remove:anna_salon"),
        ("Отмена", "dnc_keep:anna_salon"),
    ]
    kept = await _press(world, api, question, "dnc_keep:anna_salon")
    assert kept.text == "@anna_salon остаётся в списке «не беспокоить»."
    assert _buttons(kept) == []
    assert await world.admin.reply("/start @anna_salon") == REFUSED

    [question] = await world.admin.calls("/dnc_remove @anna_salon")
    removed = await _press(world, api, question, "dnc_remove:anna_salon")
    assert removed.text == (
        "@anna_salon убран(а) из списка «не беспокоить»: с ним(ней) снова можно начать "
        "диалог (/start)."
    )
    assert await world.admin.reply("/dnc") == (
        "Список «не беспокоить» пуст. Добавить: /dnc_add @username [причина]"
    )
    world.llm.queue(model_answer(OPENER))
    *_, started = await world.admin.send("/start @anna_salon")
    [dialog] = await world.dialogs()
    assert started.startswith(f"Диалог {dialog.id} с @anna_salon начат")

    # The question pressed again once the entry is gone says so.
    again = await _press(world, api, question, "dnc_remove:anna_salon")
    assert again.text == "@anna_salon нет в списке «не беспокоить». Весь список: /dnc"


async def test_an_opt_out_under_another_name_goes_too_and_an_id_only_entry_by_its_id(world, api):
    account = await world.seed.account()
    n = await world.seed.dialog(
        account, "anna_old_name", user_id=5002, status=DialogStatus.OPTED_OUT
    )
    async with world.uow() as uow:
        await uow.peers.put(Peer(account, "anna_salon", 5002, 777))
        await uow.do_not_contact.add(
            DoNotContact("anna_old_name", 5002, "asked to stop: хватит", world.clock.now(), n)
        )
        await uow.do_not_contact.add(DoNotContact(None, 6006, "", world.clock.now()))
        await uow.commit()
    assert (await world.admin.reply("/dnc")).splitlines()[1:] == [
        "id 6006 — причина не указана, 2026-01-05 12:00",
        f"@anna_old_name (id 5002) — asked to stop: хватит, 2026-01-05 12:00, диалог {n}",
    ]

    [question] = await world.admin.calls("/dnc_remove @anna_salon")
    await _press(world, api, question, "dnc_remove:anna_salon")
    [question] = await world.admin.calls("/dnc_remove 6006")
    assert question.text.startswith("Убрать id 6006 из списка")
    removed = await _press(world, api, question, "dnc_remove:6006")

    assert removed.text.startswith("id 6006 убран(а) из списка «не беспокоить»")
    assert (await world.admin.reply("/dnc")).startswith("Список «не беспокоить» пуст.")


async def test_the_list_pages_latest_added_first_with_buttons(world, api):
    for name in ("lead_one", "lead_two", "lead_three", "lead_four"):
        await world.admin.reply(f"/dnc_add @{name} {name}")
        world.clock.advance(minutes=10)

    [first] = await world.admin.calls("/dnc")

    assert first.text == "\n".join(
        [
            "Не беспокоить: 4 (стр. 1/2), сначала новые:",
            "@lead_four — lead_four, 2026-01-05 12:30",
            "@lead_three — lead_three, 2026-01-05 12:20",
            "@lead_two — lead_two, 2026-01-05 12:10",
        ]
    )
    assert _buttons(first) == [("Вперёд ▶", "dnc:2")]
    second = await _press(world, api, first, "dnc:2")
    assert second.text.splitlines() == [
        "Не беспокоить: 4 (стр. 2/2), сначала новые:",
        "@lead_one — lead_one, 2026-01-05 12:00",
    ]
    assert _buttons(second) == [("◀ Назад", "dnc:1")]
    back = await _press(world, api, second, "dnc:1")
    assert back.text == first.text


async def test_wrong_input_is_answered_with_what_was_expected(world):
    assert await world.admin.reply("/dnc_add") == (
        "Не указан username. Нужно: /dnc_add @username [причина], "
        "например: /dnc_add @ivan_petrov просил не писать"
    )
    assert await world.admin.reply("/dnc_add @ab грубил") == (
        "«@ab» не подходит как username: нужно 5–32 символа, а не 2. "
        "Нужно: /dnc_add @username [причина], например: /dnc_add @ivan_petrov просил не писать"
    )
    assert await world.admin.reply("/dnc_remove") == (
        "Не указан username. Нужно: /dnc_remove @username|id, например: /dnc_remove @ivan_petrov"
    )
    assert await world.admin.reply("/dnc_remove @nobody_here") == (
        "@nobody_here нет в списке «не беспокоить». Весь список: /dnc"
    )
    assert await world.admin.reply("/dnc_remove @anna_salon и ещё") == (
        "Лишнее в конце: «и ещё». Нужно: /dnc_remove @username|id"
    )


async def test_english_admins_get_every_do_not_contact_text_in_english(make_world, api):
    world = await make_world(language="en")
    assert await world.admin.reply("/dnc") == (
        "The do-not-contact list is empty. Add someone: /dnc_add @username [reason]"
    )
    assert await world.admin.reply("/dnc_add") == (
        "The username is missing. Expected: /dnc_add @username [reason], "
        "e.g. /dnc_add @ivan_petrov asked not to be written to"
    )
    assert await world.admin.reply("/dnc_add @ab") == (
        "“@ab” is not a valid username: it must be 5-32 characters long, not 2. "
        "Expected: /dnc_add @username [reason], e.g. /dnc_add @ivan_petrov asked not to be "
        "written to"
    )
    assert await world.admin.reply("/dnc_add @anna_salon rude") == (
        "@anna_salon is on the do-not-contact list: no account starts a dialog with them or "
        "follows up. Take them off: /dnc_remove @anna_salon"
    )
    assert await world.admin.reply("/dnc_add @anna_salon") == (
        "@anna_salon is on the do-not-contact list already. The whole list: /dnc"
    )
    assert await world.admin.reply("/dnc") == (
        "Do not contact: 1 (page 1/1), latest added first:\n@anna_salon — rude, 2026-01-05 12:00"
    )
    assert await world.admin.reply("/start @anna_salon") == (
        "@anna_salon asked not to be contacted and is on the do-not-contact list — "
        "no dialog was started."
    )
    assert await world.admin.reply("/dnc_remove @nobody_here") == (
        "@nobody_here is not on the do-not-contact list. The whole list: /dnc"
    )
    assert await world.admin.reply("/dnc_remove @anna_salon now") == (
        "Unexpected text at the end: “now”. Expected: /dnc_remove @username|id"
    )

    [question] = await world.admin.calls("/dnc_remove @anna_salon")
    assert question.text == (
        "Take @anna_salon off the do-not-contact list? Dialogs with them can be started again then."
    )
    assert _buttons(question) == [
        ("🗑 Take off", "dnc_remove:anna_salon"),
        ("Cancel", "dnc_keep:anna_salon"),
    ]
    kept = await _press(world, api, question, "dnc_keep:anna_salon")
    assert kept.text == "@anna_salon stays on the do-not-contact list."
    removed = await _press(world, api, question, "dnc_remove:anna_salon")
    assert removed.text == (
        "@anna_salon is off the do-not-contact list: a dialog can be started again (/start)."
    )

    text = await world.admin.reply("/help")
    assert "/dnc — the do-not-contact list" in text
    assert "/dnc_add @username [reason] — never write to them again" in text
    assert "/dnc_remove @username|id — take off the do-not-contact list" in text
    [menu] = [c for c in api.calls if c.method == "setMyCommands"]
    assert {"command": "dnc_remove", "description": "take off the do-not-contact list"} in (
        menu.json("commands")
    )
