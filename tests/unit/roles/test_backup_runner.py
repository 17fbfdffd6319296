# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scheduled backup runner (roles/backup/files/tgops_backup.py) laid out as the role installs it (the files
and places of roles/backup/tasks/schedule.yml's install task, read from it: a file the runner imports but the role
does not install fails here), run by python3 with a stand-in pg_dump that writes a real dump fixture (or fails)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
FIXTURE = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'backups', 'toogoodtogo_fixture.sql.gz')
PASSWORD = 'runner:pw\\x'

FAKE_PG_DUMP = r'''#!/bin/sh
# stand-in pg_dump: records its arguments and the password file libpq would read, writes the fixture to --file
printf '%s\n' "$@" > "$RUNNER_LOG"
cat "$PGPASSFILE" > "$RUNNER_LOG.pgpass"
[ -n "$PGPASSWORD" ] && echo "PGPASSWORD set" >> "$RUNNER_LOG"
while [ $# -gt 0 ]; do [ "$1" = --file ] && out=$2; shift; done
[ "$RUNNER_FAIL" = 1 ] && { printf '\037\213' > "$out"; echo "pg_dump: error: server closed the connection" >&2; exit 1; }
cat "$RUNNER_FIXTURE" > "$out"
'''


def _role_install_list():
    """(source path, path under the install directory) of every file the role's install task copies."""
    role = os.path.join(ROOT, 'roles', 'backup')
    with open(os.path.join(role, 'tasks', 'schedule.yml')) as handle:
        tasks = yaml.safe_load(handle)
    with open(os.path.join(role, 'vars', 'main.yml')) as handle:
        role_vars = yaml.safe_load(handle)
    task = next(t for t in tasks if t.get('name') == 'Install the backup runner and the collection code it runs')
    code = os.path.join(ROOT, 'plugins', 'module_utils')
    out = []
    for item in task['loop']:
        src = item['src'].replace('{{ backup_schedule_code }}', code)
        src = src if os.path.isabs(src) else os.path.join(role, 'files', src)
        sub = item['dir'].replace('{{ backup_schedule_lib }}', role_vars['backup_schedule_lib'])
        out.append((src, sub + os.path.basename(src)))
    return out


def test_the_role_installs_the_runner_and_its_module_utils():
    installed = [dest for _src, dest in _role_install_list()]
    assert installed[0] == 'tgops_backup.py'
    assert all(d.startswith('ansible_collections/tgops/runbooks/plugins/module_utils/_') for d in installed[1:])


@pytest.fixture(name='installed')
def fixture_installed(tmp_path):
    lib = tmp_path / 'lib'
    for src, dest in _role_install_list():
        target = lib / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, str(target))
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    (bindir / 'pg_dump').write_text(FAKE_PG_DUMP)
    os.chmod(str(bindir / 'pg_dump'), 0o755)
    backups = tmp_path / 'backups'
    backups.mkdir()
    (tmp_path / 'password').write_text(PASSWORD)
    config = {'platform': 'toogoodtogo', 'db': 'toogoodtogo', 'host': '127.0.0.1', 'port': 25432,
              'user': 'toogoodtogo', 'password_file': str(tmp_path / 'password'), 'dir': str(backups),
              'prefix': 'toogoodtogo', 'format': 'plain_gz', 'min_size': 100, 'expected_tables': ['users'],
              'keep': 1, 'keep_days': 7, 'bin_dir': str(bindir)}
    (tmp_path / 'config.json').write_text(json.dumps(config))
    return tmp_path


def _run(installed, fail=False):
    env = dict(os.environ, RUNNER_LOG=str(installed / 'pg_dump.log'), RUNNER_FIXTURE=FIXTURE,
               RUNNER_FAIL='1' if fail else '0', PGPASSWORD='must-not-be-used')
    return subprocess.run([sys.executable, str(installed / 'lib' / 'tgops_backup.py'), str(installed / 'config.json')],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def test_runner_takes_verifies_and_prunes(installed):
    backups = installed / 'backups'
    old = [(datetime.datetime.now() - datetime.timedelta(days=days)).strftime('toogoodtogo_%Y%m%d_%H%M%S.sql.gz')
           for days in (10, 11)]
    for name in old + ['toogoodtogo_20200101_000000_pre_deployment.sql.gz']:
        (backups / name).write_bytes(b'x')
    proc = _run(installed)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary['result'] == 'ok' and summary['verified'] is True
    name = os.path.basename(summary['path'])
    assert sorted(os.listdir(str(backups))) == sorted([name, 'toogoodtogo_20200101_000000_pre_deployment.sql.gz'])
    assert sorted(summary['removed']) == sorted(str(backups / n) for n in old)
    assert stat.S_IMODE(os.stat(summary['path']).st_mode) == 0o600
    argv = (installed / 'pg_dump.log').read_text()
    assert PASSWORD not in argv and 'PGPASSWORD set' not in argv
    assert '--format=plain\n--compress=6\n' in argv
    assert (installed / 'pg_dump.log.pgpass').read_text() == '*:*:*:*:runner\\:pw\\\\x\n'


def test_runner_failed_dump_exits_1_and_keeps_old_backups(installed):
    (installed / 'backups' / 'toogoodtogo_20200101_000000.sql.gz').write_bytes(b'x')
    proc = _run(installed, fail=True)
    assert proc.returncode == 1
    summary = json.loads(proc.stderr)
    assert summary['stage'] == 'dump' and 'server closed the connection' in summary['error']
    assert os.listdir(str(installed / 'backups')) == ['toogoodtogo_20200101_000000.sql.gz']


def test_runner_verifies_a_newer_pg_dumps_archive_through_pg_restore(installed, tmp_path):
    """After a pg_dump upgrade past the verifier's reader (archive 1.17 here), the nightly backup still passes:
    the runner asks the host's pg_restore --list, as the module does."""
    with open(os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'backups', 'tgquiz_fixture.dump'), 'rb') as handle:
        data = bytearray(handle.read())
    data[6] = 17
    newer = tmp_path / 'newer.dump'
    newer.write_bytes(bytes(data))
    with open(os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'backups', 'tgquiz_fixture.list')) as handle:
        listing = handle.read().replace('Dump Version: 1.14-0', 'Dump Version: 1.17-0')
    (tmp_path / 'listing').write_text(listing)
    pg_restore = installed / 'bin' / 'pg_restore'
    pg_restore.write_text('#!/bin/sh\nprintf "%%s\\n" "$@" > "%s"\ncat "%s"\n'
                          % (tmp_path / 'pg_restore.log', tmp_path / 'listing'))
    os.chmod(str(pg_restore), 0o755)
    config = json.loads((installed / 'config.json').read_text())
    config.update(format='custom', expected_tables=['users'], prefix='tgquiz')
    (installed / 'config.json').write_text(json.dumps(config))
    env = dict(os.environ, RUNNER_LOG=str(installed / 'pg_dump.log'), RUNNER_FIXTURE=str(newer), RUNNER_FAIL='0')
    proc = subprocess.run([sys.executable, str(installed / 'lib' / 'tgops_backup.py'), str(installed / 'config.json')],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary['verified'] is True and summary['path'].endswith('.dump')
    assert (tmp_path / 'pg_restore.log').read_text() == '--list\n%s\n' % summary['path']
