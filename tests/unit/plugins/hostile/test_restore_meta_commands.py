# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile backups at restore time (issue 17): a plain dump holding ``\\! touch MARKER`` that got past
verification (here verification is bypassed: the restore functions are called on the file directly) must never
reach psql. Both plain-SQL restores - pg_backup_restore's and backup_verify's restore test - hand psql only the
vetted stream through a FIFO, never ``--file`` of the backup.

With a real psql binary (no server needed: a tiny PostgreSQL wire-protocol responder on 127.0.0.1 accepts every
statement), the marker file is never created; psql runs ``\\!`` itself, so before the vetted stream it was."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import threading

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_restore import run_restore_test
from ansible_collections.tgops.runbooks.plugins.modules import pg_backup_restore

from tgops_module_runner import run_module

PSQL = shutil.which('psql')
BINS = {'psql': PSQL or '/usr/bin/psql', 'pg_restore': '/usr/bin/pg_restore'}
NAME = 'toogoodtogo_20250120_030000'


def _evil(marker):
    """A dump that is plain SQL on every line but one, which psql would run as a shell command."""
    return (b"SET client_encoding = 'UTF8';\nCREATE TABLE t (a integer);\n"
            b"\\! touch " + marker.encode() + b"\nSELECT 1;\n")


def _backup(tmp_path, gz):
    marker = str(tmp_path / 'pwned')
    directory = tmp_path / 'backups'
    directory.mkdir()
    path = directory / (NAME + ('.sql.gz' if gz else '.sql'))
    path.write_bytes(gzip.compress(_evil(marker)) if gz else _evil(marker))
    return str(path), marker


class Recorder(object):
    """Fake psql/pg_restore: answers ``--version`` as psql 15.18, records every other argv, reads the FIFO or
    file psql is given (what psql would have run)."""

    def __init__(self):
        self.calls = []
        self.fed = []

    def __call__(self, argv, environ_update=None, **kwargs):
        if argv[1:] == ['--version']:
            return 0, 'psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n', ''
        self.calls.append(list(argv))
        if '--file' in argv:
            with open(argv[argv.index('--file') + 1], 'rb') as f:
                self.fed.append(f.read())
        return 0, '', ''


# --- the restore (pg_backup_restore) ------------------------------------------------------------------------

@pytest.mark.parametrize('gz', [False, True], ids=['sql', 'sql.gz'])
def test_restore_of_a_meta_command_never_feeds_psql_and_drops_nothing(tmp_path, gz):
    path, dummy = _backup(tmp_path, gz)
    fake = Recorder()
    result = run_module(pg_backup_restore, dict(login_host='127.0.0.1', login_user='postgres', login_db='app',
                                                path=path), run_command=fake, bin_paths=BINS)
    assert result.get('failed') and result['stage'] == 'content', result
    assert 'psql meta-command \\! on line 3' in result['msg'] and result['dropped'] is False
    assert fake.calls == [] and fake.fed == [], 'nothing dropped, psql never ran'


@pytest.mark.parametrize('gz', [False, True], ids=['sql', 'sql.gz'])
def test_restore_check_mode_refuses_a_meta_command(tmp_path, gz):
    path, dummy = _backup(tmp_path, gz)
    fake = Recorder()
    result = run_module(pg_backup_restore, dict(login_host='127.0.0.1', login_user='postgres', login_db='app',
                                                path=path), check_mode=True, run_command=fake, bin_paths=BINS)
    assert result.get('failed') and result['stage'] == 'content', result
    assert 'psql meta-command \\! on line 3' in result['msg'] and fake.calls == []


def test_restore_streams_plain_sql_through_a_fifo_never_the_file(tmp_path):
    """A clean .sql goes to psql as the vetted stream in a FIFO under a fresh \\restrict key."""
    path = tmp_path / (NAME + '.sql')
    with gzip.open(os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups',
                                'toogoodtogo_fixture.sql.gz'), 'rb') as f:
        path.write_bytes(f.read())
    fake = Recorder()
    result = run_module(pg_backup_restore, dict(login_host='127.0.0.1', login_user='postgres', login_db='app',
                                                path=str(path)), run_command=fake, bin_paths=BINS)
    assert not result.get('failed'), result
    restore = fake.calls[2]
    assert restore[:5] == [BINS['psql'], '-X', '-q', '-v', 'ON_ERROR_STOP=1']
    fifo = restore[restore.index('--file') + 1]
    assert fifo.endswith('backup.pipe') and str(path) not in restore
    assert fake.fed[0].startswith(b'\\restrict ') and b'\\unrestrict' not in fake.fed[0]
    assert not result.get('warnings')


def test_restore_with_an_old_psql_warns_and_still_streams_only_vetted_bytes(tmp_path):
    path = tmp_path / (NAME + '.sql')
    path.write_bytes(b"SET client_encoding = 'UTF8';\nSELECT 1;\n--\n-- PostgreSQL database dump complete\n--\n")

    class OldPsql(Recorder):
        def __call__(self, argv, environ_update=None, **kwargs):
            if argv[1:] == ['--version']:
                return 0, 'psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)\n', ''
            return super(OldPsql, self).__call__(argv, environ_update, **kwargs)
    fake = OldPsql()
    result = run_module(pg_backup_restore, dict(login_host='127.0.0.1', login_user='postgres', login_db='app',
                                                path=str(path)), run_command=fake, bin_paths=BINS)
    assert not result.get('failed'), result
    assert fake.fed == [path.read_bytes()], 'no \\restrict line for a psql that does not know it'
    warning, = result['warnings']
    assert 'version 15.13, older than the releases with restricted mode' in warning
    assert '15.14' in warning and '16.10' in warning and '17.6' in warning


@pytest.mark.parametrize('out,version,supported', [
    ('psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n', (15, 18), True),
    ('psql (PostgreSQL) 15.13\n', (15, 13), False),
    ('psql (PostgreSQL) 16.10\n', (16, 10), True),
    ('psql (PostgreSQL) 16.9\n', (16, 9), False),
    ('psql (PostgreSQL) 17.6\n', (17, 6), True),
    ('psql (PostgreSQL) 17.5\n', (17, 5), False),
    ('psql (PostgreSQL) 18.1\n', (18, 1), True),
    ('psql (PostgreSQL) 18beta1\n', (18, 0), True),
    ('psql (PostgreSQL) 12.22\n', (12, 22), False),
    ('not psql\n', None, False),
])
def test_psql_version_decides_restricted_mode(out, version, supported):
    assert pgb.psql_version(lambda argv: (0, out, ''), 'psql') == version
    assert pgb.restrict_supported(version) is supported
    assert (pgb.restrict_warning('psql', version) is None) is supported


# --- the restore test (backup_verify restore_test) ----------------------------------------------------------

def _verified(path, gz):
    with open(path, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    # what verify_backup would return had it passed the file: verification bypassed
    return {'path': path, 'format': 'plain', 'compression': 'gzip' if gz else None, 'outer_compression': None,
            'sha256': sha256, 'passed': True}


@pytest.mark.parametrize('gz', [False, True], ids=['sql', 'sql.gz'])
def test_restore_test_of_a_meta_command_stops_before_its_line(tmp_path, gz):
    path, dummy = _backup(tmp_path, gz)
    fake = Recorder()
    report = run_restore_test(fake, _verified(path, gz), dict(login_host='127.0.0.1', login_user='postgres'),
                              BINS, tmpdir=str(tmp_path))
    assert not report['passed'] and report['dropped'] is True
    assert 'psql meta-command \\! on line 3' in report['error'], report['error']
    fed, = fake.fed
    assert b'\\!' not in fed and b'touch' not in fed, fed
    # a fresh \\restrict line, then at most the judged lines before the refused one
    assert fed.startswith(b'\\restrict ') and _evil('x').startswith(fed.split(b'\n', 1)[1])


# --- a real psql ----------------------------------------------------------------------------------------------

class WireServer(object):
    """Just enough of the PostgreSQL protocol for psql to connect and run simple statements: SSL/GSS refused,
    authentication ok, every query answered with an empty success. Bounded: serves until closed."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, dummy = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    @staticmethod
    def _recv(conn, size):
        data = b''
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    @staticmethod
    def _msg(kind, body):
        return kind + struct.pack('!I', len(body) + 4) + body

    def _session(self, conn):
        conn.settimeout(20)
        try:
            while True:
                length, = struct.unpack('!I', self._recv(conn, 4))
                body = self._recv(conn, length - 4)
                if struct.unpack('!I', body[:4])[0] in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                    conn.sendall(b'N')
                    continue
                break
            ready = self._msg(b'Z', b'I')
            params = b''.join(self._msg(b'S', k + b'\0' + v + b'\0') for k, v in (
                (b'server_version', b'15.18'), (b'server_encoding', b'UTF8'), (b'client_encoding', b'UTF8'),
                (b'standard_conforming_strings', b'on'), (b'DateStyle', b'ISO, MDY'), (b'integer_datetimes', b'on')))
            conn.sendall(self._msg(b'R', struct.pack('!I', 0)) + params
                         + self._msg(b'K', struct.pack('!II', 1, 2)) + ready)
            while True:
                kind = self._recv(conn, 1)
                length, = struct.unpack('!I', self._recv(conn, 4))
                body = self._recv(conn, length - 4)
                if kind == b'X':
                    return
                if kind == b'Q':
                    self.queries.append(body.rstrip(b'\0').decode('utf-8', 'replace'))
                    conn.sendall(self._msg(b'C', b'SELECT 0\0') + ready)
        except (EOFError, OSError):
            return
        finally:
            conn.close()


def _real_run_command(argv, environ_update=None, **kwargs):
    env = dict(os.environ)
    env.pop('PGPASSWORD', None)
    env.update(environ_update or {})
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(name='server')
def fixture_server():
    server = WireServer()
    yield server
    server.close()


needs_psql = pytest.mark.skipif(PSQL is None, reason='no psql binary on this machine')


@needs_psql
def test_the_wire_server_lets_a_real_psql_run_a_meta_command(tmp_path, server):
    """The control: the same psql, server and script run \\! when given the file - what the restores did."""
    path, marker = _backup(tmp_path, False)
    rc, out, err = _real_run_command([PSQL, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--host', '127.0.0.1',
                                      '--port', str(server.port), '--username', 'postgres', '--no-password',
                                      '--dbname', 'app', '--file', path])
    assert rc == 0, err
    assert os.path.exists(marker)


@needs_psql
@pytest.mark.parametrize('gz', [False, True], ids=['sql', 'sql.gz'])
def test_real_psql_restore_never_runs_the_meta_command(tmp_path, server, gz):
    path, marker = _backup(tmp_path, gz)
    result = run_module(pg_backup_restore, dict(login_host='127.0.0.1', login_port=server.port, login_user='postgres',
                                                login_db='app', path=path),
                        run_command=_real_run_command, bin_paths={'psql': PSQL, 'pg_restore': '/usr/bin/pg_restore'})
    assert result.get('failed'), result
    assert not os.path.exists(marker), 'psql ran \\! touch'
    assert result['dropped'] is False and not any('DROP' in q for q in server.queries), server.queries


@needs_psql
@pytest.mark.parametrize('gz', [False, True], ids=['sql', 'sql.gz'])
def test_real_psql_restore_test_never_runs_the_meta_command(tmp_path, server, gz):
    path, marker = _backup(tmp_path, gz)
    report = run_restore_test(_real_run_command, _verified(path, gz),
                              dict(login_host='127.0.0.1', login_port=server.port, login_user='postgres'),
                              {'psql': PSQL}, tmpdir=str(tmp_path))
    assert not os.path.exists(marker), 'psql ran \\! touch'
    assert not report['passed'] and 'psql meta-command \\! on line 3' in report['error'], report
    assert server.queries[0].startswith('CREATE DATABASE') and report['dropped'], 'psql ran, on the vetted stream'


def test_restore_of_a_create_dump_is_refused_before_the_drop(tmp_path):
    """pg_dump -C writes \\connect, which restricted mode cannot run: judged as streamed, so refused before the
    drop (not half-way through the restore, after it)."""
    path = tmp_path / (NAME + '.sql.gz')
    shutil.copy(os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups',
                             'create_plain_fixture.sql.gz'), str(path))
    fake = Recorder()
    result = run_module(pg_backup_restore, dict(login_host='127.0.0.1', login_user='postgres', login_db='app',
                                                path=str(path)), run_command=fake, bin_paths=BINS)
    assert result.get('failed') and result['stage'] == 'content', result
    assert 'psql meta-command \\connect on line' in result['msg'] and result['dropped'] is False
    assert fake.calls == [] and fake.fed == []
