"""The webhook's rule of what makes an event, and its retry back-off."""

from __future__ import annotations

import random

import pytest

from salesbot.domain.webhook import (
    MAX_RETRY_SECONDS,
    DialogFacts,
    EventKind,
    facts_to_events,
    retry_delay,
)


def test_a_new_dialog_is_started_and_one_closed_at_birth_says_so_too():
    assert facts_to_events(None, DialogFacts()) == [EventKind.DIALOG_STARTED]
    assert facts_to_events(None, DialogFacts(status="failed")) == [
        EventKind.DIALOG_STARTED,
        EventKind.FAILED,
    ]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (DialogFacts(), DialogFacts(messages_received=1), [EventKind.FIRST_REPLY]),
        (DialogFacts(messages_received=1), DialogFacts(messages_received=2), []),
        (DialogFacts(), DialogFacts(status="paused", outcome="goal"), [EventKind.GOAL]),
        (DialogFacts(), DialogFacts(status="paused", outcome="handoff"), [EventKind.HANDOFF]),
        (DialogFacts(), DialogFacts("finished", "not_qualified"), [EventKind.REJECTED]),
        (DialogFacts("finished", "rejected"), DialogFacts("finished", "not_qualified"), []),
        (DialogFacts(), DialogFacts("opted_out", "opt_out"), [EventKind.OPTED_OUT]),
        (DialogFacts(outcome="opt_out"), DialogFacts("opted_out", "opt_out"), []),
        (DialogFacts("finished", "goal"), DialogFacts("opted_out", "goal"), [EventKind.OPTED_OUT]),
        (DialogFacts(), DialogFacts(status="failed"), [EventKind.FAILED]),
        (DialogFacts(status="paused"), DialogFacts(status="active"), []),
    ],
)
def test_each_change_makes_its_events_once(before, after, expected):
    assert facts_to_events(before, after) == expected


def test_retries_double_from_five_to_ten_seconds_up_to_an_hour_with_a_spread():
    rng = random.Random(18)
    for attempts in range(1, 30):
        step = min(MAX_RETRY_SECONDS, 10 * 2 ** (attempts - 1))
        delay = retry_delay(attempts, rng.random())
        assert step / 2 <= delay <= step
    assert retry_delay(1, 0.0) == 5 and retry_delay(1, 0.999) < 10
    assert retry_delay(40, 0.5) == 2700
