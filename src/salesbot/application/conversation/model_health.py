"""Telling the admin when the language model stops working, once, and when it is back.

`MonitoredModel` wraps the LanguageModel every use-case uses, so the notice is sent once
for the whole process, not once per dialog or per message. A rejection (bad key, no
credits) is told at once: a human must act. Brief unavailability is normal (the adapter
already retried); it is told only when it lasts `grace_seconds`. `AnswerHealth` does the
same for answers that arrive but hold nothing usable; both keep that rule in `OutageNotice`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from salesbot.application.errors import LlmError, LlmRejected
from salesbot.application.ports import AdminNotifier, ChatTurn, Clock, Completion, LanguageModel
from salesbot.domain.events import LlmFailing, LlmRecovered

logger = logging.getLogger(__name__)


class OutageNotice:
    """One outage, told to the admin once when it has lasted `grace_seconds` (or at once,
    when a human must act) and once when it is over."""

    def __init__(self, notifier: AdminNotifier, clock: Clock, *, grace_seconds: float) -> None:
        self._notifier = notifier
        self._clock = clock
        self._grace = grace_seconds
        self._since: datetime | None = None
        self._told = False

    @property
    def failing(self) -> bool:
        return self._since is not None

    async def failed(self, describe: Callable[[float], str], *, at_once: bool = False) -> None:
        """One more failure; `describe(seconds failing)` is the notice's reason."""
        now = self._clock.now()
        if self._since is None:
            self._since = now
        failing_for = (now - self._since).total_seconds()
        if self._told or not (at_once or failing_for >= self._grace):
            return
        self._told = True
        await self._notifier.notify(LlmFailing(reason=describe(failing_for)))

    async def recovered(self) -> None:
        told, self._since, self._told = self._told, None, False
        if told:
            await self._notifier.notify(LlmRecovered())


class MonitoredModel:
    def __init__(
        self,
        inner: LanguageModel,
        notifier: AdminNotifier,
        clock: Clock,
        *,
        grace_seconds: float = 60.0,
    ) -> None:
        self._inner = inner
        self._outage = OutageNotice(notifier, clock, grace_seconds=grace_seconds)

    @property
    def failing(self) -> bool:
        return self._outage.failing

    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None, json_mode: bool = False
    ) -> Completion:
        try:
            completion = await self._inner.complete(
                turns, max_tokens=max_tokens, json_mode=json_mode
            )
        except LlmError as error:
            await self._failed(error)
            raise
        if self._outage.failing:
            logger.info("the language model answers again")
            await self._outage.recovered()
        return completion

    async def _failed(self, error: LlmError) -> None:
        if not self._outage.failing:
            logger.warning("the language model is failing: %s", error)
        if isinstance(error, LlmRejected):  # a human must act: told at once
            reason = f"{error.detail or error}. Replies wait until it works again."
            await self._outage.failed(lambda _: reason, at_once=True)
            return
        await self._outage.failed(
            lambda failing_for: (
                f"the language model has not answered for {failing_for:.0f} s "
                f"({error}). Replies wait and are retried."
            )
        )


HAND_OVER_AFTER = 3
"""Failed rounds in a row after which a dialog the model alone fails is handed over."""
UNUSABLE_GRACE_SECONDS = 120.0
"""How long only unusable answers may come before the admin is told."""


class AnswerHealth:
    """Whether the model's failures are the model's or one dialog's.

    While the model gives nobody a usable answer it is unhealthy: every dialog waits and
    is asked again, for as long as it takes, and after the outage every waiting prospect
    is answered; when only empty or unreadable answers come for `grace_seconds`, the admin
    is told once (and once when usable answers are back), as `MonitoredModel` does for
    requests that fail outright. A dialog is given up on (handed to the operator) only when
    it failed `strikes` rounds in a row and the model answered some other request meanwhile:
    then it is something about this dialog, and retrying will not mend it.
    """

    def __init__(
        self,
        notifier: AdminNotifier | None = None,
        clock: Clock | None = None,
        *,
        strikes: int = HAND_OVER_AFTER,
        grace_seconds: float = UNUSABLE_GRACE_SECONDS,
    ) -> None:
        self._strikes = strikes
        self._answers = 0  # usable answers so far, for any dialog
        self._failing: dict[int, tuple[int, int]] = {}  # dialog -> (answers then, rounds)
        self._outage = (
            OutageNotice(notifier, clock, grace_seconds=grace_seconds)
            if notifier is not None and clock is not None
            else None
        )

    async def answered(self) -> None:
        """The model gave a usable answer (to anyone)."""
        self._answers += 1
        if self._outage is not None and self._outage.failing:
            logger.info("the language model gives usable answers again")
            await self._outage.recovered()

    async def unusable(self, reason: str) -> None:
        """The model answered with nothing usable (empty, unreadable)."""
        if self._outage is None:
            return
        await self._outage.failed(
            lambda failing_for: (
                "the language model has given only empty or unreadable "
                f"answers for {failing_for:.0f} s ({reason}). Replies wait and are retried."
            )
        )

    def failed(self, dialog_id: int) -> bool:
        """One more failed round for the dialog; True when it should be handed over."""
        since, rounds = self._failing.get(dialog_id, (self._answers, 0))
        rounds += 1
        self._failing[dialog_id] = (since, rounds)
        return rounds >= self._strikes and self._answers > since

    def cleared(self, dialog_id: int) -> None:
        """The dialog was answered, or handed over: its count starts again."""
        self._failing.pop(dialog_id, None)
