# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Inflating a backup's compressed streams (private to tgops.runbooks): gzip members and zlib streams, with
ISA-L's inflater (the isal package) when it can be imported and zlib's otherwise, under one decompression
budget per file (a decompression bomb stops the reading), bounded output per call, and a rewind that reads
blocks again from the file instead of holding them. Nothing here imports Ansible.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import queue
import threading
import zlib

try:
    from isal import isal_zlib as _isal_zlib
except ImportError:  # optional: the roles' *backup_verify_install_isal options or the EE bring it
    _isal_zlib = None

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_file import BackupCheckError


# Upper bound of decompressed output per zlib call: a 1 MiB block of zeros inflates to ~1 GiB otherwise.
OUT_MAX = 8 * 1024 * 1024
_GZ_STEP_MIN = 256
# ... and at most this: an inflater call on 1 MiB puts out ~2.5 MiB in a buffer it grows by reallocation, on
# fresh pages each time (533,000 page faults, 1.6 s of system time on a 921 MB file); 128 KiB slices keep the
# output buffers small enough for malloc to reuse (10,000 faults).
_GZ_STEP_MAX = 128 * 1024
_GZ_YIELD_MIN = 256 * 1024

# Decompression bombs (issue 17): every byte a zlib stream of the file puts out (gzip members, a custom archive's
# data blocks, both when an archive is gzipped) counts against one bound, max_ratio times the file's size but
# never below _RATIO_FLOOR (a small dump of repetitive rows can compress 500:1), and max_decompressed_size when
# set. The work of a check is then at most max_ratio times what a file of that size costs, whatever it holds.
DEFAULT_MAX_RATIO = 100
_RATIO_FLOOR = 256 * 1024 * 1024


# --- the inflater -------------------------------------------------------------------------------------------
# ISA-L's (the isal package) when it can be imported, zlib's otherwise.
#
# isal.isal_zlib has zlib's decompressobj(wbits) API (decompress(data, max_length), eof, unused_data,
# unconsumed_tail) and inflates about 2.5 times as fast, but its objects have no copy(), its errors are
# isal_zlib.error with other texts ("Incorrect checksum found" for zlib's "incorrect data check"), and it
# accepts a gzip header with reserved flag bits set, which zlib refuses. So ISA-L decides only what it accepts:
# a stream it refuses is decompressed again from its start by zlib, whose verdict and message are the result.
# Checked on thousands of random single-bit flips of real streams (and in tests/unit/plugins/module_utils/
# test_backup_inflate.py): ISA-L never accepted a stream zlib refuses (the reserved flags aside, which gunzip
# checks itself) and never gave more output than zlib before failing, so zlib's replay only adds to it.
ISAL = 'isal'
ZLIB = 'zlib'
# What a decompressor object of either kind raises on bad data.
INFLATE_ERRORS = (zlib.error,) if _isal_zlib is None else (zlib.error, _isal_zlib.error)
# gzip header FLG bits zlib refuses ("unknown header flags set") and ISA-L ignores.
_GZIP_RESERVED_FLAGS = 0xE0


def inflater_available():
    """The fastest inflater importable here: ``isal`` or ``zlib``."""
    return ZLIB if _isal_zlib is None else ISAL


def choose_inflater(name=None):
    """``name`` checked, or the best available when None. Asking for ``isal`` where it cannot be imported is a
    ValueError, not a silent fallback (tests and benchmarks ask for one on purpose)."""
    if name is None:
        return inflater_available()
    if name == ZLIB or (name == ISAL and _isal_zlib is not None):
        return name
    raise ValueError('inflater %r is not available here (available: %s)'
                     % (name, ', '.join(sorted({ZLIB, inflater_available()}))))


def decompressobj(name, wbits):
    """A decompressor object of inflater ``name`` for ``wbits`` (zlib's meaning)."""
    if name == ISAL:
        return _isal_zlib.decompressobj(wbits)
    return zlib.decompressobj(wbits)


def _zlib_from_member_start(blocks, member_start, member_given):
    """Hand a gzip member ISA-L gave up on to zlib: rewind the reader to the member's start; zlib inflates it again
    and skips the ``member_given`` bytes already passed on. Returns the gzip loop's new (resume, skip, use, decomp,
    member_out, step)."""
    blocks.rewind()
    return member_start, member_given, ZLIB, decompressobj(ZLIB, 16 + zlib.MAX_WBITS), False, _GZ_STEP_MIN


class Budget(object):
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


class Rewindable(object):
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


def gunzip(blocks, stats, reader, budget=None, inflater=None):
    """Decompress every gzip member of ``blocks`` ((offset, bytes) pairs); yields decompressed blocks.

    zlib checks each member's CRC-32 and ISIZE trailer; several members (``cat a.gz b.gz``) are fine.
    Input is fed in slices that start small after each member end and double up to _GZ_STEP_MAX: zlib
    copies what follows a member's end (``unused_data``), so feeding whole blocks to thousands of tiny
    members would copy the block once per member. Small outputs are gathered before they are yielded.

    ``inflater`` (``isal``, ``zlib``, None for the best available) inflates the members. A member
    ISA-L refuses (or whose header has flag bits only zlib refuses) is inflated again from its start by zlib,
    reading its blocks again from the file; the output ISA-L already gave is not given twice. So whatever the
    inflater, the output, the verdict and every message are zlib's. ``stats['inflater']`` names it."""
    fast = choose_inflater(inflater)
    stats['inflater'] = fast
    blocks = Rewindable(blocks, reader)
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
                    decomp = decompressobj(use, 16 + zlib.MAX_WBITS)
                    member_out = False
                    member_given = 0
                    stats['members'] += 1
                    step = _GZ_STEP_MIN
                data = view[pos_in_block:pos_in_block + step]
                fed = len(data)
                saved = decomp.copy() if use == ZLIB else None
                try:
                    out = decomp.decompress(data, OUT_MAX)
                except INFLATE_ERRORS as exc:
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


class Prefetch(object):
    """Runs an iterator in a thread, a few items ahead of the consumer.

    zlib and hashlib release the GIL on large buffers, so reading, hashing and decompressing in this thread
    overlap with the parsing the caller does. Items keep their order; an exception raised by the iterator
    is raised again by the consumer at the same point. ``close()`` stops and joins the thread."""

    _END = object()

    def __init__(self, iterable, depth=4, inner=None):
        self._it = iterable
        self._inner = inner         # a Prefetch that feeds ``iterable``: closed after this one
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
        decomp.decompress(data, OUT_MAX)
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
