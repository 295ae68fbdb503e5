import itertools
from datetime import datetime, timezone

import pytest

from salesbot.domain.dialog import CLOSED_STATUSES, Dialog, DialogStatus, Outcome, Stage
from salesbot.domain.errors import IllegalTransition
from salesbot.domain.message import Message, OutKind

MOVES = {
    DialogStatus.ACTIVE: "resume",
    DialogStatus.PAUSED: "pause",
    DialogStatus.STOPPED: "stop",
    DialogStatus.FINISHED: "finish",
    DialogStatus.OPTED_OUT: "opt_out",
    DialogStatus.FAILED: "fail",
}
LEGAL = {
    (DialogStatus.ACTIVE, DialogStatus.PAUSED),
    (DialogStatus.ACTIVE, DialogStatus.STOPPED),
    (DialogStatus.ACTIVE, DialogStatus.FINISHED),
    (DialogStatus.ACTIVE, DialogStatus.OPTED_OUT),
    (DialogStatus.ACTIVE, DialogStatus.FAILED),
    (DialogStatus.PAUSED, DialogStatus.ACTIVE),
    (DialogStatus.PAUSED, DialogStatus.STOPPED),
    (DialogStatus.PAUSED, DialogStatus.FINISHED),
    (DialogStatus.PAUSED, DialogStatus.OPTED_OUT),
    (DialogStatus.PAUSED, DialogStatus.FAILED),
    (DialogStatus.STOPPED, DialogStatus.OPTED_OUT),
    (DialogStatus.FINISHED, DialogStatus.OPTED_OUT),
    (DialogStatus.FAILED, DialogStatus.OPTED_OUT),
}


def dialog_in(status: DialogStatus) -> Dialog:
    return Dialog(account_id=1, target_username="prospect", status=status, id=7)


def move(dialog: Dialog, target: DialogStatus) -> None:
    method = getattr(dialog, MOVES[target])
    if target is DialogStatus.FAILED:
        method("privacy")
    else:
        method()


@pytest.mark.parametrize("current,target", sorted(LEGAL))
def test_legal_transitions_move_the_dialog(current, target):
    dialog = dialog_in(current)
    move(dialog, target)
    assert dialog.status is target


ILLEGAL = sorted(set(itertools.product(DialogStatus, DialogStatus)) - LEGAL)


@pytest.mark.parametrize("current,target", ILLEGAL)
def test_every_illegal_transition_raises_and_changes_nothing(current, target):
    dialog = dialog_in(current)
    with pytest.raises(IllegalTransition) as raised:
        move(dialog, target)
    assert dialog.status is current
    assert raised.value.current == current.value
    assert raised.value.target == target.value


def test_resuming_a_dialog_that_opted_out_is_refused():
    dialog = dialog_in(DialogStatus.ACTIVE)
    dialog.opt_out("asked to stop")
    with pytest.raises(IllegalTransition, match="opted_out"):
        dialog.resume()
    assert dialog.outcome is Outcome.OPT_OUT


def test_only_an_active_dialog_lets_the_model_write():
    assert dialog_in(DialogStatus.ACTIVE).ai_enabled
    assert not any(dialog_in(s).ai_enabled for s in DialogStatus if s is not DialogStatus.ACTIVE)
    assert {s for s in DialogStatus if dialog_in(s).is_open} == {
        DialogStatus.ACTIVE,
        DialogStatus.PAUSED,
    }


T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def queued(kind: OutKind, *, last_word: bool = False) -> Message:
    return Message.outgoing(7, 1, "text", T0, kind, last_word=last_word)


def test_an_active_dialog_sends_everything_queued_in_it():
    dialog = dialog_in(DialogStatus.ACTIVE)
    assert all(dialog.may_send(queued(kind)) for kind in OutKind)


def test_a_paused_dialog_sends_the_operators_words_and_the_ais_last_word_only():
    dialog = dialog_in(DialogStatus.PAUSED)
    assert dialog.may_send(queued(OutKind.MANUAL))
    assert dialog.may_send(queued(OutKind.REPLY, last_word=True))
    assert dialog.may_send(queued(OutKind.FOLLOW_UP, last_word=True))
    assert not any(
        dialog.may_send(queued(kind)) for kind in OutKind if kind is not OutKind.MANUAL
    )


@pytest.mark.parametrize("status", sorted(CLOSED_STATUSES - {DialogStatus.FINISHED}))
def test_a_closed_dialog_sends_nothing_not_even_a_last_word(status):
    dialog = dialog_in(status)
    assert not any(
        dialog.may_send(queued(kind, last_word=last))
        for kind in OutKind
        for last in (False, True)
    )


def test_a_finished_dialog_sends_only_the_goodbye_queued_when_it_was_closed():
    dialog = dialog_in(DialogStatus.FINISHED)
    assert dialog.may_send(queued(OutKind.REPLY, last_word=True))
    assert not any(dialog.may_send(queued(kind)) for kind in OutKind)


@pytest.mark.parametrize("outcome", [Outcome.REJECTED, Outcome.NOT_QUALIFIED])
@pytest.mark.parametrize("status", [DialogStatus.ACTIVE, DialogStatus.PAUSED])
def test_a_lost_lead_is_finished_with_its_outcome(status, outcome):
    dialog = dialog_in(status)
    dialog.close_as_lost(outcome, "no budget")
    assert (dialog.status, dialog.outcome, dialog.status_reason) == (
        DialogStatus.FINISHED,
        outcome,
        "no budget",
    )
    assert not dialog.ai_enabled and not dialog.is_open


def test_only_a_lost_outcome_closes_a_dialog_as_lost_and_only_an_open_one():
    with pytest.raises(ValueError, match="goal is not a lost lead's outcome"):
        dialog_in(DialogStatus.ACTIVE).close_as_lost(Outcome.GOAL)
    with pytest.raises(IllegalTransition):
        dialog_in(DialogStatus.STOPPED).close_as_lost(Outcome.REJECTED)


def test_progress_clamps_warmth_and_keeps_the_stage_when_none_given():
    dialog = dialog_in(DialogStatus.ACTIVE)
    dialog.record_progress(Stage.VALUE, 140)
    assert (dialog.stage, dialog.warmth) == (Stage.VALUE, 100)
    dialog.record_progress(None, -5)
    assert (dialog.stage, dialog.warmth) == (Stage.VALUE, 0)


def test_usage_accumulates_per_dialog():
    dialog = dialog_in(DialogStatus.ACTIVE)
    dialog.record_usage(100, 20, 0.001)
    dialog.record_usage(50, 10, 0.002, cached_tokens=40)
    assert (dialog.prompt_tokens, dialog.completion_tokens) == (150, 30)
    assert dialog.cached_tokens == 40
    assert dialog.cost_usd == pytest.approx(0.003)
