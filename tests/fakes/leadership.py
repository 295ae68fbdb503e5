"""Leadership in memory, as the advisory lock behaves: one leader among every FakeLeadership
sharing a `Ballot` (one per database); a process whose connection was cut has lost the
lead; a database that is away refuses every try."""

from __future__ import annotations

from dataclasses import dataclass

from salesbot.application.errors import DatabaseUnavailable


@dataclass
class Ballot:
    """The database's side: who holds the lock now, and whether it answers at all."""

    leader: FakeLeadership | None = None
    reachable: bool = True


class FakeLeadership:
    def __init__(self, ballot: Ballot | None = None) -> None:
        self.ballot = ballot if ballot is not None else Ballot()

    async def try_lead(self) -> bool:
        if not self.ballot.reachable:
            raise DatabaseUnavailable("the database is away")
        if self.ballot.leader is None:
            self.ballot.leader = self
        return self.ballot.leader is self

    async def still_leading(self) -> bool:
        if not self.ballot.reachable:
            self.cut()  # a claim that cannot be confirmed is given up
        return self.ballot.leader is self

    async def resign(self) -> None:
        if self.ballot.leader is self:
            self.ballot.leader = None

    async def close(self) -> None:
        await self.resign()

    def cut(self) -> None:
        """Its connection ended (killed, the server restarted): the lock went with it."""
        if self.ballot.leader is self:
            self.ballot.leader = None
