"""The operator's new sales script is what the very next reply is written and checked with,
however much of the old one was remembered to save work per message."""


from tests.application.conversation_support import answer

BOOTS = (
    "# Sales script: Bootshop\n"
    "You write for Bootshop, a workshop that resoles and repairs leather boots within three "
    "days and collects them from the customer's door for free. Goal: book a pick-up day."
)
# Twenty-two words in a row from BOOTS: a reply repeating them leaks the instructions.
BOOTS_QUOTE = (
    "a workshop that resoles and repairs leather boots within three days and collects them "
    "from the customer's door for free. Goal: book a pick-up day"
)


async def test_a_script_set_by_the_operator_writes_and_checks_the_next_reply(world):
    dialog_id = await world.start()
    world.llm.queue(answer("Сколько у вас мастеров?"))
    await world.write("Здравствуйте")
    await world.clock.advance(20)
    await world.incoming.drain()
    await world.deliver_pending()
    assert "Zapis+" in world.llm.requests[-1].system

    await world.conversation.script.set(BOOTS)
    world.llm.queue(answer(f"Конечно: {BOOTS_QUOTE}."), answer("Когда вам удобно отдать пару?"))
    await world.write("А чем вы вообще занимаетесь?")
    await world.clock.advance(20)
    await world.incoming.drain()

    first_try, second_try = world.llm.requests[-2:]
    assert "Bootshop" in first_try.system
    assert "Zapis+" not in first_try.system
    # Quoting the new script is caught as a leak: the reply is asked for again.
    assert "Your previous answer" in second_try.system
    assert world.pending(dialog_id) == ["Когда вам удобно отдать пару?"]


async def test_a_script_reset_to_the_file_is_used_again(world):
    await world.conversation.script.set(BOOTS)
    await world.conversation.script.set("")
    await world.start()
    assert "Zapis+" in world.llm.requests[-1].system
    assert "Bootshop" not in world.llm.requests[-1].system
