"""`salesbot campaign import` as the operator runs it, on PostgreSQL: the report, the file of
the rows not taken beside the list, and one line with nothing stored for a file it cannot
read."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io

import pytest

from salesbot.domain.account import Account
from salesbot.domain.dialog import Dialog
from salesbot.domain.do_not_contact import DoNotContact
from salesbot.entrypoints import cli
from salesbot.entrypoints.settings import Settings
from tests.contracts.seeding import T0
from tests.secrets import SESSION_SECRET, leaks


@pytest.fixture
def salesbot(migrated_url, monkeypatch, tmp_path, capsys):
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", migrated_url)
    monkeypatch.setenv("SESSION_SECRET", SESSION_SECRET)
    monkeypatch.chdir(tmp_path)

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(cli.main, ["campaign", *argv])
        out, err = capsys.readouterr()
        assert leaks(out + err) == []
        return code, out, err

    return run


async def stored(uow_factory):
    async with uow_factory() as uow:
        campaigns = await uow.campaigns.every()
        leads = [lead for c in campaigns for lead in await uow.leads.for_campaign(c.id)]
    return campaigns, leads


async def test_a_list_is_imported_with_its_report_and_the_rows_not_taken_beside_it(
    salesbot, uow_factory, tmp_path
):
    async with uow_factory() as uow:
        account = await uow.accounts.add(Account(phone="+79001234567", session_string=""))
        dialog = await uow.dialogs.add(Dialog(account.id, "carol_white", created_at=T0))
        await uow.do_not_contact.add(DoNotContact("bob_jones", None, "asked to stop", T0))
        await uow.commit()
    leads = tmp_path / "весна.csv"
    text = (
        "username;name;company\r\n"
        "@ivan_petrov;Иван;Ромашка\r\n"
        "bob_jones;Боб;\r\n"
        "carol_white;Кэрол;\r\n"
        "ivan_petrov;снова;\r\n"
        "x;коротко;\r\n"
        "maria_s;Мария;Лютик\r\n"
    )
    leads.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    (tmp_path / "script.txt").write_text("Продаём тюльпаны оптом", encoding="utf-8")

    code, out, err = await salesbot(
        "import", str(leads), "--name", "Весна", "--script", "script.txt",
        "--variant", "коротко", "--variant", "с вопросом",
    )  # fmt: skip

    assert (code, err) == (0, "")
    campaigns, taken = await stored(uow_factory)
    assert [(c.name, c.script, c.variants) for c in campaigns] == [
        ("Весна", "Продаём тюльпаны оптом", ("коротко", "с вопросом"))
    ]
    assert [(lead.username, dict(lead.fields)) for lead in taken] == [
        ("ivan_petrov", {"name": "Иван", "company": "Ромашка"}),
        ("maria_s", {"name": "Мария", "company": "Лютик"}),
    ]
    rejected = tmp_path / "весна.csv.rejected.csv"
    assert out.splitlines() == [
        f"Campaign {campaigns[0].id} “Весна” created: 2 of 6 leads taken, 4 not.",
        "Script: its own; opener variants: 2.",
        "  invalid username: 1",
        "  duplicate in the file: 1",
        "  on the do-not-contact list: 1",
        "  already in a dialog, open or past: 1",
        f"The rows not taken, with their line and reason: {rejected}",
    ]
    rows = list(csv.reader(io.StringIO(rejected.read_bytes().decode("utf-8-sig"))))
    assert rows == [
        ["line", "username", "reason"],
        ["3", "bob_jones", "on the do-not-contact list"],
        ["4", "carol_white", f"already has dialog {dialog.id}"],
        ["5", "ivan_petrov", "duplicate of line 2"],
        ["6", "x", "invalid username: it must be 5-32 characters long, not 1"],
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"login,name\nivan_petrov,x\n", "no “username” column in its first row"),
        (b"", "the file is empty"),
    ],
)
async def test_a_file_it_cannot_read_is_one_line_exit_2_and_nothing_stored(
    salesbot, uow_factory, tmp_path, content, says
):
    (tmp_path / "leads.csv").write_bytes(content)
    code, out, err = await salesbot("import", "leads.csv", "--name", "Весна")
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1
    assert says in err and "nothing was imported" in err
    assert await stored(uow_factory) == ([], [])
    assert not (tmp_path / "leads.csv.rejected.csv").exists()


async def test_a_missing_file_or_a_bad_variant_is_refused_before_anything_is_stored(
    salesbot, uow_factory, tmp_path
):
    code, _, err = await salesbot("import", "nowhere.csv", "--name", "Весна")
    assert (code, err.strip()) == (2, "Refused: FILE nowhere.csv: no such file")
    (tmp_path / "a.txt").write_text("ivan_petrov\n")
    code, _, err = await salesbot("import", "a.txt", "--name", "Весна", "--variant", " ")
    assert code == 2
    assert err.strip() == "Refused: opener variant 1 is empty; nothing was imported."
    assert await stored(uow_factory) == ([], [])
