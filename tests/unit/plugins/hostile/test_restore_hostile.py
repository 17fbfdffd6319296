# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile restore inputs (issue 17): who can write the backup directory or the off-site bucket must not choose
what gets restored. Backup names that leave the directory (``../``, absolute paths), symbolic links, files
replaced between verification and restore, and off-site objects whose bytes and ``sha256`` metadata were both
rewritten (which passed the sha256-only check) are refused before anything reads them, the database untouched."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import hashlib
import json
import os
import shutil

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb
from ansible_collections.tgops.runbooks.plugins.module_utils._backup_restore import run_restore_test
from ansible_collections.tgops.runbooks.plugins.modules import pg_backup, pg_backup_restore

from tgops_module_runner import run_module

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'backups')
PLAIN_GZ = os.path.abspath(os.path.join(FIXTURES, 'toogoodtogo_fixture.sql.gz'))
PASSWORD = 'Sup3r:secret\\pw'
HMAC_KEY = 'vault-hmac-key/0123456789abcdefABCDEF'
CONN = dict(login_host='127.0.0.1', login_port=25432, login_user='toogoodtogo', login_password=PASSWORD)
BINS = {'pg_dump': '/usr/bin/pg_dump', 'psql': '/usr/bin/psql', 'pg_restore': '/usr/bin/pg_restore'}
NAME = 'toogoodtogo_20250120_030000.sql.gz'
EVIL = gzip.compress(b'SET client_encoding = \'UTF8\';\nCOPY (SELECT 1) TO PROGRAM \'id > /tmp/pwned\';\n')


class Postgres(object):
    """Records every client call; psql reads the FIFO it is given (what it would restore)."""

    def __init__(self):
        self.calls = []
        self.fed = []

    def __call__(self, argv, environ_update=None, **kwargs):
        self.calls.append(list(argv))
        if '--file' in argv:
            with open(argv[argv.index('--file') + 1], 'rb') as f:
                self.fed.append(f.read())
        return 0, '', ''


@pytest.fixture(name='backup_dir')
def fixture_backup_dir(tmp_path):
    directory = tmp_path / 'backups'
    directory.mkdir()
    shutil.copy(PLAIN_GZ, str(directory / NAME))
    return directory


def _sha256(path):
    with open(str(path), 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _restore(args, check_mode=False):
    fake = Postgres()
    result = run_module(pg_backup_restore, dict(CONN, login_db='toogoodtogo', **args), check_mode=check_mode,
                        run_command=fake, bin_paths=BINS)
    assert HMAC_KEY not in json.dumps(result) and PASSWORD not in json.dumps(result)
    return result, fake


# --- names and links ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('check_mode', [True, False])
@pytest.mark.parametrize('name', ['../outside.sql.gz', '/tmp/outside.sql.gz', '..', 'sub/../../outside.sql.gz'])
def test_names_that_leave_the_backup_directory_are_refused(backup_dir, name, check_mode):
    shutil.copy(PLAIN_GZ, str(backup_dir.parent / 'outside.sql.gz'))
    result, fake = _restore(dict(backup_dir=str(backup_dir), path=name), check_mode=check_mode)
    assert result['failed'] and result['stage'] == 'name' and 'not a file name in the backup directory' in result['msg']
    assert fake.calls == [] and result['dropped'] is False


@pytest.mark.parametrize('check_mode', [True, False])
@pytest.mark.parametrize('target', ['inside', 'outside'])
def test_symlinked_backups_are_refused(backup_dir, target, check_mode):
    """A link planted in the backup directory, to another backup or to a file anywhere (an attacker's SQL)."""
    if target == 'outside':
        (backup_dir.parent / 'evil.sql.gz').write_bytes(EVIL)
        os.symlink(str(backup_dir.parent / 'evil.sql.gz'), str(backup_dir / 'toogoodtogo_20250121_030000.sql.gz'))
    else:
        os.symlink(NAME, str(backup_dir / 'toogoodtogo_20250121_030000.sql.gz'))
    result, fake = _restore(dict(backup_dir=str(backup_dir), path='toogoodtogo_20250121_030000.sql.gz'),
                            check_mode=check_mode)
    assert result['failed'] and result['stage'] == 'name' and 'symbolic link' in result['msg']
    assert fake.calls == [] and result['dropped'] is False


def test_a_backup_in_the_directory_is_pinned_then_restored(backup_dir):
    pinned, _fake = _restore(dict(backup_dir=str(backup_dir), path=NAME), check_mode=True)
    assert not pinned.get('failed'), pinned
    assert pinned['sha256'] == _sha256(PLAIN_GZ) and pinned['path'] == str(backup_dir / NAME)
    result, fake = _restore(dict(backup_dir=str(backup_dir), path=NAME, expected_sha256=pinned['sha256']))
    assert not result.get('failed'), result
    with gzip.open(PLAIN_GZ, 'rb') as f:
        assert fake.fed == [f.read()]
    assert result['sha256'] == pinned['sha256']


def test_a_backup_replaced_after_its_verification_is_refused_untouched(backup_dir):
    pinned, _fake = _restore(dict(backup_dir=str(backup_dir), path=NAME), check_mode=True)
    (backup_dir / NAME).write_bytes(EVIL)  # swapped between verification and restore
    result, fake = _restore(dict(backup_dir=str(backup_dir), path=NAME, expected_sha256=pinned['sha256']))
    assert result['failed'] and result['stage'] == 'pin' and result['dropped'] is False
    assert 'changed since it was verified' in result['msg'] and 'the database was not touched' in result['msg']
    assert fake.calls == []


def test_the_restore_test_reads_only_the_verified_bytes(backup_dir, tmp_path):
    """backup_verify's scratch restore: a file replaced after its verification is not restore-tested."""
    verified = {'path': str(backup_dir / NAME), 'format': 'plain', 'compression': 'gzip',
                'sha256': _sha256(backup_dir / NAME)}
    (backup_dir / NAME).write_bytes(EVIL)
    fake = Postgres()
    work = tmp_path / 'work'
    work.mkdir()
    report = run_restore_test(fake, verified, dict(CONN, maintenance_db='postgres'), BINS, tmpdir=str(work))
    assert not report['passed'] and 'changed since it was verified' in report['error']
    assert fake.calls == [] and os.listdir(str(work)) == []


def test_the_restore_test_restores_a_private_copy(backup_dir, tmp_path):
    verified = {'path': str(backup_dir / NAME), 'format': 'plain', 'compression': 'gzip',
                'sha256': _sha256(backup_dir / NAME)}
    fake = Postgres()
    report = run_restore_test(fake, verified, dict(CONN, maintenance_db='postgres'), BINS, tmpdir=str(tmp_path))
    assert report['passed'], report
    with gzip.open(PLAIN_GZ, 'rb') as f:
        assert fake.fed == [f.read()]


# --- off-site copies: the HMAC ----------------------------------------------------------------------------

def _taken(tmp_path, **args):
    """pg_backup with the HMAC key, as the backup role runs it before an off-site upload."""
    def dump(argv, environ_update=None, **kwargs):
        shutil.copy(PLAIN_GZ, argv[argv.index('--file') + 1])
        return 0, '', ''
    args = dict(CONN, login_db='toogoodtogo', dest=str(tmp_path), prefix='toogoodtogo', format='plain_gz', **args)
    args.setdefault('hmac_key', HMAC_KEY)
    if args['hmac_key'] is None:
        del args['hmac_key']
    result = run_module(pg_backup, args, run_command=dump, bin_paths=BINS)
    assert not result.get('failed'), result
    assert HMAC_KEY not in json.dumps(result)
    return result


def test_pg_backup_returns_the_hmac_of_name_and_sha256(tmp_path):
    taken = _taken(tmp_path)
    assert taken['hmac'] == pgb.backup_hmac(HMAC_KEY, taken['name'], taken['sha256'])


def _download(tmp_path, taken, content):
    """What the restore role finds after downloading the object: its bytes in a private directory."""
    directory = tmp_path / 'download'
    directory.mkdir()
    (directory / taken['name']).write_bytes(content)
    return directory


@pytest.mark.parametrize('check_mode', [True, False])
def test_an_authentic_offsite_copy_passes(tmp_path, check_mode):
    taken = _taken(tmp_path)
    with open(taken['path'], 'rb') as f:
        directory = _download(tmp_path, taken, f.read())
    result, _fake = _restore(dict(backup_dir=str(directory), path=taken['name'], expected_sha256=taken['sha256'],
                                  expected_hmac=taken['hmac'], hmac_key=HMAC_KEY), check_mode=check_mode)
    assert not result.get('failed'), result


@pytest.mark.parametrize('check_mode', [True, False])
@pytest.mark.parametrize('forgery', ['bytes', 'bytes_and_sha256', 'older_backup_renamed', 'no_hmac', 'no_key'])
def test_a_forged_offsite_copy_is_refused_before_anything_reads_it(tmp_path, forgery, check_mode):
    """``bytes``: the object replaced, its metadata kept (the sha256 check caught it already);
    ``bytes_and_sha256``: the object replaced AND its sha256 metadata rewritten to match - passed every check
    before the HMAC; ``older_backup_renamed``: a genuine older object, with its own metadata, under a newer name."""
    taken = _taken(tmp_path)
    sha256, mac, key, name = taken['sha256'], taken['hmac'], HMAC_KEY, taken['name']
    content = EVIL
    if forgery == 'bytes_and_sha256':
        sha256 = hashlib.sha256(EVIL).hexdigest()
    elif forgery == 'older_backup_renamed':
        with open(taken['path'], 'rb') as f:
            content = f.read()
        name = 'toogoodtogo_20991231_030000.sql.gz'
    elif forgery == 'no_hmac':
        sha256, mac = hashlib.sha256(EVIL).hexdigest(), ''
    elif forgery == 'no_key':
        key = ''
    directory = _download(tmp_path, dict(taken, name=name), content)
    result, fake = _restore(dict(backup_dir=str(directory), path=name, expected_sha256=sha256, expected_hmac=mac,
                                 hmac_key=key), check_mode=check_mode)
    assert result['failed'] and result['dropped'] is False and fake.calls == []
    if forgery == 'bytes':
        assert result['stage'] == 'pin'
    else:
        assert result['stage'] == 'authenticate'
        assert {'bytes_and_sha256': 'does not match', 'older_backup_renamed': 'does not match',
                'no_hmac': 'carries no HMAC', 'no_key': 'no HMAC key'}[forgery] in result['msg']


def test_the_key_may_come_from_the_environment_and_does_not_disturb_a_local_restore(tmp_path, backup_dir, monkeypatch):
    monkeypatch.setenv('TGOPS_BACKUP_HMAC_KEY', HMAC_KEY)
    local, _fake = _restore(dict(backup_dir=str(backup_dir), path=NAME), check_mode=True)
    assert not local.get('failed'), local
    taken = _taken(tmp_path, hmac_key=None)  # pg_backup reads the key from the environment too
    monkeypatch.delenv('TGOPS_BACKUP_HMAC_KEY')
    assert taken['hmac'] == pgb.backup_hmac(HMAC_KEY, taken['name'], taken['sha256'])
    monkeypatch.setenv('TGOPS_BACKUP_HMAC_KEY', HMAC_KEY)
    with open(taken['path'], 'rb') as f:
        directory = _download(tmp_path, taken, f.read())
    result, _fake = _restore(dict(backup_dir=str(directory), path=taken['name'], expected_sha256=taken['sha256'],
                                  expected_hmac=taken['hmac']), check_mode=True)
    assert not result.get('failed'), result
