# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The scheduled backup (systemd timer or cron), installed by the tgops.runbooks.backup role.

    tgops_backup.py /etc/tgops-backup/<platform>.json

The same code as the playbook run, without Ansible on the host: the role copies the collection's
``_pg_backup.py`` (naming, atomic pg_dump, retention) and ``_backup_verify.py`` with the readers it imports (what
backup_verify checks) under ``ansible_collections/tgops/runbooks/plugins/module_utils/`` next to this file, so
they import each other by the names they have in the collection (namespace packages: nothing of Ansible's).
Takes a backup, verifies it against the checksum taken while writing it, and only then applies the daily
retention. Exit status 0 on success, 1 when the backup failed, 2 when it failed
verification (the file is kept for inspection, retention is not applied); the journal or cron mail gets
a one-line JSON summary.
"""

from __future__ import absolute_import, division, print_function

import datetime
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# pylint: disable-next=wrong-import-position
from ansible_collections.tgops.runbooks.plugins.module_utils import _backup_verify, _pg_backup  # noqa: E402


def run_command(argv, environ_update=None):
    env = dict(os.environ)
    env.pop('PGPASSWORD', None)
    env.update(environ_update or {})
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # pylint: disable=subprocess-run-check
                          universal_newlines=True)
    return proc.returncode, proc.stdout, proc.stderr


def _archive_lister(config):
    """pg_restore --list, for a custom archive of a version the verifier's own reader does not know."""
    def list_archive(path):
        try:
            return run_command([_bin(config, 'pg_restore'), '--list', path])
        except OSError as exc:
            return 127, '', 'cannot run pg_restore: %s' % (exc.strerror or exc)
    return list_archive


def _bin(config, name):
    return os.path.join(config['bin_dir'], name) if config.get('bin_dir') else name


def main(argv):
    if len(argv) != 2:
        print('usage: %s CONFIG.json' % argv[0], file=sys.stderr)
        return 64
    with open(argv[1]) as src:
        config = json.load(src)
    with open(config['password_file']) as src:
        password = src.read()
    conn = {'host': config['host'], 'port': config['port'], 'user': config['user'], 'password': password,
            'env': {'PGAPPNAME': 'tgops-backup-timer'}}
    summary = {'platform': config.get('platform'), 'started': datetime.datetime.now().isoformat()}
    try:
        backup = _pg_backup.take_backup(run_command, _bin(config, 'pg_dump'), conn, config['db'], config['dir'],
                                        config['prefix'], config['format'], label=config.get('label') or None)
    except _pg_backup.BackupError as exc:
        summary.update(result='failed', stage=exc.stage, error=exc.message)
        print(json.dumps(summary), file=sys.stderr)
        return 1
    summary.update(path=backup['path'], size=backup['size'], sha256=backup['sha256'])
    verdict = _backup_verify.verify_backup(backup['path'], min_size=int(config.get('min_size', 1)),
                                           expected_tables=config.get('expected_tables') or [],
                                           expected_sha256=backup['sha256'],
                                           list_archive=_archive_lister(config))
    summary['verified'] = verdict['passed']
    if not verdict['passed']:
        summary.update(result='failed', stage='verify', error=verdict['msg'])
        print(json.dumps(summary), file=sys.stderr)
        return 2
    backups = _pg_backup.list_named_backups(config['dir'], config['prefix'], config['format'])
    try:
        plan = _pg_backup.retention_plan(backups, datetime.datetime.now(), keep=config.get('keep'),
                                         keep_days=config.get('keep_days'), protect=[backup['path']])
    except ValueError as exc:  # a policy that would keep nothing: the new backup stays, nothing is removed
        summary.update(result='failed', stage='retention', error=str(exc))
        print(json.dumps(summary), file=sys.stderr)
        return 1
    for path in plan['remove']:
        os.unlink(path)
    summary.update(result='ok', removed=plan['remove'])
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
