"""Domain errors: each names a fact about the business, not a library failure."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses to break."""


class InvalidUsername(DomainError):
    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"invalid username {raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


class InvalidPhone(DomainError):
    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"invalid phone {raw!r}: {reason}")
        self.raw = raw
        self.reason = reason


class IllegalTransition(DomainError):
    """An entity was asked to move to a status its current status does not allow."""

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot go from {current!r} to {target!r}")
        self.entity = entity
        self.current = current
        self.target = target
