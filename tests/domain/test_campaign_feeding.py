"""What the feeder takes from the domain: a lead's fields as the model's notes, and when an
account may take a new opener (the pacing rule)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from salesbot.domain.campaign import MAX_LEAD_NOTES_CHARS, lead_notes, next_start_at

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def test_a_leads_notes_put_the_context_first_and_leave_empty_columns_out():
    fields = {"name": "Анна", "company": "ООО Ромашка", "context": "  магазин\nцветов ", "city": ""}
    assert lead_notes(fields) == "context: магазин цветов\nname: Анна\ncompany: ООО Ромашка"


def test_notes_stand_for_context_and_long_fields_are_cut():
    assert lead_notes({"company": "X", "notes": "met at a fair"}) == (
        "notes: met at a fair\ncompany: X"
    )
    assert len(lead_notes({"context": "a" * 5000})) == MAX_LEAD_NOTES_CHARS
    assert lead_notes({}) == ""


def test_an_account_takes_an_opener_once_what_it_has_queued_has_gone():
    delay = timedelta(seconds=30)
    assert next_start_at(5, NOW, 0, delay) == NOW
    # Two queued messages go first, the minimum delay apart: the new one waits for them.
    assert next_start_at(5, NOW, 2, delay) == NOW + 2 * delay
    # What it sent and has queued uses the day's cap: nothing more today.
    assert next_start_at(2, NOW, 2, delay) is None
    assert next_start_at(0, NOW, 0, delay) is None
