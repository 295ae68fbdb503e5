"""The operator's do-not-contact list: read it page by page, add a prospect by hand, take
one off again (a mistake, or they asked to be written to after all).

Opt-outs add to the same list by themselves (conversation/apply_outcome.py); /start and
the follow-ups refuse whoever is on it, by username or by Telegram user id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from salesbot.application.admin.paging import DEFAULT_PAGE_SIZE, Page, clamp_page
from salesbot.application.errors import NotOnDoNotContact
from salesbot.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.username import normalize_username

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AddToDoNotContact:
    username: str
    reason: str = ""


@dataclass(frozen=True)
class RemoveFromDoNotContact:
    """One of the two: a username (its known user ids go too) or a Telegram user id."""

    username: str | None = None
    user_id: int | None = None


@dataclass(frozen=True)
class AddedToDoNotContact:
    username: str
    user_id: int | None
    """Known when one of our accounts has resolved the username before."""
    added: bool
    """False: the prospect was on the list already (nothing changed)."""
    open_dialog_id: int | None = None
    """Their active or paused dialog, which the list does not stop by itself."""


async def _known_user_ids(uow: UnitOfWork, username: str) -> set[int]:
    """The user ids our accounts resolved this username to (its peers)."""
    found = set()
    for account in await uow.accounts.every():
        assert account.id is not None
        peer = await uow.peers.get(account.id, username)
        if peer is not None:
            found.add(peer.user_id)
    return found


async def _targets(
    uow: UnitOfWork, command: RemoveFromDoNotContact
) -> list[tuple[str | None, int | None]]:
    """(username, user id) pairs whose entries are the prospect's."""
    if command.username is None:
        return [(None, command.user_id)]
    known = await _known_user_ids(uow, command.username)
    return [(command.username, None), *((None, user_id) for user_id in sorted(known))]


class DoNotContactList:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, *, page_size: int = DEFAULT_PAGE_SIZE
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._page_size = page_size

    async def page(self, page: int = 1) -> Page[DoNotContact]:
        """The entries, the latest added first."""
        async with self._uow_factory() as uow:
            total = await uow.do_not_contact.count()
            page, pages = clamp_page(page, total, self._page_size)
            rows = await uow.do_not_contact.newest(
                limit=self._page_size, offset=(page - 1) * self._page_size
            )
        return Page(rows=rows, page=page, pages=pages, total=total)

    async def add(self, command: AddToDoNotContact) -> AddedToDoNotContact:
        """Put the username on the list (with its user id if our accounts know it), so no
        account starts a dialog or follows up with them. Raises InvalidUsername."""
        username = normalize_username(command.username)
        async with self._uow_factory() as uow:
            user_ids = await _known_user_ids(uow, username)
            # Two ids: the username changed hands; the username alone is sure to be theirs.
            user_id = next(iter(user_ids)) if len(user_ids) == 1 else None
            listed = await uow.do_not_contact.contains(username=username, user_id=user_id)
            if not listed:
                await uow.do_not_contact.add(
                    DoNotContact(username, user_id, command.reason.strip(), self._clock.now())
                )
            dialog = await uow.dialogs.find_open_by_username(username)
            await uow.commit()
        if not listed:
            log.info("@%s put on the do-not-contact list by the operator", username)
        return AddedToDoNotContact(
            username, user_id, added=not listed, open_dialog_id=dialog.id if dialog else None
        )

    async def is_listed(self, command: RemoveFromDoNotContact) -> bool:
        """Whether `remove` would take anything off the list."""
        async with self._uow_factory() as uow:
            for username, user_id in await _targets(uow, command):
                if await uow.do_not_contact.contains(username=username, user_id=user_id):
                    return True
        return False

    async def remove(self, command: RemoveFromDoNotContact) -> int:
        """Take the prospect off the list (every entry of the username and of the user ids
        our accounts know it by, or of the user id): /start may write to them again.
        Returns how many entries went; raises NotOnDoNotContact when none matched."""
        async with self._uow_factory() as uow:
            removed = 0
            for username, user_id in await _targets(uow, command):
                removed += await uow.do_not_contact.remove(username=username, user_id=user_id)
            if not removed:
                raise NotOnDoNotContact(command.username, command.user_id)
            await uow.commit()
        log.info(
            "%s taken off the do-not-contact list by the operator (%d entries)",
            f"@{command.username}" if command.username else f"user {command.user_id}",
            removed,
        )
        return removed
