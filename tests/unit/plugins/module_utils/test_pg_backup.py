# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_pg_backup: names, retention, the atomic dump and the exit-on-error restore, with a fake run_command that
behaves like pg_dump / psql / pg_restore (writes --file, reads the FIFO, fails on demand)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import gzip
import hashlib
import os
import stat
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_restore import vetted_source

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
CUSTOM = os.path.abspath(os.path.join(FIXTURES, 'tgquiz_fixture.dump'))
PLAIN_GZ = os.path.abspath(os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz'))
PASSWORD = 'p:a\\ss w0rd!'
CONN = {'host': '127.0.0.1', 'port': 15432, 'user': 'postgres', 'password': PASSWORD}
WHEN = datetime.datetime(2025, 1, 20, 14, 30, 0)


# --- names ------------------------------------------------------------------------------------------------

def test_names_as_the_runbooks_write_them():
    assert pgb.backup_name('backup', 'custom', WHEN) == 'backup_20250120_143000.dump'
    assert pgb.backup_name('toogoodtogo', 'plain_gz', WHEN) == 'toogoodtogo_20250120_143000.sql.gz'
    assert (pgb.backup_name('toogoodtogo', 'plain_gz', WHEN, 'pre_deployment')
            == 'toogoodtogo_20250120_143000_pre_deployment.sql.gz')
    assert pgb.backup_glob('backup', 'custom') == 'backup_*.dump'


@pytest.mark.parametrize('label', ['../x', 'a b', '_lead', 'trail_', 'dou__ble', 'x/y', 'é'])
def test_bad_labels_are_refused(label):
    with pytest.raises(ValueError, match='label'):
        pgb.backup_name('backup', 'custom', WHEN, label)


@pytest.mark.parametrize('prefix', ['', 'a/b'])
def test_bad_prefix_is_refused(prefix):
    with pytest.raises(ValueError, match='prefix'):
        pgb.backup_name(prefix, 'custom', WHEN)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match='format'):
        pgb.backup_name('backup', 'tar', WHEN)


@pytest.mark.parametrize('name', [
    'backup_20250120_143000.dump.old',       # the runbook's leftovers
    '.tgops-backup-0a1b2c.tmp',              # our own temporary file
    'backup_20251320_143000.dump',           # month 13: not a stamp
    'backup_2025012_143000.dump',
    'backup_20250120_143000.sql.gz',         # other format
    'other_20250120_143000.dump',            # other prefix
    'backup_20250120_143000__x.dump',
])
def test_names_that_are_not_ours_are_not_parsed(name):
    assert pgb.parse_backup_name(name, 'backup', 'custom') is None


@settings(max_examples=100, deadline=None)
@given(stamp=st.datetimes(min_value=datetime.datetime(2000, 1, 1), max_value=datetime.datetime(2099, 12, 31)),
       label=st.one_of(st.none(), st.from_regex(r'[a-z0-9]{1,8}(_[a-z0-9]{1,8}){0,2}', fullmatch=True)),
       fmt=st.sampled_from(['custom', 'plain_gz']),
       prefix=st.sampled_from(['backup', 'toogoodtogo', 'db_main']))
def test_name_round_trip(stamp, label, fmt, prefix):
    stamp = stamp.replace(microsecond=0)
    parsed = pgb.parse_backup_name(pgb.backup_name(prefix, fmt, stamp, label), prefix, fmt)
    assert parsed == {'stamp': stamp, 'label': label}


# --- retention --------------------------------------------------------------------------------------------

def _entries(days_ago, now, label=None):
    out = []
    for days in days_ago:
        stamp = now - datetime.timedelta(days=days)
        out.append({'path': '/b/%s' % pgb.backup_name('backup', 'custom', stamp, label), 'stamp': stamp,
                    'label': label})
    return out


def test_retention_keeps_seven_days_and_never_fewer_than_the_last_seven():
    now = datetime.datetime(2025, 2, 1, 3, 0, 0)
    daily = _entries(range(0, 20), now)
    plan = pgb.retention_plan(daily, now, keep=7, keep_days=7)
    assert plan['keep'] == [b['path'] for b in daily[:8]]  # 0..7 days old (7 days exactly is kept)
    assert plan['remove'] == [b['path'] for b in daily[8:]]
    # backups stopped a month ago: the last 7 are still kept
    stale = _entries(range(30, 45), now)
    plan = pgb.retention_plan(stale, now, keep=7, keep_days=7)
    assert plan['keep'] == [b['path'] for b in stale[:7]] and len(plan['remove']) == 8


def test_retention_leaves_labelled_backups_alone():
    now = datetime.datetime(2025, 2, 1, 3, 0, 0)
    labelled = _entries([100, 200], now, label='pre_deployment')
    daily = _entries([0, 50], now)
    plan = pgb.retention_plan(sorted(labelled + daily, key=lambda b: b['stamp'], reverse=True), now, keep=1,
                              keep_days=1)
    assert plan['remove'] == [daily[1]['path']]
    assert plan['labelled'] == [b['path'] for b in labelled]


def test_retention_without_policy_removes_nothing_and_rejects_negatives():
    now = datetime.datetime(2025, 2, 1)
    daily = _entries([0, 400], now)
    assert pgb.retention_plan(daily, now, keep=None, keep_days=None)['remove'] == []
    # keep_days=0 keeps only what is not older than now, and the newest `keep` whatever their age
    later = now + datetime.timedelta(seconds=1)
    assert pgb.retention_plan(daily, later, keep=1, keep_days=0)['remove'] == [daily[1]['path']]
    with pytest.raises(ValueError, match='keep_days must be 0 or more'):
        pgb.retention_plan(daily, now, keep=1, keep_days=-1)


@pytest.mark.parametrize('keep', [0, -1])
def test_retention_that_would_keep_no_backup_is_refused(keep):
    """keep: 0, keep_days: 0 removed every daily backup, the one just taken included."""
    now = datetime.datetime(2025, 2, 1)
    daily = _entries([0, 1, 400], now)
    with pytest.raises(ValueError, match='keep must be at least 1'):
        pgb.retention_plan(daily, now + datetime.timedelta(seconds=1), keep=keep, keep_days=0)


def test_retention_never_removes_the_newest_verified_backup():
    """A file planted with a stamp in the future takes the newest place by name: the backup just taken and
    verified stays anyway."""
    now = datetime.datetime(2025, 2, 1, 3, 0, 0)
    verified = _entries([0], now)[0]
    planted = {'path': '/b/backup_20991231_235959.dump', 'stamp': datetime.datetime(2099, 12, 31, 23, 59, 59),
               'label': None}
    older = _entries([1, 2], now)
    backups = [planted, verified] + older
    now += datetime.timedelta(seconds=1)
    assert verified['path'] in pgb.retention_plan(backups, now, keep=1, keep_days=0)['remove']  # what the name says
    plan = pgb.retention_plan(backups, now, keep=1, keep_days=0, protect=[verified['path']])
    assert verified['path'] in plan['keep'] and planted['path'] in plan['keep']
    assert plan['remove'] == [b['path'] for b in older]


def test_retention_keeps_the_newest_daily_backup_even_without_keep():
    """The one policy (backup_retention's, previewed by backup_verify): keep=None and keep_days=0 removed every daily
    backup, the newest included; backup_verify's former preview policy never listed the newest, and that wins."""
    now = datetime.datetime(2025, 2, 1, 3, 0, 0)
    daily = _entries([0, 1, 2], now)
    plan = pgb.retention_plan(daily, now + datetime.timedelta(seconds=1), keep=None, keep_days=0)
    assert plan['keep'] == [daily[0]['path']] and plan['remove'] == [b['path'] for b in daily[1:]]


@pytest.mark.parametrize('keep', [True, 1.5, '7'])
def test_retention_keep_must_be_a_whole_number(keep):
    now = datetime.datetime(2025, 2, 1)
    with pytest.raises(ValueError, match='keep must be a whole number'):
        pgb.retention_plan(_entries([0, 1], now), now, keep=keep, keep_days=0)


def test_retention_keep_n_keep_days_or_both(tmp_path):
    """Moved from backup_verify's own preview policy (now this one): names listed from a directory, judged by
    their stamps; the mtime plays no part."""
    now = datetime.datetime(2025, 1, 10, 3, 1, 0)
    for day in range(1, 11):
        (tmp_path / ('toogoodtogo_202501%02d_030000.sql.gz' % day)).write_bytes(b'x')
    (tmp_path / 'unrelated.txt').write_bytes(b'x')
    backups = pgb.list_named_backups(str(tmp_path), 'toogoodtogo', 'plain_gz')
    assert len(backups) == 10 and backups[0]['name'] == 'toogoodtogo_20250110_030000.sql.gz'
    names = [os.path.basename(p) for p in pgb.retention_plan(backups, now, keep=7, keep_days=None)['remove']]
    assert names == ['toogoodtogo_20250103_030000.sql.gz', 'toogoodtogo_20250102_030000.sql.gz',
                     'toogoodtogo_20250101_030000.sql.gz']
    # 7 days: the ones stamped more than 7 * 86400 s ago go
    assert len(pgb.retention_plan(backups, now, keep=None, keep_days=7)['remove']) == 3
    assert len(pgb.retention_plan(backups, now, keep=9, keep_days=7)['remove']) == 1
    assert pgb.retention_plan(backups, now, keep=None, keep_days=None)['remove'] == []
    assert len(os.listdir(str(tmp_path))) == 11


@settings(max_examples=100, deadline=None)
@given(ages=st.lists(st.integers(min_value=0, max_value=60 * 86400), max_size=30, unique=True),
       keep=st.integers(min_value=1, max_value=10), keep_days=st.integers(min_value=0, max_value=30))
def test_retention_properties(ages, keep, keep_days):
    now = datetime.datetime(2025, 6, 1)
    entries = []
    for age in sorted(ages):
        stamp = now - datetime.timedelta(seconds=age)
        entries.append({'path': '/b/%d' % age, 'stamp': stamp, 'label': None})
    plan = pgb.retention_plan(entries, now, keep=keep, keep_days=keep_days)
    assert sorted(plan['keep'] + plan['remove']) == sorted(e['path'] for e in entries)
    assert plan['keep'][:keep] == [e['path'] for e in entries[:keep]]  # the newest `keep` always stay
    for entry in entries:
        young = (now - entry['stamp']).total_seconds() <= keep_days * 86400
        if young:
            assert entry['path'] in plan['keep']
    # applying the plan again to what is kept removes nothing more (converges)
    kept = [e for e in entries if e['path'] in plan['keep']]
    assert pgb.retention_plan(kept, now, keep=keep, keep_days=keep_days)['remove'] == []


def test_list_named_backups_ignores_directories_links_and_foreign_names(tmp_path):
    for name in ['backup_20250120_143000.dump', 'backup_20250121_030000.dump',
                 'backup_20250119_120000_pre_deployment.dump', 'backup_20250118_030000.dump.old', 'notes.txt']:
        (tmp_path / name).write_bytes(b'x')
    (tmp_path / 'backup_20250122_030000.dump').mkdir()
    os.symlink(str(tmp_path / 'notes.txt'), str(tmp_path / 'backup_20250123_030000.dump'))
    found = pgb.list_named_backups(str(tmp_path), 'backup', 'custom')
    assert [b['name'] for b in found] == ['backup_20250121_030000.dump', 'backup_20250120_143000.dump',
                                          'backup_20250119_120000_pre_deployment.dump']
    assert found[2]['label'] == 'pre_deployment'


# --- connection -------------------------------------------------------------------------------------------

def test_passfile_holds_the_escaped_password_only_while_open(tmp_path):
    with pgb.PassFile(PASSWORD, tmpdir=str(tmp_path)) as passfile:
        env = passfile.environ({'PGSSLMODE': 'require'})
        assert env['PGSSLMODE'] == 'require' and 'PGPASSWORD' not in env
        assert PASSWORD not in ''.join(env.values())
        assert stat.S_IMODE(os.stat(env['PGPASSFILE']).st_mode) == 0o600
        with open(env['PGPASSFILE']) as f:
            assert f.read() == '*:*:*:*:p\\:a\\\\ss w0rd!\n'
    assert not os.path.exists(env['PGPASSFILE'])
    assert os.listdir(str(tmp_path)) == []


def test_no_password_no_passfile():
    with pgb.PassFile('') as passfile:
        assert 'PGPASSFILE' not in passfile.environ()


def test_password_with_newline_is_refused(tmp_path):
    with pytest.raises(pgb.BackupError, match='line break'):
        with pgb.PassFile('a\nb', tmpdir=str(tmp_path)):
            pass


def test_conn_argv_never_carries_the_password():
    argv = pgb.conn_argv(CONN, 'tgquiznft_prod')
    assert argv == ['--host', '127.0.0.1', '--port', '15432', '--username', 'postgres', '--no-password',
                    '--dbname', "dbname='tgquiznft_prod'"]
    assert pgb.conn_argv({'unix_socket': '/run/postgresql', 'host': 'x'}, 'd')[:2] == ['--host', '/run/postgresql']


def test_dump_database_name_is_never_read_as_a_connection_string():
    # pg_dump reads a --dbname with "=" as a whole connection string: a raw name would connect elsewhere
    argv = pgb.dump_argv('pg_dump', CONN, "prod host=evil.example dbname=other", 'custom', '/backup/x')
    assert argv[argv.index('--dbname') + 1] == "dbname='prod host=evil.example dbname=other'"


def test_connect_params_join_the_connection_string_quoted():
    conn = dict(CONN, connect_params={'application_name': "it's", 'keepalives': True, 'keepalives_idle': 30})
    value = pgb.conn_argv(conn, 'd')[-1]
    assert value == "dbname='d' application_name='it\\'s' keepalives='1' keepalives_idle='30'"


@pytest.mark.parametrize('params, message', [
    ({'password': 'x'}, 'password has its own option'),
    ({'host': 'evil'}, 'host has its own option'),
    ({'dbname': 'other'}, 'dbname has its own option'),
    ({"a='b' host": 'x'}, 'is not a libpq connection keyword'),
    ({'options': ['-c', 'x']}, 'options needs a single value'),
    ({'options': 'a\x00b'}, 'NUL'),
])
def test_connect_params_that_would_change_the_contract_are_refused(params, message):
    assert message in pgb.connect_params_problem(params)
    with pytest.raises(ValueError, match=message):
        pgb.conn_argv(dict(CONN, connect_params=params), 'd')


def test_environment_carries_ssl_settings_and_the_password_only_when_asked():
    conn = dict(CONN, env={'PGSSLMODE': 'require'})
    assert pgb.conn_environ(conn) == {'PGAPPNAME': 'tgops.runbooks', 'PGCONNECT_TIMEOUT': '10', 'PGSSLMODE': 'require'}
    env = pgb.conn_environ(conn, password_env=True)
    # never PGPASSWORD (readable in /proc/<pid>/environ): a private password file
    assert 'PGPASSWORD' not in env and PASSWORD not in ''.join(env.values())
    assert stat.S_IMODE(os.stat(env['PGPASSFILE']).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(env['PGPASSFILE'])).st_mode) == 0o700
    with open(env['PGPASSFILE']) as f:
        assert f.read() == '*:*:*:*:p\\:a\\\\ss w0rd!\n'
    # one file per password and process
    assert pgb.conn_environ(conn, password_env=True)['PGPASSFILE'] == env['PGPASSFILE']


def test_the_session_password_file_is_removed_when_the_process_exits(tmp_path):
    # a module ends with sys.exit (exit_json/fail_json): the file must not outlive it
    code = ('import sys; sys.path[:0] = %r; '
            'from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb; '
            'print(pgb.conn_environ({"password": "x-secret"}, password_env=True)["PGPASSFILE"]); sys.exit(1)'
            % [p for p in sys.path if p])
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=False,
                          env=dict(os.environ, TMPDIR=str(tmp_path)))
    path = proc.stdout.strip()
    assert proc.returncode == 1 and path.startswith(str(tmp_path)), proc.stderr
    assert not os.path.exists(path) and os.listdir(str(tmp_path)) == []


def test_gzip_fifo_feeds_the_whole_stream_and_cleans_up(tmp_path):
    with pgb.GzipFifo(PLAIN_GZ, str(tmp_path)) as fifo:
        assert stat.S_ISFIFO(os.stat(fifo.path).st_mode) and stat.S_IMODE(os.stat(fifo.path).st_mode) == 0o600
        with open(fifo.path, 'rb') as src:
            data = src.read()
        fifo.feeder.finish()
        assert fifo.feeder.complete and fifo.feeder.bytes_written == len(data)
    with gzip.open(PLAIN_GZ, 'rb') as src:
        assert data == src.read()
    assert os.listdir(str(tmp_path)) == []


def test_gzip_fifo_nobody_reads_no_hang(tmp_path):
    with pgb.GzipFifo(PLAIN_GZ, str(tmp_path)) as fifo:
        pass
    assert not fifo.feeder.thread.is_alive() and not fifo.feeder.complete
    assert os.listdir(str(tmp_path)) == []


# --- backup -----------------------------------------------------------------------------------------------

class FakeDump(object):
    """Behaves like pg_dump --file: writes ``content`` (a fixture's bytes), exits ``rc``."""

    def __init__(self, content, rc=0, err=''):
        self.content = content
        self.rc = rc
        self.err = err
        self.calls = []
        self.passfile = None

    def __call__(self, argv, environ_update=None):
        self.calls.append((list(argv), dict(environ_update or {})))
        passfile = (environ_update or {}).get('PGPASSFILE')
        if passfile:
            with open(passfile) as f:
                self.passfile = (f.read(), stat.S_IMODE(os.stat(passfile).st_mode))
        with open(argv[argv.index('--file') + 1], 'wb') as out:
            out.write(self.content)
        return self.rc, '', self.err


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


@pytest.mark.parametrize('fmt,fixture,flags', [
    ('custom', CUSTOM, ['--format=custom']),
    ('plain_gz', PLAIN_GZ, ['--format=plain', '--compress=6']),
])
def test_backup_is_written_atomically_private_and_named(tmp_path, fmt, fixture, flags):
    content = _read(fixture)
    fake = FakeDump(content)
    result = pgb.take_backup(fake, '/usr/bin/pg_dump', CONN, 'db', str(tmp_path), 'backup', fmt,
                             now=lambda: WHEN, tmpdir=str(tmp_path / '..'))
    name = pgb.backup_name('backup', fmt, WHEN)
    assert result['path'] == str(tmp_path / name) and result['name'] == name
    assert os.listdir(str(tmp_path)) == [name], 'only the backup, no temporary file'
    assert stat.S_IMODE(os.stat(result['path']).st_mode) == 0o600
    assert result['sha256'] == hashlib.sha256(content).hexdigest() and result['size'] == len(content)
    argv, env = fake.calls[0]
    assert argv[1:1 + len(flags)] == flags
    tmp_file = argv[argv.index('--file') + 1]
    assert os.path.dirname(tmp_file) == str(tmp_path) and os.path.basename(tmp_file).startswith('.tgops-backup-')
    assert PASSWORD not in ' '.join(argv) and PASSWORD not in ' '.join(env.values())
    assert fake.passfile == ('*:*:*:*:%s\n' % pgb.pgpass_escape(PASSWORD), 0o600)
    assert not os.path.exists(env['PGPASSFILE'])
    assert result['command'][-1] == result['path']


def test_failed_pg_dump_leaves_nothing(tmp_path):
    # the runbook's `pg_dump | gzip > file` without pipefail: a 20-byte gzip header and "success"
    fake = FakeDump(gzip.compress(b''), rc=1, err='pg_dump: error: connection to server failed: FATAL:  '
                                                  'password authentication failed for user "postgres"')
    with pytest.raises(pgb.BackupError) as exc:
        pgb.take_backup(fake, 'pg_dump', CONN, 'db', str(tmp_path), 'backup', 'plain_gz', now=lambda: WHEN)
    assert exc.value.stage == 'dump'
    assert 'exited with status 1' in exc.value.message and 'password authentication failed' in exc.value.message
    assert os.listdir(str(tmp_path)) == []


def test_empty_dump_with_exit_zero_is_refused(tmp_path):
    with pytest.raises(pgb.BackupError, match='wrote nothing'):
        pgb.take_backup(FakeDump(b''), 'pg_dump', CONN, 'db', str(tmp_path), 'backup', 'custom', now=lambda: WHEN)
    assert os.listdir(str(tmp_path)) == []


def test_existing_backup_is_never_replaced(tmp_path):
    taken = pgb.backup_name('backup', 'custom', WHEN)
    (tmp_path / taken).write_bytes(b'older backup')
    stamps = iter([WHEN, WHEN + datetime.timedelta(seconds=1)])
    slept = []
    result = pgb.take_backup(FakeDump(b'PGDMP new'), 'pg_dump', CONN, 'db', str(tmp_path), 'backup', 'custom',
                             now=lambda: next(stamps), sleep=slept.append)
    assert result['name'] == 'backup_20250120_143001.dump' and slept == [1.0]
    assert _read(str(tmp_path / taken)) == b'older backup'
    assert sorted(os.listdir(str(tmp_path))) == [taken, result['name']]


def test_missing_directory(tmp_path):
    with pytest.raises(pgb.BackupError, match='does not exist'):
        pgb.take_backup(FakeDump(b'x'), 'pg_dump', CONN, 'db', str(tmp_path / 'nope'), 'backup', 'custom')


# --- restore ----------------------------------------------------------------------------------------------

def test_detect_format(tmp_path):
    assert pgb.detect_format(CUSTOM) == 'custom'
    assert pgb.detect_format(PLAIN_GZ) == 'plain_gz'
    plain = tmp_path / 'x.sql'
    plain.write_bytes(b'--\n-- PostgreSQL database dump\n')
    assert pgb.detect_format(str(plain)) == 'plain'
    gz_custom = tmp_path / 'x.dump.gz'
    gz_custom.write_bytes(gzip.compress(_read(CUSTOM)))
    with pytest.raises(pgb.BackupError, match='gunzip it first'):
        pgb.detect_format(str(gz_custom))
    empty = tmp_path / 'empty'
    empty.write_bytes(b'')
    with pytest.raises(pgb.BackupError, match='is empty'):
        pgb.detect_format(str(empty))
    junk = tmp_path / 'junk'
    junk.write_bytes(b'\xff\xfe\x00\x01\x02')
    with pytest.raises(pgb.BackupError, match='neither'):
        pgb.detect_format(str(junk))


PSQL_15_18 = 'psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n'


class FakePostgres(object):
    """psql/pg_restore: records argv (``psql --version`` apart, in ``versions``); fails the step named in
    ``fail``; psql reads the FIFO it is given."""

    def __init__(self, fail=None, counts=None, read_fifo=True, version=PSQL_15_18):
        self.fail = fail
        self.counts = counts or {}
        self.read_fifo = read_fifo
        self.version = version
        self.versions = 0
        self.calls = []
        self.fed = None

    def __call__(self, argv, environ_update=None):
        if argv[1:] == ['--version']:
            self.versions += 1
            return 0, self.version, ''
        self.calls.append(list(argv))
        if '--command' in argv:
            sql = argv[argv.index('--command') + 1]
            step = sql.split()[0].lower()
            if step == self.fail:
                return 1, '', 'ERROR:  %s failed' % step
            if sql.startswith('SELECT count(*) FROM '):
                return 0, '%d\n' % self.counts[sql[len('SELECT count(*) FROM '):]], ''
            return 0, '', ''
        if self.fail == 'restore':
            return 1, '', 'pg_restore: error: could not execute query: ERROR:  role "ghost" does not exist'
        if '--file' in argv and self.read_fifo:
            with open(argv[argv.index('--file') + 1], 'rb') as f:
                self.fed = f.read()
        return 0, '', ''


BINS = {'psql': '/usr/bin/psql', 'pg_restore': '/usr/bin/pg_restore'}


def test_restore_custom_drops_creates_and_restores_with_exit_on_error(tmp_path):
    fake = FakePostgres(counts={'"public"."users"': 40})
    report = pgb.restore_database(fake, BINS, CONN, 'tgquiznft_prod', CUSTOM, owner='postgres',
                                  expected_row_counts={'public.users': 40}, tmpdir=str(tmp_path))
    drop, create, restore, count = fake.calls
    assert drop[-1] == 'DROP DATABASE IF EXISTS "tgquiznft_prod" WITH (FORCE)' and drop[drop.index('--dbname') + 1] == "dbname='postgres'"
    assert create[-1] == 'CREATE DATABASE "tgquiznft_prod" TEMPLATE template0 OWNER "postgres"'
    assert restore[:3] == ['/usr/bin/pg_restore', '--exit-on-error', '--single-transaction']
    assert '--no-owner' not in restore and restore[-1].startswith(str(tmp_path)), 'its private copy'
    assert count[count.index('--dbname') + 1] == "dbname='tgquiznft_prod'"
    assert report['row_counts'] == {'public.users': 40} and report['dropped'] and report['format'] == 'custom'


def _unrestricted(fed):
    """The stream without its first line, which must be \\restrict and a fresh 64-character key."""
    first, rest = fed.split(b'\n', 1)
    assert first.startswith(b'\\restrict ') and len(first) == len(b'\\restrict ') + 64 and first[10:].isalnum()
    return rest


def _without_restrict(dump):
    """The dump without its own \\restrict / \\unrestrict lines (the vetted stream drops them)."""
    return b''.join(line for line in dump.splitlines(True)
                    if not line.startswith((b'\\restrict ', b'\\unrestrict ')))


def test_restore_plain_gz_streams_through_a_fifo_with_on_error_stop(tmp_path):
    fake = FakePostgres()
    report = pgb.restore_database(fake, BINS, CONN, 'toogoodtogo', PLAIN_GZ, tmpdir=str(tmp_path),
                                  plain_source=vetted_source)
    restore = fake.calls[2]
    assert restore[:6] == ['/usr/bin/psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction']
    assert fake.versions == 1 and report['warnings'] == []
    with gzip.open(PLAIN_GZ, 'rb') as f:
        assert _unrestricted(fake.fed) == _without_restrict(f.read())
    assert os.listdir(str(tmp_path)) == [], 'FIFO and password file removed'


def test_restore_fails_when_psql_does_not_read_the_whole_backup(tmp_path):
    with pytest.raises(pgb.BackupError, match='did not read the whole backup') as exc:
        pgb.restore_database(FakePostgres(read_fifo=False), BINS, CONN, 'toogoodtogo', PLAIN_GZ, tmpdir=str(tmp_path),
                             plain_source=vetted_source)
    assert exc.value.details['dropped'] is True


@pytest.mark.parametrize('step,dropped', [('drop', False), ('create', True), ('restore', True)])
def test_restore_failure_says_whether_the_database_was_dropped(tmp_path, step, dropped):
    fake = FakePostgres(fail=step)
    with pytest.raises(pgb.BackupError) as exc:
        pgb.restore_database(fake, BINS, CONN, 'tgquiznft_prod', CUSTOM, tmpdir=str(tmp_path))
    assert exc.value.stage == step and exc.value.details['dropped'] is dropped
    assert len(fake.calls) == {'drop': 1, 'create': 2, 'restore': 3}[step], 'stops at the first failure'


def test_restore_row_count_mismatch_fails_verification(tmp_path):
    fake = FakePostgres(counts={'"public"."users"': 39})
    with pytest.raises(pgb.BackupError) as exc:
        pgb.restore_database(fake, BINS, CONN, 'tgquiznft_prod', CUSTOM, expected_row_counts={'public.users': 40},
                             tmpdir=str(tmp_path))
    assert exc.value.stage == 'verify'
    assert 'public.users: 40 rows in the backup, 39 after the restore' in exc.value.message


def test_restore_plan_in_check_mode_order():
    steps = pgb.restore_plan(BINS, CONN, 'toogoodtogo', 'toogoodtogo', 'plain_gz', '/b/x.sql.gz')
    assert [s for s, _argv in steps] == ['drop', 'create', 'restore']
    assert steps[2][1][-2:] == ['--file', '<fifo: vetted /b/x.sql.gz>']
    assert pgb.compare_row_counts({'a': 1}, {}) == ['a: 1 rows in the backup, not counted after the restore']


# --- the backup a restore reads: named, pinned, authenticated ------------------------------------------------

KEY = 'k3y-from-the-vault/0123456789abcdef'


def test_backup_hmac_binds_the_name_and_the_sha256():
    sha = hashlib.sha256(b'backup').hexdigest()
    mac = pgb.backup_hmac(KEY, 'backup_20250120_143000.dump', sha)
    assert len(mac) == 64 and mac == pgb.backup_hmac(KEY, 'backup_20250120_143000.dump', sha.upper())
    assert pgb.hmac_problem(KEY, 'backup_20250120_143000.dump', sha, mac) is None
    other_sha = hashlib.sha256(b'forged').hexdigest()
    # the forgery that passes a sha256-only check: new bytes, their sha256 rewritten, the old HMAC kept
    assert 'does not match' in pgb.hmac_problem(KEY, 'backup_20250120_143000.dump', other_sha, mac)
    # a genuine older backup served under a newer name
    assert 'does not match' in pgb.hmac_problem(KEY, 'backup_20250121_030000.dump', sha, mac)
    assert 'does not match' in pgb.hmac_problem('another key', 'backup_20250120_143000.dump', sha, mac)
    assert 'no HMAC key' in pgb.hmac_problem('', 'backup_20250120_143000.dump', sha, mac)
    assert 'carries no HMAC' in pgb.hmac_problem(KEY, 'backup_20250120_143000.dump', sha, '')
    for problem in [pgb.hmac_problem(KEY, 'backup_20250120_143000.dump', other_sha, mac),
                    pgb.hmac_problem(KEY, 'x.dump', 'not-hex', mac)]:
        assert KEY not in problem and mac not in problem


@pytest.mark.parametrize('name', ['../backup_20250120_143000.dump', '/etc/shadow', '..', '.', '', 'a/b.dump',
                                  'x\nbackup.dump'])
def test_backup_names_are_file_names_in_the_directory(name):
    assert 'file name' in pgb.check_backup_name(name)


def test_pin_refuses_links_and_non_files_and_reports_the_bytes(tmp_path):
    good = tmp_path / 'backup_20250120_143000.dump'
    good.write_bytes(b'PGDMP pinned bytes')
    pinned = pgb.pin_backup(str(good))
    assert pinned['sha256'] == hashlib.sha256(b'PGDMP pinned bytes').hexdigest() and pinned['size'] == 18
    os.symlink(str(good), str(tmp_path / 'link.dump'))
    with pytest.raises(pgb.BackupError, match='symbolic link') as exc:
        pgb.pin_backup(str(tmp_path / 'link.dump'))
    assert exc.value.stage == 'name'
    (tmp_path / 'dir.dump').mkdir()
    with pytest.raises(pgb.BackupError, match='not a regular file'):
        pgb.pin_backup(str(tmp_path / 'dir.dump'))
    os.mkfifo(str(tmp_path / 'fifo.dump'))
    with pytest.raises(pgb.BackupError, match='not a regular file'):
        pgb.pin_backup(str(tmp_path / 'fifo.dump'))  # opened non-blocking: no hang on a FIFO nobody writes
    with pytest.raises(pgb.BackupError, match='differs from the expected') as exc:
        pgb.pin_backup(str(good), expected_sha256='0' * 64)
    assert exc.value.stage == 'pin'
    mac = pgb.backup_hmac(KEY, good.name, pinned['sha256'])
    assert pgb.pin_backup(str(good), pinned['sha256'], KEY, mac)['sha256'] == pinned['sha256']
    with pytest.raises(pgb.BackupError, match='does not match') as exc:
        pgb.pin_backup(str(good), pinned['sha256'], KEY, '0' * 64)
    assert exc.value.stage == 'authenticate'


class SwapAfterCopy(FakePostgres):
    """The file in the backup directory is replaced as soon as the restore starts (after its copy)."""

    def __init__(self, path, replacement, **kw):
        super(SwapAfterCopy, self).__init__(**kw)
        self.path = path
        self.replacement = replacement

    def __call__(self, argv, environ_update=None):
        if not self.calls:
            with open(self.path, 'wb') as f:
                f.write(self.replacement)
        return super(SwapAfterCopy, self).__call__(argv, environ_update)


def test_restore_refuses_a_backup_that_changed_since_its_verification(tmp_path):
    """The file is replaced between verification (which returned its sha256) and the restore: nothing runs,
    the database is not dropped."""
    backup = tmp_path / 'backups' / 'toogoodtogo_20250120_030000.sql.gz'
    backup.parent.mkdir()
    with open(PLAIN_GZ, 'rb') as f:
        original = f.read()
    backup.write_bytes(original)
    verified_sha256 = hashlib.sha256(original).hexdigest()
    backup.write_bytes(gzip.compress(b'\\! id > /tmp/pwned\n'))
    fake = FakePostgres()
    work = tmp_path / 'work'
    work.mkdir()
    with pytest.raises(pgb.BackupError, match='changed since it was verified') as exc:
        pgb.restore_database(fake, BINS, CONN, 'toogoodtogo', str(backup), tmpdir=str(work),
                             expected_sha256=verified_sha256)
    assert exc.value.stage == 'pin' and exc.value.details['dropped'] is False
    assert fake.calls == [], 'the database was not touched'
    assert os.listdir(str(work)) == [], 'the private copy is removed'


def test_restore_reads_only_its_private_copy(tmp_path):
    """A swap after the pinned copy was made changes nothing: the client reads the copy."""
    backup = tmp_path / 'toogoodtogo_20250120_030000.sql.gz'
    with open(PLAIN_GZ, 'rb') as f:
        original = f.read()
    backup.write_bytes(original)
    fake = SwapAfterCopy(str(backup), gzip.compress(b'\\! id > /tmp/pwned\n'))
    report = pgb.restore_database(fake, BINS, CONN, 'toogoodtogo', str(backup), tmpdir=str(tmp_path),
                                  expected_sha256=hashlib.sha256(original).hexdigest(), plain_source=vetted_source)
    assert _unrestricted(fake.fed) == _without_restrict(gzip.decompress(original))
    assert report['sha256'] == hashlib.sha256(original).hexdigest()
    assert backup.read_bytes() != original, 'the swap happened'


def test_restore_custom_reads_a_private_copy_not_the_backup(tmp_path):
    fake = FakePostgres()
    pgb.restore_database(fake, BINS, CONN, 'tgquiznft_prod', CUSTOM, tmpdir=str(tmp_path),
                         expected_sha256=hashlib.sha256(open(CUSTOM, 'rb').read()).hexdigest())
    restored = fake.calls[2][-1]
    assert restored != CUSTOM and restored.startswith(str(tmp_path))
    assert not os.path.exists(restored), 'removed afterwards'


def test_restore_refuses_a_symlinked_backup_before_the_drop(tmp_path):
    os.symlink(CUSTOM, str(tmp_path / 'backup_20250120_143000.dump'))
    fake = FakePostgres()
    with pytest.raises(pgb.BackupError, match='symbolic link') as exc:
        pgb.restore_database(fake, BINS, CONN, 'tgquiznft_prod', str(tmp_path / 'backup_20250120_143000.dump'),
                             tmpdir=str(tmp_path))
    assert exc.value.details['dropped'] is False and fake.calls == []
