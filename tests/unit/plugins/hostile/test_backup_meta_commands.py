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

from ansible_collections.tgops.runbooks.plugins.module_utils._backup_stream import verify_backup

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
