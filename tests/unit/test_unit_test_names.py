# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A plugin's unit tests are found by its name: tests/unit/plugins/<type>/test_<plugin>.py (a private module_utils
without its underscore; an action plugin's tests as test_<plugin>_action.py, since pytest's default import mode
needs file names unique across directories and the module of the same name has its own file).

The exceptions are files that test several plugins at once, each named for what it tests, listed here with why.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# File -> why it is not one plugin's.
SEVERAL = {
    'modules/test_leak_test_coverage.py': 'every module with a no_log option is in the leak test',
    'modules/test_vocabulary_modules.py': 'the shared vocabulary of every module',
    'modules/test_postgres_module_defaults.py': 'the postgresql action group of every PostgreSQL module',
    'modules/test_pg_backup_modules.py': 'pg_backup, pg_backup_restore and backup_retention on one real database',
    'modules/test_tgops_release_modules.py': 'release_info, release and deploy_lock on one git checkout',
    'modules/test_tgops_rotation_modules.py': 'secret_rotation_plan and secret_store, one rotation',
    'modules/test_tgops_postgres_modules.py': 'the PostgreSQL modules on one fake psql',
    'modules/test_tgops_plain_http_warning.py': 'every API module warns about a plain-HTTP URL',
    'module_utils/test_backup_stream.py': 'every backup format through _backup_verify and _backup_inflate together',
    'module_utils/test_offsite_copy.py': 'the off-site copy of _pg_backup and its download by pg_backup_restore',
    'module_utils/test_redis_glob.py': "_redis_keys' glob rules (test_redis_keys.py is the module's: names are unique)",
    'action/test_controller_side_actions.py': 'the one base of every in-process action plugin',
    'action/test_failed_when_honoured.py': 'failed_when on every action plugin',
}


def plugins(kind):
    if kind == 'module_utils':
        return set(os.path.basename(p)[1:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', kind, '_*.py')))
    return set(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', kind, '*.py')))


def test_each_plugin_test_file_is_named_for_its_plugin():
    wrong = []
    for path in sorted(glob.glob(os.path.join(ROOT, 'tests', 'unit', 'plugins', '*', 'test_*.py'))):
        kind, name = path.split(os.sep)[-2:]
        if kind == 'hostile' or '%s/%s' % (kind, name) in SEVERAL:
            continue
        plugin = name[len('test_'):-len('.py')]
        if kind == 'action':
            plugin = plugin[:-len('_action')] if plugin.endswith('_action') else None
        if plugin not in plugins(kind):
            wrong.append('%s/%s' % (kind, name))
    assert wrong == []


def test_the_exceptions_exist():
    assert [name for name in SEVERAL if not os.path.exists(os.path.join(ROOT, 'tests', 'unit', 'plugins', name))] == []
