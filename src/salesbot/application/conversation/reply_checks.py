"""What a reply must pass before it is queued, and how a long one is cut and split.

Refused (the writer asks the model once more, then the dialog is paused): an empty reply,
raw structured output we could not read, template placeholders (`[Your name]`), and a reply
that leaks the instructions — our fixed rules, the sales script or the operator's notes
quoted at length, or our section headings. Over-long replies are not refused: they are cut
at a sentence boundary. A long reply is split into two or three short Telegram messages at
paragraph or sentence boundaries, as a person types them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

TELEGRAM_LIMIT = 4096

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"»)]*\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\w+", re.UNICODE)
_PLACEHOLDER = re.compile(
    r"\[(?:your|ваш[аеи]?|ваше|имя|name|company|компания|название|product|продукт)\b[^\]]{0,40}\]"
    r"|\{\{?\s*(?:name|имя|company|компания)\s*\}?\}",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReplyPolicy:
    max_chars: int = 1000  # a longer reply is cut at a sentence
    split_above: int = 320  # a reply longer than this goes as several messages
    paragraphs_above: int = 160  # ... and one with paragraphs, from this length on
    max_parts: int = 3


@dataclass(frozen=True)
class Verdict:
    parts: tuple[str, ...] = ()
    refusal: str = ""  # "" when accepted

    @property
    def accepted(self) -> bool:
        return not self.refusal


EMPTY = "empty"
LEAK = "leak"
MALFORMED = "malformed"
PLACEHOLDER = "placeholder"

REFUSAL_TEXT = {
    EMPTY: "the model's answer was empty",
    LEAK: "the model's answer repeated its instructions",
    MALFORMED: "the model's answer was unreadable structured output",
    PLACEHOLDER: "the model's answer had template placeholders like [Your name]",
}


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


def _shingles(words: list[str], size: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


class LeakDetector:
    """Finds a reply that quotes hidden text: `size` words in a row, or a marker phrase."""

    def __init__(self) -> None:
        self._sources: list[tuple[int, set[tuple[str, ...]]]] = []
        self._markers: list[str] = []

    def hide(self, text: str, *, size: int) -> LeakDetector:
        words = _words(text)
        if len(words) >= size:
            self._sources.append((size, _shingles(words, size)))
        return self

    def extended(self, text: str, *, size: int) -> LeakDetector:
        """A copy that also hides `text`; this one is left as it is."""
        copy = LeakDetector()
        copy._sources = list(self._sources)
        copy._markers = list(self._markers)
        return copy.hide(text, size=size)

    def markers(self, phrases: Iterable[str]) -> LeakDetector:
        self._markers.extend(" ".join(_words(p)) for p in phrases)
        return self

    def leaks(self, reply: str) -> bool:
        words = _words(reply)
        joined = " ".join(words)
        if any(marker and marker in joined for marker in self._markers):
            return True
        for size, shingles in self._sources:
            if len(words) >= size and not shingles.isdisjoint(_shingles(words, size)):
                return True
        return False


def cut_to_length(text: str, limit: int) -> str:
    """`text` if it fits, else its longest prefix ending a sentence, else ending a word + …"""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.start() for m in _SENTENCE_END.finditer(head + " ")]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]].strip()
    space = head.rfind(" ", 0, limit - 1)
    cut = head[:space] if space >= limit // 3 else head[: limit - 1]
    return cut.rstrip(" ,;:-—") + "…"


def split_into_parts(text: str, policy: ReplyPolicy) -> list[str]:
    """One message, or up to `max_parts` of roughly equal length at natural boundaries."""
    text = text.strip()
    pieces = [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]
    wanted = math.ceil(len(text) / max(policy.split_above, 1))
    if len(pieces) >= 2 and len(text) > policy.paragraphs_above:
        wanted = max(wanted, len(pieces))
    wanted = min(policy.max_parts, wanted)
    if wanted <= 1:
        return [text]
    separator = "\n\n"
    if len(pieces) < 2:
        pieces = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
        separator = " "
    if len(pieces) < 2:
        return [cut_to_length(text, TELEGRAM_LIMIT)]
    groups = _balance(pieces, min(wanted, len(pieces)), separator)
    return [cut_to_length(g, TELEGRAM_LIMIT) for g in groups]


def _balance(pieces: list[str], count: int, separator: str) -> list[str]:
    """Join consecutive pieces into `count` groups of about equal length."""
    total = sum(len(p) for p in pieces)
    target = total / count
    groups: list[list[str]] = [[]]
    size = 0
    for index, piece in enumerate(pieces):
        left = len(pieces) - index
        groups_left = count - len(groups)
        if (
            groups[-1]
            and groups_left > 0
            and (size + len(piece) / 2 > target or left <= groups_left)
        ):
            groups.append([])
            size = 0
        groups[-1].append(piece)
        size += len(piece)
    return [separator.join(g) for g in groups]


def check_reply(
    reply: str,
    *,
    malformed: bool,
    detector: LeakDetector,
    policy: ReplyPolicy,
    split: bool,
) -> Verdict:
    if malformed:
        return Verdict(refusal=MALFORMED)
    text = reply.strip()
    if not text:
        return Verdict(refusal=EMPTY)
    if text.lstrip().startswith("{") and '"' in text and ":" in text:
        return Verdict(refusal=MALFORMED)
    if _PLACEHOLDER.search(text):
        return Verdict(refusal=PLACEHOLDER)
    if detector.leaks(text):
        return Verdict(refusal=LEAK)
    text = cut_to_length(text, policy.max_chars)
    parts = split_into_parts(text, policy) if split else [text]
    return Verdict(parts=tuple(parts))
