"""A Telegram user as one account knows them: id plus the access hash that account may use."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    """Access hashes are per account: a peer resolved by one account is useless to another."""

    account_id: int
    username: str
    user_id: int
    access_hash: int
