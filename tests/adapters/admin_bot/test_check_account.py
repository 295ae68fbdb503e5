"""/check_account asks the stand-in @SpamBot from the account and says what it answered,
in plain words, in both languages; it changes nothing."""

from __future__ import annotations

import pytest

PHONE = "+79001234567"
FREE = "Good news, no limits are currently applied to your account. You’re free as a bird!"
FREE_RU = "Ваш аккаунт свободен от каких-либо ограничений."
LIMITED = (
    "I’m afraid some Telegram users found your messages annoying and forwarded them to our "
    "team of moderators for inspection.\n\nYour account will be automatically released on "
    "25 Dec 2026, 14:00 UTC. Please note that if you repeat what got you limited and users "
    "report you again, the limitations will last longer next time."
)
LIMITED_RU = (
    "Ваш аккаунт временно ограничен.\n\nОграничения будут автоматически сняты 25 декабря "
    "2026, 14:00 (по московскому времени)."
)
ODD = "Sorry, something went wrong. Please try again later."

EXPECTED = {
    "ru": {
        "free": f"✅ {PHONE}: по словам @SpamBot, аккаунт свободен — ограничений нет.",
        "limited": f"⛔ {PHONE}: по словам @SpamBot, аккаунт ограничен до 2026-12-25 17:00.",
        "limited_moscow": f"⛔ {PHONE}: по словам @SpamBot, аккаунт ограничен до 2026-12-25 14:00.",
        "odd": f"❓ {PHONE}: не удалось понять ответ @SpamBot:\n{ODD}",
        "unknown": "Аккаунта +79990000000 нет. Все аккаунты: /list_accounts",
        "not_connected": f"Аккаунт {PHONE} сейчас не подключён здесь — спросить @SpamBot не через "
        "что. Состояние: /list_accounts",
        "silent": f"Не удалось спросить @SpamBot с аккаунта {PHONE} (@spambot did not answer "
        "within 15 s). Попробуйте позже.",
    },
    "en": {
        "free": f"✅ {PHONE}: @SpamBot says the account is free — no limits.",
        "limited": f"⛔ {PHONE}: @SpamBot says the account is limited until 2026-12-25 17:00.",
        "limited_moscow": f"⛔ {PHONE}: @SpamBot says the account is limited until 2026-12-25 "
        "14:00.",
        "odd": f"❓ {PHONE}: couldn't tell what @SpamBot means. Its answer:\n{ODD}",
        "unknown": "There is no account +79990000000. Every account: /list_accounts",
        "not_connected": f"Account {PHONE} is not connected here now, so @SpamBot cannot be "
        "asked from it. Status: /list_accounts",
        "silent": f"Could not ask @SpamBot from account {PHONE} (@spambot did not answer "
        "within 15 s). Try again later.",
    },
}


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_check_account_reads_spambots_answer_in_plain_words(make_world, language):
    world = await make_world(language=language)
    expected = EXPECTED[language]
    account = await world.connected_account(PHONE)
    before = await world.account(account)

    for answer, key in ((FREE, "free"), (FREE_RU, "free"), (LIMITED, "limited"), (ODD, "odd")):
        world.telegram.spam_bot_answers[account] = answer
        assert await world.admin.reply(f"/check_account {PHONE}") == expected[key]
    # SpamBot's Russian names Moscow time: 14:00 there is 14:00 in the admin's Moscow.
    world.telegram.spam_bot_answers[account] = LIMITED_RU
    assert await world.admin.reply("/check_account +7 900 123 45 67") == expected["limited_moscow"]

    assert world.telegram.spam_bot_asked == [account] * 5
    assert await world.account(account) == before, "read-only"


@pytest.mark.parametrize("language", ["ru", "en"])
async def test_check_account_names_what_stands_in_the_way(make_world, language):
    world = await make_world(language=language)
    expected = EXPECTED[language]
    account = await world.connected_account(PHONE)

    assert await world.admin.reply("/check_account +79990000000") == expected["unknown"]
    assert await world.admin.reply(f"/check_account {PHONE}") == expected["silent"]
    await world.telegram.disconnect(account)
    assert await world.admin.reply(f"/check_account {PHONE}") == expected["not_connected"]
    [usage] = await world.admin.send("/check_account")
    assert "/check_account <" in usage
