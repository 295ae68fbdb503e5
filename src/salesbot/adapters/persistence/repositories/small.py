"""The small tables: do-not-contact, the peer cache, operator settings, update states."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, String, bindparam, delete, exists, func, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from salesbot.adapters.persistence.models import (
    do_not_contact,
    do_not_contact_values,
    peer_from_row,
    peers,
    settings,
    update_states,
)
from salesbot.adapters.persistence.repositories.statements import (
    insert_ignoring_duplicates,
    upsert,
)
from salesbot.adapters.persistence.transaction import Transaction, is_missing_reference
from salesbot.application.errors import RecordNotFound
from salesbot.application.ports import UpdateState
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.domain.peer import Peer

_p = peers.c
_PEER = select(peers).where(_p.account_id == bindparam("account_id"))
_PEER_BY_USERNAME = _PEER.where(_p.username == bindparam("username"))
# Usernames sort by their bytes, as in Python, whatever the database's collation.
_BY_USERNAME = _p.username.collate("C")
# A renamed prospect may be cached under both names: either entry reaches them.
_PEER_BY_USER_ID = _PEER.where(_p.user_id == bindparam("user_id")).order_by(_BY_USERNAME).limit(1)
_PEERS_OF_ACCOUNT = _PEER.order_by(_BY_USERNAME)
_PUT_PEER = upsert(peers, ("account_id", "username"), ("user_id", "access_hash"))
_SETTING = select(settings.c.value).where(settings.c.key == bindparam("setting_key"))
_SET_SETTING = upsert(settings, ("key",), ("value",))
_ADD_DO_NOT_CONTACT = insert_ignoring_duplicates(do_not_contact)
_d = do_not_contact.c
_NEWEST_DO_NOT_CONTACT = (
    select(_d.username, _d.user_id, _d.reason, _d.created_at, _d.dialog_id)
    .order_by(_d.created_at.desc(), _d.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
)
_COUNT_DO_NOT_CONTACT = select(func.count()).select_from(do_not_contact)
# A whole lead list in one round trip: the names go as one array parameter.
_LISTED_AMONG = select(_d.username).where(
    _d.username == func.any_(bindparam("usernames", type_=postgresql.ARRAY(String)))
)


def _same_prospect(username: str | None, user_id: int | None) -> list[ColumnElement[bool]]:
    matches = []
    if username is not None:
        matches.append(_d.username == username)
    if user_id is not None:
        matches.append(_d.user_id == user_id)
    return matches


class SqlDoNotContactRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def add(self, entry: DoNotContact) -> None:
        try:
            await self._tx.execute(_ADD_DO_NOT_CONTACT, do_not_contact_values(entry))
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no dialog {entry.dialog_id}") from exc
            raise

    async def contains(self, *, username: str | None = None, user_id: int | None = None) -> bool:
        matches = _same_prospect(username, user_id)
        if not matches:
            return False
        statement = select(exists().where(or_(*matches)))
        return bool((await self._tx.execute(statement)).scalar_one())

    async def usernames_among(self, usernames: Collection[str]) -> set[str]:
        if not usernames:
            return set()
        rows = await self._tx.execute(_LISTED_AMONG, {"usernames": list(usernames)})
        return {row.username for row in rows}

    async def newest(self, *, limit: int, offset: int = 0) -> list[DoNotContact]:
        rows = await self._tx.execute(_NEWEST_DO_NOT_CONTACT, {"limit": limit, "offset": offset})
        return [
            DoNotContact(row.username, row.user_id, row.reason, row.created_at, row.dialog_id)
            for row in rows
        ]

    async def count(self) -> int:
        return int((await self._tx.execute(_COUNT_DO_NOT_CONTACT)).scalar_one())

    async def remove(self, *, username: str | None = None, user_id: int | None = None) -> int:
        matches = _same_prospect(username, user_id)
        if not matches:
            return 0
        result = await self._tx.execute(delete(do_not_contact).where(or_(*matches)))
        return int(result.rowcount)


class SqlPeerRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, account_id: int, username: str) -> Peer | None:
        params = {"account_id": account_id, "username": username}
        row = (await self._tx.execute(_PEER_BY_USERNAME, params)).first()
        return peer_from_row(row) if row else None

    async def get_by_user_id(self, account_id: int, user_id: int) -> Peer | None:
        params = {"account_id": account_id, "user_id": user_id}
        row = (await self._tx.execute(_PEER_BY_USER_ID, params)).first()
        return peer_from_row(row) if row else None

    async def put(self, peer: Peer) -> None:
        values = {
            "account_id": peer.account_id,
            "username": peer.username,
            "user_id": peer.user_id,
            "access_hash": peer.access_hash,
        }
        try:
            await self._tx.execute(_PUT_PEER, values)
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no account {peer.account_id}") from exc
            raise

    async def list_for_account(self, account_id: int) -> list[Peer]:
        rows = await self._tx.execute(_PEERS_OF_ACCOUNT, {"account_id": account_id})
        return [peer_from_row(row) for row in rows]


class SqlSettingRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, key: str) -> str | None:
        return (await self._tx.execute(_SETTING, {"setting_key": key})).scalar_one_or_none()

    async def set(self, key: str, value: str) -> None:
        await self._tx.execute(_SET_SETTING, {"key": key, "value": value})


_s = update_states.c
_STATE = select(_s.pts, _s.qts, _s.date, _s.seq).where(_s.account_id == bindparam("account_id"))


def _put_state() -> Insert:
    insert = postgresql.insert(update_states).values(updated_at=func.now())
    return insert.on_conflict_do_update(
        index_elements=["account_id"],
        set_={name: insert.excluded[name] for name in ("pts", "qts", "date", "seq", "updated_at")},
        # A state from before a later one (a slow writer, the previous owner) loses.
        where=_s.pts <= insert.excluded.pts,
    )


_PUT_STATE = _put_state()


class SqlUpdateStateRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, account_id: int) -> UpdateState | None:
        row = (await self._tx.execute(_STATE, {"account_id": account_id})).first()
        return UpdateState(pts=row.pts, qts=row.qts, date=row.date, seq=row.seq) if row else None

    async def put(self, account_id: int, state: UpdateState) -> None:
        values = {
            "account_id": account_id,
            "pts": state.pts,
            "qts": state.qts,
            "date": state.date,
            "seq": state.seq,
        }
        try:
            await self._tx.execute(_PUT_STATE, values)
        except IntegrityError as exc:
            if is_missing_reference(exc):
                raise RecordNotFound(f"no account {account_id}") from exc
            raise
