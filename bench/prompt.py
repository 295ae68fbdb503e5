"""What the prompt costs: input tokens per reply and how much of each request a provider's
prompt cache can reuse, over a 30-turn dialog.

The dialog is written through the real `ReplyWriter` (the real prompt builder, history
window and output checks) with the shipped Russian sales script and a fake model that
answers every turn with a plausible JSON answer (new stage, warmth and summary each turn,
as a real model gives). For each request it measures the estimated input tokens (the
estimate the history budget uses, `prompt.turn_tokens`) and the share of the request's
bytes, as the adapter sends them, that is a byte-identical prefix of the previous request:
what a provider caching prompt prefixes can reuse. For comparison it measures the same
requests with the turn's state put before the conversation (as the prompt was before).
Target: cacheable share (of all bytes sent) >= 0.8 from the third reply on; tokens per reply within
LLM_HISTORY_TOKEN_BUDGET.
Run: `.venv/bin/python -m bench.prompt [--quick] [--budget N] [--turns N]`.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from itertools import pairwise

from bench.common import parser, print_result, quiet_logging, run
from salesbot.application.conversation.prompt import Task, turn_tokens
from salesbot.application.conversation.write_reply import ReplyWriter
from salesbot.application.ports import ChatTurn, Completion
from salesbot.domain.dialog import Dialog, Stage
from salesbot.domain.message import Delivery, Message, OutKind
from salesbot.entrypoints.settings import DEFAULT_PROMPT_FILE, Settings

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
TARGET_SHARE = 0.8
PROSPECT = [
    "Здравствуйте. А что это за сервис, я про вас не слышала.",
    "У нас небольшой салон, три мастера, записываем клиентов в тетрадку и в WhatsApp.",
    "Неявки бывают, да, особенно по пятницам. Человек записался и не пришёл, мастер сидит.",
    "А напоминания клиентам как уходят? Через СМС или в мессенджер? СМС у нас никто не читает.",
    "Сколько это стоит в месяц? У нас маленький бюджет, мы не сеть.",
    "Понятно. А если я попробую и не понравится, деньги вернёте?",
    "Мастера у меня возрастные, боюсь, не разберутся в приложении. Это сложно?",
    "А клиенты смогут сами записываться, без звонка? Ночью, например.",
    "Интересно. А старую базу клиентов из тетради как перенести? Там человек триста.",
    "Хорошо, а показать можете как это выглядит? Только не очень долго, я на работе.",
]
_STAGES = list(Stage)


class FakeModel:
    """Answers each request with a JSON answer whose state moves on, like a real model's;
    keeps every request as the adapter would send its messages."""

    def __init__(self) -> None:
        self.requests: list[list[ChatTurn]] = []

    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None, json_mode: bool = False
    ) -> Completion:
        self.requests.append(list(turns))
        n = len(self.requests)
        answer = {
            "reply": f"Понимаю вас. Запись+ как раз про это: напоминания сами уходят клиентам "
            f"в Telegram и WhatsApp, а мастера видят расписание в телефоне. Ответ номер {n}: "
            "удобно ли вам созвониться на 15 минут, чтобы я показала?",
            "stage": _STAGES[min(len(_STAGES) - 1, n // 6)].value,
            "warmth": min(100, 10 + 3 * n),
            "outcome": "continue",
            "summary": f"Салон, 3 мастера, неявки по пятницам; шаг {n}\n"
            + "Следующий шаг: договориться о показе"
            + " и ответить про цену" * (n % 3),
        }
        return Completion(json.dumps(answer, ensure_ascii=False), "fake", 0, 0)


def wire(turns: Sequence[ChatTurn]) -> bytes:
    """The request's messages as the adapter serialises them (httpx's JSON)."""
    return json.dumps([{"role": t.role, "content": t.content} for t in turns]).encode()


def shared_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n  # binary search on the longest common prefix
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def state_first(turns: Sequence[ChatTurn]) -> list[ChatTurn]:
    """The same request with the turn's state right after the fixed part (the old order)."""
    state = [t for t in turns if t.role == "system"][-1]
    rest = [t for t in turns if t is not state]
    return [rest[0], state, *rest[1:]]


def shared(requests: Sequence[bytes]) -> list[tuple[int, int]]:
    """For each request after the first: (bytes shared with the one before, its bytes)."""
    return [(shared_prefix(b, a), len(a)) for b, a in pairwise(requests)]


def share(pairs: Sequence[tuple[int, int]]) -> float:
    """The share of all these requests' bytes a prefix cache could reuse."""
    return sum(s for s, _ in pairs) / sum(n for _, n in pairs)


async def dialog_of(turns: int, budget: int, script: str, dialog_id: int) -> FakeModel:
    model = FakeModel()
    writer = ReplyWriter(model, token_budget=budget)
    dialog = Dialog(
        account_id=1,
        target_username=f"salon_owner_{dialog_id}",
        id=dialog_id,
        notes="Владелица салона в Казани, 3 мастера",
        created_at=T0,
    )
    history: list[Message] = []
    when = T0

    def ours(text: str, kind: OutKind) -> None:
        message = Message.outgoing(dialog_id, 1, text, when, kind)
        message.delivery = Delivery.SENT
        message.id = len(history) + 1
        history.append(message)

    composed = await writer.compose(Task.OPENER, script=script, dialog=dialog)
    ours(composed.text, OutKind.OPENER)
    for turn in range(turns):
        when += timedelta(minutes=7)
        text = PROSPECT[turn % len(PROSPECT)] + (f" (вопрос {turn + 1})" if turn >= 10 else "")
        incoming = Message.incoming(dialog_id, 1, text, when, 1000 + turn)
        incoming.id = len(history) + 1
        history.append(incoming)
        composed = await writer.compose(
            Task.REPLY, script=script, dialog=dialog, history=list(history)
        )
        answer = composed.answer
        dialog.record_progress(answer.stage, answer.warmth)
        dialog.summary = answer.summary or dialog.summary
        when += timedelta(minutes=1)
        ours(composed.text, OutKind.REPLY)
    return model


async def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--turns", type=int, default=30, help="replies in the dialog (30)")
    default_budget = Settings.model_fields["LLM_HISTORY_TOKEN_BUDGET"].default
    cli.add_argument("--budget", type=int, default=default_budget, help="token budget")
    args = cli.parse_args()
    quiet_logging()
    script = DEFAULT_PROMPT_FILE.read_text(encoding="utf-8")
    model = await dialog_of(args.turns, args.budget, script, dialog_id=1)
    other = await dialog_of(2, args.budget, script, dialog_id=2)
    replies = model.requests[1:]  # the opener's request is not a reply
    tokens = [sum(turn_tokens(t) for t in request) for request in replies]
    sent = [wire(request) for request in model.requests]
    ours = shared(sent)  # reply k's request against the request before it
    before = shared([wire(state_first(request)) for request in model.requests])
    from_third = ours[2:]
    each = [s / n for s, n in from_third]
    fixed_same = model.requests[0][0] == other.requests[0][0] == other.requests[-1][0]
    fixed_tokens = turn_tokens(model.requests[0][0])
    print(f"{args.turns} replies, budget {args.budget} estimated tokens, shipped script")
    print(f"fixed system message: {fixed_tokens} tokens, identical in another dialog: {fixed_same}")
    print("reply  tokens  cacheable  (state first)")
    for n, (t, new, old) in enumerate(zip(tokens, ours, before, strict=True), start=1):
        print(f"{n:5d}  {t:6d}  {new[0] / new[1]:9.2f}  {old[0] / old[1]:13.2f}")
    print_result(
        "prompt",
        tokens_per_reply=round(statistics.mean(tokens)),
        tokens_max=max(tokens),
        budget=args.budget,
        cacheable_share=round(share(from_third), 3),
        cacheable_min=round(min(each), 3),
        turns_below_target=sum(1 for x in each if x < TARGET_SHARE),
        state_first_share=round(share(before[2:]), 3),
        fixed_tokens=fixed_tokens,
        fixed_identical=fixed_same,
        target_met=share(from_third) >= TARGET_SHARE and max(tokens) <= args.budget,
    )


if __name__ == "__main__":
    run(main())
