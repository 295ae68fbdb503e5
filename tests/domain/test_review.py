"""Review mode: which AI messages wait for the admin as drafts."""

from __future__ import annotations

import pytest

from salesbot.domain.message import OutKind
from salesbot.domain.review import ReviewMode, needs_review

AI_KINDS = (OutKind.OPENER, OutKind.REPLY, OutKind.FOLLOW_UP)


@pytest.mark.parametrize("kind", AI_KINDS)
def test_off_drafts_nothing_and_all_drafts_every_ai_message(kind):
    assert not needs_review(ReviewMode.OFF, None, kind)
    assert needs_review(ReviewMode.ALL, None, kind)


def test_openers_drafts_only_the_first_message():
    drafted = [k for k in AI_KINDS if needs_review(ReviewMode.OPENERS, None, k)]
    assert drafted == [OutKind.OPENER]


@pytest.mark.parametrize("mode", list(ReviewMode))
def test_a_dialogs_own_setting_wins_and_the_operators_words_are_never_drafted(mode):
    assert all(needs_review(mode, True, k) for k in AI_KINDS)
    assert not any(needs_review(mode, False, k) for k in AI_KINDS)
    assert not needs_review(mode, True, OutKind.MANUAL)
