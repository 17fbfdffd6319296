# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The reader of PostgreSQL custom-format archives (``pg_dump -Fc``; private to tgops.runbooks): header, table
of contents, then every data block (``BLK_DATA`` / ``BLK_BLOBS``) to the end of the file, which
``pg_restore --list`` does not read. Archive versions 1.12 to 1.16 (PostgreSQL 9.5 to 18). Lengths are checked
against what the stream can still hold and long strings are skipped, never gathered. Nothing here imports
Ansible.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re
import zlib

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_file import (
    BackupCheckError, CUSTOM_MAGIC, Truncated, check, short,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_inflate import (
    INFLATE_ERRORS, OUT_MAX, ZLIB, decompressobj,
)


# pg_backup_archiver.h
_BLK_DATA = 1
_BLK_BLOB = 2
_BLK_BLOBS = 3
_OFFSET_POS_NOT_SET = 1
_OFFSET_POS_SET = 2
_OFFSET_NO_DATA = 3
_ARCH_CUSTOM = 1
# The archive versions this reader knows: pg_backup_archiver.h's K_VERS_1_12 (pg_dump of PostgreSQL 9.5) to
# K_VERS_1_16 (17 and 18). A version outside is not guessed at: the header raises UnknownArchiveVersion, and
# verify_backup() asks pg_restore --list instead when it is given a way to (backup_verify always gives one).
SUPPORTED_VERSIONS = ((1, 12), (1, 16))
_COMPRESSION_NAMES = {0: 'none', 1: 'gzip', 2: 'lz4', 3: 'zstd'}
# pg_restore --list: "215; 1259 16386 TABLE public users postgres" (dump id; catalog oid, object oid, then the
# description, schema, name and owner), and header comments such as ";     Dump Version: 1.14-0".
_LISTING_ENTRY = re.compile(r'\d+; \d+ \d+ (\S.*)\Z')
_LISTING_VERSION = re.compile(r';\s+Dump Version: (\S+)\s*\Z')
# Strings of the header and TOC that are kept (names, tags, descriptions): far below this in any real archive.
# The long ones (definitions, DROP statements) are skipped without being held.
_KEPT_STR_MAX = 1024 * 1024
_TOC_ENTRIES_MAX = 10000000


class Source(object):
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
        self.budget = None          # a Budget for the data blocks' decompressed bytes
        self.inflater = ZLIB   # of the data blocks
        self.reopen = None          # when the stream is the file itself: a Source of the file from an offset

    def again(self, offset, budget):
        """A new Source of the same file from ``offset`` (self.reopen must be set)."""
        src = Source(self.reopen(offset), limit=self.limit)
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
            raise Truncated(self.limit, length, what)

    def read(self, count, what):
        if not self._fill(count):
            raise Truncated(self.end_offset(), count, what)
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
                    raise Truncated(self.offset, count, what)
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


class UnknownArchiveVersion(BackupCheckError):
    """The archive's version (``version``, such as ``1.17-0``) is outside SUPPORTED_VERSIONS."""

    def __init__(self, version, offset):
        low, high = SUPPORTED_VERSIONS
        super(UnknownArchiveVersion, self).__init__(
            'integrity', 'custom archive version %s is outside the versions this reader knows (%d.%d to %d.%d)'
            % (version, low[0], low[1], high[0], high[1]), offset)
        self.version = version


def parse_listing(text):
    """What ``pg_restore --list`` printed of an archive: its ``version`` (None if not said), ``toc_entries``,
    ``tables`` and ``data_tables`` (``schema.name``, in listing order). Raises ValueError when ``text`` holds
    no listing. Names are read as pg_restore prints them (unquoted): a name with a space is read whole only when
    it is the table's, not the schema's."""
    version = None
    entries = 0
    tables = []
    data_tables = []
    for line in text.splitlines():
        if line.startswith(';'):
            match = _LISTING_VERSION.match(line)
            if match:
                version = match.group(1)
            continue
        match = _LISTING_ENTRY.match(line)
        if not match:
            if line.strip():
                raise ValueError('not a pg_restore --list line: %s' % short(line))
            continue
        entries += 1
        words = match.group(1).split(' ')
        if words[:2] == ['TABLE', 'DATA'] and len(words) >= 5:
            data_tables.append('%s.%s' % (words[2], ' '.join(words[3:-1])))
        elif words[0] == 'TABLE' and words[1:2] != ['DATA'] and len(words) >= 4:
            tables.append('%s.%s' % (words[1], ' '.join(words[2:-1])))
    if not entries and version is None:
        raise ValueError('no TOC entry and no archive header in the output')
    return {'version': version, 'toc_entries': entries, 'tables': tables, 'data_tables': data_tables}


def _parse_custom_header(src, info):
    magic = src.read(5, 'magic')
    if magic != CUSTOM_MAGIC:
        raise BackupCheckError('integrity', 'wrong magic %r at byte offset 0 (expected PGDMP)' % (magic,), 0)
    vmaj = src.read_byte('header version')
    vmin = src.read_byte('header version')
    vrev = src.read_byte('header version')
    info['version'] = '%d.%d-%d' % (vmaj, vmin, vrev)
    version = (vmaj, vmin)
    if not SUPPORTED_VERSIONS[0] <= version <= SUPPORTED_VERSIONS[1]:
        raise UnknownArchiveVersion(info['version'], 5)
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
    """A Budget that does not count the first ``skip`` bytes again (ISA-L counted them before zlib took over)."""

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
        self.decomp = decompressobj(self.inflater, zlib.MAX_WBITS) if compression == 'gzip' else None
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
                    out = decomp.decompress(data, OUT_MAX)
                    if out:
                        if self.budget is not None:
                            self.budget.add(len(out), inner=True)
                            self.counted += len(out)
                        self._out(out)
                    if decomp.eof:
                        break
                    data = decomp.unconsumed_tail
            except INFLATE_ERRORS as exc:
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
                    decomp.decompress(piece, OUT_MAX)
                    if decomp.eof:
                        break
                    piece = decomp.unconsumed_tail
            except INFLATE_ERRORS as exc:
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
            except Truncated as exc:
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
            except Truncated as exc:
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


def verify_custom(src, result, count_rows, warnings):
    info = result['archive']
    try:
        _parse_custom_header(src, info)
    except Truncated as exc:
        raise BackupCheckError('integrity', 'archive truncated: the file ends at byte offset %d in the header '
                               '(reading %s)' % (exc.offset, exc.what), exc.offset)
    result['compression'] = info['compression']
    if info['compression'] == 'gzip' and not result.get('decompressor'):
        result['decompressor'] = src.inflater
    try:
        entries = _parse_toc(src, info)
    except Truncated as exc:
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
        except Truncated as exc:
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
                except Truncated as exc:
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


def custom_summary(result):
    info = result.get('archive') or {}
    if 'toc_entries' not in info:
        return ''
    return '; custom archive %s, %d TOC entries, %d data blocks read (compression %s)' % (
        info.get('version'), info['toc_entries'], info.get('data_blocks', 0), result.get('compression'))


def custom_completeness(result, missing, end):
    if missing:
        names = ', '.join(_entry_label(e) for e in missing[:10])
        more = ' and %d more' % (len(missing) - 10) if len(missing) > 10 else ''
        result['checks']['completeness'] = check(
            False, 'missing data blocks: the archive ends at byte offset %d without the data of %s%s'
            % (end, names, more))
    else:
        result['checks']['completeness'] = check(True, 'every TOC entry with data has its data block (%d)'
                                                 % result['archive'].get('data_blocks', 0))
