"""The output guard: what a reply must pass before it is queued, and how a long one is
cut and split. Each check is a named rule; `check_reply` applies them in order.

- EMPTY, MALFORMED: no message, or raw structured output we could not read. These say the
  model is not working (UNUSABLE): the caller waits and asks again, as for an outage.
- PLACEHOLDER: template placeholders (`[Your name]`).
- LEAK: the instructions quoted — our fixed rules, the sales script or the operator's notes
  at length, or our section headings.
- HUMAN_CLAIM: a claim to be human or a denial of being an AI, in Russian or English, in
  the forms people write them (`domain`-free patterns below, each tested on phrases).
- DEGENERATE: a long run of one character or one word, a loop of one short piece, a
  "word" no language has, or a long text of very few distinct words.
- TOO_LONG: longer than the style allows even when split (`ReplyPolicy.max_chars`). On the
  last attempt it is cut at a sentence instead: the cut text passes every rule.

A reply that passes is split into two or three short Telegram messages at paragraph or
sentence boundaries when long, as a person types them.
"""

from __future__ import annotations

import itertools
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
HUMAN_CLAIM = "human_claim"
DEGENERATE = "degenerate"
TOO_LONG = "too_long"

UNUSABLE = frozenset({EMPTY, MALFORMED})
"""Failures that say the model is not working, not that this text is wrong."""

REFUSAL_TEXT = {
    EMPTY: "the model's answer was empty",
    LEAK: "the model's answer repeated its instructions",
    MALFORMED: "the model's answer was unreadable structured output",
    PLACEHOLDER: "the model's answer had template placeholders like [Your name]",
    HUMAN_CLAIM: "the model's answer claimed to be human or denied being an AI",
    DEGENERATE: "the model's answer was degenerate text (one character or word repeated)",
    TOO_LONG: "the model's answer was longer than the style allows",
}

# --- HUMAN_CLAIM -------------------------------------------------------------------------
# Read on lower-cased text with ё as е. Each pattern is one way people write it; the
# phrase tables in tests/application/conversation/test_reply_guard.py hold both the claims
# and the honest answers that must pass ("я ИИ, а не человек", "a real person will call").
_NOT_HUMAN_RU = (
    r"(?:бот\w*|робот\w*|ии|ai|нейросет\w*|нейронк\w*|программ\w*|машин\w*|автомат\w*"
    r"|искусственн\w*(?:\s+интеллект\w*)?|чат-?бот\w*|(?:chat\s*)?gpt\w*)"
)
_BOT_RU = r"(?:бот\w*|робот\w*|ии|ai|нейросет\w*|нейронк\w*|чат-?бот\w*|(?:chat\s*)?gpt\w*)"
_REAL_RU = r"(?:жив\w*|настоящ\w*|реальн\w*|обычн\w*|самы\w+\s+настоящ\w*)"
_PERSON_RU = r"(?:человек\w*|менеджер\w*|сотрудни\w*|консультант\w*|девушк\w*|парн\w*|люд\w*)"
_NOT_HUMAN_EN = (
    r"(?:bot|robot|ai|a\.i\.|machine|program|computer|chatbot|chat\s*bot|gpt|chatgpt"
    r"|artificial\s+intelligence|automated\b[\w\s]{0,20}|language\s+model|llm)"
)
_REAL_EN = r"(?:real|live|actual|genuine|living|flesh[- ]and[- ]blood|normal|regular)"
_PERSON_EN = r"(?:human(?:\s+being)?|person|man|woman|guy|girl|people|employee|manager)"
_I_EN = r"(?:i'm|i’m|im|i\s+am|i\s+really\s+am)"

_HUMAN_CLAIMS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # я не бот / я же не робот / я вовсе не программа
        rf"\bя\s+(?:\w+\s+){{0,2}}?не\s+{_NOT_HUMAN_RU}(?=$|[\s,.!?;:)—-])",
        # это не бот / здесь не робот / нет, не бот
        # (only the words for a bot: "это не программа, а сервис" is about the product)
        rf"\b(?:это|тут|здесь|нет)[\s,—-]+не\s+{_BOT_RU}(?=$|[\s,.!?;:)—-])",
        # я человек / я — живой человек / я Анна, живой человек
        rf"\bя\s*(?:[,—-]\s*)?(?:\w+,\s+)?(?:(?:{_REAL_RU}|самый)\s+)?человек\b",
        # я живой / я настоящий (not "я настоящий ИИ-ассистент")
        rf"\bя\s+(?:вполне\s+|самый\s+)?{_REAL_RU}(?!\s+(?:ии|ai|ассистент|бот|помощник))"
        rf"(?=$|[\s,.!?;:)—-])",
        # с вами общается живой человек / вы говорите с реальным менеджером
        rf"\b(?:с\s+вами|вам)\s+(?:говорит|общается|пишет|переписывается|отвечает)\s+"
        rf"(?:\w+\s+)?{_REAL_RU}\s+{_PERSON_RU}",
        rf"\bвы\s+(?:общаетесь|говорите|переписываетесь|разговариваете)\s+с\s+"
        rf"(?:\w+\s+)?{_REAL_RU}\s+{_PERSON_RU}",
        # человек, а не бот
        rf"\b{_PERSON_RU}\s*,?\s+а\s+не\s+{_NOT_HUMAN_RU}",
        # I'm not a bot / I am not an AI / I'm not automated
        rf"\b{_I_EN}\s+(?:\w+\s+)?not\s+(?:\w+\s+)?(?:an?\s+)?(?:\w+\s+)?{_NOT_HUMAN_EN}\b",
        # I'm a real person / I am human / I'm Anna, a real person
        rf"\b{_I_EN}\s+(?:\w+,\s+)?(?:a\s+|an\s+)?(?:{_REAL_EN}\s+)?(?:human|human\s+being)\b",
        rf"\b{_I_EN}\s+(?:\w+,\s+)?(?:a\s+|an\s+)?{_REAL_EN}\s+{_PERSON_EN}\b",
        # you're talking to a real person / you are chatting with a human
        rf"\byou(?:'re|’re|\s+are)\s+(?:talking|speaking|chatting|writing)\s+(?:to|with)\s+"
        rf"(?:a\s+)?(?:{_REAL_EN}\s+)?(?:human|person|human\s+being)\b",
        # a person, not a bot / human, not an AI
        rf"\b{_PERSON_EN},?\s+not\s+(?:an?\s+)?{_NOT_HUMAN_EN}\b",
        # this isn't a bot / no, not a bot
        rf"\b(?:this\s+is(?:n't|\s+not)|it's\s+not|it\s+is\s+not|no,?)\s+(?:an?\s+)"
        rf"{_NOT_HUMAN_EN}\b",
    )
)


def claims_human(text: str) -> bool:
    """Whether `text` claims to be human or denies being an AI."""
    folded = " ".join(text.lower().replace("ё", "е").split())
    return any(pattern.search(folded) for pattern in _HUMAN_CLAIMS)


# --- DEGENERATE --------------------------------------------------------------------------
CHAR_RUN = 15  # one character this many times in a row ("XXXXXXXXXXXXXXX")
WORD_RUN = 5  # one word this many times in a row ("очень очень очень очень очень")
PIECE_LOOP = 8  # one short piece this many times in a row ("ха-ха-ха…", "ab ab ab…")
LONGEST_WORD = 40  # no language has a longer word outside a link
VARIETY_FROM = 20  # a text of this many words or more ...
MIN_VARIETY = 0.3  # ... uses at least this share of distinct words

_CHAR_RUN = re.compile(rf"(\S)\1{{{CHAR_RUN - 1},}}")
_PIECE_LOOP = re.compile(rf"(.{{2,20}}?)\1{{{PIECE_LOOP - 1},}}", re.DOTALL)
_LINK = re.compile(r"(?:https?://|www\.|t\.me/|@)\S+|\S+@\S+\.\w+")


def is_degenerate(text: str) -> bool:
    """Whether `text` is a machine's loop rather than a message."""
    text = _LINK.sub(" ", text)
    if _CHAR_RUN.search(text) or _PIECE_LOOP.search(text):
        return True
    words = _words(text)
    if any(len(word) > LONGEST_WORD for word in words):
        return True
    run = 1
    for before, word in itertools.pairwise(words):
        run = run + 1 if word == before else 1
        if run >= WORD_RUN:
            return True
    return len(words) >= VARIETY_FROM and len(set(words)) / len(words) < MIN_VARIETY


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
    last_attempt: bool = False,
) -> Verdict:
    """The first rule `reply` fails, or the messages to queue. `last_attempt`: an over-long
    reply is cut at a sentence rather than refused."""
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
    if claims_human(text):
        return Verdict(refusal=HUMAN_CLAIM)
    if is_degenerate(text):
        return Verdict(refusal=DEGENERATE)
    if len(text) > policy.max_chars and not last_attempt:
        return Verdict(refusal=TOO_LONG)
    text = cut_to_length(text, policy.max_chars)
    parts = split_into_parts(text, policy) if split else [text]
    return Verdict(parts=tuple(parts))
