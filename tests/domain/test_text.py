from hypothesis import given
from hypothesis import strategies as st

from salesbot.domain.text import REPLACEMENT, storable


def test_a_nul_byte_is_removed_and_the_rest_kept():
    assert storable("цена\x00 100\x00$") == "цена 100$"


def test_a_lone_surrogate_becomes_the_replacement_character():
    assert storable("ok \ud83d then") == f"ok {REPLACEMENT} then"


def test_emoji_and_other_scripts_pass_unchanged():
    text = "Привет 👋 مرحبا 你好 \u200d\t\n"
    assert storable(text) is text


@given(st.text())
def test_whatever_comes_in_can_be_encoded_for_postgresql(text):
    cleaned = storable(text)
    assert "\x00" not in cleaned
    cleaned.encode("utf-8")  # raises on a lone surrogate
    assert storable(cleaned) == cleaned
