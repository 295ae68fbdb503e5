"""The prompt's order for providers' prefix caches: the fixed part first and identical for
every dialog and turn, the dialog's state after it, the conversation only growing."""

from datetime import datetime, timedelta, timezone
from itertools import pairwise

from salesbot.application.conversation.prompt import (
    FollowUpInfo,
    Task,
    build_prompt,
    fixed_prompt,
    turn_tokens,
)
from salesbot.domain.dialog import Dialog, Stage
from salesbot.domain.message import Delivery, Message, OutKind

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
SCRIPT = "# Script\nSell Zapis+ to salons. Goal: a 15-minute demo."


def _dialog(n: int, **fields) -> Dialog:
    return Dialog(
        account_id=n,
        target_username=f"prospect_{n}_xq",
        id=n,
        created_at=T0 + timedelta(days=n),
        last_activity_at=T0 + timedelta(days=n, hours=3),
        **fields,
    )


def _conversation(dialog_id: int, count: int, *, length: int = 200) -> list[Message]:
    messages = []
    for i in range(count):
        when = T0 + timedelta(minutes=i)
        if i % 2 == 0:
            kind = OutKind.OPENER if i == 0 else OutKind.REPLY
            m = Message.outgoing(dialog_id, 1, f"ours {dialog_id}/{i} " + "о" * length, when, kind)
            m.delivery = Delivery.SENT
        else:
            m = Message.incoming(dialog_id, 1, f"theirs {dialog_id}/{i} " + "т" * length, when, i)
        m.id = dialog_id * 10_000 + i
        messages.append(m)
    return messages


def test_the_fixed_part_is_byte_identical_across_dialogs_tasks_and_turns():
    first = _dialog(
        1,
        stage=Stage.OBJECTIONS,
        warmth=65,
        summary="Owner of 2 salons UNIQUESUMMARY",
        notes="Met at the Kazan expo UNIQUENOTES",
        follow_ups_sent=1,
    )
    second = _dialog(2, stage=Stage.CLOSE, warmth=90, summary="Other person", notes="Other")
    prompts = [
        build_prompt(SCRIPT, first, _conversation(1, 9), Task.REPLY, token_budget=6000),
        build_prompt(SCRIPT, first, _conversation(1, 30), Task.REPLY, token_budget=2000),
        build_prompt(SCRIPT, second, [], Task.OPENER, token_budget=6000),
        build_prompt(
            SCRIPT,
            second,
            _conversation(2, 1),
            Task.FOLLOW_UP,
            token_budget=6000,
            follow_up=FollowUpInfo(2, 2, 48),
            note="Your previous answer could not be read.",
        ),
    ]
    fixed = {p.turns[0].content for p in prompts}
    assert fixed == {fixed_prompt(SCRIPT)}
    leaks = [
        "prospect_1_xq",
        "prospect_2_xq",
        "UNIQUESUMMARY",
        "UNIQUENOTES",
        "Stage: objections",
        "Warmth: 65/100",
        "2026",
        "48 hours",
        "previous answer",
    ]
    assert [value for value in leaks if value in fixed_prompt(SCRIPT)] == []
    # ... and each of them is still told to the model, after the fixed part.
    told = "\n".join(p.system for p in prompts)
    assert all(value in told for value in leaks if value != "2026")


def test_the_dialog_part_and_the_conversation_come_before_what_changes_each_turn():
    d = _dialog(3, notes="Likes short messages", summary="Wants a demo")
    prompt = build_prompt(SCRIPT, d, _conversation(3, 4), Task.REPLY, token_budget=6000)
    roles = [t.role for t in prompt.turns]
    assert roles == ["system", "system", "assistant", "user", "assistant", "user", "system"]
    assert "@prospect_3_xq" in prompt.turns[1].content
    assert "Likes short messages" in prompt.turns[1].content
    assert "Wants a demo" not in prompt.turns[1].content
    assert "Wants a demo" in prompt.turns[-1].content
    assert "Stage: introduction. Warmth: 0/100." in prompt.turns[-1].content


def _shared_prefix_chars(before: list, after: list) -> int:
    a = "".join(f"{t.role}\x00{t.content}\x00" for t in before)
    b = "".join(f"{t.role}\x00{t.content}\x00" for t in after)
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def test_between_turns_the_conversation_only_grows_at_its_end_within_the_budget():
    budget = 4000
    history = _conversation(4, 120)
    prompts = []
    for turn in range(1, 60):
        d = _dialog(4, warmth=turn, summary=f"Turn {turn} summary\n" + "x" * (turn % 7) * 10)
        prompt = build_prompt(SCRIPT, d, history[: 2 * turn], Task.REPLY, token_budget=budget)
        assert prompt.tokens == sum(turn_tokens(t) for t in prompt.turns) <= budget
        prompts.append(prompt)
    appended = 0
    for before, after in pairwise(prompts):
        if after.turns[: len(before.turns) - 1] == before.turns[:-1]:
            appended += 1
        else:  # the window dropped its oldest turns: the fixed, dialog and opener stay
            assert after.turns[:3] == before.turns[:3]
    assert prompts[-1].omitted_messages > 0  # the budget did bind
    assert appended >= 0.8 * (len(prompts) - 1)
    shares = [
        _shared_prefix_chars(b.turns, a.turns) / len("".join(t.content for t in a.turns))
        for b, a in pairwise(prompts)
    ]
    assert sum(shares[1:]) / len(shares[1:]) >= 0.8
