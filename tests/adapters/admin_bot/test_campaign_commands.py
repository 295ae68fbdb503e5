"""/campaigns, /campaign N, /campaign_pause|resume|stop N and /campaign_export N end to end:
the operator reads a campaign's progress and funnel, steers it, and takes its leads to a
CRM as a CSV file."""

from __future__ import annotations

import csv
import io

from salesbot.adapters.admin_bot.catalogue import MESSAGES
from salesbot.domain.campaign import CampaignStatus, SkipReason
from salesbot.domain.dialog import DialogStatus, Outcome, Stage
from tests.adapters.admin_bot.conftest import ADMIN
from tests.campaign_seed import L, Started, seed_campaign
from tests.fakes.bot_api_server import ApiCall

VARIANTS = (
    "Спросите, как они сейчас ведут запись клиентов — в тетради или в мессенджере?",
    "Предложите бесплатный месяц",
)
LEADS = [
    L(
        "anna_salon",
        {"name": "Анна", "company": "Салон А"},
        Started(
            0,
            replied=True,
            outcome=Outcome.GOAL,
            status=DialogStatus.PAUSED,
            stage=Stage.CLOSE,
            warmth=90,
            summary="Согласна на демо во вторник",
        ),
    ),
    L(
        "boris_salon",
        {"name": "Борис", "phone": "+79001112233"},
        Started(0, replied=True, outcome=Outcome.REJECTED, status=DialogStatus.FINISHED),
    ),
    L("vera_salon", {"city": "Москва"}, Started(0)),
    L(
        "gleb_salon",
        {},
        Started(1, replied=True, outcome=Outcome.HANDOFF, status=DialogStatus.PAUSED),
    ),
    L(
        "dina_salon",
        {},
        Started(1, replied=True, outcome=Outcome.OPT_OUT, status=DialogStatus.OPTED_OUT),
    ),
    L("egor_salon", {}, Started(1, status=DialogStatus.FAILED)),
    L("ilya_salon", {"name": '=HYPERLINK("http://evil")'}, skipped=SkipReason.NOT_FOUND),
    L("kira_salon", {}, skipped=SkipReason.NOT_FOUND),
    L("nina_salon", {"name": "Нина"}),
    L("oleg_salon", {}),
]


async def _campaign(world, leads=LEADS, **options) -> int:
    account = await world.seed.account()
    return await seed_campaign(world.uow, account, leads, **options)


def _buttons(call: ApiCall) -> list[tuple[str, str]]:
    markup = call.json("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


async def _press(api, call: ApiCall, data: str) -> ApiCall:
    mark = api.mark()
    await api.press_button(ADMIN, call.result["message_id"], data, text=call.text or "")
    [edit] = await api.wait_replies(ADMIN, 1, since=mark, methods=["editMessageText"])
    return edit


async def _status(world, n: int) -> CampaignStatus:
    async with world.uow() as uow:
        campaign = await uow.campaigns.get(n)
    assert campaign is not None
    return campaign.status


async def test_campaigns_lists_each_with_its_progress_newest_first_and_pages(world, api):
    assert await world.admin.reply("/campaigns") == "Кампаний пока нет. Создать: /campaign_new"
    older = await _campaign(world, variants=VARIANTS)
    account = await world.seed.account("+79007654321")
    ids = [older]
    for name in ("Магазины", "Кафе", "Барбершопы"):
        ids.append(
            await seed_campaign(
                world.uow,
                account,
                [L(f"x_{name[:1]}_user1")],
                name=name,
                status=CampaignStatus.PAUSED,
            )
        )

    [first] = await world.admin.calls("/campaigns")

    newest = ids[-1]
    assert first.text.splitlines()[:2] == [
        "Кампании: 4 (стр. 1/2), сначала новые:",
        f"{newest}. «Барбершопы» — на паузе: в очереди 1, начато 0, пропущено 0 из 1; "
        "ответили 0, цель 0",
    ]
    assert first.text.endswith("Воронка кампании: /campaign N")
    assert [data for _, data in _buttons(first)] == ["campaigns:2"]
    second = await _press(api, first, "campaigns:2")
    assert second.text.splitlines()[:2] == [
        "Кампании: 4 (стр. 2/2), сначала новые:",
        f"{older}. «Salons, Moscow» — идёт: в очереди 2, начато 6, пропущено 2 из 10; "
        "ответили 4, цель 1",
    ]


async def test_the_funnel_shows_every_stage_overall_and_per_variant_with_rates(world):
    n = await _campaign(world, variants=VARIANTS, script="Свой сценарий для салонов")

    text = await world.admin.reply(f"/campaign {n}")

    assert text == (
        f"Кампания {n} «Salons, Moscow» — идёт, свой сценарий\n"
        "Лиды: 10 — в очереди 2, запускаются 0, начато 6, пропущено 2\n"
        "Всего: начато 6 · ответили 4 (67%) · цель 1 (17%) · передано человеку 1 · отказ 1 "
        "· отписались 1 · не удалось 1\n"
        "\n"
        "По вариантам первого сообщения:\n"
        "1. «Спросите, как они сейчас ведут запись…»: начато 3 · ответили 2 (67%) · "
        "цель 1 (33%) · передано человеку 0 · отказ 1 · отписались 0 · не удалось 0\n"
        "2. «Предложите бесплатный месяц»: начато 3 · ответили 2 (67%) · цель 0 (0%) · "
        "передано человеку 1 · отказ 0 · отписались 1 · не удалось 1\n"
        "\n"
        "Пропущены:\n"
        "— username не найден в Telegram: 2\n"
        "\n"
        f"Ответили — от начатых, цель — от начатых. Пауза: /campaign_pause {n} · "
        f"Выгрузка: /campaign_export {n}"
    )


async def test_a_campaign_number_is_checked_and_an_unknown_one_named(world):
    assert await world.admin.reply("/campaign") == (
        "Не указан номер кампании. Нужно: /campaign N, например: /campaign 3"
    )
    assert await world.admin.reply("/campaign_pause abc") == (
        "«abc» — не номер кампании, нужно целое число. Нужно: /campaign_pause N, "
        "например: /campaign_pause 3"
    )
    assert await world.admin.reply("/campaign_stop 3 сейчас") == (
        "Лишнее после номера: «сейчас». Нужно: /campaign_stop N, например: /campaign_stop 3"
    )
    for command in (
        "campaign",
        "campaign_pause",
        "campaign_resume",
        "campaign_stop",
        "campaign_export",
    ):
        assert await world.admin.reply(f"/{command} 77") == (
            "Кампании 77 нет. Все кампании: /campaigns"
        )


async def test_pause_and_resume_change_the_status_and_refuse_a_move_already_made(world):
    n = await _campaign(world)

    assert await world.admin.reply(f"/campaign_resume {n}") == (
        f"Кампания {n} «Salons, Moscow» и так идёт. Поставить на паузу: /campaign_pause {n}"
    )
    assert await world.admin.reply(f"/campaign_pause {n}") == (
        f"Кампания {n} «Salons, Moscow» на паузе: новые диалоги не начинаются, начатые идут "
        f"дальше. Продолжить: /campaign_resume {n}"
    )
    assert await _status(world, n) is CampaignStatus.PAUSED
    assert await world.admin.reply(f"/campaign_pause {n}") == (
        f"Кампания {n} «Salons, Moscow» уже на паузе. Продолжить: /campaign_resume {n}"
    )
    assert await world.admin.reply(f"/campaign_resume #{n}") == (
        f"Кампания {n} «Salons, Moscow» снова идёт: лиды из очереди начинаются, когда у "
        "аккаунтов есть место."
    )
    assert await _status(world, n) is CampaignStatus.ACTIVE


async def test_stop_asks_first_cancel_keeps_it_and_confirming_stops_it_for_good(world, api):
    n = await _campaign(world)

    [question] = await world.admin.calls(f"/campaign_stop {n}")

    assert question.text == (
        f"Остановить кампанию {n} «Salons, Moscow» навсегда? Лиды в очереди (2) не будут "
        "начаты, и это не отменить; начатые диалоги (6) идут дальше. Только "
        f"приостановить: /campaign_pause {n}"
    )
    assert _buttons(question) == [
        ("⏹ Остановить навсегда", f"campaign_stop:{n}"),
        ("Отмена", f"campaign_keep:{n}"),
    ]
    kept = await _press(api, question, f"campaign_keep:{n}")
    assert kept.text == f"Кампания {n} «Salons, Moscow» не остановлена."
    assert await _status(world, n) is CampaignStatus.ACTIVE

    stopped = await _press(api, question, f"campaign_stop:{n}")
    assert stopped.text == (
        f"Кампания {n} «Salons, Moscow» остановлена навсегда: лиды в очереди не будут "
        "начаты, начатые диалоги идут дальше."
    )
    assert await _status(world, n) is CampaignStatus.STOPPED
    # The dialogs it started go on; its queued leads stay queued.
    assert {d.status for d in await world.dialogs()} >= {DialogStatus.ACTIVE}
    async with world.uow() as uow:
        leads = await uow.leads.for_campaign(n)
    assert sum(lead.status.value == "queued" for lead in leads) == 2

    assert await world.admin.reply(f"/campaign_resume {n}") == (
        f"Кампания {n} «Salons, Moscow» остановлена навсегда — её нельзя возобновить. "
        "Начатые диалоги идут дальше; новая кампания: /campaign_new"
    )
    assert await world.admin.reply(f"/campaign_pause {n}") == (
        f"Кампания {n} «Salons, Moscow» остановлена навсегда — её нельзя поставить на "
        "паузу. Начатые диалоги идут дальше; новая кампания: /campaign_new"
    )
    assert (await world.admin.reply(f"/campaign_stop {n}")).startswith(
        f"Кампания {n} «Salons, Moscow» остановлена навсегда"
    )
    assert await _status(world, n) is CampaignStatus.STOPPED


def _rows(call: ApiCall, delimiter: str) -> list[dict[str, str]]:
    content = call.document.content
    assert content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 by its byte-order mark
    return list(
        csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter)
    )


async def test_the_export_is_a_csv_of_every_lead_with_its_dialog(world):
    n = await _campaign(world, variants=VARIANTS)

    [call] = await world.admin.calls(f"/campaign_export {n}")

    assert call.method == "sendDocument"
    assert call.document.filename == f"campaign_{n:03d}_leads.csv"
    assert call.params["caption"] == f"Кампания {n} «Salons, Moscow»: лидов 10, CSV для CRM"
    rows = _rows(call, ";")
    assert [r["username"] for r in rows] == [lead.username for lead in LEADS]
    assert list(rows[0]) == [
        "username",
        "name",
        "company",
        "phone",
        "city",
        "lead_status",
        "skip_reason",
        "variant",
        "variant_text",
        "dialog",
        "dialog_status",
        "outcome",
        "stage",
        "warmth",
        "summary",
        "replied",
        "started_at",
        "last_activity_at",
    ]
    anna = rows[0]
    dialogs = {d.target_username: d for d in await world.dialogs()}
    assert anna == {
        "username": "anna_salon",
        "name": "Анна",
        "company": "Салон А",
        "phone": "",
        "city": "",
        "lead_status": "started",
        "skip_reason": "",
        "variant": "1",
        "variant_text": VARIANTS[0],
        "dialog": str(dialogs["anna_salon"].id),
        "dialog_status": "paused",
        "outcome": "goal",
        "stage": "close",
        "warmth": "90",
        "summary": "Согласна на демо во вторник",
        "replied": "yes",
        "started_at": "2026-01-05 12:00:00",
        "last_activity_at": anna["last_activity_at"],
    }
    assert anna["last_activity_at"] >= "2026-01-05 12:00:00"
    # A phone and a formula are shown as text, never run by the spreadsheet.
    assert rows[1]["phone"] == "'+79001112233"
    assert (rows[2]["replied"], rows[2]["variant"]) == ("no", "1")
    ilya = rows[6]
    assert (ilya["lead_status"], ilya["skip_reason"], ilya["name"], ilya["dialog"]) == (
        "skipped",
        "not_found",
        '\'=HYPERLINK("http://evil")',
        "",
    )
    assert (rows[8]["lead_status"], rows[8]["name"], rows[8]["replied"]) == ("queued", "Нина", "")


async def test_in_english_the_commands_answer_in_english_and_the_csv_uses_commas(make_world, api):
    world = await make_world(language="en")
    n = await _campaign(world, variants=("Ask about bookings", "Offer a free month"))

    assert (await world.admin.reply("/campaigns")).splitlines()[1] == (
        f"{n}. “Salons, Moscow” — running: queued 2, started 6, skipped 2 of 10; replied 4, goal 1"
    )
    funnel = await world.admin.reply(f"/campaign {n}")
    assert funnel.splitlines()[:3] == [
        f"Campaign {n} “Salons, Moscow” — running, the global script",
        "Leads: 10 — queued 2, starting 0, started 6, skipped 2",
        "Overall: started 6 · replied 4 (67%) · goal 1 (17%) · handed off 1 · rejected 1 "
        "· opted out 1 · failed 1",
    ]
    assert "2. “Offer a free month”: started 3 · replied 2 (67%) · goal 0 (0%)" in funnel
    assert await world.admin.reply(f"/campaign_pause {n}") == (
        f"Campaign {n} “Salons, Moscow” is paused: no new dialog is started, those started go "
        f"on. Resume: /campaign_resume {n}"
    )
    [question] = await world.admin.calls(f"/campaign_stop {n}")
    assert _buttons(question) == [
        ("⏹ Stop for good", f"campaign_stop:{n}"),
        ("Cancel", f"campaign_keep:{n}"),
    ]
    await _press(api, question, f"campaign_stop:{n}")
    assert await world.admin.reply(f"/campaign_resume {n}") == (
        f"Campaign {n} “Salons, Moscow” is stopped for good: it cannot be resumed. The dialogs "
        "it started go on; a new campaign: /campaign_new"
    )
    [call] = await world.admin.calls(f"/campaign_export {n}")
    rows = _rows(call, ",")
    assert len(rows) == 10 and rows[3]["variant_text"] == "Offer a free month"
    help_text = await world.admin.reply("/help")
    assert "Campaigns (here N is a campaign number from /campaigns)\n" in help_text
    assert "/campaign_stop N — stop campaign N for good" in help_text
    assert await world.admin.reply("/campaign x") == (
        "“x” is not a campaign number: expected a whole number. "
        "Expected: /campaign N, e.g. /campaign 3"
    )


async def test_help_and_the_menu_name_the_campaign_commands(world, api):
    text = await world.admin.reply("/help")
    assert (
        "Кампании (здесь N — номер кампании из /campaigns)\n"
        "/campaign_new [название] — новая кампания из файла .csv/.txt: сценарий, варианты, "
        "отчёт\n/campaigns — кампании и их ход\n" in text
    )
    assert "/campaign N — воронка кампании N, всего и по вариантам" in text
    assert "/campaign_stop N — остановить кампанию N навсегда" in text
    assert "/campaign_export N — лиды кампании N файлом CSV для CRM" in text
    [menu] = [c for c in api.calls if c.method == "setMyCommands"]
    names = [c["command"] for c in menu.json("commands")]
    assert {
        "campaign_new",
        "campaigns",
        "campaign",
        "campaign_pause",
        "campaign_resume",
        "campaign_stop",
        "campaign_export",
    } <= set(names)


def test_every_reason_the_feeder_skips_a_lead_for_is_said_in_both_languages():
    reasons = [v for k, v in vars(SkipReason).items() if not k.startswith("_")]
    assert reasons
    for reason in reasons:
        assert set(MESSAGES[f"skip_{reason}"]) == {"ru", "en"}, reason
