"""The durable local spool: an event is acknowledged only once its record is on disk (fsync).

Records are appended to segment files `<start-time>-<uuid>.seg` (4-byte length, 4-byte CRC32, the
record); concurrent appends share one fsync (group commit). A segment is sealed when the writer takes
it; at start every segment left on disk is sealed and replayed, a torn last record (never
acknowledged) dropped. The writer names its Parquet files after the segment, so replaying a segment
that was partly or wholly written before a crash rewrites the same files: acknowledged events are in
the store exactly once.
"""

from __future__ import annotations

import os
import struct
import threading
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

HEADER = struct.Struct(">II")
SUFFIX = ".seg"


class SpoolFull(Exception):
    """No room for the record: answer 503 with Retry-After."""


class SpoolClosed(Exception):
    """The collector is stopping."""


@dataclass
class Segment:
    path: Path
    fd: int
    opened: float
    events: int = 0
    size: int = 0
    synced: int = 0  # events known to be on disk

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)


@dataclass
class Sealed:
    path: Path
    events: int
    size: int

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)


@dataclass
class Spool:
    directory: Path
    max_bytes: int
    segment_bytes: int = 16 * 1024 * 1024
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sync_lock: threading.Lock = field(default_factory=threading.Lock)
    _current: Segment | None = None
    _sealed: deque[Sealed] = field(default_factory=deque)
    _bytes: int = 0
    _events: int = 0
    _closed: bool = False

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for path in sorted(self.directory.glob("*" + SUFFIX)):
            events, size = _recover(path)
            self._sealed.append(Sealed(path, events, size))
            self._bytes, self._events = self._bytes + size, self._events + events

    @property
    def events(self) -> int:
        return self._events

    @property
    def size(self) -> int:
        return self._bytes

    def can_hold(self, record: bytes) -> bool:
        """Whether `record` fits in the spool at all (when it is empty)."""
        return HEADER.size + len(record) <= self.max_bytes

    def append(self, record: bytes) -> None:
        """Return once `record` is durable; SpoolFull when it does not fit, SpoolClosed when stopping."""
        self.append_many([record])

    def append_many(self, records: list[bytes]) -> None:
        """Return once every record is durable (one fsync for them all); SpoolFull when they do not
        all fit (nothing is written then), SpoolClosed when stopping."""
        framed = [HEADER.pack(len(r), zlib.crc32(r)) + r for r in records]
        if not framed:
            return
        with self._lock:
            if self._closed:
                raise SpoolClosed()
            if self._bytes + sum(map(len, framed)) > self.max_bytes:
                raise SpoolFull()
            for data in framed:
                if self._current is not None and self._current.size + len(data) > self.segment_bytes:
                    self._seal_locked()
                segment = self._current or self._open()
                os.write(segment.fd, data)
                segment.events, segment.size = segment.events + 1, segment.size + len(data)
                self._bytes, self._events = self._bytes + len(data), self._events + 1
            mine = segment.events
        self._sync(segment, mine)

    def _sync(self, segment: Segment, mine: int) -> None:
        # One fsync covers every record written before it (group commit). Never take `_lock` here:
        # sealing holds `_lock` and then takes `_sync_lock`. `events` only grows and is counted after
        # the write, so the value read is at most what the fsync covers; a sealed segment is synced.
        with self._sync_lock:
            if segment.synced >= mine:
                return
            target = segment.events
            os.fsync(segment.fd)
            segment.synced = target

    def _open(self) -> Segment:
        name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex}{SUFFIX}"
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _sync_dir(self.directory)
        self._current = Segment(path, fd, time.monotonic())
        return self._current

    def current(self) -> tuple[int, float]:
        """Events in the open segment and its age in seconds."""
        with self._lock:
            if self._current is None:
                return 0, 0.0
            return self._current.events, time.monotonic() - self._current.opened

    def seal(self) -> None:
        """Close the open segment (if any) so the writer may take it."""
        with self._lock:
            self._seal_locked()

    def close(self) -> None:
        """Refuse further appends and seal what is open."""
        with self._lock:
            self._closed = True
            self._seal_locked()

    def _seal_locked(self) -> None:
        segment, self._current = self._current, None
        if segment is None:
            return
        with self._sync_lock:
            os.fsync(segment.fd)
            segment.synced = segment.events
            os.close(segment.fd)
        self._sealed.append(Sealed(segment.path, segment.events, segment.size))

    def oldest(self) -> Sealed | None:
        with self._lock:
            return self._sealed[0] if self._sealed else None

    def drop(self, sealed: Sealed) -> None:
        """Forget a segment the writer has stored."""
        sealed.path.unlink(missing_ok=True)
        _sync_dir(self.directory)
        with self._lock:
            self._sealed.remove(sealed)
            self._bytes, self._events = self._bytes - sealed.size, self._events - sealed.events


def read(path: Path) -> list[bytes]:
    """The whole records of a segment, up to the first torn or corrupt one."""
    data, records, at = path.read_bytes(), [], 0
    while at + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, at)
        record = data[at + HEADER.size: at + HEADER.size + length]
        if len(record) < length or zlib.crc32(record) != crc:
            break
        records.append(record)
        at += HEADER.size + length
    return records


def _recover(path: Path) -> tuple[int, int]:
    """Truncate a segment after its last whole record; its events and size."""
    records = read(path)
    size = sum(HEADER.size + len(r) for r in records)
    if path.stat().st_size != size:
        with path.open("r+b") as handle:
            handle.truncate(size)
            os.fsync(handle.fileno())
    return len(records), size


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
