"""The conversation engine assembled from its ports: one function, used by `run` and by
`rehearse` alike, so both answer prospects through exactly the same objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from salesbot.application.conversation.answer_prospect import DialogReplier
from salesbot.application.conversation.model_health import MonitoredModel
from salesbot.application.conversation.receive_message import IncomingMessages
from salesbot.application.conversation.reply_checks import ReplyPolicy
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.send_follow_ups import FollowUps
from salesbot.application.conversation.start_dialog import DISCLOSURE_RU, StartDialogHandler
from salesbot.application.conversation.write_reply import ReplyWriter
from salesbot.application.ports import (
    AccountConnections,
    AdminNotifier,
    Clock,
    LanguageModel,
    TelegramMessenger,
    UnitOfWorkFactory,
)
from salesbot.domain.quota import SendQuota


@dataclass(frozen=True)
class ConversationConfig:
    prompt_file: Path
    quota: SendQuota
    debounce_seconds: float = 20.0
    token_budget: int = 6000
    max_follow_ups: int = 1
    follow_up_after_hours: float = 24.0
    follow_up_interval_seconds: float = 300.0
    disclosure: str = ""  # appended to every opener when set (AI_DISCLOSURE=opener)
    llm_failing_grace_seconds: float = 60.0
    policy: ReplyPolicy = field(default_factory=ReplyPolicy)


@dataclass(frozen=True)
class Conversation:
    script: SalesScript
    model: MonitoredModel
    writer: ReplyWriter
    replier: DialogReplier
    start_dialog: StartDialogHandler
    incoming: IncomingMessages
    follow_ups: FollowUps


def disclosure_for(setting: str, text: str = DISCLOSURE_RU) -> str:
    """AI_DISCLOSURE=opener -> the disclosure text; off -> none."""
    return text if setting == "opener" else ""


def build_conversation(
    *,
    uow_factory: UnitOfWorkFactory,
    connections: AccountConnections,
    messenger: TelegramMessenger,
    llm: LanguageModel,
    notifier: AdminNotifier,
    clock: Clock,
    config: ConversationConfig,
) -> Conversation:
    script = SalesScript(uow_factory, config.prompt_file)
    model = MonitoredModel(llm, notifier, clock, grace_seconds=config.llm_failing_grace_seconds)
    writer = ReplyWriter(model, token_budget=config.token_budget, policy=config.policy)
    replier = DialogReplier(uow_factory, writer, script, notifier, clock)
    return Conversation(
        script=script,
        model=model,
        writer=writer,
        replier=replier,
        start_dialog=StartDialogHandler(
            uow_factory,
            connections,
            messenger,
            writer,
            script,
            clock,
            config.quota,
            disclosure=config.disclosure,
        ),
        incoming=IncomingMessages(
            uow_factory,
            replier,
            messenger,
            notifier,
            clock,
            debounce_seconds=config.debounce_seconds,
        ),
        follow_ups=FollowUps(
            uow_factory,
            writer,
            script,
            notifier,
            clock,
            after_hours=config.follow_up_after_hours,
            max_follow_ups=config.max_follow_ups,
            interval_seconds=config.follow_up_interval_seconds,
        ),
    )
