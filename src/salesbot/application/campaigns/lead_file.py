"""A lead list as the operator saves it: a CSV with a header, or a TXT of `@username context`.

What is read:
- `.csv` (or `.tsv`): a header row, then a lead a row. A `username` column is required (the
  header is matched trimmed and in any case); every other column becomes one of the lead's
  fields, under its header in lower case, empty cells left out. A `notes` column is stored
  as `context` when the file has no `context` column, so the model sees one name for it.
  The separator is whichever of `,` `;` and tab the header has most of (Excel in a Russian
  locale writes `;`, "Unicode text" writes tabs).
- `.txt`: one `@username [context]` a line; blank lines and lines starting with `#` are not
  leads (counted as such, not as rejects). A .txt whose first line starts with a `username`
  column is read as a table (Excel saves "Unicode text" tab-separated, as .txt).
- UTF-8 with or without a BOM, or UTF-16 with its BOM (Excel's "Unicode text"/UTF-16 CSV).

A file that cannot be read as a whole (empty, binary, another encoding, no username column,
too big) raises UnreadableLeadFile with one line saying what is wrong: nothing of it is
taken. Each row is read as written; whether its username is valid is the import's business.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
SUFFIXES = (".csv", ".tsv", ".txt")
USERNAME_COLUMN = "username"
_DELIMITERS = (",", ";", "\t")
# The file's first bytes: what it is instead (`kind`, and in English).
_MAGIC = {
    b"PK\x03\x04": ("xlsx", "an Excel workbook or another zip archive"),
    b"\xd0\xcf\x11\xe0": ("xls", "an old Excel (.xls) or Word file"),
    b"%PDF": ("pdf", "a PDF"),
}


class UnreadableLeadFile(Exception):
    """The file as a whole cannot be read; `problem` names what is wrong for the adapters'
    texts, `values` fill them in; str() is the English line."""

    def __init__(self, problem: str, message: str, **values: object) -> None:
        super().__init__(message)
        self.problem = problem
        self.values = values


@dataclass(frozen=True)
class FileRow:
    line: int
    """Where the row starts in the file, 1-based, the header being line 1 of a CSV."""
    position: int
    """Its order among the file's leads, 1-based (the header, blank and comment lines not
    counted)."""
    raw_username: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LeadFile:
    rows: list[FileRow]
    not_leads: int = 0
    """Blank lines, and in a TXT the `#` comments: neither leads nor rejects."""


def read_lead_file(filename: str, content: bytes) -> LeadFile:
    suffix = _suffix(filename)
    text = decode(content)
    if not text.strip():
        raise UnreadableLeadFile("empty", "the file is empty")
    if suffix == ".txt" and not _has_header(text):
        return _read_txt(text)
    return _read_csv(text)


def _has_header(text: str) -> bool:
    """Whether a .txt is a table with a header (Excel's "Unicode text" is tab-separated and
    named .txt): its first line's first cell is `username`."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    cell = first.split(_delimiter(first), 1)[0]
    return cell.strip().strip('"').strip().lower() == USERNAME_COLUMN


def _suffix(filename: str) -> str:
    name = filename.strip().lower()
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix
    raise UnreadableLeadFile(
        "format",
        f"{filename!r} is neither a .csv nor a .txt file (save the list as CSV or as text)",
        filename=filename,
    )


def decode(content: bytes) -> str:
    """The file's text; UnreadableLeadFile when it is too big, binary or not UTF-8/16."""
    if len(content) > MAX_FILE_BYTES:
        raise UnreadableLeadFile(
            "too_large",
            f"the file is {len(content) / 1024 / 1024:.1f} MB, more than the "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB a list may have",
            size_mb=round(len(content) / 1024 / 1024, 1),
            limit_mb=MAX_FILE_BYTES // 1024 // 1024,
        )
    for magic, (kind, what) in _MAGIC.items():
        if content.startswith(magic):
            raise UnreadableLeadFile(
                "binary", f"the file is {what}, not text: save it as CSV", kind=kind
            )
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = content.decode(encoding)
    except UnicodeDecodeError as error:
        raise UnreadableLeadFile(
            "encoding",
            f"the file is not UTF-8 or UTF-16 text (byte {error.start + 1} cannot be read): "
            "save it as “CSV UTF-8” or “Unicode text”",
            offset=error.start + 1,
        ) from None
    if "\x00" in text:
        raise UnreadableLeadFile("binary", "the file is binary, not text", kind="binary")
    return text


def _check_rows(count: int) -> None:
    if count > MAX_ROWS:
        raise UnreadableLeadFile(
            "too_many_rows",
            f"the file has more than {MAX_ROWS} rows: split it into several campaigns",
            limit=MAX_ROWS,
        )


def _read_txt(text: str) -> LeadFile:
    rows: list[FileRow] = []
    not_leads = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            not_leads += 1
            continue
        name, *rest = stripped.split(None, 1)
        context = rest[0].strip() if rest else ""
        _check_rows(len(rows) + 1)
        rows.append(
            FileRow(line_number, len(rows) + 1, name, {"context": context} if context else {})
        )
    if not rows:
        raise UnreadableLeadFile("no_rows", "the file has no leads, only blank or # lines")
    return LeadFile(rows, not_leads)


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a cell beyond csv's field size limit (128 KB)
            raise UnreadableLeadFile(
                "malformed",
                f"the file cannot be read as CSV from line {start}: {error}",
                line=start,
            ) from None
        yield start, record
        start = reader.line_num + 1


def _read_csv(text: str) -> LeadFile:
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    records = _records(text, _delimiter(first_line))
    header: list[str] | None = None
    not_leads = 0
    for _, record in records:
        if any(cell.strip() for cell in record):
            header = [cell.strip().lower() for cell in record]
            break
        not_leads += 1
    if header is None:
        raise UnreadableLeadFile("empty", "the file is empty")
    if USERNAME_COLUMN not in header:
        shown = ", ".join(h for h in header if h) or "none"
        raise UnreadableLeadFile(
            "no_username_column",
            f"the file has no “username” column in its first row (its columns: {shown})",
            columns=shown,
        )
    seen = [h for h in header if h]
    twice = sorted({h for h in seen if seen.count(h) > 1})
    if twice:
        raise UnreadableLeadFile(
            "column_twice",
            f"the column “{twice[0]}” appears twice in the first row",
            column=twice[0],
        )
    names = _field_names(header)
    username_at = header.index(USERNAME_COLUMN)
    rows: list[FileRow] = []
    for line, record in records:
        if not any(cell.strip() for cell in record):
            not_leads += 1
            continue
        _check_rows(len(rows) + 1)
        raw = record[username_at].strip() if username_at < len(record) else ""
        fields: dict[str, str] = {}
        for index, cell in enumerate(record):
            value = cell.strip()
            if index == username_at or not value:
                continue
            key = names[index] if index < len(names) else f"column {index + 1}"
            fields[key] = value
        rows.append(FileRow(line, len(rows) + 1, raw, fields))
    if not rows:
        raise UnreadableLeadFile("no_rows", "the file has a header but no leads")
    return LeadFile(rows, not_leads)


def _field_names(header: list[str]) -> list[str]:
    names = [h or f"column {i + 1}" for i, h in enumerate(header)]
    if "notes" in names and "context" not in names:
        names[names.index("notes")] = "context"
    return names
