"""`salesbot rehearse` as the operator runs it: a real subprocess beside the operator's own
database (which it must leave exactly as it was), and a fake OpenAI-compatible server on
127.0.0.1 in place of OpenRouter."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from salesbot.adapters.persistence.models import Base
from salesbot.application.conversation.sales_script import SETTING_KEY
from salesbot.application.errors import LlmUnavailable
from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.entrypoints.commands.rehearse import Printer, Rehearsal
from tests.contracts.seeding import T0
from tests.fakes.clock import FakeClock
from tests.fakes.language_model import FakeLanguageModel
from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Scripted, completion, error
from tests.wiring import settings_for_tests

DATA = Path(__file__).resolve().parents[1] / "data"
KEY = "sk-or-v1-" + "r" * 40
CLEARED = (
    "DATABASE_URL",
    "OPENROUTER_API_KEY",
    "OPENROUTER_BASE_URL",
    "SALES_PROMPT_FILE",
    "REPLY_DEBOUNCE_SECONDS",
    "DATA_DIR",
    "LOG_FILE",
)


def prospect(request: RecordedRequest) -> Scripted:
    """Plays the model: answers by what the prospect just wrote."""
    last = [m for m in request.messages if m["role"] != "system"][-1]["content"]
    if last.startswith("[system"):
        reply = {
            "reply": "Здравствуйте! Я ИИ-ассистент «Запись+». Удобно пару минут?",
            "stage": "introduction",
            "warmth": 5,
            "outcome": "continue",
        }
    elif "завтра" in last:
        reply = {
            "reply": "Отлично, записала показ на завтра в 15:00!",
            "stage": "close",
            "warmth": 90,
            "outcome": "goal",
            "summary": "Салон, интересуется ценой\nПоказ завтра в 15:00",
        }
    elif "стоит" in last:
        reply = {
            "reply": "14 дней бесплатно, дальше от 990 ₽ в месяц за мастера.",
            "stage": "value",
            "warmth": 50,
            "outcome": "continue",
        }
    else:
        reply = {
            "reply": "Это онлайн-запись для салонов с напоминаниями клиентам.",
            "stage": "qualification",
            "warmth": 20,
            "outcome": "continue",
        }
    return completion(json.dumps(reply, ensure_ascii=False), cost=0.0001)


async def rehearse(tmp_path: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in CLEARED}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "salesbot.entrypoints.cli",
        "rehearse",
        *args,
        cwd=tmp_path,
        env={**clean, "DATA_DIR": str(tmp_path / "data"), **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    return process.returncode, out.decode(), err.decode()


async def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table of the operator's database, and where each id sequence is."""
    found: dict[str, list[tuple]] = {}
    async with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            result = await connection.execute(text(f"SELECT * FROM {table.name} ORDER BY 1"))
            found[table.name] = [tuple(row) for row in result]
        sequences = await connection.execute(
            text("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
        )
        found["sequences"] = [tuple(row) for row in sequences]
    return found


@pytest.fixture
async def operators_database(migrated_url, engine, uow_factory) -> dict[str, str]:
    """The operator's database with a real account, a real lead in an open dialog, someone
    on the do-not-contact list and an edited sales script; DATABASE_URL points at it."""
    async with uow_factory() as uow:
        account = await uow.accounts.add(Account(phone="+79001112233", session_string="live"))
        await uow.dialogs.add(
            Dialog(account_id=account.id, target_username="real_lead", created_at=T0)
        )
        await uow.do_not_contact.add(
            DoNotContact(username="someone_else", user_id=None, reason="asked", created_at=T0)
        )
        await uow.settings.set(SETTING_KEY, EDITED_SCRIPT)
        await uow.commit()
    return {"DATABASE_URL": migrated_url}


EDITED_SCRIPT = "# Script edited in the admin bot\nYou write for Zapis+ (edited in the bot)."


async def test_a_scripted_rehearsal_prints_the_conversation_and_its_outcome(
    tmp_path, operators_database, engine
):
    before = await snapshot(engine)
    async with FakeOpenAIServer(default=prospect) as server:
        code, out, err = await rehearse(
            tmp_path,
            "--script",
            str(DATA / "rehearsal_goal.txt"),
            "--context",
            "Владелица салона в Казани",
            env={
                **operators_database,
                "OPENROUTER_API_KEY": KEY,
                "OPENROUTER_BASE_URL": server.base_url,
            },
        )

    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[-1] == "outcome: goal"
    transcript = [line for line in lines if line.startswith(("you: ", "bot: "))]
    assert transcript == [
        "bot: Здравствуйте! Я ИИ-ассистент «Запись+». Удобно пару минут?",
        "you: Здравствуйте. А что за сервис?",
        "bot: Это онлайн-запись для салонов с напоминаниями клиентам.",
        "you: Сколько это стоит?",
        "bot: 14 дней бесплатно, дальше от 990 ₽ в месяц за мастера.",
        "you: Давайте покажете завтра в 15:00",
        "bot: Отлично, записала показ на завтра в 15:00!",
    ]
    assert "[admin]: 🎯 Цель достигнута в диалоге" in out  # the admin bot's words, in ru
    assert "Показ завтра в 15:00" in out
    assert KEY not in out + err
    # The same prompt as in Telegram: script, rules, the operator's notes, JSON asked for.
    first = server.requests[0]
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert first.body["response_format"] == {"type": "json_object"}
    system = "\n".join(m["content"] for m in first.messages if m["role"] == "system")
    assert "edited in the bot" in system and "Honesty rules" in system  # the operator's
    assert "Владелица салона в Казани" in system
    assert len(server.requests) == 4  # opener + three answers; the AI is silent after the goal
    assert await snapshot(engine) == before  # the operator's database, untouched


async def test_an_opt_out_leaves_the_real_do_not_contact_list_alone_and_runs_again(
    tmp_path, operators_database, engine
):
    before = await snapshot(engine)
    async with FakeOpenAIServer(default=prospect) as server:
        env = {
            **operators_database,
            "OPENROUTER_API_KEY": KEY,
            "OPENROUTER_BASE_URL": server.base_url,
        }
        rehearsing_the_real_lead = ("--username", "real_lead")
        code, out, err = await rehearse(
            tmp_path, "--script", str(DATA / "rehearsal_opt_out.txt"),
            *rehearsing_the_real_lead, env=env,
        )
        assert code == 0, err
        assert out.strip().splitlines()[-1] == "outcome: opt_out"
        assert "«не беспокоить»" in out
        assert len(server.requests) == 2  # the keyword detector needs no model

        code, out, err = await rehearse(
            tmp_path, "--script", str(DATA / "rehearsal_goal.txt"),
            *rehearsing_the_real_lead, env=env,
        )
        assert code == 0, err
        assert out.strip().splitlines()[-1] == "outcome: goal"
        transcript = [line for line in out.splitlines() if line.startswith("bot: ")]
        assert len(transcript) == 4  # every line of the prospect was heard and answered
    assert await snapshot(engine) == before


async def test_with_no_database_of_the_operators_nothing_is_created_and_the_file_is_used(
    tmp_path,
):
    async with FakeOpenAIServer(default=prospect) as server:
        code, out, err = await rehearse(
            tmp_path,
            "--script",
            str(DATA / "rehearsal_goal.txt"),
            env={"OPENROUTER_API_KEY": KEY, "OPENROUTER_BASE_URL": server.base_url},
        )
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "outcome: goal"
    assert "Запись+" in server.requests[0].messages[0]["content"]  # the shipped script
    assert not (tmp_path / "data" / "postgres").exists()


async def test_a_rejected_key_is_said_clearly_and_exits_non_zero(tmp_path):
    server = FakeOpenAIServer(default=error(401, "No auth credentials found"))
    async with server:
        code, out, _ = await rehearse(
            tmp_path,
            "--script",
            str(DATA / "rehearsal_goal.txt"),
            env={"OPENROUTER_API_KEY": KEY, "OPENROUTER_BASE_URL": server.base_url},
        )
    assert code == 1
    assert "OPENROUTER_API_KEY" in out
    assert "outcome:" not in out  # after an error an outcome would read as a result
    failure = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(failure) == 1, out
    assert "Репетиция окончена" in failure[0]  # ADMIN_LANGUAGE's default: ru
    assert not [line for line in out.splitlines() if "No auth credentials" in line][1:]


def opener_then(failure: Scripted) -> Callable[[RecordedRequest], Scripted]:
    """The model writes the opener, then fails every answer with `failure`."""
    answered: list[RecordedRequest] = []

    def respond(request: RecordedRequest) -> Scripted:
        answered.append(request)
        return prospect(request) if len(answered) == 1 else failure

    return respond


TRANSCRIPT_PREFIXES = ("bot: ", "you: ", "[admin]: ", "error: ", " ")  # " ": notes, wrapped lines


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("ru", "error: Репетиция окончена: ИИ (языковая модель) не ответил — "),
        ("en", "error: The rehearsal ended: the language model failed — "),
    ],
)
async def test_a_model_failing_mid_conversation_ends_it_at_once_in_one_line(
    tmp_path, language, sentence
):
    """One request, bounded by LLM_TIMEOUT_SECONDS, instead of three plus the service's
    grace period; the sentence says the rehearsal ended, in ADMIN_LANGUAGE; the log is in
    its file, never on stdout."""
    hangs = Scripted(body="{}", delay=30.0)
    async with FakeOpenAIServer(default=opener_then(hangs)) as server:
        started = asyncio.get_running_loop().time()
        code, out, err = await rehearse(
            tmp_path,
            "--script",
            str(DATA / "rehearsal_goal.txt"),
            env={
                "OPENROUTER_API_KEY": KEY,
                "OPENROUTER_BASE_URL": server.base_url,
                "LLM_TIMEOUT_SECONDS": "1",
                "ADMIN_LANGUAGE": language,
            },
        )
        took = asyncio.get_running_loop().time() - started

    assert code == 1
    assert len(server.requests) == 2  # the opener, and one attempt at the first answer
    assert took < 20  # the process's start and its database, plus one second of waiting
    lines = out.strip().splitlines()
    assert lines[-1].startswith(sentence), out
    assert "did not answer within 1 s" in lines[-1]
    assert "outcome:" not in out
    assert "retried" not in out + err
    failure = [line for line in (out + err).splitlines() if "within 1 s" in line]
    assert failure == [lines[-1]]  # said once: no notice, no log line beside it
    assert all(line.startswith(TRANSCRIPT_PREFIXES) for line in lines), out
    assert err.strip().startswith("Rehearsal: ") and len(err.strip().splitlines()) == 1, err
    log = (tmp_path / "data" / "rehearse.log").read_text(encoding="utf-8")
    assert "the language model failed" in log


async def test_with_verbose_the_log_goes_to_stderr_and_never_to_stdout(tmp_path):
    async with FakeOpenAIServer(default=prospect) as server:
        code, out, err = await rehearse(
            tmp_path,
            "--verbose",
            "--script",
            str(DATA / "rehearsal_goal.txt"),
            env={
                "OPENROUTER_API_KEY": KEY,
                "OPENROUTER_BASE_URL": server.base_url,
                "ADMIN_LANGUAGE": "en",
            },
        )
    assert code == 0, err
    assert " | INFO     | " in err  # LOG_LEVEL's lines, on stderr
    assert " | " not in out
    lines = out.strip().splitlines()
    assert lines[-1] == "outcome: goal"
    assert all(line.startswith((*TRANSCRIPT_PREFIXES, "outcome: ")) for line in lines), out
    assert "[admin]: 🎯 Goal reached in dialog" in out  # the admin bot's own words, in en


async def test_without_a_key_it_says_what_to_set(tmp_path):
    code, _, err = await rehearse(tmp_path, "--script", str(DATA / "rehearsal_goal.txt"), env={})
    assert code != 0
    assert "OPENROUTER_API_KEY: is required but not set" in err
    assert "https://openrouter.ai/keys" in err
    assert not (tmp_path / "data").exists()


async def test_in_process_a_failing_model_is_asked_once_and_nothing_waits_to_retry(tmp_path):
    """The real wiring with a fake model and a fake clock: the first answer fails, the
    rehearsal ends there, with no retry pause on the clock and no outcome line."""
    opener = json.dumps(
        {"reply": "Здравствуйте!", "stage": "introduction", "warmth": 5, "outcome": "continue"},
        ensure_ascii=False,
    )
    model = FakeLanguageModel(opener, default=LlmUnavailable("the model timed out (1 attempt)"))
    clock = FakeClock()
    out = io.StringIO()
    rehearsal = Rehearsal(
        settings_for_tests(DATA_DIR=str(tmp_path), ADMIN_LANGUAGE="en"),
        username="rehearsal_fake",
        printer=Printer(out),
        llm=model,
        clock=clock,
    )

    code = await rehearsal.run(["Здравствуйте", "Сколько стоит?"])

    assert code == 1
    assert len(model.calls) == 2  # the opener, one attempt at the first answer
    assert sum(clock.slept) == 0  # no pause before a retry: nothing retries
    assert out.getvalue().splitlines()[-1] == (
        "error: The rehearsal ended: the language model failed — "
        "the model timed out (1 attempt)"
    )
    assert "outcome:" not in out.getvalue()
