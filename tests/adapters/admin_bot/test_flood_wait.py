"""A long FloodWait, as the operator lives it: told once when it begins, shown with its end
in /list_accounts, and still kept (and not told again) by a restarted process."""

from __future__ import annotations

import asyncio

import pytest

from salesbot.application.errors import RateLimited
from tests.adapters.admin_bot.conftest import ADMIN
from tests.fakes import FakeClock

PHONE = "+79001234567"
TOLD = {
    "ru": f"⏳ Telegram велел аккаунту {PHONE} (#{{id}}) подождать (FloodWait) до 2026-01-05 "
    "15:00. До тех пор он ничего не отправляет, его сообщения уйдут после.",
    "en": f"⏳ Telegram made account {PHONE} (#{{id}}) wait (FloodWait) until 2026-01-05 15:00. "
    "It sends nothing until then; its messages go out after.",
}
LISTED = {
    "ru": f"#{{id}} {PHONE} — активен, FloodWait до 2026-01-05 15:00\n",
    "en": f"#{{id}} {PHONE} — active, FloodWait until 2026-01-05 15:00\n",
}


async def _running(world):
    """The world's pool running its accounts and its dispatcher (a process's)."""
    pool = world.container.pool()
    await pool.start_all()
    return pool, world.container.dispatcher()


def _notices(api, mark: int) -> list[str]:
    return [
        c.text or ""
        for c in api.since(mark, ["sendMessage"])
        if c.chat_id == ADMIN and (c.text or "").startswith("⏳")
    ]


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_a_long_flood_wait_is_told_once_listed_and_kept_across_a_restart(
    make_world, api, language
):
    world = await make_world(language=language, notifier_clock=FakeClock())
    account = await world.seed.account(PHONE)
    dialog = await world.seed.dialog(account, "lead_one", user_id=501)
    await world.seed.queued(dialog, account, "Hello!")
    other = await world.seed.dialog(account, "lead_two", user_id=502)
    await world.seed.queued(other, account, "Hi there!")
    world.telegram.add_user("lead_one", 501)
    world.telegram.add_user("lead_two", 502)
    _, dispatcher = await _running(world)
    world.telegram.fail_next(account, RateLimited(3 * 3600, "send"), on="send")
    mark = api.mark()

    await dispatcher.dispatch_once(account)  # 09:00 UTC: three hours' wait, until 15:00 in Moscow
    await dispatcher.dispatch_once(account)  # the other dialog waits too
    await api.wait_replies(ADMIN, 1, since=mark)
    [listed] = await world.admin.send("/list_accounts")

    assert _notices(api, mark) == [TOLD[language].format(id=account)]
    assert LISTED[language].format(id=account) in listed
    assert world.telegram.sent == []

    # The process restarts an hour into the wait, on the same database.
    await world.bot.stop()
    world.clock.advance(hours=1)
    restarted = await make_world(language=language, notifier_clock=FakeClock(), clock=world.clock)
    restarted.telegram.add_user("lead_one", 501)
    restarted.telegram.add_user("lead_two", 502)
    _, dispatcher = await _running(restarted)
    mark = api.mark()

    assert not await dispatcher.dispatch_once(account)
    [listed] = await restarted.admin.send("/list_accounts")
    await asyncio.sleep(0)
    assert restarted.telegram.sent == []
    assert LISTED[language].format(id=account) in listed
    assert _notices(api, mark) == [], "told once per wait"

    world.clock.advance(hours=2)
    assert await dispatcher.dispatch_once(account)
    assert len(restarted.telegram.sent) == 1
    [listed] = await restarted.admin.send("/list_accounts")
    assert "FloodWait" not in listed
