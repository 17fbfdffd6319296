# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""tgops.runbooks.backup_verify: the module on real pg_dump fixtures, and the restore test with a fake
run_command (argv, environment, FIFO streaming, drop on failure). With TGOPS_TEST_PGHOST set, one test
also restores into a real server."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import gzip
import json
import os
import shutil
import threading
import time

import pytest
import yaml

from ansible_collections.tgops.runbooks.plugins.doc_fragments import _postgres as _postgres_doc
from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_restore
from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import verify_backup
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    libpq_argv,
    postgres_common_argument_spec,
    quote_ident,
)
from ansible_collections.tgops.runbooks.plugins.modules import backup_retention, backup_verify

from tgops_module_runner import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
CUSTOM = os.path.abspath(os.path.join(FIXTURES, 'tgquiz_fixture.dump'))
PLAIN_GZ = os.path.abspath(os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz'))
PASSWORD = 'S3cret-restore-pw!'
CONN = dict(login_host='127.0.0.1', login_port=15432, login_user='postgres', login_password=PASSWORD)


def failed_checks(result):
    """The names of the failed checks of a backup_verify result: its checks whose passed is false, in order (the
    module says what is wrong in findings and returns no second list of names)."""
    return [name for name, check in result['checks'].items() if not check['passed']]


def _copy(src, dst, age_seconds=0):
    shutil.copy(src, dst)
    mtime = time.time() - age_seconds
    os.utime(dst, (mtime, mtime))
    return str(dst)


class FakePostgres(object):
    """Answers the argv lists the restore test runs; records them with their environment."""

    def __init__(self, restore_rc=0, counts=None, create_rc=0, drop_force_rc=0, drop_rc=0, read_fifo=True,
                 read_limit=None, raise_on_restore=None):
        self.calls = []
        self.restore_rc = restore_rc
        self.counts = counts if counts is not None else {'"users"': 40, '"quiz_results"': 300}
        self.create_rc = create_rc
        self.drop_force_rc = drop_force_rc
        self.drop_rc = drop_rc
        self.read_fifo = read_fifo
        self.read_limit = read_limit
        self.raise_on_restore = raise_on_restore
        self.fed = None
        self.version = 'psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n'
        self.versions = []

    def __call__(self, argv, environ_update=None, **kwargs):
        if argv[1:] == ['--version']:  # asked once before a plain restore; not one of its steps
            self.versions.append(list(argv))
            return 0, self.version, ''
        self.calls.append((list(argv), dict(environ_update or {})))
        if '--command' in argv:
            sql = argv[argv.index('--command') + 1]
            if sql.startswith('CREATE DATABASE'):
                return self.create_rc, '', 'ERROR:  permission denied to create database' if self.create_rc else ''
            if sql.startswith('DROP DATABASE') and sql.endswith('WITH (FORCE)'):
                return self.drop_force_rc, '', 'ERROR:  syntax error at or near "WITH"' if self.drop_force_rc else ''
            if sql.startswith('DROP DATABASE'):
                return self.drop_rc, '', 'ERROR:  database is being accessed by other users' if self.drop_rc else ''
            if sql.startswith('SELECT count(*) FROM '):
                table = sql[len('SELECT count(*) FROM '):]
                if table not in self.counts:
                    return 1, '', 'ERROR:  relation %s does not exist' % table
                return 0, '%d\n' % self.counts[table], ''
            raise AssertionError('unexpected SQL %r' % sql)
        if self.raise_on_restore:
            raise self.raise_on_restore
        if '--file' in argv and self.read_fifo:
            fifo = argv[argv.index('--file') + 1]
            with open(fifo, 'rb') as f:
                self.fed = f.read(self.read_limit) if self.read_limit else f.read()
        return self.restore_rc, '', 'pg_restore: error: could not execute query' if self.restore_rc else ''

    def argvs(self):
        return [argv for argv, env in self.calls]


def run(args, check_mode=False, fake=None):
    return run_module(backup_verify, args, check_mode=check_mode, run_command=fake,
                      bin_paths={'psql': '/usr/bin/psql', 'pg_restore': '/usr/bin/pg_restore'})


# --- file checks through the module -------------------------------------------------------------------------

def test_custom_file_passes():
    result = run({'path': CUSTOM, 'expected_tables': ['users', 'quiz_results'], 'max_age': '3650d'})
    assert not result.get('failed'), result['msg']
    assert result['changed'] is False
    assert result['passed'] is True and failed_checks(result) == []
    assert result['format'] == 'custom'
    assert result['row_counts']['public.users'] == 40
    assert set(result['checks']) == {
        'readable', 'size', 'age', 'integrity', 'completeness', 'content', 'expected_tables'}
    assert 'restore' not in result


def test_directory_picks_newest(tmp_path):
    _copy(PLAIN_GZ, tmp_path / 'toogoodtogo_20250118_030000.sql.gz', 3 * 86400)
    newest = _copy(PLAIN_GZ, tmp_path / 'toogoodtogo_20250120_030000.sql.gz', 3600)
    _copy(CUSTOM, tmp_path / 'backup_20250121_030000.dump', 60)
    result = run({'path': str(tmp_path), 'pattern': 'toogoodtogo_*.sql.gz', 'max_age': '26h'})
    assert result['passed'] and result['path'] == newest
    assert result['format'] == 'plain'


def test_directory_needs_pattern(tmp_path):
    result = run({'path': str(tmp_path)})
    assert result['failed'] and 'set pattern' in result['msg']


def test_directory_without_match(tmp_path):
    result = run({'path': str(tmp_path), 'pattern': 'backup_*.dump'})
    assert result['failed'] and failed_checks(result) == ['readable']
    assert 'no backup in' in result['msg']


def test_corrupt_backup_fails_with_check_and_offset(tmp_path):
    path = str(tmp_path / 'backup_20250120_143000.dump')
    with open(CUSTOM, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:7000])
    result = run({'path': path})
    assert result['failed'] is True
    assert failed_checks(result) == ['integrity', 'completeness']
    assert [f.split(':')[0] for f in result['findings']] == ['integrity', 'completeness']
    assert 'the file ends at byte offset 7000' in result['findings'][0]
    assert 'failed check(s) integrity, completeness' in result['msg']
    assert 'the file ends at byte offset 7000 inside the data block of TOC entry' in result['msg']


def test_fail_on_problem_false_returns_verdict(tmp_path):
    path = str(tmp_path / 'empty.sql.gz')
    open(path, 'wb').close()
    result = run({'path': path, 'fail_on_problem': False})
    assert not result.get('failed')
    assert result['passed'] is False
    assert failed_checks(result) == ['size', 'integrity', 'completeness']


def test_bad_max_age():
    result = run({'path': CUSTOM, 'max_age': 'yesterday'})
    assert result['failed'] and result['msg'].startswith('max_age: not a duration')


def test_retention_view_never_deletes(tmp_path):
    for day in range(1, 11):
        _copy(PLAIN_GZ, tmp_path / ('toogoodtogo_202501%02d_030000.sql.gz' % day), (10 - day) * 86400 + 600)
    result = run({'path': str(tmp_path), 'pattern': 'toogoodtogo_*.sql.gz',
                  'retention': {'prefix': 'toogoodtogo', 'format': 'plain_gz', 'keep': 7, 'keep_days': 7}})
    assert result['passed']
    assert len(result['backups']) == 10
    assert set(result['backups'][0]) == {'path', 'size', 'mtime', 'age_seconds'}
    assert [os.path.basename(p) for p in result['would_remove']] == [
        'toogoodtogo_20250103_030000.sql.gz', 'toogoodtogo_20250102_030000.sql.gz',
        'toogoodtogo_20250101_030000.sql.gz']
    assert len(os.listdir(str(tmp_path))) == 10


def test_retention_needs_directory():
    result = run({'path': CUSTOM, 'retention': {'prefix': 'tgquiz', 'keep': 7}})
    assert result['failed'] and 'retention needs path to be the backup directory' in result['msg']


def test_retention_preview_is_what_backup_retention_removes(tmp_path):
    """One policy: backup_verify's preview and backup_retention (check mode) give the same answer on the same
    directory. The preview's own policy judged by mtime and counted labelled backups: it listed the old
    pre_deployment backup (which backup_retention leaves alone) and kept a week-old backup copied in an hour ago
    (which backup_retention removes by the stamp in its name)."""
    now = datetime.datetime.now()
    names = []
    for days in (0, 1, 2, 9, 10, 11):
        stamp = now - datetime.timedelta(days=days, minutes=5)
        names.append(pgb.backup_name('toogoodtogo', 'plain_gz', stamp))
        _copy(PLAIN_GZ, tmp_path / names[-1], days * 86400 + 300)
    labelled = pgb.backup_name('toogoodtogo', 'plain_gz', now - datetime.timedelta(days=40), 'pre_deployment')
    _copy(PLAIN_GZ, tmp_path / labelled, 40 * 86400)
    # restored from S3 an hour ago: a fresh mtime, a 9-day-old stamp
    os.utime(str(tmp_path / names[3]), (time.time() - 3600, time.time() - 3600))
    policy = {'prefix': 'toogoodtogo', 'format': 'plain_gz', 'keep': 2, 'keep_days': 7}
    preview = run({'path': str(tmp_path), 'pattern': 'toogoodtogo_*.sql.gz', 'retention': policy})
    applied = run_module(backup_retention, dict(policy, path=str(tmp_path)), check_mode=True)
    assert preview['passed'] and not applied.get('failed'), applied
    assert preview['would_remove'] == applied['removed']
    assert sorted(os.path.basename(p) for p in preview['would_remove']) == sorted(names[3:])
    assert len(os.listdir(str(tmp_path))) == 7


def test_check_mode_skips_restore():
    fake = FakePostgres()
    result = run(dict(CONN, path=CUSTOM, restore_test=True), check_mode=True, fake=fake)
    assert result['passed'] and result['changed'] is False
    assert result['restore'] == {'skipped': True, 'reason': 'check mode: the restore test would create a scratch '
                                                            'database'}
    assert fake.calls == []


def test_restore_not_run_on_bad_file(tmp_path):
    path = str(tmp_path / 'x.dump')
    with open(path, 'wb') as f:
        f.write(b'PGDMP')
    fake = FakePostgres()
    result = run(dict(CONN, path=path, restore_test=True, fail_on_problem=False), fake=fake)
    assert result['restore']['skipped'] and fake.calls == []


# --- restore test ---------------------------------------------------------------------------------------------

def _assert_password_only_in_env(fake, result=None):
    for argv, env in fake.calls:
        assert PASSWORD not in ' '.join(argv)
        # in a private libpq password file, never in the environment (readable in /proc/<pid>/environ)
        assert 'PGPASSWORD' not in env and PASSWORD not in json.dumps(env) and env['PGPASSFILE']
        assert '--no-password' in argv
    if result is not None:
        assert PASSWORD not in json.dumps(result)


def test_restore_custom_commands_and_drop():
    fake = FakePostgres()
    result = run(dict(CONN, path=CUSTOM, restore_test=True, restore_min_rows={'users': 1, 'quiz_results': '100'}),
                 fake=fake)
    assert not result.get('failed'), result['msg']
    assert result['checks']['restore']['passed'] and result['checks']['restore_min_rows']['passed']
    restore = result['restore']
    db = restore['database']
    assert db.startswith('tgops_verify_') and len(db) == len('tgops_verify_') + 12
    conn = ['--host', '127.0.0.1', '--port', '15432', '--username', 'postgres', '--no-password', '--dbname']
    psql = ['/usr/bin/psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1']
    # database names travel as quoted dbname= values, never as a bare --dbname libpq could parse as conninfo
    maint = "dbname='postgres'"
    scratch = "dbname='%s'" % db
    assert fake.argvs() == [
        psql + conn + [maint, '--command', 'CREATE DATABASE "%s"' % db],
        # a private copy of the verified bytes, never the backup's own path (which could be replaced meanwhile)
        ['/usr/bin/pg_restore', '--exit-on-error', '--no-owner'] + conn + [scratch, fake.argvs()[1][-1]],
        psql + ['-A', '-t'] + conn + [scratch, '--command', 'SELECT count(*) FROM "quiz_results"'],
        psql + ['-A', '-t'] + conn + [scratch, '--command', 'SELECT count(*) FROM "users"'],
        psql + conn + [maint, '--command', 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % db],
    ]
    assert '/tgops-verify-' in fake.argvs()[1][-1] and not os.path.exists(fake.argvs()[1][-1]), 'copy removed'
    assert restore['commands'] == fake.argvs()
    assert restore['row_counts'] == {'users': 40, 'quiz_results': 300}
    assert restore['dropped'] is True
    _assert_password_only_in_env(fake, result)


def test_restore_failure_still_drops():
    fake = FakePostgres(restore_rc=1)
    result = run(dict(CONN, path=CUSTOM, restore_test=True, restore_min_rows={'users': 1}), fake=fake)
    assert result['failed'] is True
    assert failed_checks(result) == ['restore', 'restore_min_rows']
    assert 'failed (rc=1): pg_restore: error: could not execute query' in result['msg']
    assert fake.argvs()[-1][-1].startswith('DROP DATABASE IF EXISTS "tgops_verify_')
    assert result['restore']['dropped'] is True
    _assert_password_only_in_env(fake, result)


def test_exception_during_restore_still_drops():
    fake = FakePostgres(raise_on_restore=RuntimeError('connection reset'))
    verified = verify_backup(CUSTOM)
    with pytest.raises(RuntimeError):
        _backup_restore.run_restore_test(fake, verified, CONN, {'psql': 'psql', 'pg_restore': 'pg_restore'})
    assert fake.argvs()[-1][-1].startswith('DROP DATABASE IF EXISTS')


def test_too_few_rows():
    fake = FakePostgres(counts={'"users"': 0})
    result = run(dict(CONN, path=CUSTOM, restore_test=True, restore_min_rows={'users': 1, 'public.nope': 1},
                      fail_on_problem=False), fake=fake)
    assert result['passed'] is False
    assert failed_checks(result) == ['restore_min_rows']
    detail = result['checks']['restore_min_rows']['detail']
    assert 'users: 0 rows (minimum 1) TOO FEW' in detail
    assert 'public.nope: not counted (ERROR:  relation "public"."nope" does not exist)' in detail


def test_create_failure_nothing_to_drop():
    fake = FakePostgres(create_rc=1)
    result = run(dict(CONN, path=CUSTOM, restore_test=True, fail_on_problem=False), fake=fake)
    assert failed_checks(result) == ['restore']
    assert 'could not create the scratch database' in result['checks']['restore']['detail']
    assert len(fake.calls) == 1 and result['restore']['dropped'] is None
    assert result['warnings'] == []


def test_drop_falls_back_without_force_and_warns_when_it_fails():
    fake = FakePostgres(drop_force_rc=1)
    result = run(dict(CONN, path=CUSTOM, restore_test=True), fake=fake)
    assert result['passed'] and fake.argvs()[-1][-1].endswith('"%s"' % result['restore']['database'])
    fake = FakePostgres(drop_force_rc=1, drop_rc=1)
    result = run(dict(CONN, path=CUSTOM, restore_test=True, fail_on_problem=False), fake=fake)
    assert failed_checks(result) == ['restore']
    assert 'could not drop the scratch database' in result['checks']['restore']['detail']
    assert any('may be left behind' in w for w in result['warnings'])


def test_restore_plain_gzip_streams_through_fifo():
    fake = FakePostgres()
    result = run(dict(CONN, path=PLAIN_GZ, restore_test=True, restore_min_rows={'users': 40}), fake=fake)
    assert not result.get('failed'), result['msg']
    with gzip.open(PLAIN_GZ, 'rb') as f:
        dump = f.read()
    # the dump as judged, its own \restrict pair replaced by a fresh key psql 15.18 keeps to the end
    first, rest = fake.fed.split(b'\n', 1)
    assert first.startswith(b'\\restrict ') and len(first) == 10 + 64 and first[10:] not in dump
    own = (b'\\restrict ', b'\\unrestrict ')
    assert rest == b''.join(line for line in dump.splitlines(True) if not line.startswith(own))
    assert fake.versions == [['/usr/bin/psql', '--version']] and result['restore']['warnings'] == []
    restore_argv = fake.argvs()[1]
    assert restore_argv[:5] == ['/usr/bin/psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1']
    fifo = restore_argv[restore_argv.index('--file') + 1]
    assert fifo.endswith('backup.pipe')
    assert not os.path.exists(os.path.dirname(fifo))  # the private directory is gone
    _assert_password_only_in_env(fake, result)


def test_restore_with_a_psql_older_than_restricted_mode_warns_as_a_module():
    # the vetted stream still goes out, without \restrict, and the run says why - as a module warning too
    fake = FakePostgres()
    fake.version = 'psql (PostgreSQL) 15.13\n'
    result = run(dict(CONN, path=PLAIN_GZ, restore_test=True), fake=fake)
    assert not result.get('failed'), result['msg']
    assert not fake.fed.startswith(b'\\restrict ')
    assert result['restore']['warnings'] and result['restore']['warnings'][0] in result['warnings']
    assert '15.14' in result['restore']['warnings'][0]


def test_restore_plain_client_exits_without_reading():
    # psql that fails before opening its --file (e.g. authentication): the feeder must not hang
    fake = FakePostgres(restore_rc=2, read_fifo=False)
    started = time.time()
    result = run(dict(CONN, path=PLAIN_GZ, restore_test=True, fail_on_problem=False), fake=fake)
    assert time.time() - started < 10
    assert failed_checks(result) == ['restore']
    assert result['restore']['dropped'] is True
    assert [t.name for t in threading.enumerate() if t.name == 'tgops-restore-feeder'] == []


def test_restore_plain_client_stops_reading(tmp_path):
    # ON_ERROR_STOP: psql reads a little, exits 3; big enough that the feeder meets a closed pipe
    big = str(tmp_path / 'big.sql.gz')
    with gzip.open(PLAIN_GZ, 'rb') as f:
        sql = f.read()
    with gzip.open(big, 'wb', compresslevel=1) as f:
        for dummy in range(40):
            f.write(b'-- filler ' + os.urandom(4096).hex().encode() + b'\n')
        f.write(sql)
    fake = FakePostgres(restore_rc=3, read_limit=1000)
    result = run(dict(CONN, path=big, restore_test=True, fail_on_problem=False), fake=fake)
    assert failed_checks(result) == ['restore'] and 'rc=3' in result['checks']['restore']['detail']
    assert result['restore']['dropped'] is True


def test_gzipped_custom_archive_is_not_restore_tested(tmp_path):
    path = str(tmp_path / 'backup.dump.gz')
    with open(CUSTOM, 'rb') as src, gzip.open(path, 'wb') as dst:
        dst.write(src.read())
    fake = FakePostgres()
    result = run(dict(CONN, path=path, restore_test=True, fail_on_problem=False), fake=fake)
    assert failed_checks(result) == ['restore'] and fake.calls == []
    assert 'gunzip it first' in result['checks']['restore']['detail']


# --- connection contract ------------------------------------------------------------------------------------

def test_connection_contract():
    spec = postgres_common_argument_spec()
    assert spec['login_password']['no_log'] is True
    assert spec['login_port']['aliases'] == ['port']
    assert spec['login_port']['deprecated_aliases'] == [
        {'name': 'port', 'version': '2.0.0', 'collection_name': 'tgops.runbooks'}]
    fragment = yaml.safe_load(_postgres_doc.ModuleDocFragment.DOCUMENTATION)['options']
    assert set(fragment) == set(spec)
    for name, option in spec.items():
        assert fragment[name].get('default') == option.get('default'), name
        assert fragment[name].get('aliases') == option.get('aliases'), name
    assert 'tgops.runbooks._postgres' in backup_verify.DOCUMENTATION
    assert libpq_argv({'login_unix_socket': '/run/postgresql', 'login_host': 'db', 'login_port': 5433,
                       'login_user': 'u'}, 'x') == [
        '--host', '/run/postgresql', '--port', '5433', '--username', 'u', '--no-password', '--dbname', "dbname='x'"]


@pytest.mark.parametrize('name, quoted', [
    ('users', '"users"'), ('public.users', '"public"."users"'), ('we"ird', '"we""ird"'),
    ('"Mixed Case"', '"Mixed Case"'),
])
def test_quote_ident(name, quoted):
    assert quote_ident(name) == quoted


# --- optional: a real server ----------------------------------------------------------------------------------

@pytest.mark.skipif(not os.environ.get('TGOPS_TEST_PGHOST'), reason='set TGOPS_TEST_PGHOST (and PGPASSWORD, '
                    'TGOPS_TEST_PGPORT) to restore into a real PostgreSQL server')
@pytest.mark.parametrize('path', [CUSTOM, PLAIN_GZ])
def test_real_restore(path):
    from ansible.module_utils.basic import AnsibleModule  # noqa: F401  pylint: disable=unused-import
    import subprocess

    def real_run(argv, environ_update=None, **kwargs):
        env = dict(os.environ)
        env.update(environ_update or {})
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    params = dict(login_host=os.environ['TGOPS_TEST_PGHOST'], login_port=int(os.environ.get('TGOPS_TEST_PGPORT', 5432)),
                  login_user=os.environ.get('TGOPS_TEST_PGUSER', 'postgres'),
                  login_password=os.environ.get('PGPASSWORD', ''), maintenance_db='postgres')
    report = _backup_restore.run_restore_test(real_run, verify_backup(path), params,
                                              {'psql': 'psql', 'pg_restore': 'pg_restore'},
                                              min_rows={'users': 40, 'quiz_results': 300})
    assert report['passed'], report['error']
    assert report['row_counts'] == {'users': 40, 'quiz_results': 300}
    assert report['dropped'] is True


# --- an archive version the module's reader does not know ---------------------------------------------------

def _newer_archive(tmp_path):
    """The real fixture with its header saying version 1.17, and pg_restore's listing of it."""
    with open(CUSTOM, 'rb') as handle:
        data = bytearray(handle.read())
    data[6] = 17
    path = tmp_path / 'backup_20250120_143000.dump'
    path.write_bytes(bytes(data))
    with open(os.path.join(FIXTURES, 'tgquiz_fixture.list')) as handle:
        listing = handle.read().replace('Dump Version: 1.14-0', 'Dump Version: 1.17-0')
    return str(path), listing


def test_an_archive_of_a_newer_pg_dump_is_listed_by_pg_restore_and_warned_about(tmp_path):
    path, listing = _newer_archive(tmp_path)
    calls = []

    def fake(argv, environ_update=None, **kwargs):
        calls.append(argv)
        return 0, listing, ''
    result = run_module(backup_verify, {'path': path, 'bin_dir': '/opt/pg/bin', 'expected_tables': ['users']},
                        run_command=fake, bin_paths={'pg_restore': '/opt/pg/bin/pg_restore'})
    assert not result.get('failed'), result['msg']
    assert calls == [['/opt/pg/bin/pg_restore', '--list', path]]
    assert result['passed'] and result['archive']['read_by'] == 'pg_restore --list'
    assert any('only pg_restore --list read it' in w for w in result['warnings'])


def test_without_pg_restore_an_archive_of_a_newer_pg_dump_fails_and_says_why(tmp_path):
    path, dummy = _newer_archive(tmp_path)

    def fake(argv, environ_update=None, **kwargs):
        raise AssertionError('nothing is run without pg_restore: %r' % (argv,))
    result = run_module(backup_verify, {'path': path}, run_command=fake, bin_paths={'pg_restore': None})
    assert result['failed'] and failed_checks(result) == ['integrity', 'completeness']
    assert "pg_restore --list could not read it either (exit 127: 'pg_restore not found on the host" \
        in result['checks']['integrity']['detail']
