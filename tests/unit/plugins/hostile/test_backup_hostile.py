# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile backups (issue 7): one regression test per defect class of backup_verify, each run in a forked
child with a deadline, so a regression fails the test instead of hanging the suite.

The ``case_*`` builders write the crafted files; bench/hostile_backup_bench.py imports them (CASES) to
measure peak RSS and wall time of the same cases through the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import itertools
import json
import os
import pickle
import select
import signal
import time
import tracemalloc
import zlib

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_custom
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_restore import scratch_db_name
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import (
    list_backups,
    parse_duration,
    verify_backup,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import libpq_argv
from ansible_collections.tgops.runbooks.plugins.modules import backup_verify

from tgops_module_runner import run_module

FIXTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups'))
CUSTOM = os.path.join(FIXTURES, 'tgquiz_fixture.dump')
CUSTOM_Z0 = os.path.join(FIXTURES, 'tgquiz_fixture_z0.dump')
PLAIN_GZ = os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz')

HEADER = (b'--\n-- PostgreSQL database dump\n--\n\n'
          b'SET standard_conforming_strings = on;\n'
          b"SELECT pg_catalog.set_config('search_path', '', false);\n\n")
TRAILER = b'\n--\n-- PostgreSQL database dump complete\n--\n\n'
MIB = 1024 * 1024


def failed_checks(result):
    """The names of the failed checks of a backup_verify result: its checks whose passed is false, in order (the
    module says what is wrong in findings and returns no second list of names)."""
    return [name for name, check in result['checks'].items() if not check['passed']]


def _write(directory, name, data):
    path = os.path.join(str(directory), name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _gzip_stream(parts):
    """gzip of an iterable of byte strings, compressed as they come (never all in memory)."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = []
    for part in parts:
        out.append(comp.compress(part))
    out.append(comp.flush())
    return b''.join(out)


def _custom_layout(path):
    """(bytes, offset of the TOC entry count, first data block) of a fixture archive."""
    data = _read(path)
    src = _backup_custom.Source(iter([data]))
    info = {}
    _backup_custom._parse_custom_header(src, info)
    first_block = verify_backup(path)['archive']['blocks'][0]
    return data, src.offset, first_block


# --- crafted files (also used by the benchmark) ---------------------------------------------------------------

def case_copy_quotes(directory):
    """class 1: 146 bytes, COPY followed by 100 double quotes (exponential for the old regex)."""
    data = b'--\n-- PostgreSQL database dump\n--\n\nCOPY ' + b'"' * 100 + b' FROM\n'
    return _write(directory, 'copy_quotes.sql', data)


def case_inserts_copy_in_value(directory):
    """class 1 + 10: a valid --inserts dump (gzip) whose text value holds a newline, \\., COPY and quotes."""
    value = b"x\n\\.\nCOPY " + b'"' * 100 + b" FROM stdin;\nit''s\n"
    sql = (HEADER + b'CREATE TABLE public.notes (\n    id integer,\n    body text\n);\n\n'
           + b"INSERT INTO public.notes VALUES (1, '" + value + b"');\n"
           + b"INSERT INTO public.notes VALUES (2, E'a\\'b\\\\');\n" + TRAILER)
    return _write(directory, 'inserts.sql.gz', gzip.compress(sql))


def case_dotted_copy(directory, size=400 * 1024):
    """class 1: a 400 KB line COPY a.a.a... (quadratic for the old regex: every split of the dotted run)."""
    name = b'a.' * (size // 2) + b'a'
    return _write(directory, 'dotted.sql', HEADER + b'COPY ' + name + b'\n;\n' + TRAILER)


def case_dotted_create(directory, size=400 * 1024):
    """class 1: the same 400 KB dotted name in CREATE TABLE."""
    name = b'a.' * (size // 2) + b'a'
    return _write(directory, 'dotted_create.sql', HEADER + b'CREATE TABLE ' + name + b'\n;\n' + TRAILER)


def _bogus_chunk(path, tail_zeros, gzipped):
    data, dummy, block = _custom_layout(path)
    head = data[:block['offset'] + 1 + 5]  # block type and dump id of the first data block
    chunk = b'\x00' + (0x7fffffff).to_bytes(4, 'little')
    zeros = (b'\x00' * MIB for dummy in range(tail_zeros // MIB))
    if gzipped:
        return _gzip_stream(itertools.chain([head, chunk], zeros))
    return head + chunk + b''.join(zeros)


def case_bogus_chunk_raw(directory):
    """class 2 + 13: a chunk length of 0x7fffffff in a 1 MiB raw archive."""
    return _write(directory, 'chunk_raw.dump', _bogus_chunk(CUSTOM, MIB, False))


def case_bogus_chunk_gzip(directory, zeros=64 * MIB):
    """class 2: the same inside a gzip-wrapped archive, zeros behind it (zlib data blocks)."""
    return _write(directory, 'chunk_gzip.dump.gz', _bogus_chunk(CUSTOM, zeros, True))


def case_bogus_chunk_gzip_z0(directory, zeros=64 * MIB):
    """class 2: a gzip-wrapped -Z0 archive (uncompressed blocks): the zeros are valid chunk data."""
    return _write(directory, 'chunk_gzip_z0.dump.gz', _bogus_chunk(CUSTOM_Z0, zeros, True))


def case_zero_toc(directory):
    """class 11: a custom archive header with 0 TOC entries."""
    data, toc_at, dummy = _custom_layout(CUSTOM)
    return _write(directory, 'zero_toc.dump', data[:toc_at] + b'\x00' + (0).to_bytes(4, 'little'))


def case_trailer_only(directory):
    """class 11: 43 bytes, only the completeness trailer."""
    return _write(directory, 'trailer_only.sql', b'--\n-- PostgreSQL database dump complete\n--\n\n')


def case_weird_name(directory):
    """class 10: CREATE TABLE public."we.ird"" name" and its COPY data."""
    sql = (HEADER + b'CREATE TABLE public."we.ird"" name" (\n    id integer\n);\n\n'
           b'COPY public."we.ird"" name" (id) FROM stdin;\n1\n2\n\\.\n' + TRAILER)
    return _write(directory, 'weird.sql', sql)


def case_crlf(directory):
    """class 10: a real dump converted to CRLF line endings."""
    sql = gzip.decompress(_read(PLAIN_GZ)).replace(b'\n', b'\r\n')
    return _write(directory, 'crlf.sql.gz', gzip.compress(sql))


def case_wrong_magic_huge(directory):
    """class 13: wrong magic at byte 0 of a 4 GiB (sparse) file."""
    path = _write(directory, 'huge.dump', b'NOTADUMP' + b'\x01' * 4096)
    with open(path, 'r+b') as f:
        f.truncate(4 * 1024 * MIB)
    return path


def case_bogus_chunk_huge(directory):
    """class 13: a corrupt chunk length early in a 4 GiB (sparse) raw archive."""
    path = _write(directory, 'huge_chunk.dump', _bogus_chunk(CUSTOM, 0, False))
    with open(path, 'r+b') as f:
        f.truncate(4 * 1024 * MIB)
    return path


def case_toc_count_bomb(directory):
    """class 2: a gzip-wrapped archive whose TOC announces 10 million entries, then zeros."""
    data, toc_at, dummy = _custom_layout(CUSTOM)
    head = data[:toc_at] + b'\x00' + (10000000).to_bytes(4, 'little')
    return _write(directory, 'toc_bomb.dump.gz', _gzip_stream([head] + [b'\x00' * MIB] * 64))


def case_tiny_gzip_members(directory):
    """many 1-byte gzip members (each inflates to a tiny block): the scanner gathers them."""
    sql = HEADER + b'CREATE TABLE t (x int);\nCOPY t (x) FROM stdin;\n' + b'1\n' * 20000 + b'\\.\n' + TRAILER
    return _write(directory, 'members.sql.gz', b''.join(gzip.compress(sql[i:i + 1], 1) for i in range(len(sql))))


# name: (builder, deadline in seconds, verify_backup keyword arguments)
CASES = {
    'copy_quotes': (case_copy_quotes, 1, {}),
    'inserts_copy_in_value': (case_inserts_copy_in_value, 1, {}),
    'dotted_copy_400k': (case_dotted_copy, 2, {}),
    'dotted_create_400k': (case_dotted_create, 2, {}),
    'bogus_chunk_raw': (case_bogus_chunk_raw, 1, {}),
    'bogus_chunk_gzip': (case_bogus_chunk_gzip, 2, {}),
    'bogus_chunk_gzip_z0': (case_bogus_chunk_gzip_z0, 5, {}),
    'zero_toc': (case_zero_toc, 1, {}),
    'trailer_only': (case_trailer_only, 1, {}),
    'weird_name': (case_weird_name, 1, {'expected_tables': ['public']}),
    'crlf': (case_crlf, 1, {}),
    'wrong_magic_4g': (case_wrong_magic_huge, 1, {'expected_sha256': '0' * 64}),
    'bogus_chunk_4g': (case_bogus_chunk_huge, 1, {}),
    'toc_count_bomb': (case_toc_count_bomb, 5, {}),
    'tiny_gzip_members': (case_tiny_gzip_members, 5, {}),
}


def bounded_verify(path, deadline, trace_memory=False, **kwargs):
    """verify_backup() in a forked child, killed after ``deadline`` seconds.

    Returns (result or None if killed, seconds, peak bytes traced by tracemalloc or None)."""
    read_fd, write_fd = os.pipe()
    started = time.time()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_fd)
            if trace_memory:
                tracemalloc.start()
            result = verify_backup(path, **kwargs)
            peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
            payload = pickle.dumps((result, peak))
            with os.fdopen(write_fd, 'wb') as out:
                out.write(payload)
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    with os.fdopen(read_fd, 'rb') as pipe:
        while True:
            left = deadline - (time.time() - started)
            if left <= 0 or not select.select([pipe], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None, time.time() - started, None
            chunk = os.read(pipe.fileno(), 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    os.waitpid(pid, 0)
    seconds = time.time() - started
    if not chunks:
        raise AssertionError('the child died without a result')
    result, peak = pickle.loads(b''.join(chunks))
    return result, seconds, peak


def _verify_case(tmp_path, name, trace_memory=False):
    builder, deadline, kwargs = CASES[name]
    path = builder(tmp_path)
    result, seconds, peak = bounded_verify(path, deadline + 1, trace_memory=trace_memory, **kwargs)
    assert result is not None, '%s: no verdict within %d s (+1)' % (name, deadline)
    return result, seconds, peak


def _run(args, check_mode=False):
    return run_module(backup_verify, args, check_mode=check_mode)


# --- class 1: linear scanning -----------------------------------------------------------------------------------

def test_copy_followed_by_quotes_finishes_at_once(tmp_path):
    result, seconds, dummy = _verify_case(tmp_path, 'copy_quotes')
    assert os.path.getsize(str(tmp_path / 'copy_quotes.sql')) == 146
    assert not result['passed']
    assert 'unterminated SQL statement' in result['checks']['completeness']['detail']


def test_inserts_dump_with_copy_and_quotes_in_a_value_passes(tmp_path):
    # class 1 (the old regex hung on it) and class 10 (a COPY line inside a string is not a COPY)
    result, seconds, dummy = _verify_case(tmp_path, 'inserts_copy_in_value')
    assert result['passed'], result['msg']
    assert result['tables'] == ['public.notes']
    assert result['checks']['content']['passed']


@pytest.mark.parametrize('name', ['dotted_copy_400k', 'dotted_create_400k'])
def test_long_dotted_names_are_linear(tmp_path, name):
    result, seconds, dummy = _verify_case(tmp_path, name)
    # a name of 200000 parts is no table: nothing registered, so no content
    assert result['tables'] == []
    assert result['failed_checks'] == ['content']


@pytest.mark.parametrize('name', [b'a.' * 200000 + b'a', b'""', b'a.b.c.d', b'"a"."b"."c"."d"'])
def test_copy_from_stdin_without_a_valid_table_name(tmp_path, name):
    path = _write(tmp_path, 'bad_copy.sql', HEADER + b'COPY ' + name + b' (x) FROM stdin;\n1\n\\.\n' + TRAILER)
    result, seconds, dummy = bounded_verify(path, 3)
    assert result['failed_checks'] == ['integrity', 'completeness']
    assert 'names no valid table' in result['checks']['integrity']['detail']


def test_scan_time_grows_linearly(tmp_path):
    sizes = (100 * 1024, 800 * 1024)
    times = []
    for size in sizes:
        path = case_dotted_copy(tmp_path, size)
        started = time.time()
        verify_backup(path)
        times.append(time.time() - started)
    # 8x the input: a linear scan takes about 8x, a quadratic one 64x; allow noise on a busy machine
    assert times[1] < max(0.5, 24 * times[0]), times


# --- class 2: lengths checked against the file, memory bounded -----------------------------------------------------

def test_bogus_chunk_length_in_raw_archive_fails_at_once(tmp_path):
    result, seconds, peak = _verify_case(tmp_path, 'bogus_chunk_raw', trace_memory=True)
    detail = result['checks']['integrity']['detail']
    assert 'archive truncated: the file ends at byte offset %d' % os.path.getsize(
        str(tmp_path / 'chunk_raw.dump')) in detail
    assert 'in a chunk of 2147483647 bytes' in detail
    assert peak < 8 * MIB, peak


@pytest.mark.parametrize('name, where', [
    ('bogus_chunk_gzip', 'corrupt compressed data in the data block'),
    ('bogus_chunk_gzip_z0', 'archive truncated: the file ends at byte offset'),
])
def test_bogus_chunk_length_in_gzip_archive_memory_bounded(tmp_path, name, where):
    builder, deadline, kwargs = CASES[name]
    # 160 MiB of chunk data behind the bogus length: the old reader gathered the claimed 2 GiB chunk in one
    # growing buffer (here: all 160 MiB there are)
    path = builder(tmp_path, zeros=160 * MIB)
    result, seconds, peak = bounded_verify(path, deadline + 5, trace_memory=True, **kwargs)
    assert result is not None, '%s: no verdict within %d s' % (name, deadline + 5)
    assert where in result['checks']['integrity']['detail']
    # What remains is bounded by design, not by the file: the prefetch queue (4 inflated blocks of at most
    # OUT_MAX = 8 MiB), the block its thread holds while the queue is full and the one being parsed, plus the
    # parser's and zlib's buffers. A slow consumer (a loaded machine) fills the queue: 72 MiB was seen then.
    assert peak < 96 * MIB, peak


def test_toc_count_bomb_is_bounded(tmp_path):
    result, seconds, peak = _verify_case(tmp_path, 'toc_count_bomb', trace_memory=True)
    assert not result['passed']
    assert 'implausible dump id 0' in result['checks']['integrity']['detail']
    assert peak < 64 * MIB, peak


def test_kept_toc_strings_are_capped(tmp_path):
    data, toc_at, dummy = _custom_layout(CUSTOM)
    # first entry: dump id 1, had_dumper, two short strings, then a tag claiming 200 MiB, then zeros (gzip)
    entry = (b'\x00' + (1).to_bytes(4, 'little')) * 2 + (b'\x01' + (1).to_bytes(4, 'little')) * 2
    tag = b'\x00' + (200 * MIB).to_bytes(4, 'little')
    path = _write(tmp_path, 'tag.dump.gz', _gzip_stream(
        [data[:toc_at], b'\x00' + (1).to_bytes(4, 'little'), entry, tag, b'\x00' * MIB]))
    result, seconds, peak = bounded_verify(path, 5, trace_memory=True)
    assert 'implausible string length %d' % (200 * MIB) in result['checks']['integrity']['detail']
    assert peak < 16 * MIB, peak


# --- class 6: non-finite and negative numbers ------------------------------------------------------------------------

@pytest.mark.parametrize('value', [float('inf'), float('-inf'), float('nan'), '9' * 400, 10 ** 400, -1, '-5',
                                   '1e999', 'inf', 'nan'])
def test_max_age_non_finite_or_negative_fails_cleanly(value):
    result = _run({'path': CUSTOM, 'max_age': value})
    assert result['failed'] and result['msg'].startswith('max_age: '), result
    with pytest.raises(ValueError):
        parse_duration(value)


@pytest.mark.parametrize('args, message', [
    ({'min_size': -1}, 'min_size cannot be negative'),
    ({'login_port': 0}, 'login_port must be between 1 and 65535'),
    ({'port': 70000}, 'port must be between 1 and 65535'),
    ({'connect_params': {'password': 'x'}}, 'connect_params: password has its own option'),
    ({'connect_params': {'host=evil': 'x'}}, "connect_params: 'host=evil' is not a libpq connection keyword"),
    ({'connect_timeout': -3}, 'connect_timeout cannot be negative'),
    ({'restore_min_rows': {'users': float('inf')}}, 'restore_min_rows: users needs a non-negative integer'),
    ({'restore_min_rows': {'users': float('nan')}}, 'restore_min_rows: users needs a non-negative integer'),
    ({'restore_min_rows': {'users': '1e999'}}, 'restore_min_rows: users needs a non-negative integer'),
    ({'restore_min_rows': {'users': -1}}, 'restore_min_rows: users cannot be negative'),
    ({'restore_min_rows': {'': 1}}, 'restore_min_rows: table names must be 1 to 200 characters'),
    ({'expected_sha256': 'abc'}, 'expected_sha256 must be 64 hexadecimal digits'),
    ({'expected_tables': ['a\x00b']}, 'expected_tables: contains a NUL character'),
    ({'path': CUSTOM + '\x00x'}, 'path: contains a NUL character'),
])
def test_bad_numbers_and_strings_fail_cleanly(args, message):
    result = _run(dict({'path': CUSTOM}, **args))
    assert result['failed'] and message in result['msg'], result['msg']


@pytest.mark.parametrize('args, message', [
    ({'min_size': float('inf')}, 'min_size must be an integer, got inf'),
    ({'port': 'Infinity'}, 'port must be an integer, got Infinity'),
    ({'retention': {'keep': float('-inf')}}, 'retention.keep must be an integer, got -inf'),
    ({'retention': False}, 'retention must be a dictionary (with format, keep, keep_days, prefix), got False'),
])
def test_values_that_crash_ansible_core_validation_fail_cleanly(args, message):
    # ansible-core 2.19 itself raises (OverflowError, TypeError) on these before the module runs
    result = _run(dict({'path': CUSTOM}, **args))
    assert result['failed'] and message in result['msg'], result['msg']


# --- class 9: database names never parsed as connection strings ------------------------------------------------

@pytest.mark.parametrize('prefix', ['x=', 'tgops host=127.0.0.1 dbname=prod ', 'Upper_', '', 'a' * 42, '1abc',
                                    "q'", 'postgresql://x/'])
def test_restore_db_prefix_is_validated(prefix):
    result = _run({'path': CUSTOM, 'restore_db_prefix': prefix, 'restore_test': True})
    assert result['failed'] and result['msg'].startswith('restore_db_prefix must be 1 to 41 characters'), result
    with pytest.raises(ValueError):
        scratch_db_name(prefix)


def test_database_names_go_in_as_quoted_conninfo_values():
    argv = libpq_argv({'port': 5432}, "prod' host=evil dbname=x\\")
    value = argv[argv.index('--dbname') + 1]
    assert value == "dbname='prod\\' host=evil dbname=x\\\\'"


# --- class 10: the plain-SQL parser -------------------------------------------------------------------------------

def test_quoted_name_with_dot_and_quote(tmp_path):
    result, seconds, dummy = _verify_case(tmp_path, 'weird_name')
    assert result['tables'] == ['public.we.ird" name']
    assert result['row_counts'] == {'public.we.ird" name': 2}
    # expected_tables: [public] used to pass on the name "public"
    assert result['failed_checks'] == ['expected_tables']


def test_crlf_dump_is_rejected_with_reason(tmp_path):
    result, seconds, dummy = _verify_case(tmp_path, 'crlf')
    assert 'integrity' in result['failed_checks']
    assert 'CRLF line ending at uncompressed byte offset 2' in result['checks']['integrity']['detail']


def test_crlf_only_on_the_copy_line_is_rejected(tmp_path):
    sql = HEADER + b'CREATE TABLE t (x int);\nCOPY t (x) FROM stdin;\r\n1\n\\.\n' + TRAILER
    result = verify_backup(_write(tmp_path, 'crlf_copy.sql', sql))
    assert 'CRLF line ending' in result['checks']['integrity']['detail']


# --- class 11: degenerate backups fail by default -------------------------------------------------------------------

@pytest.mark.parametrize('name', ['zero_toc', 'trailer_only'])
def test_degenerate_backups_fail_by_default(tmp_path, name):
    result, seconds, dummy = _verify_case(tmp_path, name)
    assert result['failed_checks'] == ['content'], result['msg']
    assert 'no table data' in result['checks']['content']['detail']
    # a schema-only or empty database's dump is accepted on request
    assert verify_backup(CASES[name][0](tmp_path), require_data=False)['passed']


def test_schema_only_dump_needs_require_data_false(tmp_path):
    path = _write(tmp_path, 'schema.sql', HEADER + b'CREATE TABLE public.users (id int);\n' + TRAILER)
    result = verify_backup(path)
    assert result['failed_checks'] == ['content']
    assert 'defines 1 table(s) and holds the data of 0' in result['checks']['content']['detail']
    assert verify_backup(path, require_data=False)['passed']


def test_module_require_data_option(tmp_path):
    path = case_trailer_only(tmp_path)
    assert failed_checks(_run({'path': path})) == ['content']
    result = _run({'path': path, 'require_data': False})
    assert not result.get('failed') and 'content' not in result['checks']


# --- class 12: file names that are not UTF-8 -------------------------------------------------------------------------

def test_non_utf8_names_are_left_out_and_reported(tmp_path):
    good = _write(tmp_path, 'toogoodtogo_20250120_030000.sql.gz', _read(PLAIN_GZ))
    old = time.time() - 3600
    os.utime(good, (old, old))
    bad = os.path.join(os.fsencode(str(tmp_path)), b'toogoodtogo_\xff\xfe.sql.gz')
    with open(bad, 'wb') as f:
        f.write(_read(PLAIN_GZ))
    result = _run({'path': str(tmp_path), 'pattern': 'toogoodtogo_*',
                   'retention': {'prefix': 'toogoodtogo', 'format': 'plain_gz', 'keep': 1}})
    assert not result.get('failed'), result['msg']
    assert result['path'] == good and result['would_remove'] == []
    # what Ansible does with the result: strict UTF-8 JSON
    json.dumps(result, ensure_ascii=False).encode('utf-8')
    assert any("\\xff\\xfe" in w and 'not valid UTF-8' in w for w in result['warnings']), result['warnings']
    skipped = []
    assert [b['path'] for b in list_backups(str(tmp_path), '*', skipped=skipped)] == [good]
    assert skipped == [repr(bad.rsplit(b'/', 1)[1])]


def test_only_non_utf8_names_is_no_backup(tmp_path):
    bad = os.path.join(os.fsencode(str(tmp_path)), b'backup_\xe9.dump')
    with open(bad, 'wb') as f:
        f.write(_read(CUSTOM))
    result = _run({'path': str(tmp_path), 'pattern': 'backup_*.dump'})
    assert result['failed'] and failed_checks(result) == ['readable']
    json.dumps(result, ensure_ascii=False).encode('utf-8')


# --- class 13: decisive errors stop reading; retention never removes the newest ----------------------------------------

@pytest.mark.parametrize('name', ['wrong_magic_4g', 'bogus_chunk_4g'])
def test_structural_error_stops_reading(tmp_path, name):
    result, seconds, dummy = _verify_case(tmp_path, name)
    assert 'integrity' in result['failed_checks']
    assert result['bytes_read'] < 64 * MIB, result['bytes_read']
    assert result['sha256'] is None
    if name == 'wrong_magic_4g':
        assert 'wrong magic' in result['checks']['integrity']['detail']
        assert result['checks']['checksum']['detail'].startswith('no checksum: not computed: reading stopped')


@pytest.mark.parametrize('retention, message', [
    ({'keep': -1}, 'retention keep must be at least 1'),
    ({'keep': 0}, 'retention keep must be at least 1'),
    ({'keep_days': -1}, 'retention keep_days cannot be negative'),
    ({}, 'retention needs keep, keep_days or both'),
])
def test_retention_rejects_unsafe_policies(tmp_path, retention, message):
    _write(tmp_path, 'backup_1.dump', _read(CUSTOM))
    result = _run({'path': str(tmp_path), 'pattern': 'backup_*.dump', 'retention': dict(retention, prefix='backup')})
    assert result['failed'] and message in result['msg'], result['msg']


@pytest.mark.parametrize('name', sorted(CASES))
def test_every_case_gives_a_verdict_within_its_deadline(tmp_path, name):
    result, seconds, dummy = _verify_case(tmp_path, name)
    assert set(result['checks']) >= {'readable', 'size', 'age', 'integrity', 'completeness'}
    assert result['msg']
