"""The message catalogue: both languages of every entry, the same placeholders, and the
domain's English reasons translated for Russian admins."""

import string

import pytest

from salesbot.adapters.admin_bot.catalogue import COMMANDS, MESSAGES, WORDS, Texts
from salesbot.domain.errors import InvalidPhone, InvalidUsername
from salesbot.domain.phone import normalize_phone
from salesbot.domain.username import normalize_username


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_exists_in_both_languages_with_the_same_placeholders(key):
    entry = MESSAGES[key]
    assert set(entry) == {"ru", "en"}
    assert entry["ru"].strip() and entry["en"].strip()
    assert _fields(entry["ru"]) == _fields(entry["en"])


def test_every_word_and_command_exists_in_both_languages():
    assert all(set(entry) == {"ru", "en"} for entry in WORDS.values())
    for command in COMMANDS:
        assert set(command.args) == set(command.about) == {"ru", "en"}
        # Telegram's limits for setMyCommands.
        assert 1 <= len(command.about["ru"]) <= 256 and command.name.islower()


BAD_USERNAMES = [
    "",
    "@",
    "ab",
    "1van_petrov",
    "ivan_petrov_",
    "ivan__petrov",
    "иван_петров",
    "example.com/ivan",
    "a" * 33,
]
BAD_PHONES = ["", "12ab", "+7 900", "+" + "1" * 16]


def _reasons() -> list[str]:
    reasons = []
    for raw in BAD_USERNAMES:
        with pytest.raises(InvalidUsername) as refused:
            normalize_username(raw)
        reasons.append(refused.value.reason)
    for raw in BAD_PHONES:
        with pytest.raises(InvalidPhone) as refused:
            normalize_phone(raw)
        reasons.append(refused.value.reason)
    return reasons


@pytest.mark.parametrize("reason", sorted(set(_reasons())))
def test_every_reason_the_domain_gives_reads_in_russian(reason):
    russian = Texts("ru").reason(reason)
    assert russian != reason
    assert not any(word in russian for word in ("must", "only", "it ", "not "))
    assert Texts("en").reason(reason) == reason


def test_an_unknown_word_is_shown_as_it_is():
    assert Texts("ru").word("dialog_status", "archived") == "archived"
    assert Texts("ru").word("stage", "value") == "ценность"
