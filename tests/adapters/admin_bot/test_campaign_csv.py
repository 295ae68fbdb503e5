"""The campaign CSV's own rules, beyond what /campaign_export's tests read back: a lead's
field never shares a fixed column's name, and no cell can run as a spreadsheet formula or
carry a secret."""

from __future__ import annotations

import csv
import io
from zoneinfo import ZoneInfo

import pytest

from salesbot.adapters.admin_bot.campaign_csv import LeadsCsv, field_columns, safe_cell
from salesbot.application.campaigns.queries import LeadExport
from salesbot.domain.campaign import LeadStatus
from tests.secrets import BOT_TOKEN


def _lead(username: str, **fields: str) -> LeadExport:
    return LeadExport(
        username=username,
        fields=fields,
        status=LeadStatus.QUEUED,
        reason="",
        variant=None,
        dialog_id=None,
        dialog_status=None,
        outcome=None,
        stage=None,
        warmth=None,
        summary="",
        replied=False,
        started_at=None,
        last_activity_at=None,
    )


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+7 900 111 22 33", "'+7 900 111 22 33"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("Anna = owner", "Anna = owner"),
        ("", ""),
    ],
)
def test_a_cell_that_would_start_a_formula_is_written_as_text(raw, written):
    assert safe_cell(raw) == written


def test_a_secret_in_the_text_is_masked():
    assert BOT_TOKEN not in safe_cell(f"token {BOT_TOKEN} here")


def test_fields_are_the_union_in_first_seen_order_and_never_clash_with_fixed_columns():
    leads = [
        _lead("anna_salon", name="Анна", summary="from the file"),
        _lead("boris_salon", city="Москва", name="Борис"),
    ]
    assert field_columns(leads) == ["name", "summary", "city"]
    stream = io.BytesIO()
    LeadsCsv((), ZoneInfo("Europe/Moscow"), delimiter=";").write(leads, stream)
    rows = list(
        csv.reader(io.StringIO(stream.getvalue().decode("utf-8-sig"), newline=""), delimiter=";")
    )
    header = rows[0]
    assert header[:4] == ["username", "name", "field_summary", "city"]
    assert "summary" in header[4:]
    assert rows[1][:4] == ["anna_salon", "Анна", "from the file", ""]
    assert rows[2][:4] == ["boris_salon", "Борис", "", "Москва"]
    assert stream.getvalue().count(b"\r\n") == 3  # CRLF, as Excel writes it
