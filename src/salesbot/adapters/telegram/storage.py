"""kurigram's storage for one account: what a restart must not lose lives in PostgreSQL.

kurigram keeps a session's auth key, its peers and its update state in a `Storage`
(`Client(storage_engine=...)`). Ours keeps the session and the peers in memory — they come
from salesbot's database (the encrypted session string, the peers table) at every start —
and the update state of the account's common message box (private chats and small groups;
channels are not followed) from the database too, so that kurigram's `recover_gaps` asks
Telegram for what came while salesbot was away (`updates.getDifference`).

kurigram moves the state on as updates *arrive*, before any handler has run. What is
reported back to be stored is only what was *handled*: `handled(update)` is called after
the account's message handlers are done with an update (they return only once its message
is stored), and reports the state as of that update. So a message held while the database
is down, or lost in a crash, is never behind the stored state: the next start is given it
again. Messages replayed from a difference all carry its final pts, so they report nothing;
the next live update does. (kurigram does not look for gaps in the pts sequence while it
runs — our own sends and reads move pts in answers it never sees as updates — so an update
lost in transit is found by the catch-up's check of the open chats at the next connect.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pyrogram import raw
from pyrogram.storage import SQLiteStorage
from pyrogram.storage import UpdateState as KurigramState

from salesbot.application.ports import UpdateState

COMMON_BOX = 0
"""kurigram's state id of the account's own message box (channels have their own)."""

REPLAYED = -1
"""The `pts_count` kurigram's `recover_gaps` gives the messages it replays from a difference."""

Report = Callable[[UpdateState], None]


class AccountStorage(SQLiteStorage):
    def __init__(self, name: str, session_string: str, state: UpdateState | None, report: Report):
        super().__init__(name, workdir=Path("."), session_string=session_string, in_memory=True)
        self._report = report
        self._received: KurigramState | None = None
        self._handled: UpdateState | None = state
        self._date_at: dict[int, int] = {}
        self._closed = False
        if state is not None:
            self._received = KurigramState(COMMON_BOX, state.pts, state.qts, state.date, state.seq)

    @property
    def handled_state(self) -> UpdateState | None:
        """The state as far as the handlers are done (what was last reported)."""
        return self._handled

    def stop_reporting(self) -> None:
        """The client is being stopped: nothing more is reported (an update whose handling
        is cut short is not handled)."""
        self._closed = True

    # --- what kurigram calls ---------------------------------------------------------------

    async def get_update_states(self, ids: int | Iterable[int] | None = None) -> list[Any]:
        if not _complete(self._received):
            return []  # kurigram's start() then asks Telegram for the current state
        if ids is None or (ids == COMMON_BOX if isinstance(ids, int) else COMMON_BOX in ids):
            return [self._received]
        return []

    async def set_update_state(self, update_state: Any) -> None:
        states = [update_state] if isinstance(update_state, KurigramState) else update_state
        for state in states:
            if state.id == COMMON_BOX:
                self._receive(state)

    async def delete_update_state(self, state_id: int | Iterable[int]) -> None:
        ids = [state_id] if isinstance(state_id, int) else list(state_id)
        if COMMON_BOX in ids:
            self._received = None

    # --- what the adapter calls ------------------------------------------------------------

    def handled(self, update: Any) -> None:
        """The handlers are done with `update`: report the state as of it."""
        pts = getattr(update, "pts", None)
        if self._closed or self._handled is None:
            return
        if not isinstance(pts, int) or _in_a_channel(update):
            return
        if getattr(update, "pts_count", None) == REPLAYED:
            # Every message of a difference carries the difference's final pts: reporting
            # the first would move the state past the others. The next live update (handled
            # after them: one worker, in order) reports; until then a restart replays them
            # again, and what is stored already is not stored twice.
            return
        if pts <= self._handled.pts:
            return
        date = self._date_at.get(pts)
        for seen in [p for p in self._date_at if p <= pts]:
            del self._date_at[seen]
        received = self._received
        self._handled = UpdateState(
            pts=pts,
            qts=(received.qts if received else None) or self._handled.qts,
            date=date if date is not None else self._handled.date,
            seq=(received.seq if received else None) or self._handled.seq,
        )
        self._report(self._handled)

    # ---------------------------------------------------------------------------------------

    def _receive(self, state: KurigramState) -> None:
        before = self._received
        self._received = KurigramState(
            COMMON_BOX,
            _first(state.pts, before.pts if before else None),
            _first(state.qts, before.qts if before else None),
            _first(state.date, before.date if before else None),
            _first(state.seq, before.seq if before else None),
        )
        if state.pts is not None and before is not None and before.date is not None:
            # The date known before this pts arrived: never later than the pts's own.
            self._date_at.setdefault(state.pts, before.date)
        if self._handled is None and _complete(self._received):
            # A client without a stored state starts from Telegram's current one (kurigram's
            # start() asks for it): what came before it is for the catch-up to find.
            self._handled = UpdateState(
                pts=self._received.pts or 0,
                qts=self._received.qts or 0,
                date=self._received.date or 0,
                seq=self._received.seq or 0,
            )
            self._report(self._handled)


def _complete(state: KurigramState | None) -> bool:
    return state is not None and state.pts is not None and state.date is not None


def _first(value: int | None, default: int | None) -> int | None:
    return value if value is not None else default


def _in_a_channel(update: Any) -> bool:
    """Whether the update counts in a channel's own box (as kurigram tells them apart)."""
    message = getattr(update, "message", None)
    peer = getattr(message, "peer_id", None)
    return (
        isinstance(peer, raw.types.PeerChannel) or getattr(update, "channel_id", None) is not None
    )
