"""Reading the model's answer, whatever shape a model gives it."""

import json

import pytest

from salesbot.application.conversation.model_output import parse_model_output
from salesbot.domain.dialog import Outcome, Stage


def test_the_json_object_we_ask_for():
    answer = parse_model_output(
        '{"reply": "Здравствуйте!", "stage": "value", "warmth": 55, "outcome": "continue",'
        ' "summary": "Салон, 4 мастера\\nДальше: показ"}'
    )
    assert answer.reply == "Здравствуйте!"
    assert (answer.stage, answer.warmth, answer.outcome) == (Stage.VALUE, 55, Outcome.CONTINUE)
    assert answer.summary == "Салон, 4 мастера\nДальше: показ"
    assert answer.structured and not answer.malformed


def test_json_in_a_code_fence_with_chatter_around_it():
    text = 'Sure! Here it is:\n```json\n{"reply": "Hi there", "outcome": "goal"}\n```\nThanks'
    answer = parse_model_output(text)
    assert answer.reply == "Hi there"
    assert answer.outcome is Outcome.GOAL


def test_json_after_chatter_without_a_fence():
    answer = parse_model_output('Answer: {"message": "Добрый день", "outcome": "hand-off"}')
    assert answer.reply == "Добрый день"
    assert answer.outcome is Outcome.HANDOFF


def test_plain_text_is_the_reply_and_the_dialog_continues():
    answer = parse_model_output("Здравствуйте! Удобно пару минут?")
    assert answer.reply == "Здравствуйте! Удобно пару минут?"
    assert answer.outcome is Outcome.CONTINUE
    assert answer.stage is None and answer.warmth is None


@pytest.mark.parametrize(
    "text",
    [
        "Отлично, договорились на завтра в 15:00! [[outcome: goal]]",
        "Отлично, договорились на завтра в 15:00!\nOUTCOME: goal",
        "Отлично, договорились на завтра в 15:00! <outcome>goal</outcome>",
        "Отлично, договорились на завтра в 15:00! [GOAL]",
        "**Outcome:** goal\nОтлично, договорились на завтра в 15:00!",
    ],
)
def test_control_markers_are_understood_and_never_sent(text):
    answer = parse_model_output(text)
    assert answer.reply == "Отлично, договорились на завтра в 15:00!"
    assert answer.outcome is Outcome.GOAL


def test_markers_inside_the_json_reply_are_stripped_too():
    answer = parse_model_output('{"reply": "Хорошо, не буду писать. [[outcome: opt_out]]"}')
    assert answer.reply == "Хорошо, не буду писать."
    assert answer.outcome is Outcome.OPT_OUT


def test_a_truncated_object_still_yields_its_reply():
    answer = parse_model_output(
        '{"reply": "Добрый день! Как у вас \\"сейчас\\" запись?", "stage": "qual'
    )
    assert answer.reply == 'Добрый день! Как у вас "сейчас" запись?'
    assert not answer.malformed


@pytest.mark.parametrize(
    "text", ['{"stage": "value", "warmth": 10}', '{"reply": ', '```json\n{"warmth": 1}\n```']
)
def test_structured_output_without_a_readable_reply_is_malformed(text):
    answer = parse_model_output(text)
    assert answer.malformed
    assert answer.reply == ""


@pytest.mark.parametrize(
    ("raw", "expected"), [(70, 70), ("70%", 70), ("70/100", 70), (0.7, 70), ("hot", None)]
)
def test_warmth_in_the_shapes_models_write_it(raw, expected):
    import json

    answer = parse_model_output(json.dumps({"reply": "x", "warmth": raw}))
    assert answer.warmth == expected


def test_an_unknown_stage_or_outcome_changes_nothing():
    answer = parse_model_output('{"reply": "x", "stage": "dancing", "outcome": "maybe"}')
    assert answer.stage is None
    assert answer.outcome is Outcome.CONTINUE


def test_a_list_of_messages_becomes_paragraphs():
    answer = parse_model_output('{"messages": ["Привет!", "Как дела с записью?"]}')
    assert answer.reply == "Привет!\n\nКак дела с записью?"


@pytest.mark.parametrize(
    ("written", "outcome"),
    [
        ("rejected", Outcome.REJECTED),
        ("Declined", Outcome.REJECTED),
        ("not_qualified", Outcome.NOT_QUALIFIED),
        ("not qualified", Outcome.NOT_QUALIFIED),
        ("not-qualified", Outcome.NOT_QUALIFIED),
        ("unqualified", Outcome.NOT_QUALIFIED),
    ],
)
def test_a_lost_leads_outcome_is_read_in_the_forms_models_write_it(written, outcome):
    text = json.dumps({"reply": "Спасибо, хорошего дня!", "outcome": written})
    assert parse_model_output(text).outcome is outcome
    assert parse_model_output(f"Спасибо, хорошего дня! [[outcome: {written}]]").outcome is outcome
