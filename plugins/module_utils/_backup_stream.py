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
* scans plain SQL for ``CREATE TABLE`` / ``COPY`` statements, counts COPY rows and looks for the
  ``-- PostgreSQL database dump complete`` trailer.

Memory stays constant whatever the size of the file: reads are ``chunk_size`` bytes and decompressed
output is bounded per call. Nothing here imports Ansible, so the function runs from tests and benchmarks.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import fnmatch
import hashlib
import os
import queue
import re
import stat
import threading
import time
import zlib

CHUNK_SIZE = 1024 * 1024
# Upper bound of decompressed output per zlib call: a 1 MiB block of zeros inflates to ~1 GiB otherwise.
_OUT_MAX = 8 * 1024 * 1024

GZIP_MAGIC = b'\x1f\x8b'
CUSTOM_MAGIC = b'PGDMP'
PLAIN_TRAILER = b'-- PostgreSQL database dump complete'

CHECK_NAMES = ('readable', 'size', 'age', 'integrity', 'completeness', 'expected_tables', 'checksum')

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

_DURATION_RE = re.compile(r'(\d+(?:\.\d+)?)\s*([smhdw]?)', re.IGNORECASE)
_DURATION_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}

_PLAIN_COPY_RE = re.compile(br'^COPY ((?:"(?:[^"]|"")+"|[^\s("])+(?:\.(?:"(?:[^"]|"")+"|[^\s("]+))?) .*FROM stdin;\n', re.M)
_PLAIN_CREATE_RE = re.compile(
    br'^CREATE (?:UNLOGGED |FOREIGN )?TABLE ((?:"(?:[^"]|"")+"|[^\s("]+)(?:\.(?:"(?:[^"]|"")+"|[^\s("]+))?)', re.M)
_COPY_END = b'\\.\n'
_DDL_CARRY_MAX = 64 * 1024


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


def parse_duration(value):
    """Seconds from an int/float or a string such as ``90``, ``45m``, ``26h``, ``7d``, ``1w``, ``1d12h``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError('not a duration: %r' % (value,))
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError('a duration cannot be negative: %r' % (value,))
        return float(value)
    text = str(value).strip()
    if not text:
        raise ValueError('empty duration')
    total = 0.0
    pos = 0
    for match in _DURATION_RE.finditer(text):
        if text[pos:match.start()].strip():
            raise ValueError('not a duration: %r (use seconds or e.g. 26h, 7d, 1d12h)' % (value,))
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError('not a duration: %r (use seconds or e.g. 26h, 7d, 1d12h)' % (value,))
    return total


def _unquote_ident(name):
    parts = []
    for part in re.findall(r'"(?:[^"]|"")+"|[^.]+', name):
        if part.startswith('"') and part.endswith('"'):
            part = part[1:-1].replace('""', '"')
        parts.append(part)
    return '.'.join(parts)


def table_matches(wanted, found):
    """``users`` matches ``public.users``; ``public.users`` only matches itself."""
    if wanted == found:
        return True
    if '.' not in wanted and found.split('.', 1)[-1] == wanted:
        return True
    return False


class _Reader(object):
    """Fixed-size reads of a file, hashing every byte in the same pass."""

    def __init__(self, fobj, chunk_size, hasher):
        self.fobj = fobj
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


def _gunzip(blocks, stats, reader):
    """Decompress every gzip member of ``blocks`` ((offset, bytes) pairs); yields decompressed blocks.

    zlib checks each member's CRC-32 and ISIZE trailer; several members (``cat a.gz b.gz``) are fine."""
    decomp = None
    member_start = 0
    member_out = False
    for offset, block in blocks:
        data = block
        pos_in_block = 0
        while data:
            if decomp is None:
                decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
                member_start = offset + pos_in_block
                member_out = False
                stats['members'] += 1
            fed = len(data)
            saved = decomp.copy()
            try:
                out = decomp.decompress(data, _OUT_MAX)
            except zlib.error as exc:
                where = offset + pos_in_block
                if stats['members'] > 1 and not member_out and where == member_start:
                    raise BackupCheckError(
                        'integrity', 'unexpected data after gzip member %d at byte offset %d (not a gzip member: %s)'
                        % (stats['members'] - 1, member_start, exc), member_start)
                stop = _zlib_error_offset(saved, data, where)
                raise BackupCheckError(
                    'integrity', 'gzip member %d (starting at byte offset %d) is corrupt: %s; decompression fails at '
                    'byte offset %d (the damage is there or before it)' % (stats['members'], member_start, exc, stop),
                    stop)
            if out:
                member_out = True
                stats['uncompressed'] += len(out)
                yield out
            if decomp.eof:
                rest = decomp.unused_data
                pos_in_block += fed - len(rest)
                decomp = None
                data = rest
            else:
                tail = decomp.unconsumed_tail
                pos_in_block += fed - len(tail)
                data = tail
    if decomp is not None:
        raise BackupCheckError(
            'integrity', 'gzip stream truncated: the file ends at byte offset %d inside gzip member %d (which '
            'starts at byte offset %d), before its end and CRC/length trailer'
            % (reader.bytes_read, stats['members'], member_start), reader.bytes_read)


class _Prefetch(object):
    """Runs an iterator in a thread, a few items ahead of the consumer.

    zlib and hashlib release the GIL on large buffers, so reading, hashing and decompressing in this thread
    overlap with the parsing the caller does. Items keep their order; an exception raised by the iterator
    is raised again by the consumer at the same point. ``close()`` stops and joins the thread."""

    _END = object()

    def __init__(self, iterable, depth=4):
        self._it = iterable
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
    """Exact-length reads over an iterator of byte blocks; ``offset`` is the position in that stream."""

    def __init__(self, blocks, first=b''):
        self._it = iter(blocks)
        self._buf = first
        self._pos = 0
        self.offset = 0
        self.int_size = 4
        self.off_size = 8

    def _fill(self, count):
        while len(self._buf) - self._pos < count:
            try:
                nxt = next(self._it)
            except StopIteration:
                return False
            self._buf = self._buf[self._pos:] + nxt
            self._pos = 0
        return True

    def at_eof(self):
        return not self._fill(1)

    def end_offset(self):
        """After a failed read: where the stream ended."""
        return self.offset + len(self._buf) - self._pos

    def read(self, count, what):
        if not self._fill(count):
            raise _Truncated(self.end_offset(), count, what)
        pos = self._pos
        self._pos = pos + count
        self.offset += count
        return self._buf[pos:pos + count]

    def read_byte(self, what):
        return self.read(1, what)[0]

    def read_int(self, what):
        raw = self.read(1 + self.int_size, what)
        value = int.from_bytes(raw[1:], 'little')
        return -value if raw[0] else value

    def read_str(self, what):
        length = self.read_int(what)
        if length < 0:
            return None
        if length > 256 * 1024 * 1024:
            raise BackupCheckError('integrity', 'implausible string length %d for %s at byte offset %d'
                                   % (length, what, self.offset - 1 - self.int_size), self.offset)
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
    except ValueError:
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
    if count < 0 or count > 10000000:
        raise BackupCheckError('integrity', 'implausible TOC entry count %d at byte offset %d' % (count, start), start)
    entries = []
    for index in range(count):
        entry_start = src.offset
        what = 'TOC entry #%d (starting at byte offset %d)' % (index + 1, entry_start)
        entry = {'offset': entry_start}
        entry['dump_id'] = src.read_int(what)
        if entry['dump_id'] <= 0:
            raise BackupCheckError('integrity', 'implausible dump id %d in %s' % (entry['dump_id'], what), entry_start)
        entry['had_dumper'] = bool(src.read_int(what))
        src.read_str(what)  # table oid
        src.read_str(what)  # oid
        entry['tag'] = src.read_str(what) or ''
        entry['desc'] = src.read_str(what) or ''
        src.read_int(what)  # section
        src.read_str(what)  # defn
        src.read_str(what)  # dropStmt
        entry['copy_stmt'] = src.read_str(what)
        entry['namespace'] = src.read_str(what) or ''
        src.read_str(what)  # tablespace
        if version >= (1, 14):
            src.read_str(what)  # tableam
        if version >= (1, 16):
            src.read_int(what)  # relkind
        src.read_str(what)  # owner
        src.read_str(what)  # "false" (WITH OIDS)
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


class _BlockReader(object):
    """Reads one data stream (a table's COPY data or one large object) up to its zero-length end marker.

    Chunk payloads (pg_dump writes ~4 KiB compressed chunks) are gathered into batches of about 256 KiB and
    decompressed in one call: per-call overhead would otherwise dominate. When a batch fails to decompress, a
    copy of the decompressor taken before it replays the batch chunk by chunk to name the exact chunk."""

    BATCH = 256 * 1024

    def __init__(self, src, label, compression, count_rows):
        self.src = src
        self.label = label
        self.compression = compression
        self.count_rows = count_rows
        self.decomp = zlib.decompressobj() if compression == 'gzip' else None
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
            saved = decomp.copy()
            try:
                while data:
                    out = decomp.decompress(data, _OUT_MAX)
                    if out:
                        self._out(out)
                    if decomp.eof:
                        break
                    data = decomp.unconsumed_tail
            except zlib.error as exc:
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
            except zlib.error as exc:
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
                if length > 0 and not buf[pos] and end <= len(buf):
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
                data = src.read(length, 'data chunk')
            except _Truncated as exc:
                raise BackupCheckError(
                    'integrity', 'archive truncated: the file ends at byte offset %d inside the data block of %s, in '
                    'a chunk of %d bytes that starts at byte offset %d' % (exc.offset, self.label, length,
                                                                           chunk_start), exc.offset)
            self._add(chunk_start, data)
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
    return _BlockReader(src, label, compression, count_rows).read()


def _verify_custom(src, result, count_rows, warnings):
    info = result['archive']
    try:
        _parse_custom_header(src, info)
    except _Truncated as exc:
        raise BackupCheckError('integrity', 'archive truncated: the file ends at byte offset %d in the header '
                               '(reading %s)' % (exc.offset, exc.what), exc.offset)
    result['compression'] = info['compression']
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
    missing = [e for e in expected if e['dump_id'] not in seen]
    result['row_counts'] = row_counts
    return missing


class _PlainScanner(object):
    """Incremental scan of plain SQL: tables, COPY row counts, where the stream ends."""

    def __init__(self, count_rows=True):
        self.count_rows = count_rows
        self.tables = []
        self.row_counts = {}
        self.in_copy = None         # table name while inside COPY data
        self.mid_line = False       # inside COPY: the previous block ended inside a (non-terminator) line
        self.copy_rows = 0
        self.carry = b''
        self.tail = b''
        self.total = 0
        self.first = b''

    def _add_table(self, name):
        name = _unquote_ident(name.decode('utf-8', 'replace'))
        if name not in self.tables:
            self.tables.append(name)
        return name

    def feed(self, block):
        self.total += len(block)
        if len(self.first) < 64:
            self.first += block[:64 - len(self.first)]
        self.tail = (self.tail + block[-512:])[-512:]
        buf = self.carry + block if self.carry else block
        self.carry = b''
        pos = 0
        end = len(buf)
        while pos < end:
            if self.in_copy is not None:
                pos = self._copy_data(buf, pos)
            else:
                pos = self._ddl(buf, pos)

    def _copy_data(self, buf, pos):
        search = pos
        while True:
            idx = buf.find(_COPY_END, search)
            if idx < 0:
                break
            if (idx == pos and not self.mid_line) or (idx > pos and buf[idx - 1:idx] == b'\n'):
                if self.count_rows:
                    self.copy_rows += buf.count(b'\n', pos, idx)
                self.row_counts[self.in_copy] = self.copy_rows
                self.in_copy = None
                self.mid_line = False
                return idx + len(_COPY_END)
            search = idx + 1
        # no terminator in this block: keep the last partial line only if it could still become "\.\n"
        last_nl = buf.rfind(b'\n', pos)
        if self.count_rows:
            self.copy_rows += buf.count(b'\n', pos)
        if last_nl < 0:
            partial = buf[pos:]
            at_start = not self.mid_line
        else:
            partial = buf[last_nl + 1:]
            at_start = True
        if at_start and len(partial) < len(_COPY_END) and _COPY_END.startswith(partial):
            if partial:
                # take back the newline we will see again; nothing counted in partial (no newline in it)
                self.carry = partial
            self.mid_line = False
        else:
            self.mid_line = bool(partial)
        return len(buf)

    def _ddl(self, buf, pos):
        match = _PLAIN_COPY_RE.search(buf, pos)
        stop = match.start() if match else len(buf)
        if not match:
            last_nl = buf.rfind(b'\n', pos)
            stop = last_nl + 1 if last_nl >= 0 else pos
        for create in _PLAIN_CREATE_RE.finditer(buf, pos, stop):
            self._add_table(create.group(1))
        if match:
            self.in_copy = self._add_table(match.group(1))
            self.copy_rows = 0
            self.mid_line = False
            return match.end()
        rest = buf[stop:]
        if len(rest) <= _DDL_CARRY_MAX:
            self.carry = rest
        return len(buf)

    def finish(self):
        """(complete, detail)"""
        if self.in_copy is not None:
            return False, ('the dump ends inside the COPY data of table %s (after %d rows, at uncompressed byte '
                           'offset %d) without its "\\." terminator' % (self.in_copy, self.copy_rows, self.total))
        if PLAIN_TRAILER in self.tail:
            return True, 'trailer "%s" found' % PLAIN_TRAILER.decode()
        return False, ('trailer "%s" missing: the dump is truncated or pg_dump did not finish (the SQL stream ends '
                       'at uncompressed byte offset %d)' % (PLAIN_TRAILER.decode(), self.total))


def _looks_like_sql(head):
    text = head.lstrip()
    return text[:2] == b'--' or text[:3].upper() in (b'SET', b'CRE', b'BEG', b'SEL') or text[:9] == b'\\restrict'


def _check(passed, detail):
    return {'passed': bool(passed), 'detail': detail}


def verify_backup(path, min_size=1, max_age=None, expected_tables=None, expected_sha256=None, count_rows=True,
                  chunk_size=CHUNK_SIZE, now=None):
    """Verify one backup file; returns a dict (see the backup_verify module's RETURN) and never raises
    for a bad backup: every failure is a check with ``passed: false``."""
    started = time.time()
    now = started if now is None else now
    expected_tables = list(expected_tables or [])
    max_age_s = parse_duration(max_age)
    result = {
        'path': path, 'format': 'unknown', 'compression': None, 'size': None, 'mtime': None, 'age_seconds': None,
        'sha256': None, 'duration_seconds': 0.0, 'throughput_mb_s': None, 'tables': [], 'row_counts': {},
        'archive': {}, 'checks': {}, 'passed': False, 'failed_checks': [], 'warnings': [], 'msg': '',
    }
    checks = result['checks']
    warnings = result['warnings']

    try:
        st = os.stat(path)
    except OSError as exc:
        checks['readable'] = _check(False, 'cannot stat %s: %s' % (path, exc.strerror or exc))
        return _finish(result, started, expected_sha256)
    if not stat.S_ISREG(st.st_mode):
        checks['readable'] = _check(False, '%s is not a regular file' % path)
        return _finish(result, started, expected_sha256)
    result['size'] = st.st_size
    result['mtime'] = datetime.datetime.fromtimestamp(st.st_mtime, tz=datetime.timezone.utc).isoformat()
    result['age_seconds'] = round(max(0.0, now - st.st_mtime), 3)
    checks['size'] = _check(st.st_size >= min_size, '%d bytes (minimum %d)' % (st.st_size, min_size))
    if max_age_s is None:
        checks['age'] = _check(True, '%d seconds old (no max_age set)' % max(0.0, now - st.st_mtime))
    else:
        age = max(0.0, now - st.st_mtime)
        checks['age'] = _check(age <= max_age_s, '%d seconds old (maximum %d)' % (age, max_age_s))

    hasher = hashlib.sha256()
    try:
        fobj = open(path, 'rb')
    except (IOError, OSError) as exc:
        checks['readable'] = _check(False, 'cannot open %s: %s' % (path, exc.strerror or exc))
        return _finish(result, started, expected_sha256)
    checks['readable'] = _check(True, 'regular file, opened for reading')
    try:
        with fobj:
            reader = _Reader(fobj, chunk_size, hasher)
            _verify_stream(reader, result, count_rows, warnings)
            # drain anything a parser did not need (it normally reads everything), so sha256 covers the file
            for dummy in reader.chunks():
                pass
            result['bytes_read'] = reader.bytes_read
    except (IOError, OSError) as exc:
        checks['readable'] = _check(False, 'read error: %s' % (exc.strerror or exc))
    if checks['readable']['passed']:
        result['sha256'] = hasher.hexdigest()

    if expected_tables and 'integrity' in checks:
        missing = [t for t in expected_tables if not any(table_matches(t, f) for f in result['tables'])]
        if missing:
            checks['expected_tables'] = _check(False, 'missing table(s): %s (found: %s)'
                                               % (', '.join(missing), ', '.join(result['tables']) or 'none'))
        else:
            checks['expected_tables'] = _check(True, 'all present: %s' % ', '.join(expected_tables))
    return _finish(result, started, expected_sha256)


def _verify_stream(reader, result, count_rows, warnings):
    checks = result['checks']
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
            prefetch = _Prefetch(_gunzip(all_blocks(), stats, reader))
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
            src = _Source(prefetch)
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
    result['tables'] = scanner.tables
    result['row_counts'] = scanner.row_counts if scanner.count_rows else {}
    complete, detail = scanner.finish()
    result['checks']['completeness'] = _check(complete, detail)


def _finish(result, started, expected_sha256):
    checks = result['checks']
    if expected_sha256:
        if result['sha256'] is None:
            checks['checksum'] = _check(False, 'no checksum: the file could not be read')
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


def list_backups(directory, pattern, now=None):
    """Regular files in ``directory`` whose names match the glob ``pattern``, newest first."""
    now = time.time() if now is None else now
    found = []
    for name in os.listdir(directory):
        if not fnmatch.fnmatchcase(name, pattern):
            continue
        full = os.path.join(directory, name)
        try:
            st = os.stat(full)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        found.append({
            'path': full, 'size': st.st_size, 'mtime_epoch': st.st_mtime,
            'mtime': datetime.datetime.fromtimestamp(st.st_mtime, tz=datetime.timezone.utc).isoformat(),
            'age_seconds': round(max(0.0, now - st.st_mtime), 3),
        })
    found.sort(key=lambda b: (b['mtime_epoch'], b['path']), reverse=True)
    return found


def retention_plan(backups, keep=None, keep_days=None):
    """Which backups a policy would remove. A backup is kept if it is among the newest ``keep`` or younger
    than ``keep_days`` days (either rule keeps it); with neither set nothing is removed. Read-only."""
    if keep is None and keep_days is None:
        return []
    remove = []
    for index, backup in enumerate(backups):
        kept = False
        if keep is not None and index < keep:
            kept = True
        if keep_days is not None and backup['age_seconds'] <= keep_days * 86400:
            kept = True
        if not kept:
            remove.append(backup['path'])
    return remove
