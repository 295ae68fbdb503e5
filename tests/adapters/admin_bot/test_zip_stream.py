"""The export's zip writer: members any unzip reads back unchanged (CRCs checked), with
zip64 end records once there are more members than plain zip counts, and a failure of the
zip thread surfacing to the caller."""

from __future__ import annotations

import random
import zipfile
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from salesbot.adapters.admin_bot.catalogue import Texts
from salesbot.adapters.admin_bot.export_files import TranscriptRenderer, ZipPartsSink
from salesbot.adapters.admin_bot.formatting import Formatter
from salesbot.adapters.admin_bot.zip_stream import ZipStream
from salesbot.application.exports import TranscriptHeader
from salesbot.domain.dialog import DialogStatus, Stage


def test_members_read_back_unchanged(tmp_path):
    noise = random.Random(8)
    members = {
        "random.txt": noise.randbytes(200_000),  # incompressible: stored blocks
        "repetitive.txt": "строка текста\n".encode() * 50_000,
        "empty.txt": b"",
        "mixed.txt": b"".join(noise.randbytes(900) + b"abc" * 700 for _ in range(40)),
    }
    path = tmp_path / "out.zip"
    with path.open("wb") as file:
        archive = ZipStream(file)
        for name, data in members.items():
            archive.open(name)
            for start in range(0, len(data), 70_000):
                archive.write(data[start : start + 70_000])
        archive.close()

    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == list(members)
        assert {name: archive.read(name) for name in archive.namelist()} == members
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())
    assert path.stat().st_size < 200_000 + 100_000  # the repetitive text is compressed


def test_more_members_than_plain_zip_counts(tmp_path):
    count = 0x10000 + 5
    path = tmp_path / "many.zip"
    with path.open("wb") as file:
        archive = ZipStream(file, level=1)
        for n in range(count):
            archive.open(f"m{n}.txt")
            archive.write(b"%d\n" % n)
        archive.close()

    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert len(names) == count
        assert archive.read(names[-1]) == b"%d\n" % (count - 1)


def _header(n: int) -> TranscriptHeader:
    moment = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    return TranscriptHeader(
        n, f"lead_{n}", None, 1, "+79001234567", DialogStatus.ACTIVE, Stage.INTRODUCTION, 0,
        "", "", moment, moment,
    )  # fmt: skip


def test_a_failing_zip_thread_surfaces_in_the_caller(tmp_path):
    renderer = TranscriptRenderer(Formatter(Texts("en"), ZoneInfo("UTC")), _header(0).created_at)
    sink = ZipPartsSink(tmp_path / "missing", renderer)  # the folder does not exist
    sink.begin(_header(1))
    sink.end()
    with pytest.raises(FileNotFoundError):
        sink.close()
