"""Importing a lead list: each format is read, every row is taken or told why not, and a file
that cannot be read, or a campaign that breaks a rule, stores nothing."""

import codecs
import csv
import io

import pytest

from salesbot.application.campaigns.import_leads import (
    ImportLeads,
    InvalidCampaign,
    NotTaken,
    Rejection,
    rejected_csv,
)
from salesbot.application.campaigns.lead_file import MAX_FILE_BYTES, UnreadableLeadFile
from salesbot.application.conversation.sales_script import MAX_SCRIPT_CHARS
from salesbot.domain.account import Account
from salesbot.domain.campaign import MAX_VARIANT_CHARS
from salesbot.domain.dialog import Dialog, DialogStatus
from salesbot.domain.do_not_contact import DoNotContact
from tests.fakes import FakeClock, FakeUnitOfWork, InMemoryStore


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore(clock=FakeClock())


@pytest.fixture
def importer(store) -> ImportLeads:
    return ImportLeads(lambda: FakeUnitOfWork(store))


async def stored(store):
    async with FakeUnitOfWork(store) as uow:
        campaigns = await uow.campaigns.every()
        leads = [lead for c in campaigns for lead in await uow.leads.for_campaign(c.id)]
    return campaigns, leads


async def test_a_good_csv_becomes_a_campaign_with_its_columns_as_fields(importer, store):
    content = (
        "Username , Name,Company,Notes,empty\n"
        "@Ivan_Petrov,Иван,ООО Ромашка,любит розы,\n"
        "https://t.me/maria_s,Мария,,,\n"
        'olga_k_2024,Ольга,"Цветы, и ко","две\nстроки",\n'
    ).encode()
    report = await importer.run(
        "leads.csv", content, name=" Весна ", script="Продаём тюльпаны", variants=["a", "b"]
    )
    campaigns, leads = await stored(store)
    assert (report.rows, report.taken, report.rejections) == (3, 3, [])
    assert [(c.name, c.script, c.variants) for c in campaigns] == [
        ("Весна", "Продаём тюльпаны", ("a", "b"))
    ]
    assert report.campaign.id == campaigns[0].id
    assert [(lead.username, lead.position, dict(lead.fields)) for lead in leads] == [
        ("ivan_petrov", 1, {"name": "Иван", "company": "ООО Ромашка", "context": "любит розы"}),
        ("maria_s", 2, {"name": "Мария"}),
        ("olga_k_2024", 3, {"name": "Ольга", "company": "Цветы, и ко", "context": "две\nстроки"}),
    ]


async def test_a_good_txt_takes_one_lead_a_line_and_skips_blank_and_comment_lines(importer, store):
    content = "# весенний список\n@ivan_petrov бывший клиент, любит розы\n\nmaria_s\n".encode()
    report = await importer.run("list.TXT", content, name="Весна")
    _, leads = await stored(store)
    assert (report.rows, report.taken, report.not_leads, report.rejections) == (2, 2, 2, [])
    assert [(lead.username, dict(lead.fields)) for lead in leads] == [
        ("ivan_petrov", {"context": "бывший клиент, любит розы"}),
        ("maria_s", {}),
    ]


@pytest.mark.parametrize("separator", [";", "\t"])
async def test_an_excel_utf16_csv_with_semicolons_or_tabs_is_read(importer, store, separator):
    text = f"username{separator}context\r\nivan_petrov{separator}Москва; центр\r\n"
    if separator == ";":
        text = 'username;context\r\nivan_petrov;"Москва; центр"\r\n'
    content = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    report = await importer.run("Книга1.csv", content, name="Весна")
    _, leads = await stored(store)
    assert report.taken == 1
    assert [(lead.username, dict(lead.fields)) for lead in leads] == [
        ("ivan_petrov", {"context": "Москва; центр"})
    ]


async def test_excels_unicode_text_named_txt_is_read_as_a_table(importer, store):
    text = "UserName\tName\r\n@ivan_petrov\tИван\r\n"
    content = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    report = await importer.run("Книга1.txt", content, name="Весна")
    _, leads = await stored(store)
    assert (report.rows, report.rejections) == (1, [])
    assert [(lead.username, dict(lead.fields)) for lead in leads] == [
        ("ivan_petrov", {"name": "Иван"})
    ]


async def test_a_utf8_bom_csv_keeps_its_first_column_name(importer, store):
    content = codecs.BOM_UTF8 + "username,name\nivan_petrov,Иван\n".encode()
    assert (await importer.run("a.csv", content, name="x")).taken == 1


async def add_history(store):
    """bob_jones opted out; carol_white had a dialog that ended and then another one."""
    async with FakeUnitOfWork(store) as uow:
        account = await uow.accounts.add(Account(phone="+79001234567", session_string=""))
        await uow.do_not_contact.add(
            DoNotContact("bob_jones", None, "asked to stop", FakeClock().now())
        )
        await uow.dialogs.add(Dialog(account.id, "carol_white", status=DialogStatus.FINISHED))
        newest = await uow.dialogs.add(Dialog(account.id, "carol_white"))
        await uow.commit()
    return newest


async def test_every_row_not_taken_is_reported_with_its_line_and_why(importer, store):
    newest = await add_history(store)
    content = (
        b"username,context\n"
        b"ivan_petrov,first\n"  # 2 taken
        b"iv,too short\n"  # 3 invalid
        b",no name at all\n"  # 4 invalid: empty
        b"\n"  # 5 blank: not a lead
        b"@IVAN_PETROV,again\n"  # 6 duplicate of 2
        b"bob_jones,opted out\n"  # 7 do-not-contact
        b"t.me/carol_white,talked before\n"  # 8 has a dialog
        b"maria_s,second\n"  # 9 taken
        b"olga_k_2024," + b"x" * 2000 + b"\n"  # 10 more than the dialog's notes hold
    )
    preview = await importer.preview("leads.csv", content)
    report = await importer.run("leads.csv", content, name="Весна")

    assert (preview.taken, preview.not_taken, preview.campaign) == (2, 6, None)
    assert (report.rows, report.taken, report.not_taken, report.not_leads) == (8, 2, 6, 1)
    assert report.counts == {
        NotTaken.FIELDS_TOO_LONG: 1,
        NotTaken.INVALID_USERNAME: 2,
        NotTaken.DUPLICATE: 1,
        NotTaken.DO_NOT_CONTACT: 1,
        NotTaken.HAS_DIALOG: 1,
    }
    assert [(r.line, r.raw_username, r.english()) for r in report.rejections] == [
        (3, "iv", "invalid username: it must be 5-32 characters long, not 2"),
        (4, "", "invalid username: it is empty"),
        (6, "@IVAN_PETROV", "duplicate of line 2"),
        (7, "bob_jones", "on the do-not-contact list"),
        (8, "t.me/carol_white", f"already has dialog {newest.id}"),
        (
            10,
            "olga_k_2024",
            "its other columns make 2009 characters of notes for the AI, more than 2000",
        ),
    ]
    _, leads = await stored(store)
    assert [(lead.username, lead.position) for lead in leads] == [
        ("ivan_petrov", 1),
        ("maria_s", 7),
    ]
    rows = list(csv.reader(io.StringIO(rejected_csv(report.rejections).decode("utf-8-sig"))))
    assert rows[0] == ["line", "username", "reason"]
    assert rows[3] == ["6", "@IVAN_PETROV", "duplicate of line 2"]
    assert len(rows) == 1 + 6


async def test_a_list_with_no_row_to_take_stores_nothing_but_reports_each(importer, store):
    await add_history(store)
    report = await importer.run("a.txt", b"bob_jones\n@x\n", name="Весна")
    assert (report.taken, report.campaign) == (0, None)
    assert [r.reason for r in report.rejections] == [
        NotTaken.DO_NOT_CONTACT,
        NotTaken.INVALID_USERNAME,
    ]
    assert await stored(store) == ([], [])


@pytest.mark.parametrize(
    ("filename", "content", "problem", "says"),
    [
        ("a.csv", b"", "empty", "the file is empty"),
        ("a.csv", b"\n \n", "empty", "the file is empty"),
        ("a.csv", b"username,name\n", "no_rows", "the file has a header but no leads"),
        ("a.txt", b"# only a comment\n\n", "no_rows", "only blank or # lines"),
        ("a.csv", b"login,name\nivan_petrov,x\n", "no_username_column", "columns: login, name"),
        ("a.csv", b"username,name,Name\nivan_petrov,a,b\n", "column_twice", "“name” appears"),
        ("a.csv", "username\nпётр\n".encode("cp1251"), "encoding", "not UTF-8 or UTF-16"),
        ("a.csv", b"PK\x03\x04rest of a zip", "binary", "an Excel workbook"),
        ("a.csv", b"username\n\x00\x01\x02", "binary", "binary"),
        ("a.xlsx", b"username\nivan_petrov\n", "format", "neither a .csv nor a .txt"),
        (
            "a.csv",
            b"username,context\nivan_petrov,ok\nmaria_s," + b"x" * 200_000,
            "malformed",
            "cannot be read as CSV from line 3: field larger than field limit",
        ),
        ("a.csv", b"username\n" + b"a" * MAX_FILE_BYTES, "too_large", "more than the 10 MB"),
        (
            "a.txt",
            b"ivan_petrov\n" * 100_001,
            "too_many_rows",
            "more than 100000 rows",
        ),
    ],
)
async def test_an_unreadable_file_is_refused_in_one_line_and_nothing_is_stored(
    importer, store, filename, content, problem, says
):
    with pytest.raises(UnreadableLeadFile) as refused:
        await importer.run(filename, content, name="Весна")
    assert refused.value.problem == problem
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(UnreadableLeadFile):
        await importer.preview(filename, content)
    assert await stored(store) == ([], [])


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"name": "  "}, "name_empty"),
        ({"name": "x" * 101}, "name_long"),
        ({"name": "x", "script": "s" * (MAX_SCRIPT_CHARS + 1)}, "script_long"),
        ({"name": "x", "variants": ["ok", " "]}, "variant_empty"),
        ({"name": "x", "variants": ["v" * (MAX_VARIANT_CHARS + 1)]}, "variant_long"),
        ({"name": "x", "variants": ["v"] * 11}, "too_many_variants"),
    ],
)
async def test_a_campaign_breaking_a_rule_is_refused_and_nothing_is_stored(
    importer, store, fields, problem
):
    with pytest.raises(InvalidCampaign) as refused:
        await importer.run("a.txt", b"ivan_petrov\n", **fields)
    assert refused.value.problem == problem
    assert await stored(store) == ([], [])


async def test_one_opener_variant_is_an_instruction_for_every_opener(importer, store):
    await importer.run("a.txt", b"ivan_petrov\n", name="x", variants=[" коротко "])
    campaigns, _ = await stored(store)
    assert campaigns[0].variants == ("коротко",)


def test_the_rejected_file_can_be_written_in_the_operators_words():
    rejection = Rejection(3, "iv", NotTaken.INVALID_USERNAME, why="it is empty")
    content = rejected_csv([rejection], lambda r: "плохой", ("строка", "username", "причина"))
    assert content.decode("utf-8-sig") == "строка,username,причина\r\n3,iv,плохой\r\n"
