"""The prompt the model sees: script, rules, state, notes, and a history that fits."""

from datetime import datetime, timedelta, timezone

from salesbot.application.conversation.prompt import (
    H_HONESTY,
    FollowUpInfo,
    Task,
    build_prompt,
    turn_tokens,
)
from salesbot.domain.dialog import Dialog, Stage
from salesbot.domain.message import Delivery, Message, OutKind

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
SCRIPT = "# Script\nSell Zapis+ to salons. Goal: a 15-minute demo."


def dialog(**fields) -> Dialog:
    return Dialog(account_id=1, target_username="salon_owner", id=7, **fields)


def conversation(count: int, *, length: int = 120) -> list[Message]:
    """Our opener, then the two sides taking turns; `count` messages in all."""
    messages = []
    for i in range(count):
        when = T0 + timedelta(minutes=i)
        if i % 2 == 0:
            text = f"OPENER {i}" if i == 0 else f"ours {i} " + "о" * length
            m = Message.outgoing(7, 1, text, when, OutKind.OPENER if i == 0 else OutKind.REPLY)
            m.delivery = Delivery.SENT
        else:
            m = Message.incoming(7, 1, f"theirs {i} " + "т" * length, when, 100 + i)
        m.id = i + 1
        messages.append(m)
    return messages


def test_a_500_message_dialog_is_windowed_under_the_budget_keeping_opener_and_latest():
    history = conversation(500)
    prompt = build_prompt(SCRIPT, dialog(), history, Task.REPLY, token_budget=3000)

    assert prompt.tokens <= 3000
    assert sum(turn_tokens(t) for t in prompt.turns) <= 3000
    assert prompt.turns[2].role == "assistant" and prompt.turns[2].content == "OPENER 0"
    assert prompt.turns[-2].role == "user" and prompt.turns[-2].content.startswith("theirs 499")
    assert prompt.turns[-3].content.startswith("ours 498")
    assert prompt.omitted_messages > 400
    assert "earlier messages of this conversation are not shown" in prompt.system


def test_the_opener_is_kept_when_only_the_newest_messages_were_read():
    history = conversation(500)
    prompt = build_prompt(
        SCRIPT, dialog(), history[-100:], Task.REPLY, token_budget=3000, opener=history[0]
    )
    assert prompt.turns[2].content == "OPENER 0"
    assert prompt.tokens <= 3000
    assert "not shown" in prompt.system


def test_a_short_dialog_is_shown_whole_and_in_order():
    history = conversation(5)
    prompt = build_prompt(SCRIPT, dialog(), history, Task.REPLY, token_budget=6000)
    assert [t.role for t in prompt.turns] == [
        "system",
        "system",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "system",
    ]
    assert prompt.omitted_messages == 0
    assert "not shown" not in prompt.system


def test_a_huge_latest_message_is_shortened_not_dropped():
    history = conversation(3)
    history[-1].content = "огромное сообщение " * 5000
    history[-1].direction = history[1].direction
    history[-1].delivery = None
    prompt = build_prompt(SCRIPT, dialog(), history, Task.REPLY, token_budget=2500)
    assert prompt.tokens <= 2500
    assert "огромное сообщение" in prompt.turns[-2].content


def test_a_budget_the_rules_alone_fill_still_shows_the_newest_words():
    history = conversation(3)
    history[-1].content = "длинное сообщение " * 100 + "и последний вопрос?"
    history[-1].direction = history[1].direction
    history[-1].delivery = None
    prompt = build_prompt(SCRIPT, dialog(), history, Task.REPLY, token_budget=500)
    newest = prompt.turns[-2].content
    assert newest.endswith("и последний вопрос?") and len(newest) < 500


def test_consecutive_messages_of_one_side_are_one_turn():
    t = T0
    history = [
        Message.incoming(7, 1, "Здравствуйте", t, 1),
        Message.incoming(7, 1, "А сколько стоит?", t + timedelta(seconds=5), 2),
        Message.incoming(7, 1, "И есть ли пробный период?", t + timedelta(seconds=9), 3),
    ]
    for i, m in enumerate(history):
        m.id = i + 1
    prompt = build_prompt(SCRIPT, dialog(), history, Task.REPLY, token_budget=6000)
    assert [t.role for t in prompt.turns] == ["system", "system", "user", "system"]
    assert prompt.turns[2].content == "Здравствуйте\nА сколько стоит?\nИ есть ли пробный период?"


def test_cancelled_and_failed_messages_are_not_shown():
    history = conversation(4)
    history[2].delivery = Delivery.CANCELLED
    history[2].content = "cancelled one"
    prompt = build_prompt(SCRIPT, dialog(), history, Task.REPLY, token_budget=6000)
    assert "cancelled one" not in "".join(t.content for t in prompt.turns)


def test_the_system_prompt_carries_script_rules_state_and_notes():
    d = dialog(
        stage=Stage.OBJECTIONS,
        warmth=65,
        summary="Owner of 2 salons\nWants a demo",
        notes="Met at the Kazan beauty expo",
    )
    prompt = build_prompt(SCRIPT, d, conversation(3), Task.REPLY, token_budget=6000)
    system = prompt.system
    assert system.startswith(SCRIPT)
    assert H_HONESTY in system and "AI assistant" in system
    assert "short messages" in system
    assert "Stage: objections. Warmth: 65/100." in system
    assert "Owner of 2 salons" in system
    assert "Met at the Kazan beauty expo" in system
    assert '"outcome"' in system


def test_an_opener_asks_for_the_first_message_with_a_nudge_turn():
    prompt = build_prompt(SCRIPT, dialog(), [], Task.OPENER, token_budget=6000)
    assert [t.role for t in prompt.turns] == ["system", "system", "system", "user"]
    assert "first message" in prompt.system
    assert "not from the person" in prompt.turns[-1].content


def test_a_follow_up_says_how_long_and_which_one():
    prompt = build_prompt(
        SCRIPT,
        dialog(),
        conversation(2)[:1],
        Task.FOLLOW_UP,
        token_budget=6000,
        follow_up=FollowUpInfo(number=2, total=2, hours=24),
    )
    assert "about 24 hours" in prompt.system
    assert "follow-up 2 of 2" in prompt.system
    assert "last one" in prompt.system
    assert prompt.turns[-1].role == "user"


def _windowed():
    return build_prompt(SCRIPT, dialog(), conversation(500), Task.REPLY, token_budget=3000)


def _from_the_newest_with_the_opener():
    history = conversation(500)
    return build_prompt(
        SCRIPT, dialog(), history[-100:], Task.REPLY, token_budget=3000, opener=history[0]
    )


def _with_a_huge_latest_message():
    history = conversation(3)
    history[-1].content = "огромное сообщение " * 5000
    return build_prompt(SCRIPT, dialog(), history, Task.REPLY, token_budget=1500)


def _an_opener():
    return build_prompt(SCRIPT, dialog(), [], Task.OPENER, token_budget=6000)


def test_the_prompts_estimate_and_counts_are_those_of_the_turns_it_sends():
    for prompt, messages in (
        (_windowed(), 500),
        (_from_the_newest_with_the_opener(), 101),
        (_with_a_huge_latest_message(), 3),
        (_an_opener(), 0),
    ):
        assert prompt.tokens == sum(turn_tokens(t) for t in prompt.turns)
        assert prompt.shown_messages + prompt.omitted_messages == messages
