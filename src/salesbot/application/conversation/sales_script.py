"""The sales script: the operator's edited version if there is one, else the shipped file.

The edited text lives in the settings table (key "sales_prompt") so it survives restarts
and every process sees the same one; `read(uow)` lets a use-case take it inside the unit of
work it already has open, without a second transaction.

A dialog a campaign started follows the campaign's own script when it has one
(`for_dialog`): the opener, every reply, follow-up and regenerated draft of it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from salesbot.application.ports import UnitOfWork, UnitOfWorkFactory
from salesbot.domain.campaign import Campaign
from salesbot.domain.dialog import Dialog

logger = logging.getLogger(__name__)

SETTING_KEY = "sales_prompt"
MAX_SCRIPT_CHARS = 20_000


class SalesScriptUnavailable(Exception):
    """Neither an edited script nor a readable SALES_PROMPT_FILE exists."""


class SalesScript:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        default_path: Path | str,
        *,
        refresh_seconds: float = 10.0,
    ) -> None:
        self._uow_factory = uow_factory
        self._path = Path(default_path)
        self._cached: tuple[float, str] | None = None
        # The stored script, re-read at most every `refresh_seconds` (another process may
        # have changed it): one query fewer per reply. This process's own `set` is seen
        # at once.
        self._refresh = refresh_seconds
        self._stored: tuple[float, str | None] | None = None
        # The campaigns' own scripts, re-read as rarely (a campaign's script is set when it
        # is created; a later change is seen within `refresh_seconds`).
        self._campaigns: dict[int, tuple[float, Campaign | None]] = {}

    @property
    def default_path(self) -> Path:
        return self._path

    async def get(self) -> str:
        async with self._uow_factory() as uow:
            return await self.read(uow)

    async def read(self, uow: UnitOfWork) -> str:
        now = time.monotonic()
        if self._stored is not None and now - self._stored[0] < self._refresh:
            stored = self._stored[1]
        else:
            stored = await uow.settings.get(SETTING_KEY)
            self._stored = (now, stored)
        if stored and stored.strip():
            return stored
        return self.default_text()

    async def for_dialog(self, uow: UnitOfWork, dialog: Dialog) -> str:
        """The script the dialog follows: its campaign's own, else the global one."""
        campaign = await self._campaign_of(uow, dialog)
        own = campaign.script.strip() if campaign is not None else ""
        return own or await self.read(uow)

    async def for_campaign(self, uow: UnitOfWork, campaign: Campaign) -> str:
        """The script a campaign's dialogs follow: its own, else the global one."""
        if campaign.id is not None:
            self._campaigns[campaign.id] = (time.monotonic(), campaign)
        return campaign.script.strip() or await self.read(uow)

    async def variant_for(self, uow: UnitOfWork, dialog: Dialog) -> str:
        """The opener variant (an instruction) the dialog was started with; empty when it
        has none (a regenerated opener is written with it again)."""
        campaign = await self._campaign_of(uow, dialog)
        if campaign is None or dialog.variant is None:
            return ""
        if not 0 <= dialog.variant < len(campaign.variants):
            return ""
        return campaign.variants[dialog.variant]

    async def _campaign_of(self, uow: UnitOfWork, dialog: Dialog) -> Campaign | None:
        if dialog.campaign_id is None:
            return None
        now = time.monotonic()
        cached = self._campaigns.get(dialog.campaign_id)
        if cached is not None and now - cached[0] < self._refresh:
            return cached[1]
        campaign = await uow.campaigns.get(dialog.campaign_id)
        self._campaigns[dialog.campaign_id] = (now, campaign)
        return campaign

    async def set(self, text: str) -> None:
        """Store the operator's script; an empty text goes back to the file's."""
        text = text.strip()
        if len(text) > MAX_SCRIPT_CHARS:
            raise ValueError(
                f"the sales script is {len(text)} characters long; at most "
                f"{MAX_SCRIPT_CHARS} fit a prompt"
            )
        async with self._uow_factory() as uow:
            await uow.settings.set(SETTING_KEY, text)
            await uow.commit()
        self._stored = (time.monotonic(), text)
        logger.info("sales script %s", "replaced" if text else "reset to the file")

    async def is_default(self) -> bool:
        async with self._uow_factory() as uow:
            stored = await uow.settings.get(SETTING_KEY)
        self._stored = (time.monotonic(), stored)
        return not (stored and stored.strip())

    def default_text(self) -> str:
        """The file's text, re-read when the file changes."""
        try:
            modified = self._path.stat().st_mtime
            if self._cached is None or self._cached[0] != modified:
                # Kept stripped: every reply gets this very string, its hash computed once.
                self._cached = (modified, self._path.read_text(encoding="utf-8").strip())
        except OSError as error:
            raise SalesScriptUnavailable(
                f"cannot read the sales script SALES_PROMPT_FILE={self._path}: "
                f"{error.strerror or error}"
            ) from None
        text = self._cached[1]
        if not text:
            raise SalesScriptUnavailable(f"the sales script {self._path} is empty")
        return text
