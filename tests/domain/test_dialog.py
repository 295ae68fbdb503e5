import itertools

import pytest

from salesbot.domain.dialog import Dialog, DialogStatus, Outcome, Stage
from salesbot.domain.errors import IllegalTransition

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


def test_progress_clamps_warmth_and_keeps_the_stage_when_none_given():
    dialog = dialog_in(DialogStatus.ACTIVE)
    dialog.record_progress(Stage.VALUE, 140)
    assert (dialog.stage, dialog.warmth) == (Stage.VALUE, 100)
    dialog.record_progress(None, -5)
    assert (dialog.stage, dialog.warmth) == (Stage.VALUE, 0)


def test_usage_accumulates_per_dialog():
    dialog = dialog_in(DialogStatus.ACTIVE)
    dialog.record_usage(100, 20, 0.001)
    dialog.record_usage(50, 10, 0.002)
    assert (dialog.prompt_tokens, dialog.completion_tokens) == (150, 30)
    assert dialog.cost_usd == pytest.approx(0.003)
