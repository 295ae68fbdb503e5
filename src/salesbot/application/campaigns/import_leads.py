"""Importing a lead list as a campaign: every row of the file is taken or told why not.

A row is not taken when its username is invalid (the reason why), its other columns are
more than the dialog's notes hold (they would be cut), it repeats an earlier row's (which
line), the prospect is on the do-not-contact list, or the prospect already has
a dialog, open or past (which one: a campaign never writes first to someone written to
before). The list is checked against the database in one read per check, however long it
is, and the campaign is stored with its leads in one transaction: all of it or nothing.

`preview` says what an import would do without storing anything (the admin bot's summary
before the operator confirms); `run` does it, checking again in its own transaction.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from salesbot.application.campaigns.lead_file import FileRow, LeadFile, read_lead_file
from salesbot.application.campaigns.news import CampaignNews
from salesbot.application.conversation.sales_script import MAX_SCRIPT_CHARS
from salesbot.application.conversation.start_dialog import MAX_NOTES_CHARS
from salesbot.application.ports import UnitOfWork, UnitOfWorkFactory
from salesbot.domain.campaign import (
    MAX_CAMPAIGN_NAME_CHARS,
    MAX_VARIANT_CHARS,
    Campaign,
    Lead,
)
from salesbot.domain.errors import InvalidUsername
from salesbot.domain.username import normalize_username

MAX_VARIANTS = 10


class InvalidCampaign(Exception):
    """The campaign's name, script or variants break a rule; `problem` names which for the
    adapters' texts, `values` fill them in; str() is the English line."""

    def __init__(self, problem: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.problem = problem
        self.values = values


class NotTaken(str, enum.Enum):
    INVALID_USERNAME = "invalid_username"
    DUPLICATE = "duplicate"
    FIELDS_TOO_LONG = "fields_too_long"
    DO_NOT_CONTACT = "do_not_contact"
    HAS_DIALOG = "has_dialog"


@dataclass(frozen=True)
class Rejection:
    line: int
    raw_username: str
    reason: NotTaken
    why: str = ""
    """For an invalid username: the domain's reason, in English."""
    earlier_line: int | None = None
    """For a duplicate: the line it repeats."""
    dialog_id: int | None = None
    """For a prospect with a dialog: the newest one."""
    length: int | None = None
    """For fields too long: how many characters of notes they make."""

    def english(self) -> str:
        return describe_in_english(self)


def describe_in_english(rejection: Rejection) -> str:
    if rejection.reason is NotTaken.INVALID_USERNAME:
        return f"invalid username: {rejection.why}"
    if rejection.reason is NotTaken.DUPLICATE:
        return f"duplicate of line {rejection.earlier_line}"
    if rejection.reason is NotTaken.FIELDS_TOO_LONG:
        return (
            f"its other columns make {rejection.length} characters of notes for the AI, "
            f"more than {MAX_NOTES_CHARS}"
        )
    if rejection.reason is NotTaken.DO_NOT_CONTACT:
        return "on the do-not-contact list"
    return f"already has dialog {rejection.dialog_id}"


def notes_length(fields: dict[str, str]) -> int:
    """How long the dialog's notes made of these fields are: one `name: value` line each,
    spaces collapsed (as the feeder writes them; /start's notes hold MAX_NOTES_CHARS)."""
    lines = [f"{k}: {' '.join(v.split())}" for k, v in fields.items() if v.strip()]
    return len("\n".join(lines))


@dataclass(frozen=True)
class ImportReport:
    rows: int
    """The file's leads, taken or not (blank and comment lines are not rows)."""
    taken: int
    rejections: list[Rejection]
    not_leads: int = 0
    campaign: Campaign | None = None
    """The stored campaign; None for a preview, or when no row could be taken (then nothing
    was stored)."""
    counts: dict[NotTaken, int] = field(default_factory=dict)

    @property
    def not_taken(self) -> int:
        return len(self.rejections)


@dataclass(frozen=True)
class CampaignDraft:
    name: str
    script: str = ""
    variants: tuple[str, ...] = ()


def check_draft(name: str, script: str = "", variants: Sequence[str] = ()) -> CampaignDraft:
    """The campaign as given, trimmed; InvalidCampaign when a part breaks a rule. One opener
    variant is allowed: it is then an instruction every opener of the campaign follows."""
    name = " ".join(name.split())
    if not name:
        raise InvalidCampaign("name_empty", "the campaign needs a name")
    if len(name) > MAX_CAMPAIGN_NAME_CHARS:
        raise InvalidCampaign(
            "name_long",
            f"the name has {len(name)} characters, more than {MAX_CAMPAIGN_NAME_CHARS}",
            length=len(name),
            limit=MAX_CAMPAIGN_NAME_CHARS,
        )
    script = script.strip()
    if len(script) > MAX_SCRIPT_CHARS:
        raise InvalidCampaign(
            "script_long",
            f"the script has {len(script)} characters, more than {MAX_SCRIPT_CHARS}",
            length=len(script),
            limit=MAX_SCRIPT_CHARS,
        )
    cleaned = tuple(v.strip() for v in variants)
    for number, variant in enumerate(cleaned, start=1):
        if not variant:
            raise InvalidCampaign(
                "variant_empty", f"opener variant {number} is empty", number=number
            )
        if len(variant) > MAX_VARIANT_CHARS:
            raise InvalidCampaign(
                "variant_long",
                f"opener variant {number} has {len(variant)} characters, "
                f"more than {MAX_VARIANT_CHARS}",
                number=number,
                length=len(variant),
                limit=MAX_VARIANT_CHARS,
            )
    if len(cleaned) > MAX_VARIANTS:
        raise InvalidCampaign(
            "too_many_variants",
            f"{len(cleaned)} opener variants, more than {MAX_VARIANTS}",
            count=len(cleaned),
            limit=MAX_VARIANTS,
        )
    return CampaignDraft(name, script, cleaned)


@dataclass(frozen=True)
class _Plan:
    leads: list[tuple[FileRow, str]]
    rejections: list[Rejection]


async def _plan(uow: UnitOfWork, file: LeadFile) -> _Plan:
    candidates: list[tuple[FileRow, str]] = []
    rejections: list[Rejection] = []
    first_line: dict[str, int] = {}
    for row in file.rows:
        try:
            username = normalize_username(row.raw_username)
        except InvalidUsername as error:
            rejections.append(
                Rejection(row.line, row.raw_username, NotTaken.INVALID_USERNAME, why=error.reason)
            )
            continue
        length = notes_length(row.fields)
        if length > MAX_NOTES_CHARS:
            rejections.append(
                Rejection(row.line, row.raw_username, NotTaken.FIELDS_TOO_LONG, length=length)
            )
            continue
        if username in first_line:
            rejections.append(
                Rejection(
                    row.line,
                    row.raw_username,
                    NotTaken.DUPLICATE,
                    earlier_line=first_line[username],
                )
            )
            continue
        first_line[username] = row.line
        candidates.append((row, username))
    names = list(first_line)
    listed = await uow.do_not_contact.usernames_among(names)
    dialogs = await uow.dialogs.numbers_by_username(names)
    leads: list[tuple[FileRow, str]] = []
    for row, username in candidates:
        if username in listed:
            rejections.append(Rejection(row.line, row.raw_username, NotTaken.DO_NOT_CONTACT))
        elif username in dialogs:
            rejections.append(
                Rejection(
                    row.line, row.raw_username, NotTaken.HAS_DIALOG, dialog_id=dialogs[username]
                )
            )
        else:
            leads.append((row, username))
    rejections.sort(key=lambda r: r.line)
    return _Plan(leads, rejections)


def _report(file: LeadFile, plan: _Plan, campaign: Campaign | None) -> ImportReport:
    counts: dict[NotTaken, int] = {}
    for rejection in plan.rejections:
        counts[rejection.reason] = counts.get(rejection.reason, 0) + 1
    return ImportReport(
        rows=len(file.rows),
        taken=len(plan.leads) if campaign is not None else 0,
        rejections=plan.rejections,
        not_leads=file.not_leads,
        campaign=campaign,
        counts=counts,
    )


class ImportLeads:
    def __init__(self, uow_factory: UnitOfWorkFactory, news: CampaignNews | None = None) -> None:
        self._uow_factory = uow_factory
        self._news = news

    async def preview(self, filename: str, content: bytes) -> ImportReport:
        """What `run` would do now: nothing is stored. `taken` is how many would be.
        UnreadableLeadFile when the file cannot be read."""
        file = read_lead_file(filename, content)
        async with self._uow_factory() as uow:
            plan = await _plan(uow, file)
        report = _report(file, plan, None)
        return ImportReport(
            rows=report.rows,
            taken=len(plan.leads),
            rejections=report.rejections,
            not_leads=report.not_leads,
            counts=report.counts,
        )

    async def run(
        self,
        filename: str,
        content: bytes,
        *,
        name: str,
        script: str = "",
        variants: Sequence[str] = (),
    ) -> ImportReport:
        """Store the campaign and the leads it can take, in one transaction.

        InvalidCampaign or UnreadableLeadFile before anything is stored; when no row can be
        taken nothing is stored either, and the report says why of each row."""
        draft = check_draft(name, script, variants)
        file = read_lead_file(filename, content)
        async with self._uow_factory() as uow:
            plan = await _plan(uow, file)
            if not plan.leads:
                return _report(file, plan, None)
            campaign = await uow.campaigns.add(
                Campaign(name=draft.name, script=draft.script, variants=draft.variants)
            )
            assert campaign.id is not None
            await uow.leads.add_many(
                [
                    Lead(campaign.id, username, position=row.position, fields=row.fields)
                    for row, username in plan.leads
                ]
            )
            await uow.commit()
        if self._news is not None:
            self._news.tell()  # the feeder starts its first leads now, not in a minute
        return _report(file, plan, campaign)


REJECTED_HEADER = ("line", "username", "reason")


def rejected_csv(
    rejections: Sequence[Rejection],
    describe: Callable[[Rejection], str] = describe_in_english,
    header: Sequence[str] = REJECTED_HEADER,
) -> bytes:
    """The rows not taken as a CSV (UTF-8 with a BOM, so Excel reads it as such): the line in
    the original file, the username as written, and why."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for rejection in rejections:
        writer.writerow((rejection.line, rejection.raw_username, describe(rejection)))
    return out.getvalue().encode("utf-8-sig")
