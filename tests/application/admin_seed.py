"""Accounts, dialogs and messages stored through a unit of work (the fake's or PostgreSQL's),
for the admin use-cases' tests: what the conversation engine would have written."""

from __future__ import annotations

import itertools
from datetime import timedelta

from salesbot.application.ports import UnitOfWorkFactory
from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog, DialogStatus, Stage
from salesbot.domain.message import Delivery, Message, OutKind
from tests.fakes import FakeClock
from tests.secrets import SHORT_SESSION_STRING


class Seed:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: FakeClock) -> None:
        self.uow = uow_factory
        self.clock = clock
        self._telegram_ids = itertools.count(1)

    async def account(self, phone: str = "+79001234567") -> int:
        async with self.uow() as uow:
            account = await uow.accounts.add(
                Account(
                    phone=phone, session_string=SHORT_SESSION_STRING, created_at=self.clock.now()
                )
            )
            await uow.commit()
        assert account.id is not None
        return account.id

    async def dialog(
        self,
        account_id: int,
        username: str,
        *,
        status: DialogStatus = DialogStatus.ACTIVE,
        stage: Stage = Stage.INTRODUCTION,
        warmth: int = 0,
        user_id: int | None = None,
        minutes_ago: float = 0,
        summary: str = "",
        notes: str = "",
    ) -> int:
        moment = self.clock.now() - timedelta(minutes=minutes_ago)
        async with self.uow() as uow:
            dialog = await uow.dialogs.add(
                Dialog(
                    account_id=account_id,
                    target_username=username,
                    status=status,
                    target_user_id=user_id,
                    created_at=moment,
                    last_activity_at=moment,
                    stage=stage,
                    warmth=warmth,
                    summary=summary,
                    notes=notes,
                )
            )
            await uow.commit()
        assert dialog.id is not None
        return dialog.id

    async def sent(
        self,
        dialog_id: int,
        account_id: int,
        text: str,
        *,
        kind: OutKind = OutKind.REPLY,
        minutes_ago: float = 0,
    ) -> int:
        moment = self.clock.now() - timedelta(minutes=minutes_ago)
        message = Message.outgoing(dialog_id, account_id, text, moment, kind)
        message.delivery = Delivery.SENT
        message.sent_at = moment
        return await self._add(message)

    async def queued(
        self, dialog_id: int, account_id: int, text: str, *, kind: OutKind = OutKind.REPLY
    ) -> int:
        return await self._add(
            Message.outgoing(dialog_id, account_id, text, self.clock.now(), kind)
        )

    async def received(
        self, dialog_id: int, account_id: int, text: str, *, minutes_ago: float = 0
    ) -> int:
        moment = self.clock.now() - timedelta(minutes=minutes_ago)
        return await self._add(
            Message.incoming(dialog_id, account_id, text, moment, next(self._telegram_ids))
        )

    async def received_many(self, dialog_id: int, account_id: int, texts: list[str]) -> None:
        """The prospect's `texts`, a minute apart, ending now, in one unit of work."""
        async with self.uow() as uow:
            for i, text in enumerate(texts):
                moment = self.clock.now() - timedelta(minutes=len(texts) - i)
                await uow.messages.add(
                    Message.incoming(dialog_id, account_id, text, moment, next(self._telegram_ids))
                )
            await uow.commit()

    async def _add(self, message: Message) -> int:
        async with self.uow() as uow:
            stored = await uow.messages.add(message)
            await uow.commit()
        assert stored.id is not None
        return stored.id
