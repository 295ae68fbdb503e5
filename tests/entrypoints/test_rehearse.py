"""`salesbot rehearse` as the operator runs it: a real subprocess, the embedded database,
and a fake OpenAI-compatible server on 127.0.0.1 in place of OpenRouter."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path

from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest, Scripted, completion, error

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
    last = request.messages[-1]["content"]
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


def rows(tmp_path: Path, query: str) -> list[tuple]:
    with sqlite3.connect(tmp_path / "data" / "salesbot.sqlite3") as db:
        return db.execute(query).fetchall()


async def test_a_scripted_rehearsal_prints_the_conversation_and_its_outcome(tmp_path):
    async with FakeOpenAIServer(default=prospect) as server:
        code, out, err = await rehearse(
            tmp_path,
            "--script",
            str(DATA / "rehearsal_goal.txt"),
            "--context",
            "Владелица салона в Казани",
            env={"OPENROUTER_API_KEY": KEY, "OPENROUTER_BASE_URL": server.base_url},
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
    assert "[admin]: goal reached" in out
    assert "Показ завтра в 15:00" in out
    assert KEY not in out + err
    # The same prompt as in Telegram: script, rules, the operator's notes, JSON asked for.
    first = server.requests[0]
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    assert first.body["response_format"] == {"type": "json_object"}
    system = first.messages[0]["content"]
    assert "Запись+" in system and "Honesty rules" in system
    assert "Владелица салона в Казани" in system
    assert len(server.requests) == 4  # opener + three answers; the AI is silent after the goal
    # Nothing is left for the real service: the account is disabled, the dialog closed,
    # nothing queued.
    assert rows(tmp_path, "select status from accounts") == [("disabled",)]
    assert rows(tmp_path, "select status from dialogs") == [("stopped",)]
    assert rows(tmp_path, "select count(*) from messages where delivery = 'pending'") == [(0,)]


async def test_an_opt_out_ends_the_rehearsal_and_a_second_run_starts_clean(tmp_path):
    async with FakeOpenAIServer(default=prospect) as server:
        env = {"OPENROUTER_API_KEY": KEY, "OPENROUTER_BASE_URL": server.base_url}
        code, out, err = await rehearse(
            tmp_path, "--script", str(DATA / "rehearsal_opt_out.txt"), env=env
        )
        assert code == 0, err
        assert out.strip().splitlines()[-1] == "outcome: opt_out"
        assert "do-not-contact" in out
        assert len(server.requests) == 2  # the keyword detector needs no model

        code, out, err = await rehearse(
            tmp_path, "--script", str(DATA / "rehearsal_goal.txt"), env=env
        )
        assert code == 0, err
        assert out.strip().splitlines()[-1] == "outcome: goal"
    assert rows(tmp_path, "select count(*) from accounts") == [(1,)]
    assert rows(tmp_path, "select status from dialogs order by id") == [
        ("opted_out",),
        ("stopped",),
    ]


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
    assert out.strip().splitlines()[-1] == "outcome: continue"
    assert rows(tmp_path, "select count(*) from dialogs") == [(0,)]


async def test_without_a_key_it_says_what_to_set(tmp_path):
    code, _, err = await rehearse(tmp_path, "--script", str(DATA / "rehearsal_goal.txt"), env={})
    assert code != 0
    assert "OPENROUTER_API_KEY: is required but not set" in err
    assert "https://openrouter.ai/keys" in err
    assert not (tmp_path / "data" / "salesbot.sqlite3").exists()
