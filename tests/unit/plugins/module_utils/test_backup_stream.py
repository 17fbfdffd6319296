# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The streaming verifier against real pg_dump outputs (tests/unit/fixtures/backups, made by
make_fixtures.sh from PostgreSQL 15) and corruptions derived from them at run time."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import hashlib
import os
import shutil
import threading
import time

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_inflate
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import (
    list_backups,
    parse_duration,
    table_matches,
    verify_backup,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
CUSTOM = os.path.join(FIXTURES, 'tgquiz_fixture.dump')
CUSTOM_Z0 = os.path.join(FIXTURES, 'tgquiz_fixture_z0.dump')
CUSTOM_PIPE = os.path.join(FIXTURES, 'tgquiz_fixture_pipe.dump')
PLAIN_GZ = os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz')
ROWS = {'public.users': 40, 'public.quiz_results': 300, 'public.empty_table': 0}
TABLES = ['public.empty_table', 'public.quiz_results', 'public.users']


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _write(tmp_path, name, data):
    path = str(tmp_path / name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def _sql():
    with gzip.open(PLAIN_GZ, 'rb') as f:
        return f.read()


def _blocks(path):
    return verify_backup(path)['archive']['blocks']


def _block(path, table):
    return [b for b in _blocks(path) if b['entry'].endswith('(TABLE DATA %s)' % table)][0]


# --- good backups -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('path, compression', [
    (CUSTOM, 'gzip'), (CUSTOM_Z0, 'none'), (CUSTOM_PIPE, 'gzip'),
])
def test_custom_archives_pass(path, compression):
    result = verify_backup(path, expected_tables=['users', 'public.quiz_results'])
    assert result['passed'], result['msg']
    assert result['failed_checks'] == []
    assert result['format'] == 'custom'
    assert result['compression'] == compression
    assert sorted(result['tables']) == TABLES
    assert result['row_counts'] == ROWS
    assert result['sha256'] == hashlib.sha256(_read(path)).hexdigest()
    archive = result['archive']
    assert archive['version'] == '1.14-0'
    assert archive['dbname'] == 'tgops_fixture'
    assert archive['toc_entries'] == 24
    assert archive['data_blocks'] == 4
    assert archive['large_objects'] == 1
    assert list(result['checks']) == [
        'readable', 'size', 'age', 'integrity', 'completeness', 'content', 'expected_tables']


def test_plain_gzip_passes():
    result = verify_backup(PLAIN_GZ, expected_tables=['users', 'quiz_results'])
    assert result['passed'], result['msg']
    assert (result['format'], result['compression']) == ('plain', 'gzip')
    assert result['row_counts'] == ROWS
    assert sorted(result['tables']) == TABLES
    assert result['gzip_members'] == 1
    assert result['uncompressed_size'] == len(_sql())
    assert 'trailer' in result['checks']['completeness']['detail']
    assert result['sha256'] == hashlib.sha256(_read(PLAIN_GZ)).hexdigest()


def test_plain_uncompressed_detected_by_content(tmp_path):
    path = _write(tmp_path, 'backup.bin', _sql())
    result = verify_backup(path)
    assert result['passed'], result['msg']
    assert (result['format'], result['compression']) == ('plain', 'none')
    assert result['row_counts'] == ROWS


def test_custom_detected_by_content_not_name(tmp_path):
    path = str(tmp_path / 'looks_like.sql.gz')
    shutil.copy(CUSTOM, path)
    result = verify_backup(path)
    assert result['passed'] and result['format'] == 'custom'


def test_multi_member_gzip(tmp_path):
    sql = _sql()
    half = len(sql) // 2
    path = _write(tmp_path, 'multi.sql.gz', gzip.compress(sql[:half]) + gzip.compress(sql[half:]))
    result = verify_backup(path)
    assert result['passed'], result['msg']
    assert result['gzip_members'] == 2
    assert result['row_counts'] == ROWS


def test_gzipped_custom_archive(tmp_path):
    path = _write(tmp_path, 'archive.dump.gz', gzip.compress(_read(CUSTOM_PIPE)))
    result = verify_backup(path)
    assert result['passed'], result['msg']
    assert result['format'] == 'custom' and result['outer_compression'] == 'gzip'
    assert result['row_counts'] == ROWS


@pytest.mark.parametrize('chunk_size', [1, 2, 3, 5, 7, 64, 4093])
@pytest.mark.parametrize('path', [CUSTOM, CUSTOM_Z0, PLAIN_GZ])
def test_block_boundaries_do_not_matter(path, chunk_size):
    reference = verify_backup(path)
    result = verify_backup(path, chunk_size=chunk_size)
    assert result['passed'], result['msg']
    assert result['row_counts'] == reference['row_counts']
    assert result['tables'] == reference['tables']
    assert result['sha256'] == reference['sha256']


# --- corrupt custom archives --------------------------------------------------------------------------------

@pytest.mark.parametrize('cut, where', [
    (3, 'in the header (reading magic)'),
    (10, 'in the header (reading header format)'),
    (30, 'in the header (reading header timestamp)'),
    (100, 'in the header'),
    (2000, 'in the table of contents (reading TOC entry #'),
])
def test_custom_truncated_in_header_and_toc(tmp_path, cut, where):
    path = _write(tmp_path, 'cut.dump', _read(CUSTOM)[:cut])
    result = verify_backup(path)
    assert not result['passed']
    assert 'integrity' in result['failed_checks']
    detail = result['checks']['integrity']['detail']
    assert 'the file ends at byte offset %d' % cut in detail
    assert where in detail
    assert 'integrity' in result['msg'] and 'byte offset %d' % cut in result['msg']


def test_custom_truncated_mid_data_block(tmp_path):
    block = _block(CUSTOM, 'public.quiz_results')
    cut = (block['offset'] + block['end']) // 2
    path = _write(tmp_path, 'cut.dump', _read(CUSTOM)[:cut])
    result = verify_backup(path)
    assert result['failed_checks'] == ['integrity', 'completeness']
    detail = result['checks']['integrity']['detail']
    assert 'the file ends at byte offset %d' % cut in detail
    assert 'TABLE DATA public.quiz_results' in detail


def test_custom_truncated_after_toc_is_incomplete(tmp_path):
    toc_end = verify_backup(CUSTOM)['archive']['toc_end']
    path = _write(tmp_path, 'cut.dump', _read(CUSTOM)[:toc_end])
    result = verify_backup(path)
    # every byte that is there is sound; the data blocks are missing
    assert result['failed_checks'] == ['completeness']
    detail = result['checks']['completeness']['detail']
    assert 'byte offset %d' % toc_end in detail
    for table in ('public.users', 'public.quiz_results', 'public.empty_table'):
        assert 'TABLE DATA %s' % table in detail


def test_custom_truncated_between_blocks(tmp_path):
    block = _block(CUSTOM, 'public.quiz_results')
    path = _write(tmp_path, 'cut.dump', _read(CUSTOM)[:block['end']])
    result = verify_backup(path)
    assert result['failed_checks'] == ['completeness']
    detail = result['checks']['completeness']['detail']
    assert 'TABLE DATA public.users' in detail and 'BLOBS' in detail
    assert 'TABLE DATA public.quiz_results' not in detail


def test_custom_bit_flip_mid_data_block(tmp_path):
    block = _block(CUSTOM, 'public.quiz_results')
    data = bytearray(_read(CUSTOM))
    middle = (block['offset'] + block['end']) // 2
    data[middle] ^= 0x10
    path = _write(tmp_path, 'flip.dump', bytes(data))
    result = verify_backup(path)
    assert 'integrity' in result['failed_checks']
    detail = result['checks']['integrity']['detail']
    assert 'corrupt compressed data in the data block of TOC entry' in detail
    assert 'TABLE DATA public.quiz_results' in detail
    assert 'byte offset' in detail


def test_pg_restore_list_would_not_notice(tmp_path):
    # the TOC is intact: only reading the data blocks finds the damage
    block = _block(CUSTOM, 'public.users')
    path = _write(tmp_path, 'cut.dump', _read(CUSTOM)[:block['offset'] + 20])
    result = verify_backup(path)
    assert result['archive']['toc_entries'] == 24
    assert not result['passed']
    assert 'TABLE DATA public.users' in result['checks']['integrity']['detail']


def test_wrong_magic(tmp_path):
    path = _write(tmp_path, 'x.dump', b'PGDMQ' + _read(CUSTOM)[5:])
    result = verify_backup(path)
    assert 'integrity' in result['failed_checks']
    assert 'wrong magic' in result['checks']['integrity']['detail']
    assert 'byte offset 0' in result['checks']['integrity']['detail']


def test_empty_file(tmp_path):
    path = _write(tmp_path, 'empty.dump', b'')
    result = verify_backup(path)
    assert not result['passed']
    assert result['failed_checks'] == ['size', 'integrity', 'completeness']
    assert 'empty file' in result['checks']['integrity']['detail']
    assert result['checks']['size']['detail'] == '0 bytes (minimum 1)'


def test_gzip_of_nothing(tmp_path):
    # `pg_dump | gzip` without pipefail: gzip exits 0 with a 20-byte file
    path = _write(tmp_path, 'toogoodtogo_1.sql.gz', gzip.compress(b''))
    result = verify_backup(path, min_size=1024)
    assert 'size' in result['failed_checks'] and 'integrity' in result['failed_checks']
    assert '0 bytes: an empty dump' in result['checks']['integrity']['detail']


# --- corrupt plain dumps ------------------------------------------------------------------------------------

def test_gzip_bad_crc(tmp_path):
    data = bytearray(_read(PLAIN_GZ))
    data[-8] ^= 0xff  # CRC-32 of the trailer
    path = _write(tmp_path, 'crc.sql.gz', bytes(data))
    result = verify_backup(path)
    assert 'integrity' in result['failed_checks']
    detail = result['checks']['integrity']['detail']
    assert 'gzip member 1 (starting at byte offset 0) is corrupt' in detail
    assert 'incorrect data check' in detail
    # zlib knows once it has read the whole CRC-32: its last byte
    assert 'decompression fails at byte offset %d' % (len(data) - 5) in detail


def test_gzip_bad_length(tmp_path):
    data = bytearray(_read(PLAIN_GZ))
    data[-2] ^= 0x01  # ISIZE of the trailer
    path = _write(tmp_path, 'len.sql.gz', bytes(data))
    result = verify_backup(path)
    assert 'incorrect length check' in result['checks']['integrity']['detail']
    assert 'decompression fails at byte offset %d' % (len(data) - 1) in result['checks']['integrity']['detail']


@pytest.mark.parametrize('cut', [5, 100, 2000, -9, -1])
def test_gzip_truncated(tmp_path, cut):
    data = _read(PLAIN_GZ)
    path = _write(tmp_path, 'cut.sql.gz', data[:cut])
    end = cut if cut > 0 else len(data) + cut
    result = verify_backup(path)
    assert result['failed_checks'] == ['integrity', 'completeness']
    assert 'gzip stream truncated: the file ends at byte offset %d' % end in result['checks']['integrity']['detail']


@pytest.mark.parametrize('chunk_size', [7, 1024 * 1024])
def test_gzip_bit_flip(tmp_path, chunk_size):
    data = bytearray(_read(PLAIN_GZ))
    middle = len(data) // 2
    data[middle] ^= 0x04
    path = _write(tmp_path, 'flip.sql.gz', bytes(data))
    result = verify_backup(path, chunk_size=chunk_size)
    assert 'integrity' in result['failed_checks']
    detail = result['checks']['integrity']['detail']
    assert 'gzip member 1' in detail
    stop = int(detail.split('decompression fails at byte offset ')[1].split(' ')[0])
    assert middle <= stop < len(data)
    assert stop == int(verify_backup(path)['checks']['integrity']['detail'].split('fails at byte offset ')[1].split()[0])


def test_gzip_trailing_garbage(tmp_path):
    path = _write(tmp_path, 'garbage.sql.gz', _read(PLAIN_GZ) + b'not gzip at all')
    result = verify_backup(path)
    assert 'integrity' in result['failed_checks']
    detail = result['checks']['integrity']['detail']
    assert 'unexpected data after gzip member 1 at byte offset %d' % os.path.getsize(PLAIN_GZ) in detail


def test_plain_missing_trailer(tmp_path):
    sql = _sql()
    cut = sql.index(b'--\n-- PostgreSQL database dump complete')
    path = _write(tmp_path, 'notrailer.sql.gz', gzip.compress(sql[:cut]))
    result = verify_backup(path)
    assert result['failed_checks'] == ['completeness']
    assert 'trailer "-- PostgreSQL database dump complete" missing' in result['checks']['completeness']['detail']


def test_plain_truncated_inside_copy(tmp_path):
    sql = _sql()
    start = sql.index(b'COPY public.quiz_results')
    cut = sql.index(b'\n', start + 2000) + 1
    path = _write(tmp_path, 'cut.sql.gz', gzip.compress(sql[:cut]))
    result = verify_backup(path)
    assert result['failed_checks'] == ['completeness']
    detail = result['checks']['completeness']['detail']
    assert 'ends inside the COPY data of table public.quiz_results' in detail
    assert 'uncompressed byte offset %d' % cut in detail


def test_garbage_inside_gzip(tmp_path):
    path = _write(tmp_path, 'random.sql.gz', gzip.compress(b'\x00\x01\x02 binary junk' * 10))
    result = verify_backup(path)
    assert 'neither a plain SQL dump nor a custom archive' in result['checks']['integrity']['detail']


# --- size, age, tables, checksum, unreadable -----------------------------------------------------------------

def test_min_size_and_max_age(tmp_path):
    path = str(tmp_path / 'old.dump')
    shutil.copy(CUSTOM, path)
    old = time.time() - 3 * 86400
    os.utime(path, (old, old))
    result = verify_backup(path, min_size=10 ** 6, max_age='26h')
    assert result['failed_checks'] == ['size', 'age']
    assert 'maximum 93600' in result['checks']['age']['detail']
    assert verify_backup(path, max_age='7d')['passed']


def test_expected_tables_missing():
    result = verify_backup(CUSTOM, expected_tables=['users', 'mint_transactions', 'other.users'])
    assert result['failed_checks'] == ['expected_tables']
    assert 'missing table(s): mint_transactions, other.users' in result['checks']['expected_tables']['detail']


def test_expected_sha256():
    digest = hashlib.sha256(_read(PLAIN_GZ)).hexdigest()
    assert verify_backup(PLAIN_GZ, expected_sha256=digest.upper())['checks']['checksum']['passed']
    result = verify_backup(PLAIN_GZ, expected_sha256='0' * 64)
    assert result['failed_checks'] == ['checksum']


def test_z0_bit_flip_needs_checksum(tmp_path):
    # uncompressed data blocks carry no checksum: only a known sha256 catches a flipped byte
    block = _block(CUSTOM_Z0, 'public.quiz_results')
    data = bytearray(_read(CUSTOM_Z0))
    data[(block['offset'] + block['end']) // 2] ^= 0x01
    path = _write(tmp_path, 'flip.dump', bytes(data))
    digest = hashlib.sha256(_read(CUSTOM_Z0)).hexdigest()
    result = verify_backup(path, expected_sha256=digest)
    assert result['failed_checks'] == ['checksum']
    assert 'carries no checksum' in result['checks']['integrity']['detail']


def test_missing_and_not_regular(tmp_path):
    result = verify_backup(str(tmp_path / 'nope.dump'))
    assert result['failed_checks'][0] == 'readable'
    assert 'No such file' in result['checks']['readable']['detail']
    result = verify_backup(str(tmp_path))
    assert 'not a regular file' in result['checks']['readable']['detail']


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads any file')
def test_unreadable(tmp_path):
    path = str(tmp_path / 'secret.dump')
    shutil.copy(CUSTOM, path)
    os.chmod(path, 0)
    result = verify_backup(path)
    assert result['failed_checks'][0] == 'readable'


@pytest.mark.parametrize('value, seconds', [
    (90, 90), ('90', 90), ('45m', 2700), ('26h', 93600), ('7d', 604800), ('1w', 604800), ('1d12h', 129600),
    ('1.5h', 5400), (None, None),
])
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize('value', ['', 'soon', '7 days', '-5', '5x', True])
def test_parse_duration_rejects(value):
    with pytest.raises(ValueError):
        parse_duration(value)


def test_table_matches():
    assert table_matches('users', 'public.users')
    assert table_matches('public.users', 'public.users')
    assert not table_matches('other.users', 'public.users')
    assert not table_matches('user', 'public.users')


def test_list_backups_newest_first_by_mtime(tmp_path):
    """The listing backup_verify picks the newest backup from (the retention policy is _pg_backup's: its tests are
    in test_pg_backup.py)."""
    now = time.time()
    for day in range(10):
        path = tmp_path / ('toogoodtogo_202501%02d_030000.sql.gz' % (day + 1))
        path.write_bytes(b'x')
        mtime = now - (9 - day) * 86400 - 60
        os.utime(str(path), (mtime, mtime))
    (tmp_path / 'unrelated.txt').write_bytes(b'x')
    backups = list_backups(str(tmp_path), 'toogoodtogo_*.sql.gz', now=now)
    assert len(backups) == 10
    assert backups[0]['path'].endswith('toogoodtogo_20250110_030000.sql.gz')
    assert [round(b['age_seconds']) for b in backups] == [(9 - day) * 86400 + 60 for day in range(9, -1, -1)]
    assert all(os.path.exists(b['path']) for b in backups)


TRICKY_SQL = (
    b'--\n-- PostgreSQL database dump\n--\n\n'
    b'CREATE TABLE "Sales"."Order Items" (\n    id integer\n);\n\n'
    b'CREATE UNLOGGED TABLE public.cache (k text);\n\n'
    b'COPY "Sales"."Order Items" (id, note) FROM stdin;\n'
    b'1\t\\\\.\n'            # a value that is a backslash and a dot: escaped, not the terminator
    b'2\tends with \\\\.\n'
    b'3\t\\N\n'
    b'\\.\n\n'
    b'COPY public.cache (k) FROM stdin;\n'
    b'\\.\n\n'
    b'--\n-- PostgreSQL database dump complete\n--\n\n'
)


@pytest.mark.parametrize('chunk_size', [1, 2, 3, 4, 5, 11, 4096])
def test_plain_scanner_quoted_names_and_escaped_rows(tmp_path, chunk_size):
    path = _write(tmp_path, 'tricky.sql.gz', gzip.compress(TRICKY_SQL))
    result = verify_backup(path, expected_tables=['Sales.Order Items', 'cache'], chunk_size=chunk_size)
    assert result['passed'], result['msg']
    assert result['tables'] == ['Sales.Order Items', 'public.cache']
    assert result['row_counts'] == {'Sales.Order Items': 3, 'public.cache': 0}


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == 'tgops-backup-prefetch']


def test_prefetch_keeps_order_and_reraises():
    def items():
        yield 1
        yield 2
        raise ValueError('boom at 3')
    prefetch = _backup_inflate.Prefetch(items())
    got = []
    with pytest.raises(ValueError, match='boom at 3'):
        for item in prefetch:
            got.append(item)
    prefetch.close()
    assert got == [1, 2]


def test_prefetch_close_stops_a_blocked_producer():
    def endless():
        while True:
            yield b'x' * 1024
    prefetch = _backup_inflate.Prefetch(endless(), depth=2)
    assert next(iter(prefetch)) == b'x' * 1024
    started = time.time()
    prefetch.close()
    assert time.time() - started < 2
    assert _prefetch_threads() == []


@pytest.mark.parametrize('path', [CUSTOM, PLAIN_GZ])
def test_no_thread_left_after_failure(tmp_path, path):
    data = _read(path)
    cut = _write(tmp_path, 'cut', data[:len(data) * 3 // 4])
    assert not verify_backup(cut)['passed']
    assert verify_backup(path)['passed']
    assert _prefetch_threads() == []
