"""Long answers are cut into messages of at most 4096 characters as Telegram counts them
(UTF-16 code units), in order, at line breaks where possible."""

from salesbot.adapters.admin_bot.replies import MESSAGE_LIMIT, split_message


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_short_text_is_one_message():
    assert split_message("hello") == ["hello"]
    assert split_message("x" * MESSAGE_LIMIT) == ["x" * MESSAGE_LIMIT]


def test_long_text_is_cut_at_line_breaks_in_order():
    lines = [f"{i:04d} " + "строка " * 40 for i in range(60)]
    pieces = split_message("\n".join(lines))
    assert len(pieces) > 1
    assert all(_units(p) <= MESSAGE_LIMIT for p in pieces)
    assert "\n".join(pieces).split("\n") == lines


def test_text_without_breaks_is_cut_at_spaces_or_anywhere():
    words = " ".join(f"w{i}" for i in range(3000))
    pieces = split_message(words)
    assert " ".join(pieces) == words and all(len(p) <= MESSAGE_LIMIT for p in pieces)
    blob = "z" * 10_000
    assert "".join(split_message(blob)) == blob


def test_emoji_count_twice_and_are_never_cut_in_half():
    text = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_message(text)
    assert "".join(pieces) == text
    assert [_units(p) for p in pieces] == [4096, 6000 - 4096]
