# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Streaming verification of PostgreSQL backups (private to tgops.runbooks).

``verify_backup(path, ...)`` reads a backup once, in fixed-size blocks, and in that single pass

* computes its SHA-256 (``_backup_file``),
* decompresses every byte (``_backup_inflate``: gzip members with their CRC-32 and length trailers; the zlib
  streams of a custom-format archive's data blocks with their Adler-32),
* parses a custom-format (``pg_dump -Fc``) archive itself (``_backup_custom``): header, table of contents,
  then every data block to the end of the file, which ``pg_restore --list`` does not,
* scans plain SQL with a lexer that follows psql (``_backup_sql``) for ``CREATE TABLE`` / ``COPY`` /
  ``INSERT`` statements, counts COPY rows and looks for the ``-- PostgreSQL database dump complete`` trailer.

Then it judges the checks (CHECK_NAMES) and the file's age (``parse_duration``). ``list_backups`` reads a
backup directory (the retention policy is backup_retention's, ``_pg_backup.retention_plan``). Hostile input is
expected: time is linear in the size of the (decompressed) stream, memory stays constant whatever the file
holds, and a structural error ends the reading at once. Nothing here imports Ansible, so the function runs from
tests, benchmarks and the scheduled backup runner (roles/backup/files/tgops_backup.py).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import hashlib
import math
import os
import re
import stat
import time

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_file import (
    BackupCheckError, CHUNK_SIZE, CUSTOM_MAGIC, GZIP_MAGIC, Reader, check, iso_mtime, not_regular, open_regular,
    short,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_inflate import (
    Budget, DEFAULT_MAX_RATIO, Prefetch, choose_inflater, gunzip,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_custom import (
    Source, UnknownArchiveVersion, custom_completeness, custom_summary, parse_listing, verify_custom,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_sql import PlainScanner, looks_like_sql, plain_done


CHECK_NAMES = ('readable', 'size', 'age', 'integrity', 'completeness', 'content', 'expected_tables', 'checksum')

_DURATION_RE = re.compile(r'(\d+(?:\.\d+)?)\s*([smhdw]?)', re.IGNORECASE)
_DURATION_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}


def parse_duration(value):
    """Seconds from an int/float or a string such as ``90``, ``45m``, ``26h``, ``7d``, ``1w``, ``1d12h``."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError('not a duration: %s' % (short(value),))
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError('not a duration: %s is too large' % (short(value),))
        if not math.isfinite(seconds):
            raise ValueError('not a duration: %s (a number of seconds must be finite)' % (short(value),))
        if seconds < 0:
            raise ValueError('a duration cannot be negative: %s' % (short(value),))
        return seconds
    text = str(value).strip()
    if not text:
        raise ValueError('empty duration')
    total = 0.0
    pos = 0
    for match in _DURATION_RE.finditer(text):
        if text[pos:match.start()].strip():
            raise ValueError('not a duration: %s (use seconds or e.g. 26h, 7d, 1d12h)' % (short(value),))
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError('not a duration: %s (use seconds or e.g. 26h, 7d, 1d12h)' % (short(value),))
    if not math.isfinite(total):
        raise ValueError('not a duration: %s is too large' % (short(value),))
    return total


def table_matches(wanted, found):
    """``users`` matches ``public.users``; ``public.users`` only matches itself."""
    if wanted == found:
        return True
    if '.' not in wanted and found.split('.', 1)[-1] == wanted:
        return True
    return False


def verify_backup(path, min_size=1, max_age=None, expected_tables=None, expected_sha256=None, count_rows=True,
                  chunk_size=CHUNK_SIZE, now=None, require_data=True, max_ratio=DEFAULT_MAX_RATIO,
                  max_decompressed_size=None, inflater=None, list_archive=None):
    """Verify one backup file; returns a dict (see the backup_verify module's RETURN) and never raises
    for a bad backup: every failure is a check with ``passed: false``. Bad arguments raise ValueError.

    ``list_archive(path)`` returns ``(rc, stdout, stderr)`` of ``pg_restore --list path``; it is called only for a
    custom archive whose version this reader does not know (_backup_custom.SUPPORTED_VERSIONS), so that a newer
    pg_dump's archives still verify, with what pg_restore reads (the table of contents) and a warning.

    ``max_ratio`` (0: no ratio bound) and ``max_decompressed_size`` (bytes, None: none) bound the bytes the
    file's compressed streams may produce (see Budget). ``inflater`` (``isal``, ``zlib``; None: the best
    importable) changes the speed only: the result is the same but for its ``decompressor``."""
    inflater = choose_inflater(inflater)
    if isinstance(max_ratio, bool) or not isinstance(max_ratio, (int, float)) or max_ratio < 0 \
            or not math.isfinite(max_ratio):
        raise ValueError('max_ratio must be a finite number of at least 0 (0: no bound), got %s' % short(max_ratio))
    if max_decompressed_size is not None and (isinstance(max_decompressed_size, bool) or not isinstance(
            max_decompressed_size, int) or max_decompressed_size < 1):
        raise ValueError('max_decompressed_size must be a number of bytes of at least 1, got %s'
                         % short(max_decompressed_size))
    started = time.time()
    now = started if now is None else now
    expected_tables = list(expected_tables or [])
    max_age_s = parse_duration(max_age)
    result = {
        'path': path, 'format': 'unknown', 'compression': None, 'size': None, 'mtime': None, 'age_seconds': None,
        'sha256': None, 'duration_seconds': 0.0, 'throughput_mb_s': None, 'tables': [], 'row_counts': {},
        'archive': {}, 'checks': {}, 'passed': False, 'failed_checks': [], 'findings': [], 'warnings': [], 'msg': '',
        'decompressor': None,
    }
    checks = result['checks']
    warnings = result['warnings']

    try:
        st = os.lstat(path)
    except (OSError, ValueError) as exc:
        checks['readable'] = check(False, 'cannot stat %s: %s' % (path, getattr(exc, 'strerror', None) or exc))
        return _finish(result, started, expected_sha256)
    if not stat.S_ISREG(st.st_mode):
        checks['readable'] = check(False, not_regular(path, st.st_mode))
        return _finish(result, started, expected_sha256)
    result['size'] = st.st_size
    result['mtime'] = iso_mtime(st.st_mtime)
    age = max(0.0, now - st.st_mtime)
    result['age_seconds'] = round(age, 3)
    checks['size'] = check(st.st_size >= min_size, '%d bytes (minimum %d)' % (st.st_size, min_size))
    if max_age_s is None:
        checks['age'] = check(True, '%d seconds old (no max_age set)' % age)
    else:
        checks['age'] = check(age <= max_age_s, '%d seconds old (maximum %d)' % (age, max_age_s))

    hasher = hashlib.sha256()
    listed_sha256 = None
    try:
        fobj = open_regular(path, st)
    except (IOError, OSError) as exc:
        checks['readable'] = check(False, 'cannot open %s: %s' % (path, exc.strerror or exc))
        return _finish(result, started, expected_sha256)
    except ValueError as exc:
        checks['readable'] = check(False, str(exc))
        return _finish(result, started, expected_sha256)
    checks['readable'] = check(True, 'regular file, opened for reading')
    try:
        with fobj:
            reader = Reader(fobj, chunk_size, hasher, size=st.st_size)
            _verify_stream(reader, result, count_rows, warnings,
                           Budget(st.st_size, max_ratio, max_decompressed_size), inflater)
            unknown = result.pop('_unknown_version', None)
            if unknown is not None and list_archive is not None:
                listed_sha256 = _listed_instead(reader, fobj, result, unknown, list_archive, count_rows)
            elif checks['integrity']['passed']:  # set by _verify_stream whatever happens but a read error
                # drain anything a parser did not need (it normally reads everything), so sha256 covers the file
                for dummy in reader.chunks():
                    pass
            result.setdefault('bytes_read', reader.bytes_read)
    except (IOError, OSError) as exc:
        checks['readable'] = check(False, 'read error: %s' % (exc.strerror or exc))
    integrity_ok = checks.get('integrity', {}).get('passed', False)
    if checks['readable']['passed'] and integrity_ok:
        result['sha256'] = listed_sha256 or hasher.hexdigest()
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
            checks['expected_tables'] = check(False, 'missing table(s): %s (found: %s)'
                                              % (', '.join(missing), ', '.join(result['tables']) or 'none'))
        else:
            checks['expected_tables'] = check(True, 'all present: %s' % ', '.join(expected_tables))
    return _finish(result, started, expected_sha256)


def _content_check(result, content):
    tables, with_data, what = content
    if tables and with_data:
        return check(True, '%d table(s), %d with their data (%s)' % (tables, with_data, what))
    return check(False, 'no table data: the backup defines %d table(s) and holds the data of %d (%s); a backup of a '
                 'database with tables has both (a schema-only dump needs require_data=false)'
                 % (tables, with_data, what))


def _verify_stream(reader, result, count_rows, warnings, budget=None, inflater=None):
    checks = result['checks']
    inflater = choose_inflater(inflater)
    blocks = reader.chunks()
    first_off = 0
    first = b''
    for dummy, block in blocks:
        first += block
        if len(first) >= 512:
            break
    if not first:
        checks['integrity'] = check(False, 'empty file: 0 bytes, no backup magic at byte offset 0')
        checks['completeness'] = check(False, 'empty file')
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
            raw = Prefetch(all_blocks())
            prefetch = Prefetch(gunzip(raw, stats, reader, budget, inflater), inner=raw)
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
                src = Source(replay())
                src.budget = budget
                missing = verify_custom(src, result, count_rows, warnings)
                custom_completeness(result, missing, src.offset)
            elif looks_like_sql(head):
                result['format'] = 'plain'
                result['compression'] = 'gzip'
                scanner = PlainScanner(count_rows)
                for item in replay():
                    scanner.feed(item)
                plain_done(result, scanner)
            elif not head:
                raise BackupCheckError('integrity', 'the gzip stream decompresses to 0 bytes: an empty dump (did '
                                       'pg_dump fail in a pipe without pipefail?)', 0)
            else:
                raise BackupCheckError('integrity', 'the gzip stream decompresses to data that is neither a plain '
                                       'SQL dump nor a custom archive (it starts with %r)' % (head[:16],), 0)
            result['gzip_members'] = stats['members']
            result['uncompressed_size'] = stats['uncompressed']
            checks['integrity'] = check(True, '%d bytes read, %d gzip member(s) decompressed to %d bytes, CRC-32 '
                                        'and length trailers verified%s' % (
                                            reader.bytes_read, stats['members'], stats['uncompressed'],
                                            custom_summary(result)))
        elif first[:5] == CUSTOM_MAGIC or (len(first) < 5 and CUSTOM_MAGIC.startswith(first)):
            result['format'] = 'custom'
            prefetch = Prefetch(block for dummy, block in all_blocks())
            src = Source(prefetch, limit=reader.size)
            src.budget = budget
            # the data blocks with ISA-L: a refused one is read again from the file for zlib (inside a gzipped
            # archive, where offsets are not the file's, they stay with zlib)
            src.inflater = inflater
            src.reopen = reader.blocks_from
            missing = verify_custom(src, result, count_rows, warnings)
            custom_completeness(result, missing, src.offset)
            detail = '%d bytes read%s' % (reader.bytes_read, custom_summary(result))
            if result['compression'] == 'none':
                detail += '; data blocks are not compressed, so their content carries no checksum'
            checks['integrity'] = check(True, detail)
        elif looks_like_sql(first[:64]):
            result['format'] = 'plain'
            result['compression'] = 'none'
            scanner = PlainScanner(count_rows)
            for dummy, block in all_blocks():
                scanner.feed(block)
            plain_done(result, scanner)
            checks['integrity'] = check(True, '%d bytes read; plain SQL carries no checksum' % reader.bytes_read)
        elif first[257:262] == b'ustar':
            raise BackupCheckError('integrity', 'tar-format archive (pg_dump -Ft) at byte offset 257 is not '
                                   'supported; use -Fc', 257)
        else:
            raise BackupCheckError('integrity', 'wrong magic %r at byte offset 0: not a custom archive (PGDMP), gzip '
                                   '(1f 8b) or plain SQL' % (first[:8],), 0)
    except BackupCheckError as exc:
        checks['integrity'] = check(False, exc.message)
        checks['completeness'] = check(False, 'not verified: the backup could not be read to its end (integrity '
                                       'failed)')
        if isinstance(exc, UnknownArchiveVersion) and 'outer_compression' not in result:
            result['_unknown_version'] = exc.version  # pg_restore reads an archive file, not a gzipped one
    finally:
        if prefetch is not None:
            prefetch.close()


def _listed_instead(reader, fobj, result, version, list_archive, count_rows):
    """The custom archive's version is one this reader does not know: pg_restore --list reads it instead. Sets
    the integrity, completeness and content inputs from the listing and returns the file's sha256 (read again
    from the open file), or None when pg_restore cannot list it either (integrity stays failed, saying so)."""
    checks = result['checks']
    refused = checks['integrity']['detail']
    rc, out, err = list_archive(result['path'])
    if rc != 0:
        said = (err or out or '').strip().splitlines()
        checks['integrity'] = check(False, '%s; pg_restore --list could not read it either (exit %d%s)'
                                    % (refused, rc, ': %s' % short(said[-1], 200) if said else ''))
        return None
    try:
        listing = parse_listing(out)
    except ValueError as exc:
        checks['integrity'] = check(False, '%s; pg_restore --list printed no listing (%s)' % (refused, exc))
        return None
    if listing['version'] not in (None, version):
        checks['integrity'] = check(False, '%s; pg_restore --list read version %s: the file changed while it was '
                                    'read' % (refused, listing['version']))
        return None
    hasher = hashlib.sha256()
    size = 0
    for block in reader.blocks_from(0):  # the open file: the bytes a restore will pin
        hasher.update(block)
        size += len(block)
    now = os.fstat(fobj.fileno())
    if size != now.st_size or size != reader.size:
        checks['integrity'] = check(False, '%s; the file changed while pg_restore --list read it' % refused)
        return None
    result['bytes_read'] = size
    result['archive'] = {'version': version, 'read_by': 'pg_restore --list', 'toc_entries': listing['toc_entries']}
    result['tables'] = listing['tables']
    result['_content'] = (len(listing['tables']), len(listing['data_tables']),
                          '%d TOC entries listed by pg_restore' % listing['toc_entries'])
    checks['integrity'] = check(True, '%s: pg_restore --list read its header and table of contents (%d entries); '
                                'its data blocks were not read' % (refused, listing['toc_entries']))
    checks['completeness'] = check(True, 'not verified by this reader: pg_restore --list reads the table of '
                                   'contents only (restore_test=true restores every data block)')
    result['warnings'].append(
        'custom archive version %s is newer or older than this reader knows: only pg_restore --list read it, so its '
        'data blocks were neither read nor decompressed%s; restore_test=true restores them into a scratch database'
        % (version, ' and no rows were counted' if count_rows else ''))
    return hasher.hexdigest()


def _finish(result, started, expected_sha256):
    checks = result['checks']
    result.pop('_content', None)
    sha256_note = result.pop('sha256_note', None)
    if expected_sha256:
        if result['sha256'] is None:
            checks['checksum'] = check(False, 'no checksum: %s' % (sha256_note or 'the file could not be read'))
        elif result['sha256'].lower() == expected_sha256.strip().lower():
            checks['checksum'] = check(True, 'sha256 matches')
        else:
            checks['checksum'] = check(False, 'sha256 %s differs from the expected %s'
                                       % (result['sha256'], expected_sha256))
    for name in ('size', 'age', 'integrity', 'completeness'):
        if name not in checks:
            checks[name] = check(False, 'not run: the file is not readable')
    ordered = {}
    for name in CHECK_NAMES:
        if name in checks:
            ordered[name] = checks[name]
    result['checks'] = ordered
    result['failed_checks'] = [name for name, c in ordered.items() if not c['passed']]
    result['findings'] = ['%s: %s' % (name, ordered[name]['detail']) for name in result['failed_checks']]
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
            'mtime': iso_mtime(st.st_mtime),
            'age_seconds': round(max(0.0, now - st.st_mtime), 3),
        })
    found.sort(key=lambda b: (b['mtime_epoch'], b['path']), reverse=True)
    return found
