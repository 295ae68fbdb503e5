import pytest

from salesbot.domain.errors import InvalidUsername
from salesbot.domain.username import normalize_username


@pytest.mark.parametrize(
    "raw",
    [
        "@Prospect_01",
        "prospect_01",
        "  @prospect_01  ",
        "t.me/prospect_01",
        "https://t.me/Prospect_01",
        "http://t.me/prospect_01/",
        "https://telegram.me/prospect_01",
        "t.me/@prospect_01",
    ],
)
def test_every_form_means_the_same_username(raw):
    assert normalize_username(raw) == "prospect_01"


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("", "empty"),
        ("@", "empty"),
        ("abcd", "5-32 characters"),
        ("a" * 33, "5-32 characters"),
        ("1prospect", "start with a letter"),
        ("_prospect", "start with a letter"),
        ("prospect_", "end with _"),
        ("pro__spect", "two _ in a row"),
        ("prospect-01", "Latin letters"),
        ("проспект", "Latin letters"),
        ("pros pect", "Latin letters"),
        ("https://example.com/prospect", "t.me links"),
        ("https://t.me/", "empty"),
    ],
)
def test_invalid_usernames_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(InvalidUsername) as raised:
        normalize_username(raw)
    assert reason in raised.value.reason
