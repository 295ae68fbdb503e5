"""The sales script: the operator's edit wins over the shipped file; nothing is lost."""

from pathlib import Path

import pytest

from salesbot.application.conversation.sales_script import SalesScript, SalesScriptUnavailable
from tests.fakes import FakeUnitOfWork, InMemoryStore

SHIPPED = Path(__file__).resolve().parents[3] / "src" / "salesbot" / "data"


def script_for(path) -> SalesScript:
    store = InMemoryStore()
    return SalesScript(lambda: FakeUnitOfWork(store), path)


async def test_the_file_is_the_script_until_the_operator_sets_one(tmp_path):
    path = tmp_path / "script.md"
    path.write_text("Sell boots.\n", encoding="utf-8")
    script = script_for(path)
    assert await script.get() == "Sell boots."
    await script.set("Sell hats.")
    assert await script.get() == "Sell hats."
    assert not await script.is_default()
    await script.set("")
    assert await script.get() == "Sell boots."


async def test_an_edited_file_is_read_again(tmp_path):
    path = tmp_path / "script.md"
    path.write_text("v1", encoding="utf-8")
    script = script_for(path)
    assert await script.get() == "v1"
    path.write_text("version two", encoding="utf-8")
    assert await script.get() == "version two"


async def test_a_missing_file_is_a_clear_error(tmp_path):
    script = script_for(tmp_path / "nope.md")
    with pytest.raises(SalesScriptUnavailable, match=r"SALES_PROMPT_FILE=.*nope\.md"):
        await script.get()


@pytest.mark.parametrize("name", ["sales_prompt.ru.md", "sales_prompt.en.md"])
async def test_the_shipped_scripts_are_honest(name):
    text = (SHIPPED / name).read_text(encoding="utf-8").lower()
    # A goal, an offer and objections are there ...
    for needle in (
        ["цель", "предложение", "возражения"]
        if name.endswith("ru.md")
        else ["goal", "offer", "objections"]
    ):
        assert needle in text
    # ... and the model is told to admit being an AI, never to deny it or invent a source.
    assert ("ии-ассистент" in text) or ("ai assistant" in text)
    for forbidden in (
        "не говори, что ты бот",
        "не признавайся",
        "ты человек",
        "you are human",
        "never admit",
        "pretend to be",
    ):
        assert forbidden not in text
    assert ("нет этой информации" in text) or ("do not have that information" in text)
