import pytest

from salesbot.domain.errors import InvalidPhone
from salesbot.domain.phone import normalize_phone


@pytest.mark.parametrize(
    "raw", ["+7 (900) 123-45-67", "+79001234567", "79001234567", "0079001234567"]
)
def test_phone_forms_become_one(raw):
    assert normalize_phone(raw) == "+79001234567"


@pytest.mark.parametrize(
    "raw,reason", [("", "empty"), ("+7900abc", "only digits"), ("+12345", "7-15 digits")]
)
def test_bad_phones_are_rejected(raw, reason):
    with pytest.raises(InvalidPhone) as raised:
        normalize_phone(raw)
    assert reason in raised.value.reason
