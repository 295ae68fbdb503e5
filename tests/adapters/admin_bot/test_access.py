"""Only ADMIN_TELEGRAM_ID is served: anyone else gets no answer at all (not one Bot API
call), and the attempt is logged with their id."""

import logging

from tests.adapters.admin_bot.conftest import ADMIN, SECOND_ADMIN, STRANGER, Chat


async def test_a_strangers_commands_get_no_http_call_back_at_all(world, api, caplog):
    caplog.set_level(logging.WARNING, logger="salesbot.adapters.admin_bot")
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov")
    mark = api.mark()

    await api.send_message(STRANGER, "/list", username="curious_guy")
    await api.send_message(STRANGER, f"/stop {n}")
    await api.send_message(STRANGER, "hello?")
    await api.send_document(STRANGER, "script.txt", b"x", caption="/set_prompt")
    await api.press_button(STRANGER, 1, "list:2")
    # The admin's message after them is answered: the stranger's were handled (dropped).
    [help_text] = await world.admin.send("/help")

    assert help_text.startswith("Команды:")
    answered = [c for c in api.since(mark) if c.method != "getUpdates"]
    assert {c.chat_id for c in answered} == {ADMIN}
    assert {c.method for c in answered} == {"sendMessage"}
    assert (await world.dialog(n)).is_open
    ignored = [r.getMessage() for r in caplog.records if "non-admin" in r.getMessage()]
    assert len(ignored) == 5
    assert all(f"id={STRANGER}" in line for line in ignored)
    assert "username=@curious_guy" in ignored[0] and "'/list'" in ignored[0]


async def test_every_admin_of_the_comma_list_is_served(world, api):
    second = Chat(api, SECOND_ADMIN)
    assert (await second.send("/list")) == ["Открытых диалогов нет. Начать: /start @username"]


GROUP = -1001234567890


async def test_in_a_group_with_the_admin_the_bot_says_nothing_and_leaves(world, api, caplog):
    """Measured: added to a group, the bot posted /view's transcript (with the operator's
    notes), /list_accounts, /export's file and a whole /add_account login there."""
    caplog.set_level(logging.WARNING, logger="salesbot.adapters.admin_bot")
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov", notes="owner of three salons")
    mark = api.mark()

    for text in (f"/view {n}", "/list_accounts", f"/export {n}", "/add_account +79001234567"):
        await api.deliver(api.group_message_update(ADMIN, text, chat_id=GROUP))
    await api.deliver(api.group_message_update(ADMIN, "/list", chat_id=-100777, kind="channel"))
    # The admin's private message after them is answered: the group's were handled (dropped).
    [help_text] = await world.admin.send("/help")

    assert help_text.startswith("Команды:")
    answered = [c for c in api.since(mark) if c.method not in ("getUpdates", "leaveChat")]
    assert {c.chat_id for c in answered} == {ADMIN}  # nothing of a dialog in the group
    assert all("owner of three salons" not in (c.text or "") for c in answered)
    assert set(api.left) == {GROUP, -100777}
    assert any("private chats only" in r.getMessage() for r in caplog.records)
    # and in private the same commands still work
    assert (await world.admin.reply(f"/view {n}")).startswith(f"Диалог {n}")
