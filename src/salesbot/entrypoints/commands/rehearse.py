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
/stats. The dialog belongs to a stand-in account (`+00000000000`) that stays disabled.

What the operator reads: the transcript on stdout, the admin bot's notices in it in
ADMIN_LANGUAGE; the log goes to a file (LOG_FILE, else DATA_DIR/rehearse.log), and to stderr
as well with --verbose, never to stdout. A rehearsal that works ends with the line
`outcome: <continue|goal|handoff|opt_out>`; one that fails ends with one `error:` line
saying why, and no outcome.

The model is asked once per answer (LLM_ATTEMPTS is 1 here, each request bounded by
LLM_TIMEOUT_SECONDS): `salesbot run` retries because nobody waits at a terminal and the
prospect's reply can wait; in a rehearsal the operator waits, and a model that fails once
ends the rehearsal within LLM_TIMEOUT_SECONDS with that sentence, rather than after the
retries and the service's grace period with "replies wait and are retried".
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

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.notices import describe_event
from salesbot.application.conversation.model_health import AnswerHealth
from salesbot.application.conversation.receive_message import IncomingMessages
from salesbot.application.conversation.sales_script import SalesScript
from salesbot.application.conversation.start_dialog import StartDialogHandler
from salesbot.application.errors import LlmError, LlmRejected
from salesbot.application.ports import (
    ChatHistoryItem,
    ChatTurn,
    Clock,
    Completion,
    IncomingMessage,
    LanguageModel,
    SentMessage,
    StateKeeper,
    UpdateState,
)
from salesbot.domain.account import Account, AccountStatus
from salesbot.domain.dialog import Dialog, Outcome
from salesbot.domain.errors import DomainError
from salesbot.domain.events import DialogPaused, Event, LlmFailing, LlmRecovered, ProspectReplied
from salesbot.domain.message import Delivery
from salesbot.domain.peer import Peer
from salesbot.domain.review import ReviewMode
from salesbot.domain.username import normalize_username
from salesbot.entrypoints import event_loop
from salesbot.entrypoints.commands import report_config_error, start_logging
from salesbot.entrypoints.settings import LLM_REQUIRED, ConfigError, Settings, load_settings

log = logging.getLogger("salesbot.rehearse")

REHEARSAL_PHONE = "+00000000000"
REHEARSAL_SESSION = "rehearsal stand-in: never connects"
REHEARSAL_LOG = "rehearse.log"

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
        "--verbose",
        action="store_true",
        help="show the log on stderr too (it always goes to LOG_FILE, else DATA_DIR/rehearse.log)",
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

    # The transcript is stdout; log lines on the same terminal would break it up.
    log_file = settings.LOG_FILE or settings.DATA_DIR / REHEARSAL_LOG
    refused = start_logging(
        settings.LOG_LEVEL, log_file, settings.secret_values(), console=args.verbose
    )
    if refused is not None:
        return refused
    rehearsal = Rehearsal(
        settings, username=username, notes=args.context, timeout=args.timeout, log_file=log_file
    )
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


class ModelWatch:
    """The rehearsal's model failures: the first one ends the rehearsal."""

    def __init__(self) -> None:
        self.failed = asyncio.Event()
        self.error: LlmError | None = None
        self.unusable = ""

    def sentence(self, t: Texts) -> str:
        if self.error is not None:
            return t("rehearsal_llm_failed", reason=reason_of(self.error))
        return t("rehearsal_llm_unusable", reason=t.reason(self.unusable or "?"))


def reason_of(error: LlmError) -> str:
    if isinstance(error, LlmRejected) and error.detail:
        return error.detail
    return str(error) or "?"


class WatchedModel:
    """The model, in place of `MonitoredModel`: a failure is not told as an outage notice
    (the rehearsal's own error line says it); a rejection ends the rehearsal at once."""

    def __init__(self, inner: LanguageModel, watch: ModelWatch) -> None:
        self._inner = inner
        self._watch = watch

    async def complete(
        self, turns: Sequence[ChatTurn], *, max_tokens: int | None = None, json_mode: bool = False
    ) -> Completion:
        try:
            completion = await self._inner.complete(
                turns, max_tokens=max_tokens, json_mode=json_mode
            )
        except LlmError as error:
            log.warning("the language model failed: %s", error)
            self._watch.error = error
            if isinstance(error, LlmRejected):  # the reply job never counts those
                self._watch.failed.set()
            raise
        self._watch.error = None
        return completion


class RehearsalHealth(AnswerHealth):
    """A reply round that failed ends the rehearsal: the dialog is handed over at once
    (so nothing retries in the background) and the watch is told."""

    def __init__(self, watch: ModelWatch) -> None:
        super().__init__()
        self._watch = watch

    async def unusable(self, reason: str) -> None:
        self._watch.unusable = reason

    def failed(self, dialog_id: int) -> bool:
        self._watch.failed.set()
        return True


class PrintingNotifier:
    """What the admin bot would say, in its words and ADMIN_LANGUAGE, printed into the
    transcript."""

    def __init__(self, printer: Printer, formatter: Formatter, watch: ModelWatch) -> None:
        self._printer = printer
        self._formatter = formatter
        self._watch = watch
        self._held: list[str] = []

    async def notify(self, event: Event) -> None:
        if isinstance(event, ProspectReplied):
            return  # the operator is the prospect: no news
        if isinstance(event, (LlmFailing, LlmRecovered)):
            return  # the rehearsal's error line says it, once
        if isinstance(event, DialogPaused) and self._watch.failed.is_set():
            return  # the hand-over after a model failure: the error line says it
        self._held.append(describe_event(event, self._formatter))

    def flush(self) -> None:
        """Print the notices so far: after the messages of the same turn."""
        held, self._held = self._held, []
        for text in held:
            self._printer.say("[admin]", text)


class Rehearsal:
    def __init__(
        self,
        settings: Settings,
        *,
        username: str,
        notes: str = "",
        timeout: float = 180.0,
        printer: Printer | None = None,
        log_file: Path | None = None,
        llm: LanguageModel | None = None,
        clock: Clock | None = None,
    ) -> None:
        # Each line is answered before the next is read: no debounce window to wait out.
        # The rehearsal shows what the AI writes, at once: no admin there approves drafts.
        # One request per answer: the operator waits at the terminal (see the docstring).
        self._settings = settings.model_copy(
            update={
                "REPLY_DEBOUNCE_SECONDS": 0.0,
                "REVIEW_MODE": ReviewMode.OFF,
                "LLM_ATTEMPTS": 1,
            }
        )
        self._username = username
        self._notes = notes
        self._timeout = timeout
        self._out = printer or Printer()
        self._log = str(log_file) if log_file is not None else "(stderr)"
        self._llm = llm
        self._clock_override = clock
        self._t = Texts(settings.ADMIN_LANGUAGE)
        self._telegram = RehearsalTelegram()
        self._watch = ModelWatch()
        self._notifier = PrintingNotifier(
            self._out, Formatter(self._t, settings.zone), self._watch
        )
        self._dialog_id: int | None = None

    async def run(self, lines: list[str] | None) -> int:
        from salesbot.entrypoints.database import DatabaseNotStarted, open_throwaway_database

        try:
            script = await self._operators_script()
            async with open_throwaway_database() as url:
                return await self._rehearse(url, script, lines)
        except DatabaseNotStarted as error:
            self._out.say("error", self._t("rehearsal_no_database", reason=error))
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
            log.warning("the operator's database cannot be read", exc_info=True)
            self._out.line("   " + self._t("rehearsal_own_script_unread", reason=error))
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
        container.model.override(providers.Singleton(WatchedModel, container.llm, self._watch))
        container.answer_health.override(providers.Object(RehearsalHealth(self._watch)))
        if self._llm is not None:
            container.llm.override(providers.Object(self._llm))
        if self._clock_override is not None:
            container.clock.override(providers.Object(self._clock_override))
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
        except LlmError as error:  # the opener: written while /start is awaited
            self._notifier.flush()
            self._out.say("error", self._t("rehearsal_llm_failed", reason=reason_of(error)))
            code = 1
        except Exception as error:  # a port error the operator must see, not a traceback
            log.warning("the rehearsal failed", exc_info=True)
            self._notifier.flush()
            reason = self._t.reason(str(error)) or type(error).__name__
            self._out.say("error", self._t("rehearsal_failed", reason=reason, log=self._log))
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
                if code == 0:  # after an error line, an outcome would read as a result
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
            f"you are @{self._username}; the log: {self._log}. {how}",
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
                reason = dialog.status_reason or dialog.status.value
                self._out.line("   " + self._t("rehearsal_ai_stops", reason=self._t.reason(reason)))
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
        failing = asyncio.ensure_future(self._watch.failed.wait())
        try:
            done, _ = await asyncio.wait(
                {task, failing}, timeout=self._timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            failing.cancel()
        if self._watch.failed.is_set():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise RehearsalFailed(self._watch.sentence(self._t))
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise RehearsalFailed(
            self._t("rehearsal_no_answer", seconds=f"{self._timeout:g}", log=self._log)
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
