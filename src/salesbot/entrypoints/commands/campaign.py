"""`salesbot campaign import FILE --name NAME`: a lead list becomes a campaign, from a terminal.

Needs the database only (no Telegram, no model). Prints the report: how many leads were
taken and how many not, for each reason; the rows not taken are written next to the file as
`FILE.rejected.csv` (line, username as written, reason). A file that cannot be read, or a
name, script or variant that breaks a rule, is one line and exit code 2, and nothing is
stored. A running `salesbot run` starts the campaign's leads as its accounts have room.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from salesbot.entrypoints import event_loop
from salesbot.entrypoints.commands import report_config_error, start_logging, with_database
from salesbot.entrypoints.settings import ConfigError, Settings, load_settings

REFUSED_EXIT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    imported = actions.add_parser(
        "import",
        help="import a lead list (.csv with a username column, or .txt) as a new campaign",
        description=(
            "Import a lead list as a new campaign: a .csv with a header row and a username "
            "column (the other columns are passed to the model), or a .txt with one "
            "'@username context' a line. UTF-8 or UTF-16; separated by , ; or tab."
        ),
    )
    imported.add_argument("file", metavar="FILE", help="the lead list (.csv or .txt)")
    imported.add_argument("--name", required=True, help="the campaign's name")
    imported.add_argument(
        "--script",
        metavar="FILE",
        help="a text file with the campaign's own sales script (default: the global one)",
    )
    imported.add_argument(
        "--variant",
        metavar="TEXT",
        action="append",
        default=[],
        help="an instruction for the opener; repeat for variants, assigned evenly",
    )


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(env_file=args.env_file)
    except ConfigError as error:
        return report_config_error(error)
    level = settings.LOG_LEVEL if settings.LOG_LEVEL in ("TRACE", "DEBUG") else "WARNING"
    refused = start_logging(level, settings.LOG_FILE, settings.secret_values())
    if refused is not None:
        return refused
    try:
        return event_loop.run(run(args, settings))
    except KeyboardInterrupt:
        print("\nStopped.", file=sys.stderr)
        return 130


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _Refused(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise _Refused(f"{what} {path}: is a folder, not a file") from None
    except OSError as error:
        raise _Refused(f"{what} {path}: cannot be read ({error.strerror})") from None


class _Refused(Exception):
    pass


async def run(
    args: argparse.Namespace,
    settings: Settings,
    *,
    container: Any = None,
    out: TextIO | None = None,
) -> int:
    shown = out or sys.stdout
    try:
        path = Path(args.file)
        content = _read(path, "FILE")
        script = ""
        if args.script:
            script = _decode_script(_read(Path(args.script), "--script"), args.script)
    except _Refused as refusal:
        print(f"Refused: {refusal}", file=sys.stderr)
        return REFUSED_EXIT
    if container is not None:
        return await _import(args, container, path, content, script, shown)
    return await with_database(
        settings, lambda opened: _import(args, opened, path, content, script, shown)
    )


def _decode_script(content: bytes, name: str) -> str:
    from salesbot.application.campaigns.lead_file import UnreadableLeadFile, decode

    try:
        return decode(content)
    except UnreadableLeadFile as error:
        raise _Refused(f"--script {name}: {error}") from None


async def _import(
    args: argparse.Namespace, container: Any, path: Path, content: bytes, script: str, out: TextIO
) -> int:
    from salesbot.application.campaigns.import_leads import (
        ImportLeads,
        InvalidCampaign,
        rejected_csv,
    )
    from salesbot.application.campaigns.lead_file import UnreadableLeadFile
    from salesbot.entrypoints.container import resolve, shut_down

    try:
        importer: ImportLeads = await resolve(container.import_leads())
        try:
            report = await importer.run(
                path.name, content, name=args.name, script=script, variants=args.variant
            )
        except UnreadableLeadFile as error:
            print(f"Refused: {path}: {error}; nothing was imported.", file=sys.stderr)
            return REFUSED_EXIT
        except InvalidCampaign as error:
            print(f"Refused: {error}; nothing was imported.", file=sys.stderr)
            return REFUSED_EXIT
    finally:
        await shut_down(container)
    for line in report_lines(report):
        print(line, file=out)
    if report.rejections:
        rejected = path.with_name(path.name + ".rejected.csv")
        try:
            rejected.write_bytes(rejected_csv(report.rejections))
        except OSError as error:
            print(
                f"The rows not taken could not be written to {rejected} ({error.strerror}):",
                file=out,
            )
            for rejection in report.rejections:
                print(f"  line {rejection.line}: {rejection.english()}", file=out)
            return 1
        print(f"The rows not taken, with their line and reason: {rejected}", file=out)
    return 0 if report.campaign is not None else 1


def report_lines(report: Any) -> list[str]:
    from salesbot.application.campaigns.import_leads import NotTaken

    labels = {
        NotTaken.INVALID_USERNAME: "invalid username",
        NotTaken.DUPLICATE: "duplicate in the file",
        NotTaken.FIELDS_TOO_LONG: "columns too long for the AI's notes",
        NotTaken.DO_NOT_CONTACT: "on the do-not-contact list",
        NotTaken.HAS_DIALOG: "already in a dialog, open or past",
    }
    if report.campaign is not None:
        campaign = report.campaign
        variants = len(campaign.variants)
        lines = [
            f"Campaign {campaign.id} “{campaign.name}” created: {report.taken} of "
            f"{report.rows} leads taken, {report.not_taken} not.",
            "Script: "
            + ("its own" if campaign.script else "the global one")
            + f"; opener variants: {variants or 'none'}.",
        ]
    else:
        lines = [f"No campaign created: none of the {report.rows} leads can be taken."]
    lines += [f"  {labels[r]}: {report.counts[r]}" for r in NotTaken if r in report.counts]
    if report.not_leads:
        lines.append(f"  blank or comment lines (not leads): {report.not_leads}")
    return lines
