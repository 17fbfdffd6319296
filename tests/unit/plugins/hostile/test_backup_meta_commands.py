# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile backups (issue 17): psql meta-commands in a plain dump.

psql runs a backslash command wherever its lexer meets a backslash outside literals, quoted names, dollar
quotes, comments and COPY data: at the start of a line, after a ``;`` on the same line, in the middle of a
statement, and on the rest of a ``COPY ... FROM stdin;`` line once the data is read. A restore (or the restore
test) feeds the dump to psql as a superuser, so ``\\!`` there is code run on the host. The verifier refuses
every meta-command but the ones pg_dump writes: a matching ``\\restrict KEY`` / ``\\unrestrict KEY`` pair,
``\\connect`` to a database the dump itself creates, and pg_dump's ``\\encoding SQL_ASCII`` before it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import os

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_sql
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_file import BackupCheckError
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_sql import (
    new_restrict_key,
    vetted_sql,
    vetted_sql_file,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import verify_backup

FIXTURES = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups'))
KEY = b'FSsbSsfSKHwes52nLJpurg72via4auy9Lg4DpAzCKzAd2XC2gPffwgAAEl2IACb'
HEADER = (b'--\n-- PostgreSQL database dump\n--\n\n\\restrict ' + KEY + b'\n\n'
          b'SET standard_conforming_strings = on;\n'
          b"SELECT pg_catalog.set_config('search_path', '', false);\n\n"
          b'CREATE TABLE public.t (\n    x text\n);\n\n')
DATA = b'COPY public.t (x) FROM stdin;\na\n\\.\n\n'
TRAILER = b'\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict ' + KEY + b'\n\n'


def _dump(middle, header=HEADER, trailer=TRAILER):
    return header + DATA + middle + trailer


def _write(tmp_path, name, data):
    path = str(tmp_path / name)
    with open(path, 'wb') as f:
        f.write(gzip.compress(data) if name.endswith('.gz') else data)
    return path


def _refused(tmp_path, sql, needle, name='dump.sql.gz'):
    """The dump fails integrity, and the detail names the command and the line of ``needle``."""
    result = verify_backup(_write(tmp_path, name, sql))
    assert not result['passed']
    assert 'integrity' in result['failed_checks'], result['msg']
    line = sql[:sql.index(needle)].count(b'\n') + 1
    return result['checks']['integrity']['detail'], line


# --- real dumps pass --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['toogoodtogo_fixture.sql.gz', 'create_plain_fixture.sql.gz',
                                  'create_quoted_fixture.sql.gz'])
def test_real_pg_dump_output_passes(name):
    """pg_dump 15.18 (lab): \\restrict/\\unrestrict, and with -C \\connect (plain and quoted names, \\encoding),
    COPY rows that start with a backslash, a backslash in a function body and in a CHECK constraint."""
    result = verify_backup(os.path.join(FIXTURES, name))
    assert result['passed'], result['msg']


def test_real_create_dump_keeps_its_copy_data():
    result = verify_backup(os.path.join(FIXTURES, 'create_plain_fixture.sql.gz'))
    assert result['row_counts'] == {'public.notes': 3}


# --- refused: every other meta-command, wherever psql would run it ---------------------------------------------

HOSTILE = [
    ('shell', b'\\! id > pwned.txt\n', b'\\! id', '\\!'),
    ('shell_no_space', b'\\!id > pwned.txt\n', b'\\!id', '\\!'),
    ('output_pipe', b'\\o |id > pwned.txt\n', b'\\o', '\\o'),
    ('copy_program', b"\\copy public.t from program 'id > pwned.txt'\n", b'\\copy', '\\copy'),
    ('include', b'\\i /etc/pwned.txt\n', b'\\i', '\\i'),
    ('set', b'\\set pwned `id`\n', b'\\set', '\\set'),
    ('gexec', b"SELECT 'pwned' \\gexec\n", b"SELECT 'pwned'", '\\gexec'),
    ('after_semicolon', b'SELECT 1; \\! id > pwned.txt\n', b'SELECT 1;', '\\!'),
    ('mid_statement', b'SELECT 1 \\! id > pwned.txt\n;\n', b'SELECT 1 \\', '\\!'),
    ('after_block_comment', b'/* x */ \\! id > pwned.txt\n', b'/* x */', '\\!'),
    ('after_copy_statement', b'COPY public.t (x) FROM stdin; \\! id > pwned.txt\nb\n\\.\n', b'COPY public.t (x) FROM '
                             b'stdin; \\!', '\\!'),
    ('semicolon_escape', b'SELECT 1 \\; SELECT 2;\n', b'SELECT 1 \\;', '\\;'),
    ('connect_elsewhere', b'\\unrestrict ' + KEY + b'\n\\connect postgres\n\\restrict ' + KEY + b'\n',
     b'\\connect postgres', '\\connect'),
    ('encoding', b'\\encoding SJIS\n', b'\\encoding', '\\encoding'),
    ('restrict_with_more', b'\\unrestrict ' + KEY + b' \\! id\n', b'\\unrestrict', '\\unrestrict'),
    ('unrestrict_wrong_key', b'\\unrestrict AAAA\n', b'\\unrestrict AAAA', '\\unrestrict'),
    ('restrict_twice', b'\\restrict BBBB\n', b'\\restrict BBBB', '\\restrict'),
    ('upper_case', b'\\CONNECT postgres\n', b'\\CONNECT', '\\CONNECT'),
    ('binary_name', b'\\\xff\xfe x\n', b'\\\xff', '\\\\xff'),
]


@pytest.mark.parametrize('name', ['dump.sql.gz', 'dump.sql'])
@pytest.mark.parametrize('case, line, needle, command', HOSTILE, ids=[c[0] for c in HOSTILE])
def test_meta_command_is_refused_with_line_and_name(tmp_path, case, line, needle, command, name):
    detail, lineno = _refused(tmp_path, _dump(line), needle, name)
    assert 'psql meta-command %s on line %d' % (command, lineno) in detail, detail
    # the command's arguments are not echoed
    assert 'pwned' not in detail and 'SJIS' not in detail and 'postgres' not in detail, detail


def test_meta_command_far_into_a_large_dump_names_its_line(tmp_path):
    """The scanner reads in 256 KiB buffers: the line number counts every buffer before."""
    comments = b'-- filler line\n' * 60000
    sql = _dump(comments + b'\\! id > pwned.txt\n')
    detail, lineno = _refused(tmp_path, sql, b'\\! id')
    assert lineno > 60000
    assert 'psql meta-command \\! on line %d' % lineno in detail, detail


def test_restrict_without_unrestrict_is_refused(tmp_path):
    sql = _dump(b'', trailer=b'\n--\n-- PostgreSQL database dump complete\n--\n\n')
    detail, lineno = _refused(tmp_path, sql, b'\\restrict')
    assert '\\restrict on line %d has no matching \\unrestrict' % lineno in detail, detail


def test_unrestrict_without_restrict_is_refused(tmp_path):
    header = HEADER.replace(b'\\restrict ' + KEY + b'\n', b'')
    sql = _dump(b'', header=header)
    detail, lineno = _refused(tmp_path, sql, b'\\unrestrict')
    assert 'psql meta-command \\unrestrict on line %d' % lineno in detail, detail


def test_connect_needs_the_create_database_before_it(tmp_path):
    """\\connect to the database the dump creates passes; a CREATE DATABASE after it does not count."""
    ok = _dump(b'CREATE DATABASE shop WITH TEMPLATE = template0;\n\\unrestrict ' + KEY + b'\n\\connect shop\n'
               b'\\restrict ' + KEY + b'\n')
    result = verify_backup(_write(tmp_path, 'ok.sql.gz', ok))
    assert result['passed'], result['msg']
    late = _dump(b'\\unrestrict ' + KEY + b'\n\\connect shop\n\\restrict ' + KEY + b'\n'
                 b'CREATE DATABASE shop WITH TEMPLATE = template0;\n')
    detail, lineno = _refused(tmp_path, late, b'\\connect shop')
    assert 'psql meta-command \\connect on line %d' % lineno in detail, detail


@pytest.mark.parametrize('line', [b'\\connect shop `id > pwned.txt`', b'\\connect `id>pwned.txt`',
                                  b'\\connect shop \\! id', b'\\connect -reuse-previous=on "dbname=\'shop\' host=evil"',
                                  b'\\connect shop otheruser', b'\\connect :pwned'])
def test_connect_takes_only_the_forms_pg_dump_writes(tmp_path, line):
    sql = _dump(b'CREATE DATABASE shop;\n\\unrestrict ' + KEY + b'\n' + line + b'\n\\restrict ' + KEY + b'\n')
    detail, lineno = _refused(tmp_path, sql, line)
    assert 'psql meta-command \\connect on line %d' % lineno in detail, detail


def test_connect_while_restricted_is_refused(tmp_path):
    sql = _dump(b'CREATE DATABASE shop;\n\\connect shop\n')
    detail, lineno = _refused(tmp_path, sql, b'\\connect')
    assert 'psql meta-command \\connect on line %d' % lineno in detail, detail


# --- accepted: a backslash that psql reads as data -------------------------------------------------------------

@pytest.mark.parametrize('middle', [
    b"SELECT '\\! id > pwned.txt';\n",
    b"SELECT E'\\\\! id > pwned.txt', E'it\\'s \\\\o |id';\n",
    b'SELECT 1; -- \\! id > pwned.txt\n',
    b'/* \\! id\n\\! id */ SELECT 1;\n',
    b'CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS $$ SELECT 1 /* \\! id */ $$;\n',
    b'CREATE FUNCTION public.g() RETURNS text LANGUAGE sql AS $_$\n\\! id\n$_$;\n',
    b'SELECT "\\!id" FROM public.t;\n',
    b'COPY public.t (x) FROM stdin;\n\\! id > pwned.txt\n\\o |id\n\\\\.\n\\.\n',
], ids=['literal', 'escape_literal', 'line_comment', 'block_comment', 'dollar_body', 'dollar_line', 'identifier',
        'copy_data'])
def test_backslash_in_data_is_accepted(tmp_path, middle):
    result = verify_backup(_write(tmp_path, 'data.sql.gz', _dump(middle)))
    assert result['passed'], result['msg']


def test_dump_without_restrict_passes(tmp_path):
    """pg_dump before 15.14/16.10/17.6 writes no \\restrict: still a valid backup."""
    header = HEADER.replace(b'\\restrict ' + KEY + b'\n', b'')
    trailer = TRAILER.replace(b'\\unrestrict ' + KEY + b'\n', b'')
    result = verify_backup(_write(tmp_path, 'old.sql', _dump(b'', header=header, trailer=trailer)))
    assert result['passed'], result['msg']


# --- vetted_sql(): what a restore may hand to psql ------------------------------------------------------------

def _drain(gen):
    """(bytes yielded, exception raised or None)."""
    out = []
    try:
        for block in gen:
            out.append(block)
    except BackupCheckError as exc:
        return b''.join(out), exc
    return b''.join(out), None


def test_vetted_sql_of_a_real_dump_is_the_dump_under_a_fresh_restrict_key():
    path = os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz')
    with gzip.open(path) as f:
        original = f.read()
    key = new_restrict_key()
    assert len(key) == 64 and key.isalnum() and key != new_restrict_key()
    out, exc = _drain(vetted_sql_file(path, key, chunk_size=512))
    assert exc is None
    lines = original.split(b'\n')
    kept = [line for line in lines if not line.startswith((b'\\restrict ', b'\\unrestrict '))]
    assert len(kept) == len(lines) - 2
    assert out == b'\\restrict ' + key.encode() + b'\n' + b'\n'.join(kept)
    # without a key: the dump as it is
    out, exc = _drain(vetted_sql_file(path))
    assert exc is None and out == original


@pytest.mark.parametrize('case, line, needle, command', HOSTILE, ids=[c[0] for c in HOSTILE])
def test_vetted_sql_stops_before_the_refused_line(case, line, needle, command):
    sql = _dump(line)
    out, exc = _drain(vetted_sql([sql[i:i + 7] for i in range(0, len(sql), 7)], new_restrict_key()))
    assert exc is not None and 'psql meta-command %s' % command in exc.message
    header, body = out.split(b'\n', 1)
    assert header.startswith(b'\\restrict ')
    # what psql gets is the dump without its own \restrict lines, up to (never including) the refused backslash
    stripped = sql.replace(b'\\unrestrict ' + KEY + b'\n', b'').replace(b'\\restrict ' + KEY + b'\n', b'')
    assert stripped.startswith(body)
    assert len(body) <= stripped.index(b'\\', stripped.index(needle))


def test_vetted_sql_of_a_large_dump_stops_at_the_line(tmp_path):
    sql = _dump(b'-- filler line\n' * 60000 + b'\\! id > pwned.txt\n')
    path = _write(tmp_path, 'big.sql.gz', sql)
    out, exc = _drain(vetted_sql_file(path, new_restrict_key()))
    line = sql[:sql.index(b'\\! id')].count(b'\n') + 1
    assert exc is not None and 'psql meta-command \\! on line %d (' % line in exc.message, exc.message
    body = out.split(b'\n', 1)[1]
    stripped = sql.replace(b'\\restrict ' + KEY + b'\n', b'')
    assert stripped.startswith(body) and len(body) <= stripped.index(b'\\! id')
    assert len(body) > 700000  # streamed: the buffers before the line's went out before it was read


def test_vetted_sql_with_a_key_refuses_connect():
    """In restricted mode psql cannot change databases: a pg_dump -C dump is refused at its \\connect."""
    path = os.path.join(FIXTURES, 'create_plain_fixture.sql.gz')
    out, exc = _drain(vetted_sql_file(path, new_restrict_key()))
    assert exc is not None and 'psql meta-command \\connect on line 31' in exc.message, exc.message
    assert b'\\connect' not in out
    out, exc = _drain(vetted_sql_file(path))
    assert exc is None and b'\n\\connect tgops_fixture_c\n' in out


def test_vetted_sql_reports_an_incomplete_dump_after_its_last_byte():
    sql = _dump(b'COPY public.t (x) FROM stdin;\nb\n')[:-len(TRAILER)]
    out, exc = _drain(vetted_sql([sql]))
    assert exc is not None and exc.check == 'completeness' and out == sql


def test_vetted_sql_file_refuses_a_link(tmp_path):
    link = str(tmp_path / 'dump.sql.gz')
    os.symlink(os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz'), link)
    with pytest.raises(ValueError, match='is a symbolic link: refused'):
        list(vetted_sql_file(link))


@pytest.mark.parametrize('key', ['', 'a b', 'k' * 257, 'key\n\\! id', b'bytes'])
def test_vetted_sql_rejects_a_bad_key(key):
    with pytest.raises(ValueError):
        list(vetted_sql([b'SELECT 1;\n'], key))


# --- what psql reads differently from the verifier's lexer -----------------------------------------------------
# psql follows the server's standard_conforming_strings and client_encoding, which SQL can change behind a lexer's
# back (set_config() in a statement or a function). A literal ending in an odd run of backslashes is the only
# text that psql splits differently with standard_conforming_strings on and off, and a client-only encoding
# (SJIS, BIG5, GBK, UHC, GB18030, JOHAB) has multi-byte characters whose second byte is a backslash, quote or
# semicolon: both could hide a meta-command from the verifier, so both are refused.

DESYNC = (b"SELECT pg_catalog.set_config('standard_conforming_strings', 'off', false);\n"
          b"SELECT 'a\\' , ' \\! id > pwned.txt\n';\n")


@pytest.mark.parametrize('pieces', [None, 1], ids=['whole', 'byte_by_byte'])
def test_literal_read_differently_under_standard_conforming_strings_is_refused(tmp_path, pieces):
    """psql 15.18 with this dump runs the command (standard_conforming_strings off via set_config)."""
    sql = _dump(DESYNC)
    if pieces is None:
        detail, line = _refused(tmp_path, sql, b"SELECT 'a")
    else:
        scanner = _backup_sql.PlainScanner(feed_min=1)
        with pytest.raises(BackupCheckError) as info:
            for index in range(len(sql)):
                scanner.feed(sql[index:index + 1])
            scanner.finish()
        detail, line = info.value.message, sql[:sql.index(b"SELECT 'a")].count(b'\n') + 1
    assert ('a quote after an odd number of backslashes (\\\') in the string literal on line %d' % line) in detail, \
        detail


@pytest.mark.parametrize('literal', [b"'a\\\\\\'", b"'a\\'''", b"'x\\''", b"'\\'"])
def test_odd_backslashes_before_a_quote_are_refused(tmp_path, literal):
    sql = _dump(b'SELECT ' + literal + b';\n')
    detail, line = _refused(tmp_path, sql, literal)
    assert 'a quote after an odd number of backslashes' in detail, detail


def test_escaped_quote_in_a_plain_literal_under_scs_off_is_refused(tmp_path):
    """The dump says off: an escaped quote in a plain literal would end it if psql were on."""
    sql = _dump(b"SET standard_conforming_strings = off;\nSELECT 'it\\'s';\nSET standard_conforming_strings = on;\n")
    detail, line = _refused(tmp_path, sql, b"SELECT 'it")
    assert 'a quote after an odd number of backslashes' in detail, detail


@pytest.mark.parametrize('middle', [
    b"SELECT 'a\\\\', 'C:\\dir\\file', '\\d+$', '\\\\''';\n",
    b"SELECT E'it\\'s', e'\\\\', E'\\'';\n",
    b"SET standard_conforming_strings = off;\nSELECT E'it\\'s', 'a\\\\';\nSET standard_conforming_strings = on;\n",
    b'SET client_encoding = \'UTF8\';\nSET client_encoding TO \'LATIN1\';\nSET client_encoding = \'WIN1252\';\n'
    b'SET client_encoding = \'EUC_JP\';\nSET client_encoding = \'SQL_ASCII\';\nSET client_encoding = \'UTF8\';\n',
], ids=['even_backslashes', 'escape_strings', 'scs_off_escape_strings', 'safe_encodings'])
def test_unambiguous_text_is_accepted(tmp_path, middle):
    result = verify_backup(_write(tmp_path, 'ok.sql.gz', _dump(middle)))
    assert result['passed'], result['msg']


@pytest.mark.parametrize('encoding', [b'SJIS', b'BIG5', b'GBK', b'UHC', b'GB18030', b'JOHAB', b'Shift_JIS_2004',
                                      b'win932', b'klingon'])
def test_client_only_encodings_are_refused(tmp_path, encoding):
    sql = _dump(b"SET client_encoding = '" + encoding + b"';\n")
    detail, line = _refused(tmp_path, sql, b'SET client_encoding')
    assert 'client_encoding on line %d is refused' % line in detail, detail
    assert 'klingon' not in detail and 'win932' not in detail  # the value itself is not echoed


@pytest.mark.parametrize('feed_min', [None, 1, 4096], ids=['default', 'byte_by_byte', '4k'])
def test_line_numbers_count_copy_data_across_buffers(feed_min):
    """COPY rows count towards the line number whatever the buffer boundaries (the terminator's line too)."""
    rows = b''.join(b'%d\trow\n' % n for n in range(20000 if feed_min == 1 else 120000))
    sql = _dump(b'COPY public.t (x) FROM stdin;\n' + rows + b'\\.\nSELECT 1;\n\\! id > pwned.txt\n')
    line = sql[:sql.index(b'\\! id')].count(b'\n') + 1
    scanner = _backup_sql.PlainScanner(**({} if feed_min is None else {'feed_min': feed_min}))
    step = 1 if feed_min == 1 else 65536
    with pytest.raises(BackupCheckError) as info:
        for index in range(0, len(sql), step):
            scanner.feed(sql[index:index + step])
        scanner.finish()
    assert 'psql meta-command \\! on line %d (' % line in info.value.message, info.value.message


@pytest.mark.parametrize('middle', [
    b'COPY public.t (x) FROM stdin;   \\gexec\nb\n\\.\n',
    b'\\! ' + b'x' * 5000 + b'\n',
    b"SELECT 'a\\';\n",
    b'SET client_encoding = \'SJIS\';\n',
], ids=['after_copy', 'long_line', 'backslash_quote', 'encoding'])
def test_refusals_do_not_depend_on_buffer_boundaries(middle):
    sql = _dump(middle)
    verdicts = set()
    for step in (1, 2, 3, 7, 64, 4096, len(sql)):
        scanner = _backup_sql.PlainScanner(feed_min=1)
        with pytest.raises(BackupCheckError) as info:
            for index in range(0, len(sql), step):
                scanner.feed(sql[index:index + step])
            scanner.finish()
        verdicts.add((info.value.message, info.value.offset))
    assert len(verdicts) == 1, verdicts
