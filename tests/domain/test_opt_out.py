import pytest

from salesbot.domain.opt_out import KeywordOptOutDetector
from tests.domain.opt_out_phrases import DEVELOPMENT, HELD_OUT, load, score

detector = KeywordOptOutDetector()
DEVELOPMENT_SET = load(DEVELOPMENT)
HELD_OUT_SET = load(HELD_OUT)


def test_the_sets_are_large_and_half_of_them_hard_negatives():
    phrases = DEVELOPMENT_SET + HELD_OUT_SET
    assert len(phrases) >= 150
    assert sum(not p.opt_out for p in phrases) >= len(phrases) / 2


@pytest.mark.parametrize("phrase", DEVELOPMENT_SET, ids=[p.text[:40] for p in DEVELOPMENT_SET])
def test_every_development_phrase_is_read_as_labelled(phrase):
    assert detector.is_opt_out(phrase.text) is phrase.opt_out


def test_the_held_out_phrases_meet_the_targets():
    """Written after the detector and not tuned on: a threshold, not every phrase."""
    result = score(detector.is_opt_out, HELD_OUT_SET)
    assert result.recall >= 0.95
    assert result.false_positive_rate <= 0.05
