"""The export's zip parts: members any unzip reads back unchanged (CRCs checked), more
members than plain zip counts, and a failure of the zip thread surfacing to the caller."""

from __future__ import annotations

import random
import shutil
import subprocess
import zipfile
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.export_files import TranscriptRenderer, ZipPartsSink
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.application.admin.queries import ExportRow, TranscriptHeader
from salesbot.domain.dialog import DialogStatus, Stage
from salesbot.domain.message import Direction


def _renderer() -> TranscriptRenderer:
    return TranscriptRenderer(Formatter(Texts("en"), ZoneInfo("UTC")), _header(0).created_at)


def _rows(n: int, texts: list[str]) -> list[ExportRow]:
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    return [
        ExportRow(n, Direction.IN, text, moment, None, None, None) for text in texts
    ]


def test_members_read_back_unchanged_and_every_unzip_accepts_them(tmp_path):
    noise = random.Random(8)
    dialogs = {
        1: ["".join(chr(noise.randrange(32, 0x2FFF)) for _ in range(300)) for _ in range(700)],
        2: ["строка текста"] * 20_000,
        3: [],
        4: ["tab\there", "emoji 🙂", "back\\slash"],
    }
    sink = ZipPartsSink(tmp_path, _renderer())
    for n, texts in dialogs.items():
        sink.begin(_header(n))
        for start in range(0, len(texts), 1000):
            sink.messages(_rows(n, texts[start : start + 1000]))
        sink.end()
    [part] = sink.close()

    with zipfile.ZipFile(part) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == len(dialogs)
        for n, name in zip(dialogs, archive.namelist(), strict=True):
            text = archive.read(name).decode("utf-8")
            assert all(line in text for line in dialogs[n][:50])
            assert text.count("\n") >= len(dialogs[n])
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    if shutil.which("unzip"):
        assert subprocess.run(["unzip", "-tq", str(part)], capture_output=True).returncode == 0


def test_more_members_than_plain_zip_counts(tmp_path):
    count = 0x10000 + 5
    sink = ZipPartsSink(tmp_path, _renderer())
    for n in range(1, count + 1):
        sink.begin(_header(n))
        sink.end()
    [part] = sink.close()

    with zipfile.ZipFile(part) as archive:
        names = archive.namelist()
        assert len(names) == count
        assert archive.read(names[-1]).decode().startswith(f"Dialog {count}")


def _header(n: int) -> TranscriptHeader:
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    return TranscriptHeader(
        n, f"lead_{n}", None, 1, "+79001234567", DialogStatus.ACTIVE, Stage.INTRODUCTION, 0,
        "", "", moment, moment,
    )  # fmt: skip


def test_a_failing_zip_thread_surfaces_in_the_caller(tmp_path):
    sink = ZipPartsSink(tmp_path / "missing", _renderer())  # the folder does not exist
    sink.begin(_header(1))
    sink.end()
    with pytest.raises(FileNotFoundError):
        sink.close()
