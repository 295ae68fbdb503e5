"""Reading the model's answer: the reply to send plus its view of the sale.

We ask for one JSON object (`reply`, `stage`, `warmth`, `outcome`, `summary`) and send
`response_format: json_object`, but models differ: some wrap the object in a code fence or
in chatter, some answer plain text, some put a marker such as `[[outcome: goal]]` or a line
`OUTCOME: goal` into the text. `parse_model_output` accepts all of these, strips every
control marker from the reply, and flags an answer that *looked* structured but could not
be read (`malformed`), so raw JSON never reaches a prospect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from salesbot.domain.dialog import Outcome, Stage

_REPLY_KEYS = ("reply", "message", "text", "answer", "response", "content", "messages")
_FIELDS = "outcome|stage|warmth|summary"

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)\n?[ \t]*```", re.DOTALL)
_BRACKET_MARKER = re.compile(
    rf"\[\[?\s*({_FIELDS})\s*[:=]\s*([^\]\n]*?)\s*\]\]?|\{{\{{\s*({_FIELDS})\s*[:=]\s*([^}}\n]*?)\s*\}}\}}",
    re.IGNORECASE,
)
_TAG_MARKER = re.compile(rf"<\s*({_FIELDS})\s*>(.*?)<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)
_LINE_MARKER = re.compile(
    rf"^[ \t>*_#-]*({_FIELDS})[ \t*_]*[:=][ \t*_]*(.*?)[ \t*_]*$", re.IGNORECASE | re.MULTILINE
)
_BARE_OUTCOME = re.compile(
    r"\[\[?\s*(goal|handoff|hand[-_ ]off|opt[-_ ]?out|rejected|not[-_ ]qualified|continue)"
    r"\s*\]\]?|<<\s*(goal|handoff|opt_out|rejected|not_qualified)\s*>>",
    re.IGNORECASE,
)
_TRAILING_BLANKS = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")
_SEPARATORS = re.compile(r"[\s-]+")
_DECODER = json.JSONDecoder()  # stateless: one for every answer
_REPLY_STRING = re.compile(r'"(?:reply|message|text|answer)"\s*:\s*"((?:[^"\\]|\\.)*)"', re.DOTALL)
_FIELD_STRING = re.compile(rf'"({_FIELDS})"\s*:\s*"?([^",}}\n]*)"?', re.IGNORECASE)

_OUTCOMES = {
    "continue": Outcome.CONTINUE,
    "goal": Outcome.GOAL,
    "goal_reached": Outcome.GOAL,
    "success": Outcome.GOAL,
    "handoff": Outcome.HANDOFF,
    "hand_off": Outcome.HANDOFF,
    "handover": Outcome.HANDOFF,
    "human": Outcome.HANDOFF,
    "opt_out": Outcome.OPT_OUT,
    "optout": Outcome.OPT_OUT,
    "unsubscribe": Outcome.OPT_OUT,
    "rejected": Outcome.REJECTED,
    "reject": Outcome.REJECTED,
    "declined": Outcome.REJECTED,
    "lost": Outcome.REJECTED,
    "not_qualified": Outcome.NOT_QUALIFIED,
    "notqualified": Outcome.NOT_QUALIFIED,
    "unqualified": Outcome.NOT_QUALIFIED,
    "disqualified": Outcome.NOT_QUALIFIED,
}
_STAGES = {
    **{stage.value: stage for stage in Stage},
    "intro": Stage.INTRODUCTION,
    "qualify": Stage.QUALIFICATION,
    "objection": Stage.OBJECTIONS,
    "closing": Stage.CLOSE,
}


@dataclass(frozen=True)
class ModelAnswer:
    reply: str
    stage: Stage | None = None
    warmth: int | None = None
    outcome: Outcome = Outcome.CONTINUE
    summary: str = ""
    structured: bool = False
    malformed: bool = False


def parse_model_output(text: str) -> ModelAnswer:
    raw = (text or "").strip()
    body = _unfence(raw)
    found = _first_object(body)
    if found is not None:
        answer = _from_mapping(found)
        if answer is not None:
            return answer
        return ModelAnswer(reply="", structured=True, malformed=True)
    if body.lstrip().startswith("{") or _REPLY_STRING.search(body):
        return _from_broken_json(body)
    return _from_plain_text(body)


def strip_markers(text: str) -> tuple[str, dict[str, str]]:
    """Remove control markers from `text`; return the text and what they said."""
    said: dict[str, str] = {}

    def take(key: str, value: str) -> str:
        said.setdefault(key.lower(), value.strip())
        return ""

    # Each marker shape opens with a character most replies lack; a substitution only
    # removes text, so a character absent now cannot appear for a later one.
    if "[" in text or "{" in text:
        text = _BRACKET_MARKER.sub(
            lambda m: take(m.group(1) or m.group(3), m.group(2) or m.group(4) or ""), text
        )
    if "<" in text:
        text = _TAG_MARKER.sub(lambda m: take(m.group(1), m.group(2)), text)
    if ":" in text or "=" in text:
        text = _LINE_MARKER.sub(lambda m: take(m.group(1), m.group(2)), text)
    if "[" in text or "<" in text:
        text = _BARE_OUTCOME.sub(lambda m: take("outcome", m.group(1) or m.group(2)), text)
    text = _TRAILING_BLANKS.sub("\n", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return text.strip(), said


# --- the shapes an answer comes in -------------------------------------------------------


def _unfence(text: str) -> str:
    fenced = _FENCE.search(text)
    if fenced and "{" in fenced.group(1):
        return fenced.group(1).strip()
    if text.startswith("```") and text.endswith("```"):
        return text.strip("`").removeprefix("json").strip()
    return text


def _first_object(text: str) -> dict[str, object] | None:
    decoder = _DECODER
    start = text.find("{")
    tries = 0
    while start != -1 and tries < 5:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
        tries += 1
    return None


def _from_mapping(data: Mapping[str, object]) -> ModelAnswer | None:
    fields = {str(k).strip().lower(): v for k, v in data.items()}
    reply = None
    for key in _REPLY_KEYS:
        value = fields.get(key)
        if isinstance(value, str):
            reply = value
            break
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            reply = "\n\n".join(v.strip() for v in value if v.strip())
            break
    if reply is None:
        return None
    reply, said = strip_markers(reply)
    return ModelAnswer(
        reply=reply,
        stage=parse_stage(fields.get("stage")),
        warmth=parse_warmth(fields.get("warmth")),
        outcome=parse_outcome(fields.get("outcome"))
        or parse_outcome(said.get("outcome"))
        or Outcome.CONTINUE,
        summary=_summary(fields.get("summary")),
        structured=True,
    )


def _from_broken_json(text: str) -> ModelAnswer:
    """A truncated or invalid object: take the reply string out of it, or give up."""
    match = _REPLY_STRING.search(text)
    if match is None:
        return ModelAnswer(reply="", structured=True, malformed=True)
    try:
        reply = json.loads(f'"{match.group(1)}"')
    except ValueError:
        return ModelAnswer(reply="", structured=True, malformed=True)
    fields = {m.group(1).lower(): m.group(2) for m in _FIELD_STRING.finditer(text)}
    reply, _ = strip_markers(reply)
    return ModelAnswer(
        reply=reply,
        stage=parse_stage(fields.get("stage")),
        warmth=parse_warmth(fields.get("warmth")),
        outcome=parse_outcome(fields.get("outcome")) or Outcome.CONTINUE,
        summary=_summary(fields.get("summary")),
        structured=True,
    )


def _from_plain_text(text: str) -> ModelAnswer:
    reply, said = strip_markers(text)
    return ModelAnswer(
        reply=reply,
        stage=parse_stage(said.get("stage")),
        warmth=parse_warmth(said.get("warmth")),
        outcome=parse_outcome(said.get("outcome")) or Outcome.CONTINUE,
        summary=_summary(said.get("summary")),
        structured=bool(said),
    )


# --- single fields -----------------------------------------------------------------------


def parse_outcome(value: object) -> Outcome | None:
    if not isinstance(value, str):
        return None
    key = _SEPARATORS.sub("_", value.strip().strip("\"'").lower())
    return _OUTCOMES.get(key)


def parse_stage(value: object) -> Stage | None:
    if not isinstance(value, str):
        return None
    return _STAGES.get(value.strip().strip("\"'").lower())


def parse_warmth(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().rstrip("%").split("/")[0].strip()
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)):
        number = float(value)
        if 0 < number < 1:  # a share instead of a score
            number *= 100
        return round(number)
    return None


def _summary(value: object) -> str:
    if isinstance(value, list):
        value = "\n".join(str(v) for v in value)
    if not isinstance(value, str):
        return ""
    lines = [line.strip(" -•\t") for line in value.strip().splitlines() if line.strip()]
    return "\n".join(lines)
