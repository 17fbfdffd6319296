# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One ``module_defaults`` serves community.postgresql and this collection's PostgreSQL modules.

The connection options are community.postgresql 4.2's (names, aliases, deprecations, ``login_db`` for the
database); a block written for its action group validates against every module of our ``postgresql`` group with
the same meaning; Ansible itself resolves ``group/tgops.runbooks.postgresql`` to both collections' modules.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.tgops.runbooks.plugins.doc_fragments import _postgres as postgres_doc
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import (
    conn_from_params,
    libpq_argv,
    libpq_environ,
    postgres_common_argument_spec,
)
from tgops_module_runner import module_argument_spec

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
MODULES_DIR = os.path.join(ROOT, 'plugins', 'modules')
PREFIX = 'ansible_collections.tgops.runbooks.plugins.modules.'

# What a play written for community.postgresql sets once, for its whole group, with its primary names.
MODULE_DEFAULTS = {
    'login_host': 'db.example.internal',
    'login_port': 15432,
    'login_user': 'app_admin',
    'login_password': 'S3cret:pass\\word',
    'login_db': 'tgquiznft_prod',
    'ssl_mode': 'verify-full',
    'ca_cert': '/etc/ssl/pg-ca.pem',
    'ssl_cert': '/etc/ssl/pg-client.pem',
    'ssl_key': '/etc/ssl/pg-client.key',
    'connect_params': {'application_name': 'runbook', 'keepalives_idle': 30},
}
# the options each module needs besides the connection (nothing that module_defaults would carry)
OWN_REQUIRED = {
    'pg_backup': {'dest': '/backup', 'prefix': 'backup'},
    'pg_backup_restore': {'path': '/backup/backup_20250120_143000.dump'},
    'postgres_maintenance': {'action': 'vacuum_analyze'},
}


def _runtime_group():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as src:
        group = yaml.safe_load(src)['action_groups']['postgresql']
    return group


def _group_modules():
    return sorted(entry for entry in _runtime_group() if isinstance(entry, str))


def _spec_of(module_name):
    return module_argument_spec(importlib.import_module(PREFIX + module_name))


def _postgres_modules():
    """Modules that build on the shared connection contract."""
    found = []
    for name in sorted(os.listdir(MODULES_DIR)):
        if name.endswith('.py') and not name.startswith('_'):
            with open(os.path.join(MODULES_DIR, name)) as src:
                source = src.read()
                if 'postgres_common_argument_spec()' in source or 'postgres_module(' in source:
                    found.append(name[:-3])
    return found


def test_the_group_is_every_module_with_the_whole_contract():
    """A module is in the group exactly when it takes every option of a community.postgresql block, login_db
    included: a member that refused one would fail every task of the play with "Unsupported parameters"."""
    whole = []
    for name in _postgres_modules():
        if 'login_db' in _spec_of(name):
            whole.append(name)
    assert whole == _group_modules()
    assert set(_postgres_modules()) - set(whole) == {'backup_verify'}, (
        'backup_verify has no target database (its restore test makes a scratch one), so it is not in the group')
    assert {'metadata': {'extend_group': ['community.postgresql.all']}} in _runtime_group()


@pytest.mark.parametrize('module_name', _group_modules())
def test_a_community_postgresql_block_validates_with_the_same_meaning(module_name):
    spec = _spec_of(module_name)
    result = ArgumentSpecValidator(spec).validate(dict(MODULE_DEFAULTS, **OWN_REQUIRED.get(module_name, {})))
    assert not result.error_messages, result.error_messages
    assert not result._deprecations, 'primary names must not warn: %s' % result._deprecations
    params = result.validated_parameters
    assert params['login_db'] == 'tgquiznft_prod'
    conn = conn_from_params(params)
    assert (conn['host'], conn['port'], conn['user'], conn['password']) == (
        'db.example.internal', 15432, 'app_admin', 'S3cret:pass\\word')
    argv = libpq_argv(params, params['login_db'])
    assert argv == ['--host', 'db.example.internal', '--port', '15432', '--username', 'app_admin', '--no-password',
                    '--dbname', "dbname='tgquiznft_prod' application_name='runbook' keepalives_idle='30'"]
    env = libpq_environ(params)
    assert env['PGSSLMODE'] == 'verify-full' and env['PGSSLROOTCERT'] == '/etc/ssl/pg-ca.pem'
    assert env['PGSSLCERT'] == '/etc/ssl/pg-client.pem' and env['PGSSLKEY'] == '/etc/ssl/pg-client.key'
    assert 'S3cret' not in ' '.join(argv)


def _alias_of(deprecation):
    """``port`` from "Alias 'port' is deprecated. ..." (ansible-core names the alias in the message only)."""
    return deprecation['msg'].split("'")[1]


@pytest.mark.parametrize('module_name', _group_modules())
def test_former_names_still_work_and_say_they_go_in_2_0_0(module_name):
    spec = _spec_of(module_name)
    old_db = [alias for alias in spec['login_db']['aliases'] if alias != 'db']
    args = dict(OWN_REQUIRED.get(module_name, {}), port=25432, host='127.0.0.1', login='u', db='toogoodtogo')
    result = ArgumentSpecValidator(spec).validate(args)
    assert not result.error_messages, result.error_messages
    params = result.validated_parameters
    assert (params['login_port'], params['login_host'], params['login_user'], params['login_db']) == (
        25432, '127.0.0.1', 'u', 'toogoodtogo')
    deprecated = sorted(_alias_of(d) for d in result._deprecations)
    assert deprecated == ['db', 'host', 'login', 'port']
    assert all(d['version'] == '2.0.0' and d['collection_name'] == 'tgops.runbooks' for d in result._deprecations)
    for alias in old_db:  # login_db_name or name, this module's own former name
        result = ArgumentSpecValidator(spec).validate(dict(OWN_REQUIRED.get(module_name, {}), **{alias: 'x'}))
        assert result.validated_parameters['login_db'] == 'x'
        assert [_alias_of(d) for d in result._deprecations] == [alias]


def test_doc_fragment_is_the_common_spec():
    fragment = yaml.safe_load(postgres_doc.ModuleDocFragment.DOCUMENTATION)['options']
    spec = postgres_common_argument_spec()
    assert set(fragment) == set(spec)
    for name, option in spec.items():
        doc = fragment[name]
        assert doc.get('default') == option.get('default'), name
        assert doc.get('aliases') == option.get('aliases'), name
        assert doc.get('type') == option.get('type'), name
        assert doc.get('choices') == option.get('choices'), name
        for deprecated in option.get('deprecated_aliases', []):
            assert 'C(%s) is deprecated and will be removed in version %s' % (
                deprecated['name'], deprecated['version']) in ' '.join(doc['description']), name


# --- the same names as community.postgresql itself, when it is installed ----------------------------------------------

def _theirs():
    return pytest.importorskip('ansible_collections.community.postgresql.plugins.module_utils.postgres')


def test_common_spec_has_community_postgresql_names_aliases_and_deprecations(monkeypatch):
    theirs_module = _theirs()
    for variable in ('PGUSER', 'PGPORT'):  # their defaults follow these when set
        monkeypatch.delenv(variable, raising=False)
    theirs = theirs_module.postgres_common_argument_spec()
    ours = postgres_common_argument_spec()
    assert set(theirs) <= set(ours), 'missing: %s' % sorted(set(theirs) - set(ours))
    assert set(ours) - set(theirs) == {'connect_timeout'}
    for name, option in theirs.items():
        mine = ours[name]
        assert (mine.get('type') or 'str') == (option.get('type') or 'str'), name
        assert mine.get('default') == option.get('default'), name
        assert sorted(mine.get('aliases', [])) == sorted(option.get('aliases', [])), name
        assert mine.get('choices') == option.get('choices'), name
        assert bool(mine.get('no_log')) == bool(option.get('no_log')), name
        assert (sorted(d['name'] for d in mine.get('deprecated_aliases', []))
                == sorted(d['name'] for d in option.get('deprecated_aliases', []))), name


def _their_spec(module_name):
    _theirs()
    theirs = 'ansible_collections.community.postgresql.plugins.modules.'
    return module_argument_spec(importlib.import_module(theirs + module_name))


@pytest.mark.parametrize('module_name', _group_modules())
def test_login_db_as_community_postgresql_modules_have_it(module_name):
    theirs = _their_spec('postgresql_query')['login_db']
    mine = _spec_of(module_name)['login_db']
    assert mine['type'] == theirs['type']
    assert mine['aliases'][:len(theirs['aliases'])] == theirs['aliases']
    assert ({d['name'] for d in theirs['deprecated_aliases']}
            <= {d['name'] for d in mine['deprecated_aliases']})


# --- what Ansible itself makes of the group -----------------------------------------------------------------------------

RESOLVE = r'''
import json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play import Play
play = Play.load({'hosts': 'localhost', 'gather_facts': False,
                  'module_defaults': {'group/tgops.runbooks.postgresql': {'login_host': '127.0.0.1'}},
                  'tasks': [{'ansible.builtin.debug': {}}]}, loader=DataLoader())
print(json.dumps(sorted(a for a, groups in play._action_groups.items() if 'tgops.runbooks.postgresql' in groups)))
'''


def test_ansible_resolves_the_group_to_both_collections(tmp_path):
    config = tmp_path / 'ansible.cfg'
    config.write_text(u'[defaults]\n')
    env = dict(os.environ, ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'))
    proc = subprocess.run([sys.executable, '-c', RESOLVE, os.path.join(ROOT, '.collections')], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    members = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert {'tgops.runbooks.' + name for name in _group_modules()} <= members
    try:
        _theirs()
    except pytest.skip.Exception:
        return
    assert {'community.postgresql.postgresql_query', 'community.postgresql.postgresql_db'} <= members


def test_the_documented_module_defaults_example_serves_both_collections():
    from ansible_collections.tgops.runbooks.plugins.modules import pg_backup
    task = [t for t in yaml.safe_load(pg_backup.EXAMPLES) if 'module_defaults' in t][0]
    block = task['module_defaults']['group/tgops.runbooks.postgresql']
    for module_name in _group_modules():
        result = ArgumentSpecValidator(_spec_of(module_name)).validate(
            dict(block, **OWN_REQUIRED.get(module_name, {})))
        assert not result.error_messages and not result._deprecations, (module_name, result.error_messages)
    for their_module in ('postgresql_query', 'postgresql_user', 'postgresql_ping'):
        spec = _their_spec(their_module)
        args = dict(block, **({'name': 'someone'} if their_module == 'postgresql_user' else {}))
        result = ArgumentSpecValidator(spec).validate(args)
        assert not result.error_messages, (their_module, result.error_messages)
    modules_in_block = {key for t in task['block'] for key in t if key.count('.') == 2}
    assert 'tgops.runbooks.pg_backup' in modules_in_block
    assert 'community.postgresql.postgresql_query' in modules_in_block
