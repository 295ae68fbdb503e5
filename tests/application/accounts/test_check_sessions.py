"""SessionCheck (`salesbot check --online`): each account's session connected once under its
lock and let go again; nothing stored."""

from __future__ import annotations

from salesbot.application.accounts.check_sessions import SessionCheck, SessionVerdict
from salesbot.domain.account import Account, AccountStatus
from tests.application.telegram_world import FakeLocks
from tests.fakes import FakeTelegram, FakeUnitOfWork, InMemoryStore

SESSIONS = ["alive", "revoked", "banned", "unavailable", "hanging", "held", "off", "out"]


async def _world() -> tuple[InMemoryStore, FakeTelegram, dict[int, FakeLocks], dict[str, int]]:
    store, telegram = InMemoryStore(), FakeTelegram()
    ids: dict[str, int] = {}
    statuses = {"off": AccountStatus.DISABLED, "out": AccountStatus.LOGGED_OUT}
    async with FakeUnitOfWork(store) as uow:
        for number, session in enumerate(SESSIONS):
            account = await uow.accounts.add(
                Account(
                    phone=f"+7900000000{number}",
                    session_string=f"session-{session}",
                    status=statuses.get(session, AccountStatus.ACTIVE),
                )
            )
            assert account.id is not None
            ids[session] = account.id
        await uow.commit()
    telegram.revoked_sessions.add("session-revoked")
    telegram.banned_sessions.add("session-banned")
    telegram.unavailable_sessions.add("session-unavailable")
    telegram.hanging_sessions.add("session-hanging")
    registry: dict[int, FakeLocks] = {}
    assert await FakeLocks(registry).try_acquire(ids["held"])  # a running `salesbot run`
    return store, telegram, registry, ids


async def test_every_account_gets_its_verdict_and_is_let_go_again():
    store, telegram, registry, ids = await _world()
    locks = FakeLocks(registry)
    check = SessionCheck(lambda: FakeUnitOfWork(store), telegram, locks, timeout=0.05)

    checked = await check.check_all()

    verdicts = {result.account_id: result.verdict for result in checked}
    assert verdicts == {
        ids["alive"]: SessionVerdict.ALIVE,
        ids["revoked"]: SessionVerdict.NEEDS_LOGIN,
        ids["banned"]: SessionVerdict.BANNED,
        ids["unavailable"]: SessionVerdict.UNREACHABLE,
        ids["hanging"]: SessionVerdict.UNREACHABLE,
        ids["held"]: SessionVerdict.IN_USE,
        ids["off"]: SessionVerdict.DISABLED,
        ids["out"]: SessionVerdict.NEEDS_LOGIN,
    }
    assert [r.account_id for r in checked] == sorted(verdicts)
    hanging = next(r for r in checked if r.account_id == ids["hanging"])
    assert hanging.detail == "no answer in 0.05 s"
    # Connected only what it owns and may run; nothing is left connected or locked.
    assert sorted(telegram.connects) == sorted(
        ids[s] for s in ("alive", "revoked", "banned", "unavailable", "hanging")
    )
    assert telegram.connected() == frozenset()
    assert locks.held() == set()
    assert ids["held"] in registry, "the other process keeps its lock"


async def test_the_failures_are_those_an_operator_must_act_on():
    assert {v for v in SessionVerdict if v.failed} == {
        SessionVerdict.NEEDS_LOGIN, SessionVerdict.BANNED, SessionVerdict.UNREACHABLE
    }


async def test_nothing_is_stored():
    store, telegram, registry, _ = await _world()
    async with FakeUnitOfWork(store) as uow:
        before = await uow.accounts.every()
    await SessionCheck(
        lambda: FakeUnitOfWork(store), telegram, FakeLocks(registry), timeout=0.05
    ).check_all()
    async with FakeUnitOfWork(store) as uow:
        assert await uow.accounts.every() == before
