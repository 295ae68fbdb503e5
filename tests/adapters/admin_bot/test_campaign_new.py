"""/campaign_new through the real bot against the fake Bot API, in Russian: the name, the file,
the script, the opener variants, the summary and /confirm; the report and the rows not taken
arrive, and /cancel or a file that cannot be read stores nothing."""

import csv
import io

from salesbot.domain.do_not_contact import DoNotContact
from tests.adapters.admin_bot.conftest import ADMIN

LEADS = (
    "username;name;context\n"
    "@ivan_petrov;Иван;владелец салона\n"
    "bob_jones;Боб;\n"
    "carol_white;Кэрол;\n"
    "ivan_petrov;снова;\n"
    "iv;коротко;\n"
    "maria_s;Мария;\n"
).encode()


async def upload(world, api, filename, content):
    mark = api.mark()
    await api.send_document(ADMIN, filename, content)
    return [c.text for c in await world.admin.settle(mark)]


async def stored(world):
    async with world.uow() as uow:
        campaigns = await uow.campaigns.every()
        leads = [lead for c in campaigns for lead in await uow.leads.for_campaign(c.id)]
    return campaigns, leads


async def test_a_campaign_is_created_step_by_step_with_its_report_and_rejected_rows(world, api):
    account = await world.seed.account()
    dialog = await world.seed.dialog(account, "carol_white")
    async with world.uow() as uow:
        await uow.do_not_contact.add(
            DoNotContact("bob_jones", None, "asked to stop", world.clock.now())
        )
        await uow.commit()

    assert (await world.admin.reply("/campaign_new")).startswith("Новая кампания. Как её назвать?")
    assert (await world.admin.reply("Весна 2026")).startswith(
        "Кампания «Весна 2026». Пришлите список лидов файлом"
    )
    assert await world.admin.reply("просто текст") == (
        "Нужен файл .csv или .txt со списком лидов (как документ). Отмена: /cancel"
    )
    [read] = await upload(world, api, "весна.csv", LEADS)
    assert read.startswith("Файл «весна.csv» прочитан: лидов — 6.")
    [script_taken] = await upload(world, api, "script.txt", "Продаём тюльпаны".encode())
    assert script_taken.startswith("Варианты первого сообщения")
    assert await world.admin.reply("коротко") == "Вариант 1 принят. Следующий вариант или /done."
    assert await world.admin.reply("с вопросом") == (
        "Вариант 2 принят. Следующий вариант или /done."
    )
    assert await world.admin.reply("/done") == (
        "Кампания «Весна 2026»\n"
        "Файл: весна.csv, лидов: 6\n"
        "Будут взяты: 2, не взяты: 4\n"
        "• неверный username: 1\n"
        "• повтор в файле: 1\n"
        "• в списке «не беспокоить»: 1\n"
        "• уже был или есть диалог: 1\n"
        "Сценарий: свой (16 символов)\n"
        "Варианты первого сообщения: 2\n\n"
        "Создать кампанию? /confirm — да, /cancel — нет."
    )
    assert await stored(world) == ([], [])  # nothing before the confirmation

    report, rejected = await world.admin.calls("/confirm")

    campaigns, leads = await stored(world)
    [campaign] = campaigns
    assert (campaign.name, campaign.script, campaign.variants) == (
        "Весна 2026",
        "Продаём тюльпаны",
        ("коротко", "с вопросом"),
    )
    assert [(lead.username, dict(lead.fields)) for lead in leads] == [
        ("ivan_petrov", {"name": "Иван", "context": "владелец салона"}),
        ("maria_s", {"name": "Мария"}),
    ]
    assert report.text.startswith(
        f"Кампания {campaign.id} «Весна 2026» создана: взято лидов — 2 из 6, не взято — 4\n"
    )
    assert rejected.method == "sendDocument"
    assert rejected.params["caption"] == (
        "Не взятые строки (4): номер строки в файле, username, причина"
    )
    assert rejected.document.filename == "весна.rejected.csv"
    rows = list(csv.reader(io.StringIO(rejected.document.content.decode("utf-8-sig"))))
    assert rows == [
        ["строка", "username", "причина"],
        ["3", "bob_jones", "в списке «не беспокоить»"],
        ["4", "carol_white", f"уже есть диалог {dialog}"],
        ["5", "ivan_petrov", "повтор строки 2"],
        ["6", "iv", "неверный username: нужно 5–32 символа, а не 2"],
    ]


async def test_the_name_after_the_command_and_skip_for_script_and_variants(world, api):
    assert (await world.admin.reply("/campaign_new Осень")).startswith("Кампания «Осень».")
    await upload(world, api, "leads.txt", b"@ivan_petrov\n")
    assert (await world.admin.reply("/skip")).startswith("Варианты первого сообщения")
    summary = await world.admin.reply("/skip")
    assert "Сценарий: общий\nВарианты первого сообщения: нет" in summary
    [report] = await world.admin.send("/confirm")  # nothing rejected: no file
    assert "взято лидов — 1 из 1, не взято — 0" in report
    [campaign], _ = await stored(world)
    assert (campaign.script, campaign.variants) == ("", ())


async def test_a_file_it_cannot_read_is_one_line_and_the_next_file_is_awaited(world, api):
    await world.admin.reply("/campaign_new Осень")
    assert await upload(world, api, "leads.csv", b"login,name\nivan_petrov,x\n") == [
        "В первой строке файла нет колонки «username» (колонки: login, name). "
        "Ничего не импортировано. Пришлите исправленный файл или /cancel."
    ]
    assert await upload(world, api, "leads.xlsx", b"PK\x03\x04zip") == [
        "«leads.xlsx» — не .csv и не .txt: сохраните список как CSV или текст. "
        "Ничего не импортировано. Пришлите исправленный файл или /cancel."
    ]
    [read] = await upload(world, api, "leads.txt", b"ivan_petrov\n")
    assert read.startswith("Файл «leads.txt» прочитан: лидов — 1.")


async def test_cancel_at_the_summary_stores_nothing(world, api):
    await world.admin.reply("/campaign_new Осень")
    await upload(world, api, "leads.txt", b"ivan_petrov\n")
    await world.admin.reply("/skip")
    await world.admin.reply("/done")
    assert await world.admin.reply("/cancel") == (
        "Создание кампании отменено, ничего не сохранено."
    )
    assert await world.admin.reply("/confirm") == (
        "Неизвестная команда /confirm. Все команды: /help"
    )
    assert await stored(world) == ([], [])


async def test_a_list_with_nothing_to_take_ends_with_the_reasons_and_the_file(world, api):
    await world.admin.reply("/campaign_new Осень")
    await upload(world, api, "leads.txt", b"iv\n")
    await world.admin.reply("/skip")
    summary, rejected = await world.admin.calls("/done")
    assert summary.text.startswith("Кампания «Осень»\nФайл: leads.txt, лидов: 1\n")
    assert "Ни один лид не подходит\n• неверный username: 1\n" in summary.text
    assert rejected.document.filename == "leads.rejected.csv"
    assert await stored(world) == ([], [])


async def test_a_variant_too_long_is_refused_and_the_next_one_awaited(world, api):
    await world.admin.reply("/campaign_new Осень")
    await upload(world, api, "leads.txt", b"ivan_petrov\n")
    await world.admin.reply("/skip")
    assert await world.admin.reply("в" * 1001) == (
        "Вариант 1 слишком длинный: 1001 символов, а можно до 1000."
    )
    assert await world.admin.reply("коротко") == "Вариант 1 принят. Следующий вариант или /done."


async def test_in_english_the_report_and_the_rejected_rows_are_english(make_world, api):
    world = await make_world(language="en")
    assert (await world.admin.reply("/campaign_new Autumn")).startswith("Campaign “Autumn”.")
    [read] = await upload(world, api, "leads.txt", b"ivan_petrov\n@x\n")
    assert read.startswith("File “leads.txt” read: 2 leads.")
    await world.admin.reply("/skip")
    assert "To be taken: 1, not taken: 1\n• invalid username: 1\n" in (
        await world.admin.reply("/skip")
    )
    report, rejected = await world.admin.calls("/confirm")
    assert "1 of 2 leads taken, 1 not" in report.text
    assert rejected.document.content.decode("utf-8-sig").splitlines() == [
        "line,username,reason",
        '2,@x,"invalid username: it must be 5-32 characters long, not 1"',  # a comma: quoted
    ]
