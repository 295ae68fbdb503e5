"""Transcripts written to disk: one dialog as a UTF-8 `.txt`, every dialog as `.zip` parts.

Both are `TranscriptSink`s fed by the export use-case message by message, so memory stays
bounded; the zip is written with `zipfile` into a temporary file and starts a new part
before it would outgrow what the Bot API accepts as one upload.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.application.exports import TranscriptHeader
from salesbot.application.ports import ExportRow

UPLOAD_LIMIT = 50 * 1024 * 1024
"""The Bot API's limit for a document sent by a bot."""
_CHUNK_CHARS = 16 * 1024
"""Text is buffered and handed to zlib in chunks this long (one call per message is slow)."""
_WRITE_SLACK = 256 * 1024 + 4 * (_CHUNK_CHARS + 8 * 1024)
"""What may still land in a part after the size check: compressed bytes zlib holds back,
one chunk (a chunk's last line may run past _CHUNK_CHARS; UTF-8 takes up to 4 bytes a
character), a member's local header."""
_CENTRAL_ENTRY = 128
"""Bytes the central directory takes per member, beside the name (zip64 extras included)."""
_END_RECORDS = 512


def transcript_filename(header: TranscriptHeader, suffix: str = "") -> str:
    safe = re.sub(r"[^A-Za-z0-9_]", "_", header.username)[:40]
    return f"dialog_{header.dialog_id:05d}_{safe}{suffix}.txt"


class TranscriptRenderer:
    """A transcript as text: the header, a blank line, then one line per message."""

    def __init__(self, formatter: Formatter, exported_at: datetime) -> None:
        self._f = formatter
        self._exported_at = exported_at

    def head(self, header: TranscriptHeader) -> str:
        parts = [self._f.header(header, context=header.context)]
        if header.summary:
            parts.append(self._f.t("transcript_summary", summary=header.summary))
        parts.append(self._f.t("transcript_exported", now=self._f.time(self._exported_at)))
        return "\n".join(parts) + "\n\n"

    def lines(self, messages: Sequence[ExportRow], header: TranscriptHeader) -> str:
        """One line per message, each ending with a newline."""
        return self._f.lines(messages, header.username)

    def empty(self) -> str:
        return self._f.t("transcript_empty") + "\n"


class TextFileSink:
    """One dialog into an open binary file."""

    def __init__(self, stream: BinaryIO, renderer: TranscriptRenderer) -> None:
        self._stream = stream
        self._render = renderer
        self._header: TranscriptHeader | None = None
        self._lines = 0

    def begin(self, header: TranscriptHeader) -> None:
        self._header, self._lines = header, 0
        self._stream.write(self._render.head(header).encode("utf-8"))

    def messages(self, messages: Sequence[ExportRow]) -> None:
        assert self._header is not None
        self._stream.write(self._render.lines(messages, self._header).encode("utf-8"))
        self._lines += len(messages)

    def end(self) -> None:
        if not self._lines:
            self._stream.write(self._render.empty().encode("utf-8"))
        self._stream.flush()


class ZipPartsSink:
    """Every dialog as a `.txt` member of a zip archive in `directory`, in parts of at most
    `part_limit` bytes each. A dialog too large for the rest of a part continues in the next
    part as `...partN.txt`."""

    def __init__(
        self, directory: Path, renderer: TranscriptRenderer, *, part_limit: int = UPLOAD_LIMIT
    ) -> None:
        if part_limit <= _WRITE_SLACK + _END_RECORDS:
            raise ValueError("part_limit is too small to hold anything")
        self._directory = directory
        self._render = renderer
        self._limit = part_limit
        self.parts: list[Path] = []
        self.dialogs = 0
        self._file: BinaryIO | None = None
        self._zip: zipfile.ZipFile | None = None
        self._member: BinaryIO | None = None
        self._central = 0
        self._header: TranscriptHeader | None = None
        self._lines = 0
        self._pieces = 0
        self._buffer: list[str] = []
        self._buffered = 0

    # --- TranscriptSink --------------------------------------------------------------------

    def begin(self, header: TranscriptHeader) -> None:
        self._header, self._lines, self._pieces = header, 0, 1
        self.dialogs += 1
        self._open_member(transcript_filename(header))
        self._write(self._render.head(header))

    def messages(self, messages: Sequence[ExportRow]) -> None:
        assert self._header is not None
        self._write(self._render.lines(messages, self._header))
        self._lines += len(messages)

    def end(self) -> None:
        if not self._lines:
            self._write(self._render.empty())
        self._flush()
        self._close_member()
        self._header = None

    # --- the archive -----------------------------------------------------------------------

    def close(self) -> list[Path]:
        """Finish the last part; the parts in order."""
        self._close_member()
        if self._zip is not None:
            self._zip.close()
        if self._file is not None:
            self._file.close()
        self._zip = self._file = None
        return self.parts

    def _full(self, name_length: int = 0) -> bool:
        assert self._file is not None
        planned = self._central + _CENTRAL_ENTRY + name_length + _END_RECORDS + _WRITE_SLACK
        return self._file.tell() + planned > self._limit

    def _new_part(self) -> None:
        self.close()
        path = self._directory / f"part{len(self.parts) + 1:03d}.zip"
        self.parts.append(path)
        self._file = cast(BinaryIO, path.open("wb"))
        self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_DEFLATED)
        self._central = 0

    def _open_member(self, name: str) -> None:
        encoded = len(name.encode("utf-8"))
        if self._zip is None or self._full(2 * encoded):
            self._new_part()
        assert self._zip is not None
        self._central += _CENTRAL_ENTRY + encoded
        self._member = cast(BinaryIO, self._zip.open(name, "w", force_zip64=True))

    def _close_member(self) -> None:
        if self._member is not None:
            self._member.close()
            self._member = None

    def _write(self, text: str) -> None:
        self._buffer.append(text)
        self._buffered += len(text)
        if self._buffered >= _CHUNK_CHARS:
            self._flush()

    def _flush(self) -> None:
        """Write the buffered text in chunks of whole lines; a dialog that would outgrow the
        part continues in the next one."""
        if not self._buffer:
            return
        assert self._member is not None and self._header is not None
        text = "".join(self._buffer)
        self._buffer.clear()
        self._buffered = 0
        start = 0
        while start < len(text):
            stop = text.find("\n", start + _CHUNK_CHARS - 1) + 1 or len(text)
            data = text[start:stop].encode("utf-8")
            start = stop
            if self._full():
                self._close_member()
                self._pieces += 1
                self._open_member(transcript_filename(self._header, f".part{self._pieces}"))
            self._member.write(data)
