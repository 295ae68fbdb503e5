"""The long-running process: every component of the container's Service under one supervisor.

Components, in start-up order (they stop in the reverse one):

1. `database watch` — a long outage ends the process (exit 1) so systemd restarts it;
2. `replies` — at start, answers dialogs left unanswered by the last stop; at stop, drops
   reply jobs still waiting (the next start answers them);
3. `update states` — writes the accounts' Telegram update states every few seconds, and
   once more at stop (after the pool has stopped the clients);
4. `account pool` — connects every active account concurrently from its update state
   (Telegram replays what came meanwhile), checks the open chats for what that could not
   bring back, then keeps the pool in line with the database; at stop, disconnects them
   all;
5. `dispatcher` — the only sender; each account's worker first reconciles sends a crash
   interrupted. Stopping it lets a send already on its way to Telegram finish, then
   cancels the workers: a message left `sending` is checked against the chat at the next
   start, never sent twice;
6. `follow-ups` — nudges silent prospects;
7. `admin bot` — long polling. It starts at once, beside the others, so a failing account
   or an unreachable model never keeps it from answering; and it stops first, so no new
   command arrives while the rest winds down.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from salesbot.application.errors import SessionSecretMismatch
from salesbot.entrypoints.database_watch import DatabaseWatch
from salesbot.entrypoints.draining import DrainedLoop
from salesbot.entrypoints.startup import StartupRefused
from salesbot.entrypoints.supervisor import Component, Resident, Supervisor

if TYPE_CHECKING:
    from salesbot.entrypoints.container import Service

log = logging.getLogger("salesbot.run")

READY_TIMEOUT = 30.0
"""Wall seconds the ready line waits for the components; it is logged either way."""
PING_KEY = "salesbot.ping"


async def ping(app: Service) -> None:
    """One round trip to the database (the database watch's probe)."""
    async with app.uow_factory() as uow:
        await uow.settings.get(PING_KEY)


async def check_sessions(app: Service) -> None:
    """StartupRefused (exit 2) when SESSION_SECRET cannot open the stored sessions."""
    try:
        async with app.uow_factory() as uow:
            await uow.accounts.every()
    except SessionSecretMismatch as error:
        raise StartupRefused(
            f"{error}. Set SESSION_SECRET back to the value the accounts were stored with "
            "(see your backup of the env file), or remove the accounts and log them in again",
            exit_code=2,
        ) from None


def components(app: Service) -> list[Component]:
    timing = app.timing
    watch = DatabaseWatch(
        lambda: ping(app),
        app.clock,
        app.database_health,
        grace=timing.database_grace,
        interval=timing.database_ping_interval,
    )
    incoming = app.incoming

    async def answer_unanswered() -> None:
        await incoming.answer_unanswered()

    found = [
        watch.component(),
        Resident("replies", answer_unanswered, incoming.aclose).component,
        Component("update states", app.update_states.run_forever, grace=5.0),
        PoolRunner(app).component,
        DrainedLoop(
            "dispatcher", app.dispatcher.run_forever, app.dispatcher_messenger, grace=10.0
        ).component,
        Component("follow-ups", app.follow_ups.run_forever, grace=5.0),
    ]
    if app.admin_bot is not None:
        found.append(Resident("admin bot", app.admin_bot.start, app.admin_bot.stop).component)
    return found


class PoolRunner:
    """The account pool as a component: ready once every account had its try; cancelled
    at shutdown, when it disconnects every client and releases their locks."""

    def __init__(self, app: Service) -> None:
        self._app = app
        self.component = Component("account pool", self.run, announces_ready=True, grace=20.0)
        app.pool.expect_first_round()  # before the admin bot may take a /start

    async def run(self) -> None:
        pool = self._app.pool
        try:
            await pool.start_all()
            self.component.ready.set()
            await pool.run_forever(self._app.timing.pool_refresh)
        finally:
            self.component.ready.clear()
            await asyncio.shield(pool.stop_all())


async def ready_line(app: Service, not_ready: list[str]) -> str:
    connected = len(app.pool.owned())
    active = sum((await app.dialog_views.active_per_account()).values())
    line = f"salesbot ready: {connected} account(s) connected, {active} dialog(s) active"
    if not_ready:
        line += f"; still starting: {', '.join(not_ready)}"
    return line


async def serve(
    app: Service,
    supervisor: Supervisor,
    *,
    ready_timeout: float = READY_TIMEOUT,
) -> int:
    """Run the app's components until a signal or an unrecoverable error; the exit code."""
    for component in components(app):
        supervisor.add(component)
    running = asyncio.create_task(supervisor.run(), name="supervisor")
    waiting = asyncio.create_task(supervisor.wait_ready(ready_timeout), name="ready line")
    try:
        done, _ = await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if waiting in done and not supervisor.stopping:
            try:
                log.info(await ready_line(app, waiting.result()))
            except Exception as error:
                log.warning("salesbot ready (counting accounts and dialogs failed: %s)", error)
        return await running
    finally:
        waiting.cancel()
