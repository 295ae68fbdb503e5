"""`salesbot rehearse`: the operator plays the prospect; the real engine answers.

The conversation runs through the very objects `salesbot run` builds (the container's:
same sales script, prompt, checks, opt-out detector and outcome handling, same model), with
two stand-ins: a Telegram that only this process sees
(nothing reaches Telegram), and an admin notifier that prints. Each line the operator types
(or each line of `--script FILE`) is one incoming message; the queued answer is printed
and marked sent at once, as the Dispatcher would after its pauses. Replies are not
debounced: each line is answered before the next is read.

It never touches the operator's data: the rehearsal runs on a database of its own, on an
embedded PostgreSQL server in a temporary folder that is removed at the end (the script the
operator edited in the admin bot is read from their database and copied in, nothing more).
So a rehearsed "не пишите мне" puts nobody on the real do-not-contact list and counts in no
/stats. The dialog belongs to a stand-in account (`+00000000000`) that stays disabled. The
last line printed is always `outcome: <continue|goal|handoff|opt_out>`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from salesbot.application.conversation.receive_message import IncomingMessages
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.start_dialog import StartDialogHandler
from salesbot.application.ports import (
    ChatHistoryItem,
    IncomingMessage,
    SentMessage,
    StateKeeper,
    UpdateState,
)
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.dialog import Dialog, Outcome
from salesbot.domain.errors import DomainError
from salesbot.domain.events import (
    DialogPaused,
    Event,
    GoalReached,
    HandoffRequested,
    LlmFailing,
    LlmRecovered,
    ProspectOptedOut,
    ProspectReplied,
)
from salesbot.domain.message import Delivery
from salesbot.domain.peer import Peer
from salesbot.domain.review import ReviewMode
from salesbot.domain.username import normalize_username
from salesbot.entrypoints import event_loop
from salesbot.entrypoints.commands import report_config_error
from salesbot.entrypoints.settings import LLM_REQUIRED, ConfigError, Settings, load_settings

log = logging.getLogger("salesbot.rehearse")

REHEARSAL_PHONE = "+00000000000"
REHEARSAL_SESSION = "rehearsal stand-in: never connects"

KEY_HELP = (
    "salesbot rehearse needs a language model: set OPENROUTER_API_KEY to your OpenRouter key "
    "(https://openrouter.ai/keys) in the environment or in .env. OPENROUTER_MODEL picks the "
    "model; OPENROUTER_BASE_URL points at any other OpenAI-compatible server."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--script",
        type=Path,
        metavar="FILE",
        help="read the prospect's messages from FILE, one per line (blank lines and lines "
        "starting with # are skipped) instead of from the terminal",
    )
    parser.add_argument(
        "--context",
        default="",
        help="the operator's notes about the lead, as in /start @user <context>",
    )
    parser.add_argument(
        "--username",
        help="the pretend prospect's Telegram username (default: rehearsal_<time>)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=180.0,
        metavar="SECONDS",
        help="give up when one answer takes longer (default: 180)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="log at LOG_LEVEL instead of warnings only"
    )


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(LLM_REQUIRED, env_file=args.env_file)
    except ConfigError as error:
        code = report_config_error(error)
        if any(p.startswith("OPENROUTER_API_KEY") for p in error.problems):
            print(KEY_HELP, file=sys.stderr)
        return code
    lines: list[str] | None = None
    if args.script is not None:
        try:
            lines = read_script(args.script)
        except OSError as error:
            print(f"cannot read --script {args.script}: {error.strerror or error}", file=sys.stderr)
            return 2
    try:
        username = normalize_username(args.username or f"rehearsal_{int(time.time())}")
    except DomainError as error:
        print(f"--username: {error}", file=sys.stderr)
        return 2

    from salesbot.adapters.logging import configure_logging

    level = settings.LOG_LEVEL if args.verbose else "WARNING"
    configure_logging(level, settings.LOG_FILE, settings.secret_values())
    rehearsal = Rehearsal(settings, username=username, notes=args.context, timeout=args.timeout)
    try:
        return event_loop.run(rehearsal.run(lines))
    except KeyboardInterrupt:
        return 130


def read_script(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


class RehearsalFailed(Exception):
    pass


class Printer:
    """The transcript, on stdout as it happens."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stdout

    def line(self, text: str = "") -> None:
        print(text, file=self._out, flush=True)

    def say(self, who: str, text: str) -> None:
        prefix = f"{who}: "
        first, *rest = text.splitlines() or [""]
        self.line(prefix + first)
        for more in rest:
            self.line(" " * len(prefix) + more)


class RehearsalTelegram:
    """AccountConnections + TelegramMessenger for the stand-in account only; never sends."""

    def __init__(self) -> None:
        self.account_id = 0
        self.username = ""
        self.user_id = 0
        self._handlers: list[Callable[[IncomingMessage], Awaitable[None]]] = []
        # Telegram message ids are unique per account; the stand-in account is reused by
        # every rehearsal, so each run counts from its own start time.
        self._ids = itertools.count(int(time.time() * 1000) * 1000)

    def next_message_id(self) -> int:
        return next(self._ids)

    async def connect(
        self, account: Account, peers: Sequence[Peer], state: UpdateState | None = None
    ) -> None:
        raise RuntimeError("the rehearsal's stand-in account never connects")

    async def disconnect(self, account_id: int) -> None:
        return None

    def connected(self) -> frozenset[int]:
        return frozenset({self.account_id}) if self.account_id else frozenset()

    def subscribe(self, handler: Callable[[IncomingMessage], Awaitable[None]]) -> None:
        self._handlers.append(handler)

    def keep_state(self, keeper: StateKeeper) -> None:
        """The stand-in account never connects, so it has no update state to keep."""

    async def deliver(self, message: IncomingMessage) -> None:
        for handler in self._handlers:
            await handler(message)

    async def resolve_username(self, account_id: int, username: str) -> Peer:
        return Peer(account_id, username, self.user_id, 0)

    async def send_message(self, account_id: int, peer: Peer, text: str) -> SentMessage:
        raise RuntimeError("nothing is sent to Telegram in a rehearsal")

    async def send_typing(self, account_id: int, peer: Peer) -> None:
        return None

    async def mark_read(self, account_id: int, peer: Peer) -> None:
        return None

    async def recent_messages(
        self, account_id: int, peer: Peer, *, limit: int = 50
    ) -> list[ChatHistoryItem]:
        return []

    async def newest_message_ids(self, account_id: int, peers: Sequence[Peer]) -> dict[int, int]:
        return {}


class PrintingNotifier:
    """What the admin bot would say, printed into the transcript."""

    def __init__(self, printer: Printer) -> None:
        self._printer = printer
        self._held: list[str] = []
        self.failing = asyncio.Event()
        self.failure = ""

    async def notify(self, event: Event) -> None:
        if isinstance(event, LlmFailing):
            self.failure = event.reason
            self.failing.set()
        text = describe(event)
        if text:
            self._held.append(text)

    def flush(self) -> None:
        """Print the notices so far: after the messages of the same turn."""
        held, self._held = self._held, []
        for text in held:
            self._printer.say("[admin]", text)


def describe(event: Event) -> str:
    if isinstance(event, GoalReached):
        return f"goal reached in dialog {event.dialog_id}; the AI pauses there\n{event.summary}"
    if isinstance(event, HandoffRequested):
        return f"hand-off requested in dialog {event.dialog_id}; the AI pauses\n{event.summary}"
    if isinstance(event, ProspectOptedOut):
        return f"@{event.username} asked not to be written to: dialog closed, do-not-contact"
    if isinstance(event, DialogPaused):
        held = f"\nthe draft, not sent: «{event.draft}»" if event.draft else ""
        return f"dialog {event.dialog_id} paused: {event.reason}{held}"
    if isinstance(event, LlmFailing):
        return f"the language model is failing: {event.reason}"
    if isinstance(event, LlmRecovered):
        return "the language model answers again"
    if isinstance(event, ProspectReplied):
        return ""  # the operator is the prospect: no news
    return repr(event)


class Rehearsal:
    def __init__(
        self,
        settings: Settings,
        *,
        username: str,
        notes: str = "",
        timeout: float = 180.0,
        printer: Printer | None = None,
    ) -> None:
        # Each line is answered before the next is read: no debounce window to wait out.
        # The rehearsal shows what the AI writes, at once: no admin there approves drafts.
        self._settings = settings.model_copy(
            update={"REPLY_DEBOUNCE_SECONDS": 0.0, "REVIEW_MODE": ReviewMode.OFF}
        )
        self._username = username
        self._notes = notes
        self._timeout = timeout
        self._out = printer or Printer()
        self._telegram = RehearsalTelegram()
        self._notifier = PrintingNotifier(self._out)
        self._dialog_id: int | None = None

    async def run(self, lines: list[str] | None) -> int:
        from salesbot.entrypoints.database import DatabaseNotStarted, open_throwaway_database

        try:
            script = await self._operators_script()
            async with open_throwaway_database() as url:
                return await self._rehearse(url, script, lines)
        except DatabaseNotStarted as error:
            self._out.say("error", f"the rehearsal's own database could not start: {error}")
            return 1

    async def _operators_script(self) -> str | None:
        """The script edited in the admin bot, when there is one: read, never written."""
        from salesbot.adapters.persistence import create_engine
        from salesbot.adapters.persistence.repositories import SqlSettingRepository
        from salesbot.adapters.persistence.transaction import Transaction
        from salesbot.application.conversation.sales_script import SETTING_KEY
        from salesbot.entrypoints.database import has_database, open_database

        if not has_database(self._settings):
            return None
        try:
            async with open_database(self._settings) as url:
                engine = create_engine(url)
                transaction = Transaction(engine)
                try:
                    return await SqlSettingRepository(transaction).get(SETTING_KEY)
                finally:
                    await transaction.close()
                    await engine.dispose()
        except Exception as error:  # the shipped script will do: say so, go on
            self._out.line(f"   (the operator's database cannot be read, {error}: "
                           "rehearsing with SALES_PROMPT_FILE)")
            return None

    async def _rehearse(self, url: str, script: str | None, lines: list[str] | None) -> int:
        from dependency_injector import providers

        from salesbot.application.conversation.sales_script import SETTING_KEY
        from salesbot.entrypoints.container import Container, resolve, shut_down

        container = Container(
            settings=providers.Object(self._settings), database_url=providers.Object(url)
        )
        container.telegram.override(providers.Object(self._telegram))
        container.notifier.override(providers.Object(self._notifier))
        outcome = Outcome.CONTINUE
        code = 0
        incoming: IncomingMessages | None = None
        try:
            self._uow_factory = await resolve(container.uow_factory())
            self._clock = container.clock()
            if script:
                async with self._uow_factory() as uow:
                    await uow.settings.set(SETTING_KEY, script)
                    await uow.commit()
            account = await self._stand_in_account()
            assert account.id is not None
            self._telegram.account_id = account.id
            self._telegram.username = self._username
            self._telegram.user_id = -int(time.time() * 1000)
            await resolve(container.incoming_subscription())
            incoming = await resolve(container.incoming())
            await self._talk(
                await resolve(container.start_dialog()),
                incoming,
                await resolve(container.sales_script()),
                account.id,
                lines,
            )
        except RehearsalFailed as failure:
            self._notifier.flush()
            self._out.say("error", str(failure))
            code = 1
        except Exception as error:  # a port error the operator must see, not a traceback
            log.debug("rehearsal failed", exc_info=True)
            self._notifier.flush()
            self._out.say("error", f"{type(error).__name__}: {error}")
            code = 1
        finally:
            self._notifier.flush()
            if incoming is not None:
                await incoming.aclose()
            try:
                outcome = await self._outcome()
            finally:
                try:
                    await shut_down(container)
                except Exception:
                    log.debug("closing failed", exc_info=True)
                self._out.line(f"outcome: {outcome.value}")
        return code

    # --- the conversation -------------------------------------------------------------

    async def _talk(
        self,
        start_dialog: StartDialogHandler,
        incoming: IncomingMessages,
        script: SalesScript,
        account_id: int,
        lines: list[str] | None,
    ) -> None:
        from salesbot.application.conversation.start_dialog import StartDialog

        source = (
            "the script edited in the admin bot"
            if not await script.is_default()
            else str(script.default_path)
        )
        how = (
            "Reading your lines from the script file."
            if lines is not None
            else "Type your messages; an empty line or Ctrl-D ends."
        )
        print(
            f"Rehearsal: sales script {source}, model {self._settings.OPENROUTER_MODEL}; "
            f"you are @{self._username}. {how}",
            file=sys.stderr,
            flush=True,
        )
        started = await self._wait(
            start_dialog(StartDialog(self._username, self._notes), account_id=account_id)
        )
        self._dialog_id = started.dialog_id
        await self._deliver_queued()
        reader = _ScriptLines(lines) if lines is not None else _TerminalLines()
        while True:
            dialog = await self._dialog()
            if not dialog.ai_enabled:
                self._out.line(
                    f"   (the AI stops here: {dialog.status_reason or dialog.status.value})"
                )
                return
            text = await reader.next()
            if text is None:
                return
            if lines is not None:
                self._out.say("you", text)
            await self._telegram.deliver(
                IncomingMessage(
                    account_id=account_id,
                    user_id=self._telegram.user_id,
                    username=self._username,
                    text=text,
                    telegram_message_id=self._telegram.next_message_id(),
                    date=self._clock.now(),
                )
            )
            await self._wait(incoming.drain())
            await self._deliver_queued()
            dialog = await self._dialog()
            self._out.line(
                f"   (stage {dialog.stage.value}, warmth {dialog.warmth}/100, "
                f"{dialog.prompt_tokens + dialog.completion_tokens} tokens, "
                f"${dialog.cost_usd:.4f} so far)"
            )

    async def _wait(self, work: Awaitable[Any]) -> Any:
        """`work`, unless the model is refused first or it takes longer than the timeout."""
        task = asyncio.ensure_future(work)
        failing = asyncio.ensure_future(self._notifier.failing.wait())
        try:
            done, _ = await asyncio.wait(
                {task, failing}, timeout=self._timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            failing.cancel()
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if self._notifier.failing.is_set():
            raise RehearsalFailed(self._notifier.failure)
        raise RehearsalFailed(
            f"no answer within {self._timeout:g} s: check OPENROUTER_BASE_URL, OPENROUTER_MODEL "
            "and the warnings above"
        )

    async def _deliver_queued(self) -> None:
        """Print the queued messages and mark them sent, as the Dispatcher would."""
        assert self._dialog_id is not None
        async with self._uow_factory() as uow:
            queued = await uow.messages.list_by_delivery(
                Delivery.PENDING, dialog_id=self._dialog_id
            )
            queued.sort(key=lambda m: (m.send_after or m.timestamp, m.id or 0))
            now = self._clock.now()
            for message in queued:
                message.delivery = Delivery.SENT
                message.sent_at = now
                message.attempts += 1
                message.telegram_message_id = self._telegram.next_message_id()
                await uow.messages.update(message)
            await uow.commit()
        for message in queued:
            self._out.say("bot", message.content)
        self._notifier.flush()

    async def _dialog(self) -> Dialog:
        assert self._dialog_id is not None
        async with self._uow_factory() as uow:
            dialog = await uow.dialogs.get(self._dialog_id)
        assert dialog is not None
        return dialog

    # --- leaving nothing behind -------------------------------------------------------

    async def _stand_in_account(self) -> Account:
        """The account the rehearsal talks from: disabled, so nothing would ever connect it."""
        async with self._uow_factory() as uow:
            account = await uow.accounts.add(
                Account(
                    phone=REHEARSAL_PHONE,
                    session_string=REHEARSAL_SESSION,
                    status=AccountStatus.DISABLED,
                    created_at=self._clock.now(),
                )
            )
            await uow.commit()
        return account

    async def _outcome(self) -> Outcome:
        if self._dialog_id is None:
            return Outcome.CONTINUE
        return (await self._dialog()).outcome


class _ScriptLines:
    def __init__(self, lines: list[str]) -> None:
        self._lines = iter(lines)

    async def next(self) -> str | None:
        return next(self._lines, None)


class _TerminalLines:
    """Lines typed in the terminal, read by a daemon thread so Ctrl-C never hangs."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._wanted = threading.Event()
        self._echoed = sys.stdin.isatty()
        threading.Thread(target=self._read, name="rehearse-input", daemon=True).start()

    def _read(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            print("you: ", end="", flush=True)
            line = sys.stdin.readline()
            text = line.strip() if line else None
            if not line or not self._echoed:
                # End the prompt's line: a terminal echoes what was typed, a pipe does not,
                # and Ctrl-D leaves the cursor after the prompt.
                print(text or "", flush=True)
            self._loop.call_soon_threadsafe(self._queue.put_nowait, text or None)
            if not text:
                return

    async def next(self) -> str | None:
        self._wanted.set()
        return await self._queue.get()
