"""/check_account: ask @SpamBot from one account whether Telegram limits it, in plain words.

Read-only: the answer is reported, nothing is stored (the account's status changes only
through what Telegram does to its sends, see outbox/spam_limits.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from salesbot.application.errors import AccountNotConnected, UnknownAccount
from salesbot.application.ports import ConnectedAccounts, SpamBot, UnitOfWorkFactory
from salesbot.domain.phone import normalize_phone
from salesbot.domain.spam_bot import SpamBotAnswer, read_spam_bot

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccountChecked:
    account_id: int
    phone: str
    answer: SpamBotAnswer


class AccountCheck:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, connections: ConnectedAccounts, spam_bot: SpamBot
    ) -> None:
        self._uow = uow_factory
        self._connections = connections
        self._spam_bot = spam_bot

    async def check(self, phone: str) -> AccountChecked:
        """UnknownAccount for a phone we do not have; AccountNotConnected when its client
        is not running (in this process, or in any through the account calls); the port's
        errors when SpamBot cannot be asked."""
        phone = normalize_phone(phone)
        async with self._uow() as uow:
            account = await uow.accounts.get_by_phone(phone)
        if account is None or account.id is None:
            raise UnknownAccount(phone)
        if account.id not in self._connections.connected():
            raise AccountNotConnected(account.id)
        text = await self._spam_bot.ask_spam_bot(account.id)
        answer = read_spam_bot(text)
        log.info("account %s: @SpamBot says %s", account.id, answer.verdict.value)
        return AccountChecked(account.id, phone, answer)
