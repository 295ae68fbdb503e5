"""A campaign's leads as a CSV file for a CRM import (/campaign_export N).

One row per lead, in the file's order: the username, the lead's own fields (a column
each, the union over the leads in the order first seen), then what the campaign did with
it. Excel opens it as it is: UTF-8 with a byte-order mark (else Excel reads it as the
locale's code page), the list separator Excel expects in the admin's language (`;` for
Russian, `,` for English), CRLF line ends, every field quoted when needed (`csv.excel`).

Two guards, as for any text we send: a cell that a spreadsheet would run as a formula
(starting with `=`, `+`, `-`, `@`, a tab or a carriage return: CSV injection) gets a
leading `'`, so it shows as text; and secrets are masked (`secret_mask`) in the text the
prospect or the model wrote (the summary, the fields).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import BinaryIO

from salesbot.adapters.logging import secret_mask
from salesbot.application.campaigns.queries import LeadExport

ENCODING = "utf-8-sig"
FIXED_BEFORE = ("username",)
FIXED_AFTER = (
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
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def delimiter_for(language: str) -> str:
    """Excel's list separator in that language's locale."""
    return ";" if language == "ru" else ","


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula; secrets masked."""
    text = secret_mask(text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def field_columns(leads: Sequence[LeadExport]) -> list[str]:
    """The leads' own fields, each once, in the order first seen."""
    return list(dict.fromkeys(name for lead in leads for name in lead.fields))


def _header_name(name: str) -> str:
    """A lead's field that has a fixed column's name gets a prefix: no two columns alike."""
    return f"field_{name}" if name in FIXED_BEFORE or name in FIXED_AFTER else name


class LeadsCsv:
    def __init__(self, variants: Sequence[str], tz: tzinfo, *, delimiter: str = ",") -> None:
        self._variants = tuple(variants)
        self._tz = tz
        self._delimiter = delimiter

    def write(self, leads: Sequence[LeadExport], stream: BinaryIO) -> None:
        text = io.TextIOWrapper(stream, encoding=ENCODING, newline="", write_through=True)
        try:
            writer = csv.writer(text, dialect="excel", delimiter=self._delimiter)
            fields = field_columns(leads)
            writer.writerow(
                [*FIXED_BEFORE, *(safe_cell(_header_name(f)) for f in fields), *FIXED_AFTER]
            )
            for lead in leads:
                writer.writerow(self._row(lead, fields))
        finally:
            text.detach()

    def _row(self, lead: LeadExport, fields: Sequence[str]) -> list[str]:
        variant = lead.variant
        variant_text = (
            self._variants[variant] if variant is not None and variant < len(self._variants) else ""
        )
        return [
            lead.username,
            *(safe_cell(lead.fields.get(name, "")) for name in fields),
            lead.status.value,
            safe_cell(lead.reason),
            "" if variant is None else str(variant + 1),
            safe_cell(variant_text),
            "" if lead.dialog_id is None else str(lead.dialog_id),
            lead.dialog_status.value if lead.dialog_status else "",
            lead.outcome.value if lead.outcome else "",
            lead.stage.value if lead.stage else "",
            "" if lead.warmth is None else str(lead.warmth),
            safe_cell(lead.summary),
            ("yes" if lead.replied else "no") if lead.dialog_id is not None else "",
            self._time(lead.started_at),
            self._time(lead.last_activity_at),
        ]

    def _time(self, moment: datetime | None) -> str:
        """In the admin's time zone, as spreadsheets and CRMs parse it."""
        return moment.astimezone(self._tz).strftime("%Y-%m-%d %H:%M:%S") if moment else ""
