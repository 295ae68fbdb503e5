"""A NUL (U+0000) in what the admin types is removed before it is stored: PostgreSQL
refuses it, and the admin would get "Internal error" with the text lost."""

from salesbot.domain.message import OutKind
from tests.adapters.admin_bot.conftest import model_answer


async def test_say_with_a_nul_is_queued_without_it(world):
    account = await world.seed.account()
    n = await world.seed.dialog(account, "ivan_petrov")

    answer = await world.admin.reply(f"/say {n} Добрый\x00 день!")

    assert answer.startswith("Сообщение для @ivan_petrov")
    manual = [m.content for m in await world.messages() if m.kind is OutKind.MANUAL]
    assert manual == ["Добрый день!"]


async def test_start_context_with_a_nul_is_kept_without_it(world):
    await world.connected_account()
    world.telegram.add_user("ivan_petrov", 5001)
    world.llm.queue(model_answer("Здравствуйте! Удобно пару минут?"))

    _writing, answer = await world.admin.send("/start @ivan_petrov владелец\x00 салона")

    assert answer.startswith("Диалог ")
    [dialog] = await world.dialogs()
    assert dialog.notes == "владелец салона"


async def test_set_prompt_with_a_nul_is_saved_without_it(world):
    answer = await world.admin.reply("/set_prompt Новый\x00 сценарий.")

    assert answer.startswith("Сценарий продаж заменён")
    assert await world.use_cases.script.get() == "Новый сценарий."
