# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""pg_backup, backup_retention and pg_backup_restore through their main(): check mode, results, secrets,
failures, and that DOCUMENTATION matches the argument specs."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import os
import stat

import pytest
import yaml

from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb
from ansible_collections.tgops.runbooks.plugins.modules import backup_retention, pg_backup, pg_backup_restore

from tgops_module_runner import module_argument_spec, run_module

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
CUSTOM = os.path.abspath(os.path.join(FIXTURES, 'tgquiz_fixture.dump'))
PLAIN_GZ = os.path.abspath(os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz'))
PASSWORD = 'Sup3r:secret\\pw'
CONN = dict(login_host='127.0.0.1', login_port=15432, login_user='postgres', login_password=PASSWORD)
BINS = {'pg_dump': '/usr/bin/pg_dump', 'psql': '/usr/bin/psql', 'pg_restore': '/usr/bin/pg_restore'}


def _no_secret(result):
    assert PASSWORD not in json.dumps(result)
    assert pgb.pgpass_escape(PASSWORD) not in json.dumps(result)


class Dump(object):
    def __init__(self, rc=0, content=b'PGDMP fake archive'):
        self.rc = rc
        self.content = content
        self.calls = []

    def __call__(self, argv, environ_update=None, **kwargs):
        self.calls.append((argv, environ_update))
        with open(argv[argv.index('--file') + 1], 'wb') as f:
            f.write(self.content)
        return self.rc, '', 'pg_dump: error: query failed' if self.rc else ''


# --- pg_backup --------------------------------------------------------------------------------------------

def test_pg_backup_writes_a_new_file(tmp_path):
    fake = Dump()
    result = run_module(pg_backup, dict(CONN, login_db='tgquiznft_prod', dest=str(tmp_path), prefix='backup'),
                        run_command=fake, bin_paths=BINS)
    assert not result.get('failed'), result
    assert result['changed'] is True and result['format'] == 'custom' and result['label'] is None
    assert os.listdir(str(tmp_path)) == [result['name']]
    assert stat.S_IMODE(os.stat(result['path']).st_mode) == 0o600
    assert result['command'][0] == '/usr/bin/pg_dump' and result['command'][-1] == result['path']
    _no_secret(result)
    _no_secret(fake.calls)


def test_pg_backup_check_mode_writes_nothing(tmp_path):
    result = run_module(pg_backup, dict(CONN, login_db='toogoodtogo', dest=str(tmp_path), prefix='toogoodtogo',
                                        format='plain_gz', label='pre_deployment'),
                        check_mode=True, run_command=Dump(), bin_paths=BINS)
    assert result['changed'] is True and os.listdir(str(tmp_path)) == []
    assert result['name'].endswith('_pre_deployment.sql.gz') and result['name'].startswith('toogoodtogo_')
    assert '--compress=6' in result['command']
    _no_secret(result)


def test_pg_backup_failure_reports_stage_and_leaves_nothing(tmp_path):
    result = run_module(pg_backup, dict(CONN, login_db='tgquiznft_prod', dest=str(tmp_path), prefix='backup'),
                        run_command=Dump(rc=1), bin_paths=BINS)
    assert result['failed'] and result['stage'] == 'dump' and result['changed'] is False
    assert 'exited with status 1' in result['msg']
    assert os.listdir(str(tmp_path)) == []
    _no_secret(result)


@pytest.mark.parametrize('args,message', [
    ({'label': '../etc'}, 'label'),
    ({'prefix': 'a/b'}, 'prefix'),
    ({'mode': '0999'}, 'give permissions'),
    ({'mode': '01777'}, 'give permissions'),
])
def test_pg_backup_bad_input(tmp_path, args, message):
    base = dict(CONN, login_db='d', dest=str(tmp_path), prefix='backup')
    base.update(args)
    result = run_module(pg_backup, base, run_command=Dump(), bin_paths=BINS)
    assert result['failed'] and message in result['msg']
    assert os.listdir(str(tmp_path)) == []


# --- backup_retention -------------------------------------------------------------------------------------

def _plant(tmp_path, days_ago, label=None):
    now = datetime.datetime.now()
    names = []
    for days in days_ago:
        name = pgb.backup_name('toogoodtogo', 'plain_gz', now - datetime.timedelta(days=days), label)
        (tmp_path / name).write_bytes(b'x')
        names.append(name)
    return names


def test_retention_check_mode_then_real_then_idempotent(tmp_path):
    daily = _plant(tmp_path, [0, 1, 2, 10, 11])
    labelled = _plant(tmp_path, [30], label='pre_deployment')
    args = dict(path=str(tmp_path), prefix='toogoodtogo', format='plain_gz', keep=2, keep_days=7)
    check = run_module(backup_retention, args, check_mode=True, diff=True)
    assert check['changed'] and sorted(os.path.basename(p) for p in check['removed']) == sorted(daily[3:])
    assert len(os.listdir(str(tmp_path))) == 6, 'check mode removes nothing'
    assert daily[3] in check['diff']['before'] and daily[3] not in check['diff']['after']
    real = run_module(backup_retention, args)
    assert real['changed'] and real['removed'] == check['removed']
    assert sorted(os.listdir(str(tmp_path))) == sorted(daily[:3] + labelled)
    assert [os.path.basename(p) for p in real['labelled']] == labelled
    again = run_module(backup_retention, args)
    assert again['changed'] is False and again['removed'] == []


def test_retention_missing_directory(tmp_path):
    result = run_module(backup_retention, dict(path=str(tmp_path / 'none'), prefix='backup'))
    assert result['failed'] and 'does not exist' in result['msg']


@pytest.mark.parametrize('keep', [-1, 0])
def test_retention_keep_below_one_is_refused_and_removes_nothing(tmp_path, keep):
    daily = _plant(tmp_path, [0, 1, 30])
    result = run_module(backup_retention, dict(path=str(tmp_path), prefix='toogoodtogo', format='plain_gz', keep=keep,
                                               keep_days=0))
    assert result['failed'] and 'keep must be at least 1' in result['msg']
    assert sorted(os.listdir(str(tmp_path))) == sorted(daily)


def test_retention_keeps_the_protected_backup_whatever_the_policy(tmp_path):
    verified = _plant(tmp_path, [0])[0]
    planted = 'toogoodtogo_20991231_235959.sql.gz'
    (tmp_path / planted).write_bytes(b'x')
    older = _plant(tmp_path, [3, 4])
    result = run_module(backup_retention, dict(path=str(tmp_path), prefix='toogoodtogo', format='plain_gz', keep=1,
                                               keep_days=0, protect=[str(tmp_path / verified)]))
    assert not result.get('failed'), result
    assert sorted(os.listdir(str(tmp_path))) == sorted([verified, planted])
    assert sorted(os.path.basename(p) for p in result['removed']) == sorted(older)


# --- pg_backup_restore ------------------------------------------------------------------------------------

class Postgres(object):
    def __init__(self, fail=None):
        self.fail = fail
        self.calls = []

    def __call__(self, argv, environ_update=None, **kwargs):
        self.calls.append((argv, environ_update))
        if self.fail and self.fail in ' '.join(argv):
            return 1, '', 'ERROR:  role "ghost" does not exist'
        if '--file' in argv:
            with open(argv[argv.index('--file') + 1], 'rb') as f:
                f.read()
        if '--command' in argv and argv[-1].startswith('SELECT count'):
            return 0, '40\n', ''
        return 0, '', ''


def test_restore_check_mode_lists_commands_and_runs_nothing():
    fake = Postgres()
    result = run_module(pg_backup_restore, dict(CONN, login_db='tgquiznft_prod', path=CUSTOM), check_mode=True,
                        run_command=fake, bin_paths=BINS)
    assert result['changed'] and fake.calls == []
    assert result['format'] == 'custom' and len(result['commands']) == 3
    assert result['commands'][0][-1] == 'DROP DATABASE IF EXISTS "tgquiznft_prod" WITH (FORCE)'
    _no_secret(result)


def test_restore_success_reports_counts(tmp_path):
    fake = Postgres()
    result = run_module(pg_backup_restore, dict(CONN, login_db='toogoodtogo', path=PLAIN_GZ,
                                                expected_row_counts={'public.users': '40'}),
                        run_command=fake, bin_paths=BINS)
    assert not result.get('failed'), result
    assert result['changed'] and result['dropped'] and result['row_counts'] == {'public.users': 40}
    _no_secret(result)
    _no_secret([argv for argv, _env in fake.calls])


def test_restore_failure_after_the_drop_says_so():
    result = run_module(pg_backup_restore, dict(CONN, login_db='tgquiznft_prod', path=CUSTOM),
                        run_command=Postgres(fail='pg_restore'), bin_paths=BINS)
    assert result['failed'] and result['stage'] == 'restore' and result['dropped'] is True
    assert 'the database was dropped' in result['msg'] and 'role "ghost" does not exist' in result['msg']
    _no_secret(result)


def test_restore_failure_before_the_drop_says_untouched():
    result = run_module(pg_backup_restore, dict(CONN, login_db='tgquiznft_prod', path=CUSTOM),
                        run_command=Postgres(fail='DROP DATABASE'), bin_paths=BINS)
    assert result['failed'] and result['dropped'] is False and result['changed'] is False
    assert 'the database was not touched' in result['msg']


def test_restore_missing_file_and_bad_counts(tmp_path):
    result = run_module(pg_backup_restore, dict(CONN, login_db='d', path=str(tmp_path / 'none.dump')),
                        run_command=Postgres(), bin_paths=BINS)
    assert result['failed'] and result['stage'] == 'format' and 'does not exist' in result['msg']
    result = run_module(pg_backup_restore, dict(CONN, login_db='d', path=CUSTOM, expected_row_counts={'users': 'many'}),
                        run_command=Postgres(), bin_paths=BINS)
    assert result['failed'] and 'users needs an integer' in result['msg']


# --- documentation matches the argument specs -------------------------------------------------------------

@pytest.mark.parametrize('module', [pg_backup, backup_retention, pg_backup_restore])
def test_documented_options_are_the_argument_spec(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    for section in ('EXAMPLES', 'RETURN'):
        assert yaml.safe_load(getattr(module, section))
    documented = set(doc['options'])
    from ansible_collections.tgops.runbooks.plugins.doc_fragments import _postgres
    for fragment in doc.get('extends_documentation_fragment', []):
        if fragment.startswith('tgops.runbooks._postgres'):
            attribute = (fragment.split('.')[3:] or ['documentation'])[0].upper()
            documented |= set(yaml.safe_load(getattr(_postgres.ModuleDocFragment, attribute))['options'])
    assert set(module_argument_spec(module)) == documented
