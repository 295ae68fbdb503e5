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
   `account fence` — confirms the accounts' locks every few seconds and disconnects every
   account when they stay unconfirmed for the lease (application/accounts/run_accounts.py);
5. `dispatcher` — the only sender; each account's worker first reconciles sends a crash
   interrupted. Stopping it lets a send already on its way to Telegram finish, then
   cancels the workers: a message left `sending` is checked against the chat at the next
   start, never sent twice;
6. `follow-ups` — nudges silent prospects;
7. `campaign feeder` — starts the active campaigns' leads as accounts have free send slots
   within the working hours; at its start, gives back the leads a stopped process had
   claimed but not started (application/campaigns/feeder.py);
8. `account calls` — runs what commands of any process ask of the accounts this one runs
   (a username resolved, @SpamBot asked: application/accounts/account_calls.py), and
   keeps the census of which accounts the other processes run;
9. `webhook` — with WEBHOOK_URL, turns the database's event queue on and delivers the
   events (at least once, in order per dialog, retried with back-off); without it, a
   one-off `webhook off` turns the queue off so no event piles up;
10. `admin bot` — long polling, in the one process the election picks among those with
    `SALESBOT_ROLE=all` (entrypoints/election.py; a worker has no such component). It
    starts at once, beside the others, so a failing account or an unreachable model never
    keeps it from answering; and it stops first, so no new command arrives while the rest
    winds down.

Before them all, `notices` opens the notifier's Bot API client, which every process sends
through (a worker and a follower too); it stops last, sending what is still queued.

"salesbot ready" is logged once every component is up; until then, after the timing's
`ready_wait`, "salesbot degraded" names those that are not and why. A BOT_TOKEN or
API_ID/API_HASH that Telegram rejects ends the process with exit 2 (no restart).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from salesbot.application.errors import CredentialsRejected, SessionSecretMismatch
from salesbot.application.webhooks.deliver import enable_webhook
from salesbot.entrypoints.commands import CONFIG_EXIT
from salesbot.entrypoints.database_watch import DatabaseWatch
from salesbot.entrypoints.draining import DrainedLoop
from salesbot.entrypoints.election import NAME as ELECTED
from salesbot.entrypoints.election import Election
from salesbot.entrypoints.startup import StartupRefused
from salesbot.entrypoints.supervisor import Component, Resident, Supervisor, Unrecoverable

if TYPE_CHECKING:
    from salesbot.entrypoints.container import Service

log = logging.getLogger("salesbot.run")

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
        *notices_component(app),
        watch.component(),
        Resident("replies", answer_unanswered, incoming.aclose).component,
        Component("update states", app.update_states.run_forever, grace=5.0),
        PoolRunner(app).component,
        Component("account fence", app.pool.fence_forever, grace=1.0),
        DrainedLoop(
            "dispatcher", app.dispatcher.run_forever, app.dispatcher_messenger, grace=10.0
        ).component,
        Component("follow-ups", app.follow_ups.run_forever, grace=5.0),
        Component("campaign feeder", app.feeder.run_forever, grace=5.0),
        Component("account calls", lambda: run_account_calls(app), grace=5.0),
        webhook_component(app),
    ]
    found += admin_bot_component(app)
    return found


def notices_component(app: Service) -> list[Component]:
    """The notifier's Bot API client opened at start and closed at the very end (none when
    the notifier is a stand-in)."""
    if app.sending_bot is None:
        return []
    opening = refusing_rejected_credentials(app.sending_bot.open)
    return [Resident("notices", opening, app.sending_bot.close).component]


def admin_bot_component(app: Service) -> list[Component]:
    """The election for the admin bot; nothing in a worker, which only runs accounts."""
    if app.settings.SALESBOT_ROLE == "worker":
        log.info("admin bot: SALESBOT_ROLE=worker, this process only runs accounts")
        return []
    if app.admin_bot is None:
        return []
    if app.leadership is None:  # nobody else on the database to share the bot with
        start = refusing_rejected_credentials(app.admin_bot.start)
        return [Resident(ELECTED, start, app.admin_bot.stop).component]
    election = Election(
        app.leadership,
        refusing_rejected_credentials(app.admin_bot.start),
        app.admin_bot.stop,
        app.clock,
        interval=app.timing.election_interval,
    )
    return [election.component]


def webhook_component(app: Service) -> Component:
    """The deliverer with WEBHOOK_URL (it turns the queue on first); without it, the queue
    turned off once, so that the database makes no event nobody will take."""
    if app.webhook is not None:
        return Component("webhook", app.webhook.run_forever, grace=5.0)

    async def turn_off() -> None:
        await enable_webhook(app.uow_factory, False)

    return Component("webhook off", turn_off, once=True)


def refusing_rejected_credentials(
    run: Callable[[], Awaitable[None]],
) -> Callable[[], Awaitable[None]]:
    """A rejected BOT_TOKEN or API_ID/API_HASH ends the process with the configuration's
    exit status (2), which the systemd unit does not restart: no retry can fix it."""

    async def guarded() -> None:
        try:
            await run()
        except CredentialsRejected as error:
            raise Unrecoverable(str(error), exit_code=CONFIG_EXIT) from None

    return guarded


async def run_account_calls(app: Service) -> None:
    """The runner of account calls; when it stops, the queue stops listening (its
    connection is this process's only LISTEN)."""
    try:
        await app.account_call_runner.run_forever()
    finally:
        await asyncio.shield(app.account_call_queue.close())


class PoolRunner:
    """The account pool as a component: ready once every account had its try; cancelled
    at shutdown, when it disconnects every client and releases their locks."""

    def __init__(self, app: Service) -> None:
        self._app = app
        self.component = Component(
            "account pool",
            refusing_rejected_credentials(self.run),
            announces_ready=True,
            grace=20.0,
        )
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


async def ready_line(app: Service, not_ready: dict[str, str] | None = None) -> str:
    """`salesbot ready: …` when every component is up, else `salesbot degraded: …` naming
    each one that is not and why."""
    connected = len(app.pool.owned())
    active = sum((await app.dialog_views.active_per_account()).values())
    counts = f"{connected} account(s) connected, {active} dialog(s) active"
    if not not_ready:
        return f"salesbot ready: {counts}"
    down = "; ".join(
        f"{name} not up ({why})" if why else f"{name} still starting"
        for name, why in not_ready.items()
    )
    return f"salesbot degraded: {down}; {counts}"


async def announce(app: Service, supervisor: Supervisor, ready_timeout: float) -> None:
    """The ready line once every component is up; the degraded line first if that takes
    longer than `ready_timeout`. Neither once the process is stopping."""
    await supervisor.wait_ready(ready_timeout)
    not_ready = supervisor.not_ready()
    if not_ready and not supervisor.stopping:
        await _log_line(app, not_ready)
        while supervisor.not_ready():  # one that came up may have gone down again
            await supervisor.wait_ready(None)
    if not supervisor.stopping:
        await _log_line(app, {})


async def _log_line(app: Service, not_ready: dict[str, str]) -> None:
    try:
        line = await ready_line(app, not_ready)
    except Exception as error:
        word = "degraded" if not_ready else "ready"
        names = f": {', '.join(not_ready)} not up" if not_ready else ""
        log.warning("salesbot %s%s (counting accounts and dialogs failed: %s)", word, names, error)
        return
    if not_ready:
        log.warning("%s", line)
    else:
        log.info("%s", line)


async def serve(
    app: Service,
    supervisor: Supervisor,
    *,
    ready_timeout: float | None = None,
) -> int:
    """Run the app's components until a signal or an unrecoverable error; the exit code.
    The ready line waits `ready_timeout` wall seconds (the timing's `ready_wait`) before the
    degraded one."""
    if ready_timeout is None:
        ready_timeout = app.timing.ready_wait
    for component in components(app):
        supervisor.add(component)
    running = asyncio.create_task(supervisor.run(), name="supervisor")
    announcing = asyncio.create_task(announce(app, supervisor, ready_timeout), name="ready line")
    try:
        return await running
    finally:
        announcing.cancel()
