"""A zip archive written member after member, with one deflate stream object for all of
them.

`zipfile` builds a new zlib compressor for every member: ~50 us of allocation each (glibc
gives the 256 KB of zlib state back to the system and faults it in again), plus ~50 us of
Python per member; with 10,000 dialogs that alone costs as much as PostgreSQL's COPY of
their million messages. Here each member's data ends with a full flush, which makes the
next member independent of it (the way pigz compresses blocks apart), and an empty final
block, so every member is an ordinary deflate stream that any unzip reads.

Nothing is written twice: like `zipfile` writing to a stream it cannot seek, each member's
CRC and sizes follow its data in a (zip64) data descriptor, so the file is written front to
back through one large buffer. The central directory and the end records use zip64 only
when a size, an offset or the number of members needs it.
"""

from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass
from typing import BinaryIO

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_ZIP64 = struct.Struct("<HHQQ")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64 = struct.Struct("<4sQ2H2L4Q")
_LOCATOR64 = struct.Struct("<4sLQL")
_DESCRIPTOR = struct.Struct("<4sLQQ")
_DATA_DESCRIPTOR = 0x08
"""General purpose flag: CRC and sizes follow the data."""
_ZIP64_VERSION = 45
_DEFLATED = 8
_UNIX = 3
_LIMIT32 = 0xFFFFFFFF
_LIMIT16 = 0xFFFF
_FINAL_EMPTY_BLOCK = b"\x03\x00"
"""A last fixed-Huffman block holding only its end code: closes a fully flushed stream."""


@dataclass
class _Member:
    name: bytes
    offset: int
    crc: int = 0
    size: int = 0
    compressed: int = 0


def _dos_time(moment: float) -> tuple[int, int]:
    t = time.localtime(moment)
    date = ((max(t.tm_year, 1980) - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    clock = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    return clock, date


class ZipStream:
    """Deflated members written one at a time to a binary file, front to back."""

    def __init__(self, file: BinaryIO, *, level: int = zlib.Z_DEFAULT_COMPRESSION) -> None:
        self._file = file
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
        self._members: list[_Member] = []
        self._open: _Member | None = None
        self._clock, self._date = _dos_time(time.time())
        self.central_size = 0
        """Bytes the central directory will take so far."""

    def tell(self) -> int:
        """Bytes written to the file so far."""
        return self._file.tell()

    def open(self, name: str) -> None:
        """Start a member (ending the open one)."""
        self.close_member()
        encoded = name.encode("utf-8")
        member = _Member(encoded, self._file.tell())
        self._file.write(self._local_header(member) + encoded + _LOCAL_ZIP64.pack(1, 16, 0, 0))
        self._open = member
        self.central_size += _CENTRAL.size + len(encoded) + 28  # room for a zip64 extra

    def write(self, data: bytes) -> None:
        member = self._open
        assert member is not None, "write() outside a member"
        member.crc = zlib.crc32(data, member.crc)
        member.size += len(data)
        compressed = self._deflate.compress(data)
        if compressed:
            member.compressed += len(compressed)
            self._file.write(compressed)

    def close_member(self) -> None:
        member = self._open
        if member is None:
            return
        self._open = None
        tail = self._deflate.flush(zlib.Z_FULL_FLUSH) + _FINAL_EMPTY_BLOCK
        member.compressed += len(tail)
        descriptor = _DESCRIPTOR.pack(b"PK\x07\x08", member.crc, member.compressed, member.size)
        self._file.write(tail + descriptor)
        self._members.append(member)

    def close(self) -> None:
        """End the open member and write the central directory and the end records."""
        self.close_member()
        start = self._file.tell()
        directory = b"".join(self._central_entry(member) for member in self._members)
        self._file.write(directory)
        end = self._file.tell()
        count = len(self._members)
        size = end - start
        if count > _LIMIT16 or start > _LIMIT32 or size > _LIMIT32:
            version = _ZIP64_VERSION
            self._file.write(
                _END64.pack(b"PK\x06\x06", 44, version, version, 0, 0, count, count, size, start)
                + _LOCATOR64.pack(b"PK\x06\x07", 0, end, 1)
            )
            self._file.write(
                _END.pack(b"PK\x05\x06", 0, 0, _LIMIT16, _LIMIT16, _LIMIT32, _LIMIT32, 0)
            )
        else:
            self._file.write(_END.pack(b"PK\x05\x06", 0, 0, count, count, size, start, 0))
        self._file.flush()

    # --- records -------------------------------------------------------------------------

    def _local_header(self, member: _Member) -> bytes:
        """CRC and sizes come after the data (zip64 sizes: the extra field is there)."""
        return _LOCAL.pack(
            b"PK\x03\x04",
            _ZIP64_VERSION,
            0,
            _DATA_DESCRIPTOR,
            _DEFLATED,
            self._clock,
            self._date,
            0,
            _LIMIT32,
            _LIMIT32,
            len(member.name),
            _LOCAL_ZIP64.size,
        )

    def _central_entry(self, member: _Member) -> bytes:
        extra: list[int] = []
        size, compressed, offset = member.size, member.compressed, member.offset
        if size > _LIMIT32:
            extra.append(size)
            size = _LIMIT32
        if compressed > _LIMIT32:
            extra.append(compressed)
            compressed = _LIMIT32
        if offset > _LIMIT32:
            extra.append(offset)
            offset = _LIMIT32
        extra_bytes = struct.pack(f"<HH{len(extra)}Q", 1, 8 * len(extra), *extra) if extra else b""
        return (
            _CENTRAL.pack(
                b"PK\x01\x02",
                _ZIP64_VERSION,
                _UNIX,
                _ZIP64_VERSION,
                0,
                _DATA_DESCRIPTOR,
                _DEFLATED,
                self._clock,
                self._date,
                member.crc,
                compressed,
                size,
                len(member.name),
                len(extra_bytes),
                0,
                0,
                0,
                0o100600 << 16,  # a regular file, rw for its owner
                offset,
            )
            + member.name
            + extra_bytes
        )
