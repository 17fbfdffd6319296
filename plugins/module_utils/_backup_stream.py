# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Streaming verification of PostgreSQL backups (private to tgops.runbooks).

``verify_backup(path, ...)`` reads a backup once, in fixed-size blocks, and in that single pass

* computes its SHA-256,
* decompresses every byte (gzip members with their CRC-32 and length trailers; the zlib streams of a
  custom-format archive's data blocks with their Adler-32),
* parses a custom-format (``pg_dump -Fc``) archive itself: header, table of contents, then every
  data block (``BLK_DATA`` / ``BLK_BLOBS``) to the end of the file, which ``pg_restore --list`` does not,
* scans plain SQL with a lexer that follows psql (literals, quoted names, dollar quoting, comments) for
  ``CREATE TABLE`` / ``COPY`` / ``INSERT`` statements, counts COPY rows and looks for the
  ``-- PostgreSQL database dump complete`` trailer between statements.

Hostile input is expected: time is linear in the size of the (decompressed) stream, memory stays constant
whatever the file holds (reads are ``chunk_size`` bytes, decompressed output is bounded per call, a length
field is checked against what the file can still hold and long chunks are streamed, never gathered), and a
structural error ends the reading at once. Nothing here imports Ansible, so the function runs from tests
and benchmarks.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import datetime
import errno
import fnmatch
import hashlib
import itertools
import math
import os
import queue
import random
import re
import stat
import string
import threading
import time
import zlib

try:
    from isal import isal_zlib as _isal_zlib
except ImportError:  # optional: the roles' *backup_verify_install_isal options or the EE bring it
    _isal_zlib = None

CHUNK_SIZE = 1024 * 1024
# Upper bound of decompressed output per zlib call: a 1 MiB block of zeros inflates to ~1 GiB otherwise.
_OUT_MAX = 8 * 1024 * 1024
_GZ_STEP_MIN = 256
# ... and at most this: an inflater call on 1 MiB puts out ~2.5 MiB in a buffer it grows by reallocation, on
# fresh pages each time (533,000 page faults, 1.6 s of system time on a 921 MB file); 128 KiB slices keep the
# output buffers small enough for malloc to reuse (10,000 faults).
_GZ_STEP_MAX = 128 * 1024
_GZ_YIELD_MIN = 256 * 1024

GZIP_MAGIC = b'\x1f\x8b'
CUSTOM_MAGIC = b'PGDMP'
PLAIN_TRAILER = b'-- PostgreSQL database dump complete'

CHECK_NAMES = ('readable', 'size', 'age', 'integrity', 'completeness', 'content', 'expected_tables', 'checksum')

# pg_backup_archiver.h
_BLK_DATA = 1
_BLK_BLOB = 2
_BLK_BLOBS = 3
_OFFSET_POS_NOT_SET = 1
_OFFSET_POS_SET = 2
_OFFSET_NO_DATA = 3
_ARCH_CUSTOM = 1
_MIN_VERSION = (1, 12)   # PostgreSQL 9.5 and later
_MAX_VERSION = (1, 16)   # PostgreSQL 17 / 18
_COMPRESSION_NAMES = {0: 'none', 1: 'gzip', 2: 'lz4', 3: 'zstd'}
# Strings of the header and TOC that are kept (names, tags, descriptions): far below this in any real archive.
# The long ones (definitions, DROP statements) are skipped without being held.
_KEPT_STR_MAX = 1024 * 1024
_TOC_ENTRIES_MAX = 10000000

# Decompression bombs (issue 17): every byte a zlib stream of the file puts out (gzip members, a custom archive's
# data blocks, both when an archive is gzipped) counts against one bound, max_ratio times the file's size but
# never below _RATIO_FLOOR (a small dump of repetitive rows can compress 500:1), and max_decompressed_size when
# set. The work of a check is then at most max_ratio times what a file of that size costs, whatever it holds.
DEFAULT_MAX_RATIO = 100
_RATIO_FLOOR = 256 * 1024 * 1024

_DURATION_RE = re.compile(r'(\d+(?:\.\d+)?)\s*([smhdw]?)', re.IGNORECASE)
_DURATION_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}


# --- the inflater -------------------------------------------------------------------------------------------
# ISA-L's (the isal package) when it can be imported, zlib's otherwise. Here and not in a module of its own: the
# scheduled backup runner (roles/backup/files/tgops_backup.py) carries this file alone to the host.
#
# isal.isal_zlib has zlib's decompressobj(wbits) API (decompress(data, max_length), eof, unused_data,
# unconsumed_tail) and inflates about 2.5 times as fast, but its objects have no copy(), its errors are
# isal_zlib.error with other texts ("Incorrect checksum found" for zlib's "incorrect data check"), and it
# accepts a gzip header with reserved flag bits set, which zlib refuses. So ISA-L decides only what it accepts:
# a stream it refuses is decompressed again from its start by zlib, whose verdict and message are the result.
# Checked on thousands of random single-bit flips of real streams (and in tests/unit/plugins/module_utils/
# test_backup_inflate.py): ISA-L never accepted a stream zlib refuses (the reserved flags aside, which _gunzip
# checks itself) and never gave more output than zlib before failing, so zlib's replay only adds to it.
ISAL = 'isal'
ZLIB = 'zlib'
# What a decompressor object of either kind raises on bad data.
_INFLATE_ERRORS = (zlib.error,) if _isal_zlib is None else (zlib.error, _isal_zlib.error)
# gzip header FLG bits zlib refuses ("unknown header flags set") and ISA-L ignores.
_GZIP_RESERVED_FLAGS = 0xE0


def inflater_available():
    """The fastest inflater importable here: ``isal`` or ``zlib``."""
    return ZLIB if _isal_zlib is None else ISAL


def _choose_inflater(name=None):
    """``name`` checked, or the best available when None. Asking for ``isal`` where it cannot be imported is a
    ValueError, not a silent fallback (tests and benchmarks ask for one on purpose)."""
    if name is None:
        return inflater_available()
    if name == ZLIB or (name == ISAL and _isal_zlib is not None):
        return name
    raise ValueError('inflater %r is not available here (available: %s)'
                     % (name, ', '.join(sorted({ZLIB, inflater_available()}))))


def _decompressobj(name, wbits):
    """A decompressor object of inflater ``name`` for ``wbits`` (zlib's meaning)."""
    if name == ISAL:
        return _isal_zlib.decompressobj(wbits)
    return zlib.decompressobj(wbits)


def _zlib_from_member_start(blocks, member_start, member_given):
    """Hand a gzip member ISA-L gave up on to zlib: rewind the reader to the member's start; zlib inflates it again
    and skips the ``member_given`` bytes already passed on. Returns the gzip loop's new (resume, skip, use, decomp,
    member_out, step)."""
    blocks.rewind()
    return member_start, member_given, ZLIB, _decompressobj(ZLIB, 16 + zlib.MAX_WBITS), False, _GZ_STEP_MIN


class BackupCheckError(Exception):
    """A check failed: ``check`` is its name, ``offset`` the byte offset where it was detected (or None)."""

    def __init__(self, check, message, offset=None):
        super(BackupCheckError, self).__init__(message)
        self.check = check
        self.message = message
        self.offset = offset


class _Truncated(Exception):
    """The stream ended (at ``offset``, its length) in the middle of reading ``what``."""

    def __init__(self, offset, needed, what):
        super(_Truncated, self).__init__(what)
        self.offset = offset
        self.needed = needed
        self.what = what


def _short(value, limit=80):
    """repr() of a value, cut for an error message."""
    text = repr(value)
    return text if len(text) <= limit else '%s... (%d characters)' % (text[:limit], len(text))


def parse_duration(value):
    """Seconds from an int/float or a string such as ``90``, ``45m``, ``26h``, ``7d``, ``1w``, ``1d12h``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError('not a duration: %s' % (_short(value),))
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError('not a duration: %s is too large' % (_short(value),))
        if not math.isfinite(seconds):
            raise ValueError('not a duration: %s (a number of seconds must be finite)' % (_short(value),))
        if seconds < 0:
            raise ValueError('a duration cannot be negative: %s' % (_short(value),))
        return seconds
    text = str(value).strip()
    if not text:
        raise ValueError('empty duration')
    total = 0.0
    pos = 0
    for match in _DURATION_RE.finditer(text):
        if text[pos:match.start()].strip():
            raise ValueError('not a duration: %s (use seconds or e.g. 26h, 7d, 1d12h)' % (_short(value),))
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError('not a duration: %s (use seconds or e.g. 26h, 7d, 1d12h)' % (_short(value),))
    if not math.isfinite(total):
        raise ValueError('not a duration: %s is too large' % (_short(value),))
    return total


class _Budget(object):
    """How many decompressed bytes one file may produce; ``add()`` raises BackupCheckError past the bound.

    Two counters (the outer gzip stream runs in the prefetch thread, a custom archive's blocks in the caller's):
    each is written by one thread only."""

    def __init__(self, size, max_ratio=DEFAULT_MAX_RATIO, max_size=None):
        self.outer = 0
        self.inner = 0
        self.limit = None
        self.bound = None
        if max_ratio and max_ratio * size < 2 ** 63:  # a product beyond any file system: no bound
            self.limit = max(int(max_ratio * size), _RATIO_FLOOR)
            self.bound = ('max_ratio=%s (%s times the file size of %d bytes, at least %d bytes)'
                          % (max_ratio, max_ratio, size, _RATIO_FLOOR))
        if max_size is not None and (self.limit is None or max_size < self.limit):
            self.limit = max_size
            self.bound = 'max_decompressed_size=%d' % max_size

    def add(self, count, inner=False):
        if inner:
            self.inner += count
        else:
            self.outer += count
        if self.limit is not None and self.outer + self.inner > self.limit:
            option = self.bound.split('=', 1)[0]
            raise BackupCheckError(
                'integrity', 'decompressed data passed the bound %s: more than %d bytes came out of the compressed '
                'streams (gzip and data blocks together), so reading stopped - a decompression bomb, or a genuine '
                'dump that compresses unusually well; if it is genuine, raise %s%s'
                % (self.bound, self.limit, option,
                   '' if option == 'max_decompressed_size' else ' (0 turns the ratio bound off)'), None)


def table_matches(wanted, found):
    """``users`` matches ``public.users``; ``public.users`` only matches itself."""
    if wanted == found:
        return True
    if '.' not in wanted and found.split('.', 1)[-1] == wanted:
        return True
    return False


class _Reader(object):
    """Fixed-size reads of a file, hashing every byte in the same pass."""

    def __init__(self, fobj, chunk_size, hasher, size=None):
        self.fobj = fobj
        self.size = size
        self.chunk_size = chunk_size
        self.hasher = hasher
        self.bytes_read = 0

    def chunks(self):
        read = self.fobj.read
        update = self.hasher.update
        size = self.chunk_size
        while True:
            block = read(size)
            if not block:
                return
            update(block)
            offset = self.bytes_read
            self.bytes_read += len(block)
            yield offset, block

    def pread(self, offset, length, exact=True):
        """``length`` bytes at ``offset`` again, without moving the file position (error path of ISA-L)."""
        try:
            fileno = self.fobj.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation (BytesIO) is an OSError
            fileno = None
        if fileno is not None:
            data = os.pread(fileno, length, offset)
        else:
            here = self.fobj.tell()
            self.fobj.seek(offset)
            data = self.fobj.read(length)
            self.fobj.seek(here)
        if exact and len(data) != length:
            raise IOError(errno.EIO, 'the file changed while it was read (%d bytes at byte offset %d read again '
                                     'gave %d)' % (length, offset, len(data)))
        return data

    def blocks_from(self, offset):
        """The file's blocks from ``offset`` to its end, read again (not hashed)."""
        while True:
            block = self.pread(offset, self.chunk_size, exact=False)
            if not block:
                return
            offset += len(block)
            yield block


class _Rewindable(object):
    """The (offset, block) pairs of ``blocks``; ``rewind()`` goes back to the block that was current at the last
    ``mark()`` and reads the blocks since then again from the file (pread), then goes on with ``blocks``, so a
    block is hashed once however often it is decompressed. Holds (offset, length) pairs, not the blocks."""

    def __init__(self, blocks, reader):
        self._it = iter(blocks)
        self._reader = reader
        self._seen = collections.deque()
        self._replay = collections.deque()

    def __iter__(self):
        return self

    def __next__(self):
        if self._replay:
            offset, length = self._replay.popleft()
            block = self._reader.pread(offset, length)
        else:
            offset, block = next(self._it)
            length = len(block)
        self._seen.append((offset, length))
        return offset, block

    next = __next__

    def mark(self):
        while len(self._seen) > 1:
            self._seen.popleft()

    def rewind(self):
        self._seen.extend(self._replay)
        self._replay = self._seen
        self._seen = collections.deque()


def _gunzip(blocks, stats, reader, budget=None, inflater=None):
    """Decompress every gzip member of ``blocks`` ((offset, bytes) pairs); yields decompressed blocks.

    zlib checks each member's CRC-32 and ISIZE trailer; several members (``cat a.gz b.gz``) are fine.
    Input is fed in slices that start small after each member end and double up to _GZ_STEP_MAX: zlib
    copies what follows a member's end (``unused_data``), so feeding whole blocks to thousands of tiny
    members would copy the block once per member. Small outputs are gathered before they are yielded.

    ``inflater`` (``isal``, ``zlib``, None for the best available) inflates the members. A member
    ISA-L refuses (or whose header has flag bits only zlib refuses) is inflated again from its start by zlib,
    reading its blocks again from the file; the output ISA-L already gave is not given twice. So whatever the
    inflater, the output, the verdict and every message are zlib's. ``stats['inflater']`` names it."""
    fast = _choose_inflater(inflater)
    stats['inflater'] = fast
    blocks = _Rewindable(blocks, reader)
    decomp = None
    use = fast
    member_start = 0
    member_out = False
    member_given = 0    # output of this member passed on (counted, yielded or gathered)
    skip = 0            # after a rewind: output zlib repeats that ISA-L already passed on
    resume = None       # after a rewind: the member's start, in the first block given again
    gathered = []
    gathered_size = 0
    step = _GZ_STEP_MIN
    while True:
        for offset, block in blocks:
            view = memoryview(block)
            size = len(block)
            pos_in_block = 0
            if resume is not None:
                pos_in_block = resume - offset
                resume = None
            while pos_in_block < size:
                if decomp is None:
                    member_start = offset + pos_in_block
                    blocks.mark()
                    use = fast
                    if use != ZLIB and _gzip_flags(reader, member_start) & _GZIP_RESERVED_FLAGS:
                        use = ZLIB
                    decomp = _decompressobj(use, 16 + zlib.MAX_WBITS)
                    member_out = False
                    member_given = 0
                    stats['members'] += 1
                    step = _GZ_STEP_MIN
                data = view[pos_in_block:pos_in_block + step]
                fed = len(data)
                saved = decomp.copy() if use == ZLIB else None
                try:
                    out = decomp.decompress(data, _OUT_MAX)
                except _INFLATE_ERRORS as exc:
                    if saved is None:
                        # ISA-L refused this member: zlib inflates it again from its start and has the last word
                        resume, skip, use, decomp, member_out, step = _zlib_from_member_start(
                            blocks, member_start, member_given)
                        break
                    where = offset + pos_in_block
                    if stats['members'] > 1 and not member_out and where == member_start:
                        raise BackupCheckError(
                            'integrity', 'unexpected data after gzip member %d at byte offset %d (not a gzip member: %s)'
                            % (stats['members'] - 1, member_start, exc), member_start)
                    stop = _zlib_error_offset(saved, bytes(data), where)
                    raise BackupCheckError(
                        'integrity', 'gzip member %d (starting at byte offset %d) is corrupt: %s; decompression fails at '
                        'byte offset %d (the damage is there or before it)' % (stats['members'], member_start, exc, stop),
                        stop)
                if out:
                    member_out = True
                    if skip:
                        taken = min(skip, len(out))
                        skip -= taken
                        out = out[taken:]
                if out:
                    member_given += len(out)
                    stats['uncompressed'] += len(out)
                    if budget is not None:
                        budget.add(len(out))
                    gathered.append(out)
                    gathered_size += len(out)
                    if gathered_size >= _GZ_YIELD_MIN:
                        yield gathered[0] if len(gathered) == 1 else b''.join(gathered)
                        gathered = []
                        gathered_size = 0
                if decomp.eof:
                    pos_in_block += fed - len(decomp.unused_data)
                    decomp = None
                else:
                    tail = len(decomp.unconsumed_tail)
                    pos_in_block += fed - tail
                    if not tail and step < _GZ_STEP_MAX:
                        step *= 2
        if decomp is not None and use != ZLIB:
            # truncated: zlib may give more of the member's last bytes than ISA-L, which holds some back
            resume, skip, use, decomp, member_out, step = _zlib_from_member_start(blocks, member_start, member_given)
            continue
        break
    if gathered:
        yield b''.join(gathered)
    if decomp is not None:
        raise BackupCheckError(
            'integrity', 'gzip stream truncated: the file ends at byte offset %d inside gzip member %d (which '
            'starts at byte offset %d), before its end and CRC/length trailer'
            % (reader.bytes_read, stats['members'], member_start), reader.bytes_read)


def _gzip_flags(reader, member_start):
    """The FLG byte of the gzip header at ``member_start`` (0 when the file ends before it)."""
    try:
        return reader.pread(member_start + 3, 1)[0]
    except (IOError, OSError):
        return 0


class _Prefetch(object):
    """Runs an iterator in a thread, a few items ahead of the consumer.

    zlib and hashlib release the GIL on large buffers, so reading, hashing and decompressing in this thread
    overlap with the parsing the caller does. Items keep their order; an exception raised by the iterator
    is raised again by the consumer at the same point. ``close()`` stops and joins the thread."""

    _END = object()

    def __init__(self, iterable, depth=4, inner=None):
        self._it = iterable
        self._inner = inner         # a _Prefetch that feeds ``iterable``: closed after this one
        self._queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='tgops-backup-prefetch')
        self._thread.daemon = True
        self._thread.start()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        try:
            for item in self._it:
                if not self._put((True, item)):
                    return
            self._put((True, self._END))
        except Exception as exc:  # pylint: disable=broad-except
            # handed over to the consumer, which raises it
            self._put((False, exc))

    def __iter__(self):
        while True:
            ok, item = self._queue.get()
            if not ok:
                raise item
            if item is self._END:
                return
            yield item

    def close(self):
        self._stop.set()
        self._thread.join()
        close = getattr(self._it, 'close', None)
        if close is not None:
            close()
        if self._inner is not None:
            self._inner.close()


def _zlib_feed(decomp, data):
    while data:
        decomp.decompress(data, _OUT_MAX)
        if decomp.eof:
            return
        data = decomp.unconsumed_tail


def _zlib_error_offset(decomp, data, base):
    """Where zlib first fails: replays ``data`` (which starts at file offset ``base``) from the decompressor
    state ``decomp`` had before it, 4 KiB and then 1 byte at a time. Only runs on the error path."""
    pos = 0
    step = 4096
    while pos < len(data):
        piece = data[pos:pos + step]
        trial = decomp.copy()
        try:
            _zlib_feed(trial, piece)
        except zlib.error:
            for index in range(len(piece)):
                try:
                    _zlib_feed(decomp, piece[index:index + 1])
                except zlib.error:
                    return base + pos + index
            return base + pos + len(piece)
        if trial.eof:
            break
        decomp = trial
        pos += len(piece)
    return base + pos


class _Source(object):
    """Exact-length reads over an iterator of byte blocks; ``offset`` is the position in that stream.

    ``limit`` is the length of the stream when it is known (an uncompressed file): a length field that
    claims more than the rest of the stream is then rejected before anything is read."""

    def __init__(self, blocks, first=b'', limit=None):
        self._it = iter(blocks)
        self._buf = first
        self._pos = 0
        self.offset = 0
        self.limit = limit
        self.int_size = 4
        self.off_size = 8
        self.budget = None          # a _Budget for the data blocks' decompressed bytes
        self.inflater = ZLIB   # of the data blocks
        self.reopen = None          # when the stream is the file itself: a _Source of the file from an offset

    def again(self, offset, budget):
        """A new _Source of the same file from ``offset`` (self.reopen must be set)."""
        src = _Source(self.reopen(offset), limit=self.limit)
        src.offset = offset
        src.int_size = self.int_size
        src.off_size = self.off_size
        src.budget = budget
        return src

    def _fill(self, count):
        have = len(self._buf) - self._pos
        if have >= count:
            return True
        # gathered in a list and joined once: appending block by block would copy the buffer each time
        parts = [self._buf[self._pos:]]
        ok = True
        while have < count:
            try:
                nxt = next(self._it)
            except StopIteration:
                ok = False
                break
            parts.append(nxt)
            have += len(nxt)
        self._buf = b''.join(parts)
        self._pos = 0
        return ok

    def at_eof(self):
        return not self._fill(1)

    def end_offset(self):
        """After a failed read: where the stream ended."""
        return self.offset + len(self._buf) - self._pos

    def check_length(self, length, what):
        """A length field that claims more than the rest of the file: fail now (as the truncation it looks
        like) instead of gathering or reading towards it."""
        if self.limit is not None and length > self.limit - self.offset:
            raise _Truncated(self.limit, length, what)

    def read(self, count, what):
        if not self._fill(count):
            raise _Truncated(self.end_offset(), count, what)
        pos = self._pos
        self._pos = pos + count
        self.offset += count
        return self._buf[pos:pos + count]

    def pieces(self, count, what):
        """The next ``count`` bytes as they arrive, block by block, never gathered in one buffer (a length
        field can claim gigabytes)."""
        while count:
            if self._pos >= len(self._buf):
                try:
                    self._buf = next(self._it)
                except StopIteration:
                    self._buf = b''
                    self._pos = 0
                    raise _Truncated(self.offset, count, what)
                self._pos = 0
                continue
            take = min(count, len(self._buf) - self._pos)
            piece = self._buf[self._pos:self._pos + take]
            self._pos += take
            self.offset += take
            count -= take
            yield piece

    def read_byte(self, what):
        return self.read(1, what)[0]

    def read_int(self, what):
        raw = self.read(1 + self.int_size, what)
        value = int.from_bytes(raw[1:], 'little')
        return -value if raw[0] else value

    def read_str(self, what, keep=True):
        """A length-prefixed string; with ``keep=False`` it is skipped without being held in memory."""
        start = self.offset
        length = self.read_int(what)
        if length < 0:
            return None
        self.check_length(length, what)
        if not keep:
            for dummy in self.pieces(length, what):
                pass
            return None
        if length > _KEPT_STR_MAX:
            raise BackupCheckError('integrity', 'implausible string length %d for %s at byte offset %d'
                                   % (length, what, start), start)
        return self.read(length, what).decode('utf-8', 'replace')

    def read_offset(self, what):
        start = self.offset
        flag = self.read_byte(what)
        raw = self.read(self.off_size, what)
        if flag not in (_OFFSET_POS_NOT_SET, _OFFSET_POS_SET, _OFFSET_NO_DATA):
            raise BackupCheckError('integrity', 'unexpected data offset flag %d for %s at byte offset %d'
                                   % (flag, what, start), start)
        return flag, int.from_bytes(raw, 'little')


def _entry_label(entry):
    name = entry['tag']
    if entry.get('namespace'):
        name = '%s.%s' % (entry['namespace'], entry['tag'])
    return 'TOC entry %d (%s %s)' % (entry['dump_id'], entry['desc'], name)


def _parse_custom_header(src, info):
    magic = src.read(5, 'magic')
    if magic != CUSTOM_MAGIC:
        raise BackupCheckError('integrity', 'wrong magic %r at byte offset 0 (expected PGDMP)' % (magic,), 0)
    vmaj = src.read_byte('header version')
    vmin = src.read_byte('header version')
    vrev = src.read_byte('header version')
    info['version'] = '%d.%d-%d' % (vmaj, vmin, vrev)
    version = (vmaj, vmin)
    if version < _MIN_VERSION or version > _MAX_VERSION:
        raise BackupCheckError('integrity', 'unsupported custom archive version %s (this verifier reads %d.%d to %d.%d)'
                               % (info['version'], _MIN_VERSION[0], _MIN_VERSION[1], _MAX_VERSION[0], _MAX_VERSION[1]), 5)
    int_size = src.read_byte('header intSize')
    off_size = src.read_byte('header offSize')
    if int_size not in (2, 4, 8) or off_size not in (4, 8):
        raise BackupCheckError('integrity', 'implausible header: intSize %d, offSize %d at byte offset 8'
                               % (int_size, off_size), 8)
    src.int_size = int_size
    src.off_size = off_size
    info['int_size'] = int_size
    info['off_size'] = off_size
    fmt = src.read_byte('header format')
    if fmt != _ARCH_CUSTOM:
        raise BackupCheckError('integrity', 'archive format %d at byte offset 10 is not custom (1)' % fmt, 10)
    if version >= (1, 15):
        algo = src.read_byte('header compression algorithm')
        if algo not in _COMPRESSION_NAMES:
            raise BackupCheckError('integrity', 'unknown compression algorithm %d at byte offset 11' % algo, 11)
        info['compression'] = _COMPRESSION_NAMES[algo]
    else:
        level = src.read_int('header compression level')
        info['compression'] = 'none' if level == 0 else 'gzip'
        info['compression_level'] = level
    tm = [src.read_int('header timestamp') for dummy in range(7)]
    try:
        info['created'] = datetime.datetime(tm[5] + 1900, tm[4] + 1, tm[3], tm[2], tm[1], tm[0]).isoformat()
    except (ValueError, OverflowError):
        raise BackupCheckError('integrity', 'implausible creation timestamp %r in header before byte offset %d'
                               % (tm, src.offset), src.offset)
    info['dbname'] = src.read_str('header dbname')
    info['server_version'] = src.read_str('header server version')
    info['pg_dump_version'] = src.read_str('header pg_dump version')
    info['vtuple'] = version


def _parse_toc(src, info):
    version = info['vtuple']
    start = src.offset
    count = src.read_int('TOC entry count')
    if count < 0 or count > _TOC_ENTRIES_MAX:
        raise BackupCheckError('integrity', 'implausible TOC entry count %d at byte offset %d' % (count, start), start)
    entries = []
    for index in range(count):
        entry_start = src.offset
        what = 'TOC entry #%d (starting at byte offset %d)' % (index + 1, entry_start)
        entry = {}
        entry['dump_id'] = src.read_int(what)
        if entry['dump_id'] <= 0:
            raise BackupCheckError('integrity', 'implausible dump id %d in %s' % (entry['dump_id'], what), entry_start)
        src.read_int(what)  # had dumper
        src.read_str(what, keep=False)  # table oid
        src.read_str(what, keep=False)  # oid
        entry['tag'] = src.read_str(what) or ''
        entry['desc'] = src.read_str(what) or ''
        src.read_int(what)  # section
        src.read_str(what, keep=False)  # defn
        src.read_str(what, keep=False)  # dropStmt
        src.read_str(what, keep=False)  # copyStmt
        entry['namespace'] = src.read_str(what) or ''
        src.read_str(what, keep=False)  # tablespace
        if version >= (1, 14):
            src.read_str(what, keep=False)  # tableam
        if version >= (1, 16):
            src.read_int(what)  # relkind
        src.read_str(what, keep=False)  # owner
        src.read_str(what, keep=False)  # "false" (WITH OIDS)
        while True:
            dep = src.read_str(what)
            if dep is None:
                break
        flag, data_pos = src.read_offset(what)
        entry['data_state'] = flag
        entry['data_pos'] = data_pos
        entries.append(entry)
    info['toc_entries'] = count
    info['toc_end'] = src.offset
    return entries


class _IsalRefused(Exception):
    """ISA-L refused a data block's zlib stream: zlib reads the block again and decides."""


class _SkipBudget(object):
    """A _Budget that does not count the first ``skip`` bytes again (ISA-L counted them before zlib took over)."""

    def __init__(self, budget, skip):
        self.budget = budget
        self.skip = skip

    def add(self, count, inner=False):
        taken = min(self.skip, count)
        self.skip -= taken
        if count > taken:
            self.budget.add(count - taken, inner)


class _BlockReader(object):
    """Reads one data stream (a table's COPY data or one large object) up to its zero-length end marker.

    Chunk payloads (pg_dump writes ~4 KiB compressed chunks) are gathered into batches of about 256 KiB and
    decompressed in one call: per-call overhead would otherwise dominate. When a batch fails to decompress, a
    copy of the decompressor taken before it replays the batch chunk by chunk to name the exact chunk.

    With ISA-L (``src.inflater``), whose decompressors cannot be copied, a refused stream raises _IsalRefused
    and _read_data_block reads the block again with zlib: the batches depend only on the chunk lengths, so
    zlib's replay names the same chunk with the same message as a zlib-only run."""

    BATCH = 256 * 1024

    def __init__(self, src, label, compression, count_rows, inflater=None):
        self.src = src
        self.start = src.offset
        self.label = label
        self.compression = compression
        self.count_rows = count_rows
        self.inflater = inflater or src.inflater
        self.decomp = _decompressobj(self.inflater, zlib.MAX_WBITS) if compression == 'gzip' else None
        self.budget = src.budget
        self.counted = 0
        self.lines = 0
        self.raw = 0
        self.tail = b''
        self.got_compressed = False
        self.pending = []
        self.offsets = []
        self.pending_size = 0

    def _out(self, out):
        self.raw += len(out)
        if self.count_rows:
            self.lines += out.count(b'\n')
            self.tail = out[-6:] if len(out) >= 6 else (self.tail + out)[-6:]

    def _flush(self):
        if not self.pending:
            return
        data = self.pending[0] if len(self.pending) == 1 else b''.join(self.pending)
        decomp = self.decomp
        if decomp is None:
            if self.compression == 'none':
                self._out(data)
            else:
                self.raw += len(data)
        else:
            self.got_compressed = True
            saved = decomp.copy() if self.inflater == ZLIB else None
            try:
                while data:
                    out = decomp.decompress(data, _OUT_MAX)
                    if out:
                        if self.budget is not None:
                            self.budget.add(len(out), inner=True)
                            self.counted += len(out)
                        self._out(out)
                    if decomp.eof:
                        break
                    data = decomp.unconsumed_tail
            except _INFLATE_ERRORS as exc:
                if saved is None:
                    raise _IsalRefused()
                self._pinpoint(saved, exc)
            if decomp.eof and decomp.unused_data:
                first = self.offsets[0][0]
                raise BackupCheckError(
                    'integrity', 'data after the end of the compressed stream in the data block of %s (in the chunks '
                    'from byte offset %d to %d)' % (self.label, first, self.src.offset), first)
        self.pending = []
        self.offsets = []
        self.pending_size = 0

    def _pinpoint(self, decomp, first_exc):
        for (offset, length), piece in zip(self.offsets, self.pending):
            try:
                while piece:
                    decomp.decompress(piece, _OUT_MAX)
                    if decomp.eof:
                        break
                    piece = decomp.unconsumed_tail
            except _INFLATE_ERRORS as exc:
                raise BackupCheckError(
                    'integrity', 'corrupt compressed data in the data block of %s: %s (chunk at byte offset %d, %d '
                    'bytes)' % (self.label, exc, offset, length), offset)
        first = self.offsets[0][0]
        raise BackupCheckError(
            'integrity', 'corrupt compressed data in the data block of %s: %s (chunks from byte offset %d to %d)'
            % (self.label, first_exc, first, self.src.offset), first)

    def _add(self, offset, data):
        self.pending.append(data)
        self.offsets.append((offset, len(data)))
        self.pending_size += len(data)
        if self.pending_size >= self.BATCH:
            self._flush()

    def read(self):
        """Returns (COPY rows, uncompressed bytes)."""
        src = self.src
        hdr = 1 + src.int_size
        while True:
            # fast path: the chunk header and payload are both in the buffer
            buf = src._buf
            pos = src._pos
            if pos + hdr <= len(buf):
                length = int.from_bytes(buf[pos + 1:pos + hdr], 'little')
                end = pos + hdr + length
                if 0 < length <= self.BATCH and not buf[pos] and end <= len(buf):
                    offset = src.offset
                    src._pos = end
                    src.offset = offset + hdr + length
                    self._add(offset, buf[pos + hdr:end])
                    continue
            chunk_start = src.offset
            try:
                length = src.read_int('data chunk length')
            except _Truncated as exc:
                raise BackupCheckError(
                    'integrity', 'archive truncated: the file ends at byte offset %d inside the data block of %s (no '
                    'end-of-data marker; last chunk boundary at byte offset %d)'
                    % (exc.offset, self.label, chunk_start), exc.offset)
            if length == 0:
                break
            if length < 0:
                raise BackupCheckError('integrity', 'negative chunk length %d at byte offset %d in the data block of %s'
                                       % (length, chunk_start, self.label), chunk_start)
            try:
                src.check_length(length, 'data chunk')
                # a long chunk (or a corrupt length in a gzip-wrapped archive) is taken in pieces of BATCH bytes:
                # the same pieces whatever the read boundaries, so a replay batches it alike
                left = length
                while left:
                    take = min(left, self.BATCH)
                    self._add(chunk_start, src.read(take, 'data chunk'))
                    left -= take
            except _Truncated as exc:
                raise BackupCheckError(
                    'integrity', 'archive truncated: the file ends at byte offset %d inside the data block of %s, in '
                    'a chunk of %d bytes that starts at byte offset %d' % (exc.offset, self.label, length,
                                                                           chunk_start), exc.offset)
        self._flush()
        if self.decomp is not None and self.got_compressed and not self.decomp.eof:
            raise BackupCheckError(
                'integrity', 'the compressed stream of the data block of %s is incomplete (ends at byte offset %d '
                'before the end of the zlib stream)' % (self.label, src.offset), src.offset)
        lines = self.lines
        tail = self.tail
        # pg_dump ends COPY data with "\\.\n\n\n" (terminator plus two blank lines): those are not rows
        for terminator in (b'\n\\.\n\n\n', b'\n\\.\n'):
            if tail.endswith(terminator) or (tail == terminator[1:] and lines == terminator.count(b'\n') - 1):
                lines -= terminator.count(b'\n') - 1
                break
        return lines, self.raw


def _read_data_block(src, entry, label, compression, count_rows):
    """Reads the chunks of one data stream up to its zero-length end marker; returns (lines, bytes)."""
    first = _BlockReader(src, label, compression, count_rows)
    try:
        return first.read()
    except _IsalRefused:
        pass
    # ISA-L refused the stream: zlib reads the block again from its first chunk (from the file, through pread)
    # and decides; what ISA-L counted against the budget is not counted twice
    budget = None if src.budget is None else _SkipBudget(src.budget, first.counted)
    again = _BlockReader(src.again(first.start, budget), label, compression, count_rows, inflater=ZLIB)
    found = again.read()
    for dummy in src.pieces(again.src.offset - src.offset, 'data chunk'):
        pass
    return found


def _verify_custom(src, result, count_rows, warnings):
    info = result['archive']
    try:
        _parse_custom_header(src, info)
    except _Truncated as exc:
        raise BackupCheckError('integrity', 'archive truncated: the file ends at byte offset %d in the header '
                               '(reading %s)' % (exc.offset, exc.what), exc.offset)
    result['compression'] = info['compression']
    if info['compression'] == 'gzip' and not result.get('decompressor'):
        result['decompressor'] = src.inflater
    try:
        entries = _parse_toc(src, info)
    except _Truncated as exc:
        raise BackupCheckError('integrity', 'archive truncated: the file ends at byte offset %d in the table of '
                               'contents (reading %s)' % (exc.offset, exc.what), exc.offset)
    del info['vtuple']
    by_id = dict((e['dump_id'], e) for e in entries)
    tables = []
    for entry in entries:
        if entry['desc'] in ('TABLE', 'TABLE DATA'):
            name = '%s.%s' % (entry['namespace'], entry['tag']) if entry['namespace'] else entry['tag']
            if name not in tables:
                tables.append(name)
    result['tables'] = tables
    expected = [e for e in entries if e['data_state'] != _OFFSET_NO_DATA]
    compression = info['compression']
    if compression in ('lz4', 'zstd'):
        warnings.append('data blocks are %s-compressed: their chunk framing was read to the end, but the content '
                        'was not decompressed (only zlib is available to this verifier)' % compression)
    seen = {}
    row_counts = {}
    blocks = 0
    data_tables = 0
    info['blocks'] = []
    while True:
        block_start = src.offset
        if src.at_eof():
            break
        try:
            block_type = src.read_byte('data block type')
            dump_id = src.read_int('data block dump id')
        except _Truncated as exc:
            raise BackupCheckError('integrity', 'archive truncated: the file ends at byte offset %d in the header of '
                                   'the data block starting at byte offset %d' % (exc.offset, block_start), exc.offset)
        entry = by_id.get(dump_id)
        if block_type not in (_BLK_DATA, _BLK_BLOBS) or entry is None:
            raise BackupCheckError(
                'integrity', 'unexpected data at byte offset %d: block type %d for dump id %d is not a data block of '
                'any TOC entry' % (block_start, block_type, dump_id), block_start)
        label = _entry_label(entry)
        if entry['data_state'] == _OFFSET_NO_DATA:
            raise BackupCheckError('integrity', 'data block at byte offset %d for %s, which the TOC says has no data'
                                   % (block_start, label), block_start)
        if entry['data_state'] == _OFFSET_POS_SET and entry['data_pos'] != block_start:
            raise BackupCheckError('integrity', 'the data block of %s is at byte offset %d but the TOC says %d'
                                   % (label, block_start, entry['data_pos']), block_start)
        if dump_id in seen:
            raise BackupCheckError('integrity', 'second data block for %s at byte offset %d' % (label, block_start),
                                   block_start)
        if block_type == _BLK_DATA:
            lines, raw = _read_data_block(src, entry, label, compression, count_rows)
            if entry['desc'] == 'TABLE DATA':
                data_tables += 1
            if count_rows and entry['desc'] == 'TABLE DATA' and compression in ('gzip', 'none'):
                name = '%s.%s' % (entry['namespace'], entry['tag']) if entry['namespace'] else entry['tag']
                row_counts[name] = lines
        else:
            objects = 0
            while True:
                oid_at = src.offset
                try:
                    oid = src.read_int('large object oid')
                except _Truncated as exc:
                    raise BackupCheckError('integrity', 'archive truncated: the file ends at byte offset %d inside the '
                                           'data block of %s (reading a large object header at byte offset %d)'
                                           % (exc.offset, label, oid_at), exc.offset)
                if oid == 0:
                    break
                _read_data_block(src, entry, '%s, large object %d' % (label, oid), compression, False)
                objects += 1
            info['large_objects'] = info.get('large_objects', 0) + objects
        seen[dump_id] = block_start
        blocks += 1
        info['blocks'].append({'entry': label, 'offset': block_start, 'end': src.offset,
                               'length': src.offset - block_start})
    info['data_blocks'] = blocks
    result['_content'] = (len(tables), data_tables, '%d TOC entries, %d data blocks' % (len(entries), blocks))
    missing = [e for e in expected if e['dump_id'] not in seen]
    result['row_counts'] = row_counts
    return missing


# --- plain SQL ----------------------------------------------------------------------------------------------
# The plain-SQL scanner is a small lexer that follows psql's rules for what ends a statement: semicolons at
# parenthesis depth 0 outside string literals ('...', E'...' with backslash escapes), quoted identifiers
# ("..."), dollar-quoted bodies ($tag$...$tag$) and comments (-- and nested /* */). Only the first bytes of
# each statement are kept, and table names are read from them by hand (no regex alternation that could
# backtrack), so the cost is linear in the size of the dump whatever it contains.

_COPY_END = b'\\.\n'
_SQL, _SQUOTE, _DQUOTE, _DOLLAR_TAG, _DOLLAR, _LINE_COMMENT, _BLOCK_COMMENT, _COPY_LINE, _COPY = range(9)
# SQL text up to the next character that can change the lexer state; with standard_conforming_strings on, the
# second form also steps over plain '...' literals ('' inside is a quote) followed by something else than a
# quote in the buffer. A literal right after E or e (maybe an escape string) or at the end of the buffer is
# left to the slow path. Each loop is unrolled (a run, then a separator and a run, repeated): there are never
# two ways to match, so no backtracking.
# A backslash stops both: psql runs a meta-command wherever its lexer meets one outside literals (issue 17).
_RUN_TEXT = re.compile(br'[^-/\'"$;\\]*')
_RUN_TEXT_AND_LITERALS = re.compile(
    br'[^-/\'"$;\\]*(?:(?<![Ee])\'[^\']*(?:\'\'[^\']*)*\'(?=[^\'])[^-/\'"$;\\]*)*')
_LITERAL = re.compile(br"'[^']*(?:''[^']*)*'")
_PARENS = re.compile(br'[()]')
_SQUOTE_ESC_SPECIAL = re.compile(br'[\\\']')
_BLOCK_SPECIAL = re.compile(br'[/*]')
_NON_SPACE = re.compile(br'[^ \t\n\r\f\v]')
_TAG_RUN = re.compile(br'[A-Za-z0-9_\x80-\xff]*')
_WORD = re.compile(br'[A-Za-z]+')
_SPACE_RUN = re.compile(br'[ \t\n\r\f\v]*')
_BARE_IDENT = re.compile(br'[A-Za-z_\x80-\xff][A-Za-z0-9_$\x80-\xff]*')
_FROM_STDIN = re.compile(br'\bFROM[ \t\n\r\f\v]+STDIN\b', re.I)
_SCS = re.compile(br'SET[ \t\n\r\f\v]+standard_conforming_strings[ \t\n\r\f\v]*(?:=|TO)[ \t\n\r\f\v]*\'?(on|off)\b',
                  re.I)
_CLIENT_ENCODING = re.compile(
    br'SET[ \t\n\r\f\v]+(?:(?:SESSION|LOCAL)[ \t\n\r\f\v]+)?(?:client_encoding[ \t\n\r\f\v]*(?:=|TO)|NAMES)'
    br'[ \t\n\r\f\v]*(\'[^\']*\'|[^ \t\n\r\f\v;]*)', re.I)
# Encodings in which no byte of a multi-byte character is ASCII (the server encodings, as PostgreSQL spells them
# after removing all but letters and digits, with their aliases). In SJIS, BIG5, GBK, UHC, GB18030 and JOHAB (client
# only) the second byte of a character can be a backslash, a quote or a semicolon, which psql then reads as part of
# the character and this lexer does not.
_SAFE_ENCODINGS = frozenset(
    ['sqlascii', 'utf8', 'unicode', 'eucjp', 'euccn', 'euckr', 'euctw', 'eucjis2004', 'muleinternal', 'koi8', 'koi8r',
     'koi8u', 'alt', 'win', 'default', 'iso88595', 'iso88596', 'iso88597', 'iso88598', 'win866', 'win874', 'cp866',
     'cp874', 'windows866', 'windows874', 'tcvn', 'tcvn5712', 'vscii', 'abc']
    + ['latin%d' % n for n in range(1, 11)] + ['iso8859%d' % n for n in (1, 2, 3, 4, 9, 10, 13, 14, 15, 16)]
    + ['%s%d' % (prefix, n) for prefix in ('win', 'cp', 'windows') for n in range(1250, 1259)])
_IDENT_BYTES = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$' + bytes(range(0x80, 0x100)))
_HEAD_MAX = 1024        # first bytes of a statement kept: enough for a keyword and a qualified name (<= 63 bytes each)
_TAIL_MAX = 256         # last bytes of a statement kept (outside strings): where COPY says FROM stdin
_TAG_MAX = 4096
_FEED_MIN = 256 * 1024  # the scanner works on buffers of at least this size (tiny gzip members are gathered)
_STATE_NAMES = {_SQUOTE: 'a string literal', _DQUOTE: 'a quoted identifier',
                _DOLLAR: 'a dollar-quoted string (function body)', _BLOCK_COMMENT: 'a /* */ comment'}
# psql meta-commands (issue 17). A restore feeds a plain dump to psql, which runs a backslash command wherever
# its lexer meets a backslash outside literals, quoted names, dollar quotes, comments and COPY data: \! runs a
# shell command, \o |cmd and \copy ... program too, \i reads a file, \connect goes to another database. The
# only ones a dump may hold are pg_dump's own, alone on their line in exactly pg_dump's form: a \restrict KEY /
# \unrestrict KEY pair (pg_dump 15.14, 16.10, 17.6 and later; KEY is alphanumeric), and with -C a \connect to
# the database the dump created before it (a plain name, a quoted one, or -reuse-previous=on "dbname='...'"
# preceded by \encoding SQL_ASCII), outside \restrict. Backquotes (a shell command in psql's arguments), psql
# variables and a second command on the line never match.
_META_LINE_MAX = 4096
_META_NAME = re.compile(br'[A-Za-z0-9_]+')
_RESTRICT_LINE = re.compile(br'\\(restrict|unrestrict) ([A-Za-z0-9]{1,256})[ \t]*\Z')
_ENCODING_LINE = re.compile(br'\\encoding SQL_ASCII[ \t]*\Z')
_CONNECT_LINE = re.compile(br'\\connect (?:([A-Za-z0-9_.]{1,63})|"((?:[^"\\`\n]|""){1,130})"'
                           br'|-reuse-previous=on "dbname=((?:[^"\\`\n]|""){1,200})")[ \t]*\Z')
_CONNSTR_DBNAME = re.compile(br"(?:'([^'\\]{1,63})'|([A-Za-z0-9_.]{1,63}))\Z")
_WHITESPACE = b' \t\r\f\v'


# backslashes _find_copy_end looks at with memchr before it leaves the search to bytes.find
_BACKSLASH_PROBES = 16


def _find_copy_end(buf, start):
    """``buf.find(_COPY_END, start)``, faster: bytes.find steps through a pattern that ends in a newline line by
    line (it was half of a plain scan's time), while a backslash is rare in COPY data and memchr finds it at
    memory speed. Data with many backslashes (\\N nulls, escapes) goes back to bytes.find after a few."""
    at = start
    for dummy in range(_BACKSLASH_PROBES):
        idx = buf.find(b'\\', at)
        if idx < 0:
            return -1
        if buf.startswith(b'.\n', idx + 1):
            return idx
        at = idx + 1
    return buf.find(_COPY_END, at)


def _meta_name(line):
    """The command psql reads at the start of ``line`` (which starts with the backslash), printable and short:
    a run of letters, digits and _ (\\connect, \\copy), or one other character (\\!, \\;); never its arguments."""
    match = _META_NAME.match(line, 1)
    name = match.group()[:20] if match is not None else line[1:2]
    return '\\' + ''.join(chr(c) if 0x21 <= c < 0x7f else '\\x%02x' % c for c in name)


def _connect_target(match):
    """The database name of a \\connect line pg_dump wrote (a _CONNECT_LINE match), or None."""
    bare, quoted, connstr = match.groups()
    if bare is not None:
        return bare.decode('ascii')
    if quoted is not None:
        return quoted.replace(b'""', b'"').decode('utf-8', 'replace')
    value = _CONNSTR_DBNAME.match(connstr.replace(b'""', b'"'))
    if value is None:
        return None
    return (value.group(1) or value.group(2)).decode('utf-8', 'replace')


def _parse_name(text, pos):
    """A possibly qualified name at ``text[pos:]``: (list of unquoted parts, end) or (None, pos).

    Quoted parts keep their case and may hold dots and doubled quotes; bare parts are folded to lower case
    (ASCII), as PostgreSQL does. A hand-written loop: linear in the length of ``text``."""
    parts = []
    end = len(text)
    while True:
        if pos < end and text[pos] == 0x22:  # '"'
            pieces = []
            scan = pos + 1
            while True:
                close = text.find(b'"', scan)
                if close < 0:
                    return None, pos
                pieces.append(text[scan:close])
                if text[close + 1:close + 2] == b'"':
                    pieces.append(b'"')
                    scan = close + 2
                    continue
                pos = close + 1
                break
            part = b''.join(pieces)
            if not part:
                return None, pos
        else:
            match = _BARE_IDENT.match(text, pos)
            if match is None:
                return None, pos
            part = match.group().lower()
            pos = match.end()
        parts.append(part.decode('utf-8', 'replace'))
        if len(parts) > 3:
            return None, pos
        if text[pos:pos + 1] != b'.':
            break
        pos += 1
    # the name must be followed by something that ends it (and must not run into the end of a cut head)
    if pos >= end or text[pos] not in b' \t\n\r\f\v(;':
        return None, pos
    return parts, pos


def _parse_head(head):
    """What a statement is, from its first bytes: ('copy'|'create'|'insert', name parts or None, where the
    name ends), ('scs', b'on'|b'off', 0), or (None, None, 0)."""
    match = _WORD.match(head)
    if match is None:
        return None, None, 0
    word = match.group().upper()
    pos = _SPACE_RUN.match(head, match.end()).end()
    if word == b'COPY':
        return ('copy',) + _parse_name(head, pos)
    if word == b'INSERT':
        match = _WORD.match(head, pos)
        if match is None or match.group().upper() != b'INTO':
            return None, None, 0
        return ('insert',) + _parse_name(head, _SPACE_RUN.match(head, match.end()).end())
    if word == b'CREATE':
        match = _WORD.match(head, pos)
        if match is not None and match.group().upper() == b'DATABASE':
            return ('createdb',) + _parse_name(head, _SPACE_RUN.match(head, match.end()).end())
        if match is not None and match.group().upper() in (b'UNLOGGED', b'FOREIGN'):
            match = _WORD.match(head, _SPACE_RUN.match(head, match.end()).end())
        if match is None or match.group().upper() != b'TABLE':
            return None, None, 0
        pos = _SPACE_RUN.match(head, match.end()).end()
        if head[pos:pos + 13].upper() == b'IF NOT EXISTS':
            pos = _SPACE_RUN.match(head, pos + 13).end()
        return ('create',) + _parse_name(head, pos)
    if word == b'SET':
        match = _SCS.match(head)
        if match is not None:
            return 'scs', match.group(1).lower(), 0
        match = _CLIENT_ENCODING.match(head)
        if match is not None:
            return 'encoding', match.group(1).strip(b"'"), 0
    return None, None, 0


def _table_name(parts):
    # schema.table; a catalog in front (db.schema.table) is dropped
    return '.'.join(parts[-2:])


class _PlainScanner(object):
    """Incremental scan of plain SQL: tables, COPY row counts, where and how the stream ends.

    Raises BackupCheckError for what psql could not restore or what pg_dump never writes (CRLF line
    endings, a COPY FROM stdin without a table name, an absurd dollar-quote tag)."""

    def __init__(self, count_rows=True, feed_min=_FEED_MIN):
        self.count_rows = count_rows
        self.feed_min = feed_min
        self.tables = []
        self.data_tables = []
        self.row_counts = {}
        self.in_copy = None         # table name while inside COPY data
        self.mid_line = False       # inside COPY: the previous buffer ended inside a (non-terminator) line
        self.copy_rows = 0
        self.carry = b''
        self.pending = []
        self.pending_size = 0
        self.total = 0
        self.base = 0               # stream offset of the buffer being scanned
        self.prev = b'  '           # the two bytes before that buffer
        self.state = _SQL
        self.in_stmt = False
        self.stmt_start = 0
        self.head = b''
        self.tail = b''
        self.depth = 0
        self.std_strings = True
        self.escapes = False        # inside an E'' string (or standard_conforming_strings off)
        self.open_at = 0            # where the current string, identifier, body or comment started
        self.tag = b''
        self.delim = b''
        self.comment_depth = 0
        self.comment_text = None    # a line comment between statements (the trailer is one)
        self.trailer_seen = False
        self.first_line_checked = False
        self.copy_table = None
        self.insert_prefix = None
        self.hold = False
        self.lines = 0              # newlines before the buffer being scanned
        self.restrict = None        # (key, line) of the \restrict in force
        self.created_dbs = set()    # databases the dump creates (CREATE DATABASE): \connect may go there
        self.drops = None           # vetted_sql(): where the dump's own \restrict/\unrestrict lines are
        self.e_string = False       # the literal being read is an E'' string
        self.slashes = 0            # backslashes at the end of the plain literal read so far
        self._buf = b''             # the buffer being scanned
        self.spans = []             # (start, end, newlines) of the COPY data in it

    def _add_table(self, name, data=False):
        if name not in self.tables:
            self.tables.append(name)
        if data and name not in self.data_tables:
            self.data_tables.append(name)
        return name

    def feed(self, block):
        if not block:
            return
        self.total += len(block)
        self.pending.append(block)
        self.pending_size += len(block)
        if self.pending_size >= self.feed_min:
            self._flush(False)

    def _flush(self, final):
        data = self.pending[0] if len(self.pending) == 1 else b''.join(self.pending)
        consumed = self.total - self.pending_size
        self.pending = []
        self.pending_size = 0
        buf = self.carry + data if self.carry else data
        self.base = consumed - len(self.carry)
        self.carry = b''
        if not buf:
            return
        if not self.first_line_checked:
            self._check_first_line(buf, final)
        self._buf = buf
        self.spans = []
        pos = self._scan(buf, final)
        self._buf = b''
        # newlines of the scanned part: COPY data counted them already (most of a dump), the rest is counted here
        lines = 0
        at = 0
        for start, end, newlines in self.spans:
            lines += buf.count(b'\n', at, start) + newlines
            at = end
        self.lines += lines + buf.count(b'\n', at, pos)
        self.prev = (self.prev + buf[max(0, pos - 2):pos])[-2:]  # not buf[:pos]: a copy of the buffer
        self.carry = buf[pos:]

    def _check_first_line(self, buf, final):
        newline = buf.find(b'\n')
        if newline < 0 and not final:
            return
        self.first_line_checked = True
        if newline > 0 and buf[newline - 1] == 0x0d:
            self._crlf(newline - 1)

    def _crlf(self, offset):
        raise BackupCheckError(
            'integrity', 'CRLF line ending at uncompressed byte offset %d: pg_dump writes LF only, so the dump was '
            'converted as text after it was written (unix2dos, an ASCII-mode transfer, git autocrlf), which also '
            'changes multi-line values and function bodies; this verifier rejects such dumps' % offset, offset)

    def _byte(self, buf, index):
        return buf[index] if index >= 0 else self.prev[index]

    def _run(self, run, pos):
        """SQL text with complete plain literals (``run`` starts at ``buf[pos]``): head, tail and parenthesis depth
        (psql's: never below 0). A backslash in it is inside a literal (a backslash ends the text otherwise)."""
        if 0x5c in run:
            at = run.find(b"\\'")
            while at >= 0:
                first = at
                while first > 0 and run[first - 1] == 0x5c:  # the literal's opening quote stops this first
                    first -= 1
                if (at + 1 - first) % 2:
                    self._backslash_quote(self._buf, pos + at + 1)
                at = run.find(b"\\'", at + 2)
        if len(self.head) < _HEAD_MAX:
            self.head += run[:_HEAD_MAX - len(self.head)]
        text = _LITERAL.sub(b'', run) if 0x27 in run else run
        self.tail = (self.tail + text[-_TAIL_MAX:])[-_TAIL_MAX:]
        closes = text.count(b')')
        if closes <= self.depth:
            # the depth cannot reach 0 inside: counting is exact
            self.depth += text.count(b'(') - closes
            return
        depth = self.depth
        for match in _PARENS.finditer(text):
            if match.group() == b'(':
                depth += 1
            elif depth:
                depth -= 1
        self.depth = depth

    def _text(self, data, normal):
        if len(self.head) < _HEAD_MAX:
            self.head += data[:_HEAD_MAX - len(self.head)]
        if normal:
            self.tail = (self.tail + data[-_TAIL_MAX:])[-_TAIL_MAX:]

    def _scan(self, buf, final):
        """Scans ``buf``; returns where it stopped (the rest is carried to the next buffer)."""
        pos = 0
        end = len(buf)
        self.hold = False
        while pos < end and not self.hold:
            state = self.state
            if state == _COPY:
                pos = self._copy_data(buf, pos)
            elif state == _SQL:
                pos = self._sql(buf, pos, end, final)
            elif state in (_SQUOTE, _DQUOTE):
                pos = self._quoted(buf, pos, end, final)
            elif state == _DOLLAR_TAG:
                pos = self._dollar_tag(buf, pos, end, final)
            elif state == _DOLLAR:
                stop = buf.find(self.delim, pos)
                if stop < 0:
                    keep = end if final else max(pos, end - len(self.delim) + 1)
                    self._text(buf[pos:keep], False)
                    return keep
                self._text(buf[pos:stop + len(self.delim)], False)
                self.state = _SQL
                pos = stop + len(self.delim)
            elif state == _LINE_COMMENT:
                stop = buf.find(b'\n', pos)
                if self.comment_text is not None and len(self.comment_text) < 80:
                    self.comment_text += buf[pos:stop if stop >= 0 else end][:80]
                if stop < 0:
                    return end
                self._comment_done()
                self.state = _SQL
                pos = stop + 1
            elif state == _BLOCK_COMMENT:
                match = _BLOCK_SPECIAL.search(buf, pos)
                if match is None:
                    return end
                at = match.start()
                if at + 1 >= end:
                    return end if final else at
                pair = buf[at:at + 2]
                if pair == b'*/':
                    self.comment_depth -= 1
                    pos = at + 2
                    if not self.comment_depth:
                        self.state = _SQL
                elif pair == b'/*':
                    self.comment_depth += 1
                    pos = at + 2
                else:
                    pos = at + 1
            else:  # _COPY_LINE: the data starts on the line after the COPY statement
                stop = buf.find(b'\n', pos)
                hold = self._copy_line_rest(buf, pos, stop if stop >= 0 else end, final)
                if hold is not None:
                    return self._need_more(hold)
                if stop < 0:
                    return end
                if self._byte(buf, stop - 1) == 0x0d:
                    self._crlf(self.base + stop - 1)
                self.state = _COPY
                self.in_copy = self.copy_table
                self.copy_rows = 0
                self.mid_line = False
                pos = stop + 1
        return pos

    def _sql(self, buf, pos, end, final):
        if not self.in_stmt:
            match = _NON_SPACE.search(buf, pos)
            if match is None:
                return end
            pos = match.start()
            char = buf[pos]
            if char == 0x5c:  # a backslash: a psql meta-command, which runs to the end of its line
                return self._meta(buf, pos, end, final)
            if char in b'-/':
                if pos + 1 >= end and not final:
                    return self._need_more(pos)
                pair = buf[pos:pos + 2]
                if pair == b'--':
                    self.state = _LINE_COMMENT
                    self.comment_text = b'--'
                    return pos + 2
                if pair == b'/*':
                    self.state = _BLOCK_COMMENT
                    self.comment_depth = 1
                    self.open_at = self.base + pos
                    return pos + 2
            self.in_stmt = True
            self.trailer_seen = False
            self.stmt_start = self.base + pos
            self.head = b''
            self.tail = b''
            self.depth = 0
        if self.std_strings and buf[pos:pos + 1] != b"'":
            stop = _RUN_TEXT_AND_LITERALS.match(buf, pos).end()
        else:
            stop = _RUN_TEXT.match(buf, pos).end()
        if stop > pos:
            self._run(buf[pos:stop], pos)
        if stop >= end:
            return end
        char = buf[stop]
        if char == 0x3b:  # ';'
            if self.depth == 0:
                self._statement_done(buf, stop)
            return stop + 1
        if char == 0x5c:  # a backslash inside a statement: psql runs it as a meta-command too (SELECT ... \gexec)
            return self._meta(buf, stop, end, final)
        if char == 0x27:  # "'"
            prefix = self._byte(buf, stop - 1)
            self.e_string = prefix in b'Ee' and self._byte(buf, stop - 2) not in _IDENT_BYTES
            self.escapes = not self.std_strings or self.e_string
            self.slashes = 0
            self.state = _SQUOTE
            self.open_at = self.base + stop
            self._text(b"'", False)
            return stop + 1
        if char == 0x22:  # '"'
            self.state = _DQUOTE
            self.open_at = self.base + stop
            self._text(b'"', False)
            return stop + 1
        if char == 0x24:  # '$'
            if self._byte(buf, stop - 1) in _IDENT_BYTES:
                self._text(b'$', True)  # part of an identifier such as a$b
                return stop + 1
            self.state = _DOLLAR_TAG
            self.tag = b''
            self.open_at = self.base + stop
            return stop + 1
        # '-' or '/': a comment, or an operator
        if stop + 1 >= end and not final:
            return self._need_more(stop)
        pair = buf[stop:stop + 2]
        if pair == b'--':
            self.state = _LINE_COMMENT
            self.comment_text = None
            return stop + 2
        if pair == b'/*':
            self.state = _BLOCK_COMMENT
            self.comment_depth = 1
            self.open_at = self.base + stop
            return stop + 2
        self._text(buf[stop:stop + 1], True)
        return stop + 1

    def _line_of(self, buf, pos):
        return self.lines + buf.count(b'\n', 0, pos) + 1

    def _refuse_meta(self, buf, pos, line, why):
        raise BackupCheckError(
            'integrity', 'psql meta-command %s on line %d (uncompressed byte offset %d) is refused: %s. A restore '
            'feeds the dump to psql, which would run it; a backup may only hold pg_dump\'s own \\restrict/\\unrestrict '
            'pair and a \\connect to the database it creates' % (_meta_name(line), self._line_of(buf, pos),
                                                                 self.base + pos, why), self.base + pos)

    def _meta(self, buf, pos, end, final):
        """A backslash at ``buf[pos]`` that psql reads as a meta-command: judged with its whole line."""
        stop = buf.find(b'\n', pos)
        if stop < 0:
            if not final and end - pos <= _META_LINE_MAX:
                return self._need_more(pos)
            stop = end
        if stop - pos > _META_LINE_MAX:
            self._refuse_meta(buf, pos, buf[pos:pos + 64], 'a line of more than %d bytes' % _META_LINE_MAX)
        line = buf[pos:stop]
        why = self._judge_meta(line, buf, pos)
        if why:
            self._refuse_meta(buf, pos, line, why)
        return min(stop + 1, end)

    def _judge_meta(self, line, buf, pos):
        """None when ``line`` is one of pg_dump's own meta-commands where it stands, else why not."""
        if self.in_stmt:
            return 'it stands inside an SQL statement that starts at uncompressed byte offset %d' % self.stmt_start
        match = _RESTRICT_LINE.match(line)
        if match is not None:
            word, key = match.groups()
            if word == b'restrict':
                if self.restrict is not None:
                    return 'psql is already restricted by the \\restrict on line %d' % self.restrict[1]
                self.restrict = (key, self._line_of(buf, pos))
            elif self.restrict is None:
                return 'no \\restrict is in force'
            elif key != self.restrict[0]:
                return 'its key differs from the one of the \\restrict on line %d' % self.restrict[1]
            else:
                self.restrict = None
            if self.drops is not None:
                self.drops.append((self.base + pos, self.base + pos + len(line) + 1))
            return None
        encoding = _ENCODING_LINE.match(line) is not None
        match = None if encoding else _CONNECT_LINE.match(line)
        if not encoding and match is None:
            return 'pg_dump never writes it (only \\restrict KEY, \\unrestrict KEY, \\connect DATABASE and ' \
                '\\encoding SQL_ASCII, each alone on its line)'
        if self.drops is not None:
            return ('psql reads the dump in restricted mode here, where it cannot change databases: restore a dump '
                    'taken without pg_dump -C (--create)')
        if match is not None:
            target = _connect_target(match)
            if target is None or target not in self.created_dbs:
                return 'it connects to a database the dump does not create before it (CREATE DATABASE)'
        if self.restrict is not None:
            return 'it stands inside the \\restrict of line %d (pg_dump ends it before a \\connect)' % self.restrict[1]
        return None

    def _copy_line_rest(self, buf, pos, stop, final):
        """What follows ``COPY ... FROM stdin;`` on its line: psql runs it once the COPY data is read. Refused;
        returns where to wait for more input when it is a backslash command not yet whole (None otherwise)."""
        if not buf[pos:stop].strip(_WHITESPACE):
            return None
        start = pos
        while buf[start] in _WHITESPACE:
            start += 1
        if buf[start] == 0x5c:
            line_end = buf.find(b'\n', start)
            if line_end < 0 and not final and len(buf) - start <= _META_LINE_MAX:
                return start  # the command's name may continue in the next buffer
            self._refuse_meta(buf, start, buf[start:line_end if line_end >= 0 else len(buf)],
                              'it follows COPY ... FROM stdin; on the same line, and psql runs it after the COPY data')
        raise BackupCheckError(
            'integrity', 'text after COPY ... FROM stdin; on line %d (uncompressed byte offset %d): psql runs it as SQL '
            'once the COPY data is read, pg_dump ends that line after the semicolon'
            % (self._line_of(buf, start), self.base + start), self.base + start)

    def _need_more(self, pos):
        # look-ahead past the buffer is needed: stop here, the scan resumes at pos with the next buffer
        self.hold = True
        return pos

    def _backslash_quote(self, buf, quote):
        """The quote at ``buf[quote]``, in a literal that is not an E'' string, follows an odd run of backslashes
        (the last one maybe in an earlier buffer): psql ends the literal at that quote with
        standard_conforming_strings on and not with it off (a server setting that SQL can switch behind this lexer:
        set_config() in a function). Refused; the offset is the backslash's."""
        where = self.base + quote - 1
        raise BackupCheckError(
            'integrity', 'a quote after an odd number of backslashes (\\\') in the string literal on line %d '
            '(uncompressed byte offset %d): psql ends the literal there with standard_conforming_strings on and '
            'not with it off, so what follows could be a psql meta-command to psql and data to this verifier; '
            'pg_dump writes such a value as E\'...\' or in COPY data' % (self._line_of(buf, quote), where), where)

    def _quoted(self, buf, pos, end, final):
        quote = b"'" if self.state == _SQUOTE else b'"'
        plain = self.state == _SQUOTE and not self.escapes
        if self.state == _SQUOTE and self.escapes:
            match = _SQUOTE_ESC_SPECIAL.search(buf, pos)
            stop = match.start() if match is not None else -1
        else:
            stop = buf.find(quote, pos)
        if plain:
            # backslashes right before the quote (or the end of the buffer), with those of earlier buffers
            upto = stop if stop >= 0 else end
            first = upto
            while first > pos and buf[first - 1] == 0x5c:
                first -= 1
            slashes = upto - first + (self.slashes if first == pos else 0)
            if stop >= 0 and slashes % 2:
                self._backslash_quote(buf, stop)
            self.slashes = slashes
        if stop < 0:
            self._text(buf[pos:end], False)
            return end
        if stop + 1 >= end and not final:
            self._text(buf[pos:stop], False)
            return self._need_more(stop)
        if buf[stop] == 0x5c:  # a backslash escapes the next byte
            if buf[stop + 1:stop + 2] == b"'" and not self.e_string:  # an escaped quote that ends the literal with scs on
                self._backslash_quote(buf, stop + 1)
            self._text(buf[pos:stop + 2], False)
            return stop + 2
        if buf[stop + 1:stop + 2] == quote:  # doubled: an escaped quote
            self._text(buf[pos:stop + 2], False)
            self.slashes = 0
            return stop + 2
        self._text(buf[pos:stop + 1], False)
        self.state = _SQL
        return stop + 1

    def _dollar_tag(self, buf, pos, end, final):
        stop = _TAG_RUN.match(buf, pos).end()
        self.tag += buf[pos:stop]
        if len(self.tag) > _TAG_MAX:
            raise BackupCheckError('integrity', 'implausible dollar-quote tag of more than %d bytes at uncompressed '
                                   'byte offset %d' % (_TAG_MAX, self.open_at), self.open_at)
        if stop >= end and not final:
            return end
        if stop < end and buf[stop] == 0x24 and not (self.tag[:1].isdigit()):
            self.delim = b'$' + self.tag + b'$'
            self._text(self.delim, False)
            self.state = _DOLLAR
            return stop + 1
        # not a dollar quote ($1 parameter, or an operator): the '$' and what follows are ordinary text
        self._text(b'$' + self.tag, True)
        self.state = _SQL
        return stop

    def _comment_done(self):
        if self.comment_text is not None:
            if self.comment_text.rstrip() == PLAIN_TRAILER:
                self.trailer_seen = True
            self.comment_text = None

    def _statement_done(self, buf, semicolon):
        """The statement that ends with the ``;`` at ``buf[semicolon]``."""
        self.in_stmt = False
        head = self.head
        if self.insert_prefix is not None and head.startswith(self.insert_prefix):
            return  # one more INSERT into the table of the last one (--inserts dumps: one per row)
        kind, value, end = _parse_head(head)
        if kind == 'copy':
            if not _FROM_STDIN.search(self.tail):
                return
            if value is None:
                raise BackupCheckError(
                    'integrity', 'a COPY ... FROM stdin statement at uncompressed byte offset %d names no valid table '
                    '(it starts %r)' % (self.stmt_start, self.head[:80]), self.stmt_start)
            self.copy_table = self._add_table(_table_name(value), data=True)
            self.state = _COPY_LINE
        elif kind == 'create' and value is not None:
            self._add_table(_table_name(value))
        elif kind == 'insert' and value is not None:
            self._add_table(_table_name(value), data=True)
            # the name ends at the byte after it: a head with these bytes first is an INSERT into the same table
            self.insert_prefix = head[:end + 1]
        elif kind == 'scs':
            self.std_strings = value == b'on'
        elif kind == 'createdb' and value is not None and len(value) == 1:
            self.created_dbs.add(value[0])
        elif kind == 'encoding':
            name = re.sub(br'[^a-z0-9]', b'', value.lower()).decode('ascii', 'replace')
            if name not in _SAFE_ENCODINGS:
                raise BackupCheckError(
                    'integrity', 'SET client_encoding on line %d is refused: pg_dump writes the database\'s own encoding, '
                    'in which no byte of a character is ASCII; in a client-only encoding (SJIS, BIG5, GBK, UHC, '
                    'GB18030, JOHAB) or an unknown one psql could read a backslash, quote or semicolon where this '
                    'verifier does not' % self._line_of(buf, semicolon), self.stmt_start)

    def _copy_data(self, buf, pos):
        search = pos
        while True:
            idx = _find_copy_end(buf, search)
            if idx < 0:
                break
            if (idx == pos and not self.mid_line) or (idx > pos and buf[idx - 1:idx] == b'\n'):
                rows = buf.count(b'\n', pos, idx)
                self.copy_rows += rows
                self.spans.append((pos, idx + len(_COPY_END), rows + 1))
                self.row_counts[self.in_copy] = self.copy_rows
                self.in_copy = None
                self.mid_line = False
                self.state = _SQL
                return idx + len(_COPY_END)
            search = idx + 1
        # no terminator in this buffer: keep the last partial line only if it could still become "\.\n"
        last_nl = buf.rfind(b'\n', pos)
        rows = buf.count(b'\n', pos)
        self.copy_rows += rows
        if last_nl < 0:
            partial_at = pos
            at_start = not self.mid_line
        else:
            partial_at = last_nl + 1
            at_start = True
        partial = buf[partial_at:]
        if at_start and len(partial) < len(_COPY_END) and _COPY_END.startswith(partial):
            # carried to the next buffer: nothing counted in it (no newline in it)
            self.mid_line = False
            self.spans.append((pos, partial_at, rows))
            return self._need_more(partial_at)
        self.mid_line = bool(partial)
        self.spans.append((pos, len(buf), rows))
        return len(buf)

    def finish(self):
        """(complete, detail)"""
        self._flush(True)
        complete, detail = self._end_state()
        if complete and self.restrict is not None:
            raise BackupCheckError(
                'integrity', '\\restrict on line %d has no matching \\unrestrict: pg_dump ends every \\restrict with '
                'one (the dump was edited after pg_dump wrote it)' % self.restrict[1], self.total)
        return complete, detail

    def _end_state(self):
        if self.state == _DOLLAR_TAG:
            # '$' and identifier characters up to the end: not a dollar quote (the last buffer may have been empty)
            self._text(b'$' + self.tag, True)
            self.state = _SQL
        if self.state in (_COPY, _COPY_LINE):
            table = self.in_copy or self.copy_table
            return False, ('the dump ends inside the COPY data of table %s (after %d rows, at uncompressed byte '
                           'offset %d) without its "\\." terminator' % (table, self.copy_rows, self.total))
        if self.state in _STATE_NAMES:
            return False, ('the dump ends at uncompressed byte offset %d inside %s that starts at uncompressed byte '
                           'offset %d' % (self.total, _STATE_NAMES[self.state], self.open_at))
        if self.state == _LINE_COMMENT:
            self._comment_done()
        if self.in_stmt:
            return False, ('the dump ends at uncompressed byte offset %d inside an unterminated SQL statement that '
                           'starts at uncompressed byte offset %d' % (self.total, self.stmt_start))
        if self.trailer_seen:
            return True, 'trailer "%s" found' % PLAIN_TRAILER.decode()
        return False, ('trailer "%s" missing: the dump is truncated or pg_dump did not finish (the SQL stream ends '
                       'at uncompressed byte offset %d)' % (PLAIN_TRAILER.decode(), self.total))


_RESTRICT_KEY_CHARS = string.ascii_letters + string.digits


def new_restrict_key():
    """A random \\restrict key, as pg_dump makes them: 64 letters and digits."""
    pick = random.SystemRandom().choice
    return ''.join(pick(_RESTRICT_KEY_CHARS) for dummy in range(64))


def vetted_sql(blocks, restrict_key=None):
    """The decompressed plain dump ``blocks`` (an iterable of bytes) as psql may read it, block by block.

    Only bytes the scanner has judged are yielded: a refused meta-command raises BackupCheckError before any byte
    of its line (or of anything after it) is yielded, so a reader that stops there never sees it - even if the file
    changed since it was verified. With ``restrict_key`` (new_restrict_key()), the dump's own \\restrict /
    \\unrestrict lines are dropped and the stream starts with ``\\restrict KEY`` and never ends it: a psql of
    15.14, 16.10, 17.6 or later then refuses every meta-command the scanner did not see (one hidden by a server
    setting changed behind the lexer's back), and ``\\connect`` is refused here. psql before those releases does
    not know \\restrict and stops at once (with ON_ERROR_STOP). A dump that is incomplete (no trailer, inside a
    COPY) raises BackupCheckError('completeness') after its last byte."""
    scanner = _PlainScanner(False, feed_min=0)
    if restrict_key is not None:
        if not isinstance(restrict_key, str) or not _RESTRICT_LINE.match(b'\\restrict ' + restrict_key.encode()):
            raise ValueError('a restrict key is 1 to 256 letters and digits')
        scanner.drops = []
        yield b'\\restrict ' + restrict_key.encode('ascii') + b'\n'
    drops = scanner.drops if scanner.drops is not None else []
    held = b''    # fed but not yet yielded, from stream offset ``start``
    start = 0
    for block in blocks:
        if not block:
            continue
        scanner.feed(block)
        held += block
        safe = scanner.total - scanner.pending_size - len(scanner.carry)
        out, held, start = _vetted_cut(held, start, safe, drops)
        if out:
            yield out
    complete, detail = scanner.finish()
    out, held, start = _vetted_cut(held, start, scanner.total, drops)
    if out:
        yield out
    if not complete:
        raise BackupCheckError('completeness', detail)


def _vetted_cut(held, start, safe, drops):
    """(bytes of ``held`` up to stream offset ``safe`` without the dropped lines, the rest, its offset)."""
    pieces = []
    pos = start
    while drops and drops[0][0] < safe:
        begin, end = drops.pop(0)
        pieces.append(held[pos - start:begin - start])
        pos = min(end, safe)
    if safe > pos:
        pieces.append(held[pos - start:safe - start])
    return b''.join(pieces), held[safe - start:], safe


def vetted_sql_file(path, restrict_key=None, chunk_size=CHUNK_SIZE):
    """vetted_sql() of the plain dump ``path`` (gzip-compressed or not; a symbolic link is refused), for a
    restore that must not hand psql a byte the verifier did not judge."""
    fobj = _open_regular(path, os.lstat(path))
    with fobj:
        reader = _Reader(fobj, chunk_size, hashlib.sha256())
        blocks = reader.chunks()
        first = next(blocks, (0, b''))
        if first[1][:2] == GZIP_MAGIC:
            def raw():
                yield first
                yield from blocks
            stream = _gunzip(raw(), {'members': 0, 'uncompressed': 0}, reader,
                             _Budget(os.fstat(fobj.fileno()).st_size))
        else:
            stream = itertools.chain([first[1]], (block for dummy, block in blocks))
        yield from vetted_sql(stream, restrict_key)


def _looks_like_sql(head):
    text = head.lstrip()
    return text[:2] == b'--' or text[:3].upper() in (b'SET', b'CRE', b'BEG', b'SEL') or text[:9] == b'\\restrict'


def _check(passed, detail):
    return {'passed': bool(passed), 'detail': detail}


def verify_backup(path, min_size=1, max_age=None, expected_tables=None, expected_sha256=None, count_rows=True,
                  chunk_size=CHUNK_SIZE, now=None, require_data=True, max_ratio=DEFAULT_MAX_RATIO,
                  max_decompressed_size=None, inflater=None):
    """Verify one backup file; returns a dict (see the backup_verify module's RETURN) and never raises
    for a bad backup: every failure is a check with ``passed: false``. Bad arguments raise ValueError.

    ``max_ratio`` (0: no ratio bound) and ``max_decompressed_size`` (bytes, None: none) bound the bytes the
    file's compressed streams may produce (see _Budget). ``inflater`` (``isal``, ``zlib``; None: the best
    importable) changes the speed only: the result is the same but for its ``decompressor``."""
    inflater = _choose_inflater(inflater)
    if isinstance(max_ratio, bool) or not isinstance(max_ratio, (int, float)) or max_ratio < 0 \
            or not math.isfinite(max_ratio):
        raise ValueError('max_ratio must be a finite number of at least 0 (0: no bound), got %s' % _short(max_ratio))
    if max_decompressed_size is not None and (isinstance(max_decompressed_size, bool) or not isinstance(
            max_decompressed_size, int) or max_decompressed_size < 1):
        raise ValueError('max_decompressed_size must be a number of bytes of at least 1, got %s'
                         % _short(max_decompressed_size))
    started = time.time()
    now = started if now is None else now
    expected_tables = list(expected_tables or [])
    max_age_s = parse_duration(max_age)
    result = {
        'path': path, 'format': 'unknown', 'compression': None, 'size': None, 'mtime': None, 'age_seconds': None,
        'sha256': None, 'duration_seconds': 0.0, 'throughput_mb_s': None, 'tables': [], 'row_counts': {},
        'archive': {}, 'checks': {}, 'passed': False, 'failed_checks': [], 'warnings': [], 'msg': '',
        'decompressor': None,
    }
    checks = result['checks']
    warnings = result['warnings']

    try:
        st = os.lstat(path)
    except (OSError, ValueError) as exc:
        checks['readable'] = _check(False, 'cannot stat %s: %s' % (path, getattr(exc, 'strerror', None) or exc))
        return _finish(result, started, expected_sha256)
    if not stat.S_ISREG(st.st_mode):
        checks['readable'] = _check(False, _not_regular(path, st.st_mode))
        return _finish(result, started, expected_sha256)
    result['size'] = st.st_size
    result['mtime'] = _iso_mtime(st.st_mtime)
    age = max(0.0, now - st.st_mtime)
    result['age_seconds'] = round(age, 3)
    checks['size'] = _check(st.st_size >= min_size, '%d bytes (minimum %d)' % (st.st_size, min_size))
    if max_age_s is None:
        checks['age'] = _check(True, '%d seconds old (no max_age set)' % age)
    else:
        checks['age'] = _check(age <= max_age_s, '%d seconds old (maximum %d)' % (age, max_age_s))

    hasher = hashlib.sha256()
    try:
        fobj = _open_regular(path, st)
    except (IOError, OSError) as exc:
        checks['readable'] = _check(False, 'cannot open %s: %s' % (path, exc.strerror or exc))
        return _finish(result, started, expected_sha256)
    except ValueError as exc:
        checks['readable'] = _check(False, str(exc))
        return _finish(result, started, expected_sha256)
    checks['readable'] = _check(True, 'regular file, opened for reading')
    try:
        with fobj:
            reader = _Reader(fobj, chunk_size, hasher, size=st.st_size)
            _verify_stream(reader, result, count_rows, warnings,
                           _Budget(st.st_size, max_ratio, max_decompressed_size), inflater)
            if checks['integrity']['passed']:  # set by _verify_stream whatever happens but a read error
                # drain anything a parser did not need (it normally reads everything), so sha256 covers the file
                for dummy in reader.chunks():
                    pass
            result['bytes_read'] = reader.bytes_read
    except (IOError, OSError) as exc:
        checks['readable'] = _check(False, 'read error: %s' % (exc.strerror or exc))
    integrity_ok = checks.get('integrity', {}).get('passed', False)
    if checks['readable']['passed'] and integrity_ok:
        result['sha256'] = hasher.hexdigest()
    elif checks['readable']['passed']:
        # a structural error is decisive: the rest of the file (which may be huge) is not read. How far the
        # reading got is not told: read-ahead and the inflater (ISA-L fails a few bytes later) move it
        result['sha256_note'] = ('not computed: reading stopped after the integrity failure, before the end of the '
                                 '%d-byte file' % st.st_size)
    content = result.pop('_content', None)
    if require_data and content is not None and integrity_ok and checks['completeness']['passed']:
        checks['content'] = _content_check(result, content)

    if expected_tables and 'integrity' in checks:
        missing = [t for t in expected_tables if not any(table_matches(t, f) for f in result['tables'])]
        if missing:
            checks['expected_tables'] = _check(False, 'missing table(s): %s (found: %s)'
                                               % (', '.join(missing), ', '.join(result['tables']) or 'none'))
        else:
            checks['expected_tables'] = _check(True, 'all present: %s' % ', '.join(expected_tables))
    return _finish(result, started, expected_sha256)


_FILE_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a named pipe'), (stat.S_ISCHR, 'a character device'),
               (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


def _not_regular(path, mode):
    """Why ``path`` (lstat mode ``mode``) is refused."""
    if stat.S_ISLNK(mode):
        return ('%s is a symbolic link: refused - a backup is read as the regular file it is, never through a link, '
                'which could point anywhere (another file, /dev/zero, a pipe that never ends); name the file itself'
                % path)
    kind = next((name for test, name in _FILE_KINDS if test(mode)), 'not a regular file')
    return '%s is %s, not a regular file: refused' % (path, kind)


def _open_regular(path, st):
    """The file ``path`` whose lstat() was ``st``, opened for reading without following a symbolic link
    (O_NOFOLLOW) or blocking on a pipe (O_NONBLOCK): a path replaced after the lstat() is refused (ValueError)
    rather than read."""
    flags = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(_not_regular(path, stat.S_IFLNK))
        raise
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            raise ValueError('%s was replaced between its check and its opening: refused' % path)
        return os.fdopen(fd, 'rb')
    except BaseException:
        os.close(fd)
        raise


def _iso_mtime(mtime):
    try:
        return datetime.datetime.fromtimestamp(mtime, tz=datetime.timezone.utc).isoformat()
    except (OverflowError, ValueError, OSError):
        return None


def _content_check(result, content):
    tables, with_data, what = content
    if tables and with_data:
        return _check(True, '%d table(s), %d with their data (%s)' % (tables, with_data, what))
    return _check(False, 'no table data: the backup defines %d table(s) and holds the data of %d (%s); a backup of a '
                  'database with tables has both (a schema-only dump needs require_data=false)'
                  % (tables, with_data, what))


def _verify_stream(reader, result, count_rows, warnings, budget=None, inflater=None):
    checks = result['checks']
    inflater = _choose_inflater(inflater)
    blocks = reader.chunks()
    first_off = 0
    first = b''
    for dummy, block in blocks:
        first += block
        if len(first) >= 512:
            break
    if not first:
        checks['integrity'] = _check(False, 'empty file: 0 bytes, no backup magic at byte offset 0')
        checks['completeness'] = _check(False, 'empty file')
        return

    def all_blocks():
        yield first_off, first
        yield from blocks

    prefetch = None

    try:
        if first[:2] == GZIP_MAGIC:
            stats = {'members': 0, 'uncompressed': 0}
            result['decompressor'] = inflater
            # three stages in three threads: read and hash, inflate, scan (hashlib and both inflaters release
            # the GIL on large buffers); with ISA-L the inflating no longer dwarfs the hashing
            raw = _Prefetch(all_blocks())
            prefetch = _Prefetch(_gunzip(raw, stats, reader, budget, inflater), inner=raw)
            inflated = iter(prefetch)
            head = b''
            pending = []
            for out in inflated:
                pending.append(out)
                head += out[:64 - len(head)]
                if len(head) >= 64:
                    break

            def replay():
                yield from pending
                yield from inflated
            if head[:5] == CUSTOM_MAGIC:
                result['format'] = 'custom'
                result['outer_compression'] = 'gzip'
                src = _Source(replay())
                src.budget = budget
                missing = _verify_custom(src, result, count_rows, warnings)
                _custom_completeness(result, missing, src.offset)
            elif _looks_like_sql(head):
                result['format'] = 'plain'
                result['compression'] = 'gzip'
                scanner = _PlainScanner(count_rows)
                for item in replay():
                    scanner.feed(item)
                _plain_done(result, scanner)
            elif not head:
                raise BackupCheckError('integrity', 'the gzip stream decompresses to 0 bytes: an empty dump (did '
                                       'pg_dump fail in a pipe without pipefail?)', 0)
            else:
                raise BackupCheckError('integrity', 'the gzip stream decompresses to data that is neither a plain '
                                       'SQL dump nor a custom archive (it starts with %r)' % (head[:16],), 0)
            result['gzip_members'] = stats['members']
            result['uncompressed_size'] = stats['uncompressed']
            checks['integrity'] = _check(True, '%d bytes read, %d gzip member(s) decompressed to %d bytes, CRC-32 '
                                         'and length trailers verified%s' % (
                                             reader.bytes_read, stats['members'], stats['uncompressed'],
                                             _custom_summary(result)))
        elif first[:5] == CUSTOM_MAGIC or (len(first) < 5 and CUSTOM_MAGIC.startswith(first)):
            result['format'] = 'custom'
            prefetch = _Prefetch(block for dummy, block in all_blocks())
            src = _Source(prefetch, limit=reader.size)
            src.budget = budget
            # the data blocks with ISA-L: a refused one is read again from the file for zlib (inside a gzipped
            # archive, where offsets are not the file's, they stay with zlib)
            src.inflater = inflater
            src.reopen = reader.blocks_from
            missing = _verify_custom(src, result, count_rows, warnings)
            _custom_completeness(result, missing, src.offset)
            detail = '%d bytes read%s' % (reader.bytes_read, _custom_summary(result))
            if result['compression'] == 'none':
                detail += '; data blocks are not compressed, so their content carries no checksum'
            checks['integrity'] = _check(True, detail)
        elif _looks_like_sql(first[:64]):
            result['format'] = 'plain'
            result['compression'] = 'none'
            scanner = _PlainScanner(count_rows)
            for dummy, block in all_blocks():
                scanner.feed(block)
            _plain_done(result, scanner)
            checks['integrity'] = _check(True, '%d bytes read; plain SQL carries no checksum' % reader.bytes_read)
        elif first[257:262] == b'ustar':
            raise BackupCheckError('integrity', 'tar-format archive (pg_dump -Ft) at byte offset 257 is not '
                                   'supported; use -Fc', 257)
        else:
            raise BackupCheckError('integrity', 'wrong magic %r at byte offset 0: not a custom archive (PGDMP), gzip '
                                   '(1f 8b) or plain SQL' % (first[:8],), 0)
    except BackupCheckError as exc:
        checks['integrity'] = _check(False, exc.message)
        checks['completeness'] = _check(False, 'not verified: the backup could not be read to its end (integrity '
                                        'failed)')
    finally:
        if prefetch is not None:
            prefetch.close()


def _custom_summary(result):
    info = result.get('archive') or {}
    if 'toc_entries' not in info:
        return ''
    return '; custom archive %s, %d TOC entries, %d data blocks read (compression %s)' % (
        info.get('version'), info['toc_entries'], info.get('data_blocks', 0), result.get('compression'))


def _custom_completeness(result, missing, end):
    if missing:
        names = ', '.join(_entry_label(e) for e in missing[:10])
        more = ' and %d more' % (len(missing) - 10) if len(missing) > 10 else ''
        result['checks']['completeness'] = _check(
            False, 'missing data blocks: the archive ends at byte offset %d without the data of %s%s'
            % (end, names, more))
    else:
        result['checks']['completeness'] = _check(True, 'every TOC entry with data has its data block (%d)'
                                                  % result['archive'].get('data_blocks', 0))


def _plain_done(result, scanner):
    complete, detail = scanner.finish()
    result['tables'] = scanner.tables
    result['row_counts'] = scanner.row_counts if scanner.count_rows else {}
    result['checks']['completeness'] = _check(complete, detail)
    result['_content'] = (len(scanner.tables), len(scanner.data_tables),
                          'tables named by CREATE TABLE, COPY or INSERT; data from COPY or INSERT')


def _finish(result, started, expected_sha256):
    checks = result['checks']
    result.pop('_content', None)
    sha256_note = result.pop('sha256_note', None)
    if expected_sha256:
        if result['sha256'] is None:
            checks['checksum'] = _check(False, 'no checksum: %s' % (sha256_note or 'the file could not be read'))
        elif result['sha256'].lower() == expected_sha256.strip().lower():
            checks['checksum'] = _check(True, 'sha256 matches')
        else:
            checks['checksum'] = _check(False, 'sha256 %s differs from the expected %s'
                                        % (result['sha256'], expected_sha256))
    for name in ('size', 'age', 'integrity', 'completeness'):
        if name not in checks:
            checks[name] = _check(False, 'not run: the file is not readable')
    ordered = {}
    for name in CHECK_NAMES:
        if name in checks:
            ordered[name] = checks[name]
    result['checks'] = ordered
    result['failed_checks'] = [name for name, c in ordered.items() if not c['passed']]
    result['passed'] = not result['failed_checks']
    duration = time.time() - started
    result['duration_seconds'] = round(duration, 3)
    if result.get('bytes_read') and duration > 0:
        result['throughput_mb_s'] = round(result['bytes_read'] / duration / 1e6, 1)
    if result['passed']:
        result['msg'] = '%s backup %s verified (%s)' % (result['format'], result['path'], ', '.join(ordered))
    else:
        result['msg'] = 'backup %s failed check(s) %s: %s' % (
            result['path'], ', '.join(result['failed_checks']),
            '; '.join('%s: %s' % (n, ordered[n]['detail']) for n in result['failed_checks']))
    return result


def list_backups(directory, pattern, now=None, skipped=None, links=None):
    """Regular files in ``directory`` whose names match the glob ``pattern``, newest first.

    Names that are not valid UTF-8 cannot be returned to Ansible (its JSON refuses them): they are left
    out, and their bytes (``repr``, ASCII only) are appended to the list ``skipped`` when given. Symbolic links
    are left out too (never followed: a link could point anywhere), their names appended to ``links``."""
    now = time.time() if now is None else now
    found = []
    for name in os.listdir(directory):
        if not fnmatch.fnmatchcase(name, pattern):
            continue
        try:
            name.encode('utf-8')
        except UnicodeEncodeError:
            if skipped is not None:
                skipped.append(repr(os.fsencode(name)))
            continue
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode) and links is not None:
            links.append(name)
        if not stat.S_ISREG(st.st_mode):
            continue
        found.append({
            'path': full, 'size': st.st_size, 'mtime_epoch': st.st_mtime,
            'mtime': _iso_mtime(st.st_mtime),
            'age_seconds': round(max(0.0, now - st.st_mtime), 3),
        })
    found.sort(key=lambda b: (b['mtime_epoch'], b['path']), reverse=True)
    return found


def retention_plan(backups, keep=None, keep_days=None):
    """Which backups (newest first) a policy would remove. A backup is kept if it is among the newest
    ``keep`` or younger than ``keep_days`` days (either rule keeps it); with neither set nothing is removed.
    The newest backup is never removed, whatever the policy. Read-only; ValueError for keep < 1 or
    keep_days < 0."""
    for name, value, least in (('keep', keep, 1), ('keep_days', keep_days, 0)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < least):
            raise ValueError('retention %s must be an integer of at least %d, got %r' % (name, least, value))
    if keep is None and keep_days is None:
        return []
    remove = []
    for index, backup in enumerate(backups):
        kept = index == 0
        if keep is not None and index < keep:
            kept = True
        if keep_days is not None and backup['age_seconds'] <= keep_days * 86400:
            kept = True
        if not kept:
            remove.append(backup['path'])
    return remove
