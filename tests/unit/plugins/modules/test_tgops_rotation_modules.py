"""env_file, secret_rotation_plan and secret_store: files edited in place, values never returned or in argv."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.tgops.runbooks.plugins.modules import env_file, secret_rotation_plan, secret_store
from tgops_module_runner import run_module

NEW = 'NewPassw0rdNewPassw0rdNewPassw0r'
OLD = 'OldPassw0rdOldPassw0rdOldPassw0r'
ENV = '# production\nTELEGRAM_BOT_TOKEN=1:x\nPOSTGRES_PASSWORD=%s\n\nSECRET_KEY=abc\n' % OLD


def write(path, text, mode=0o644):
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)


def read(path):
    with open(path) as handle:
        return handle.read()


def test_env_file_sets_one_key_keeps_the_rest_and_makes_the_file_0600(tmp_path):
    path = str(tmp_path / '.env.production')
    write(path, ENV)
    result = run_module(env_file, {'path': path, 'values': {'POSTGRES_PASSWORD': NEW}, 'backup': True}, diff=True)
    assert result['changed'] and result['changed_keys'] == ['POSTGRES_PASSWORD']
    assert read(path) == ENV.replace(OLD, NEW)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert read(result['backup_file']) == ENV
    assert NEW not in json.dumps(result) and OLD not in json.dumps(result)
    assert 'POSTGRES_PASSWORD=<changed>' in result['diff']['after']


def test_env_file_is_idempotent_and_check_mode_writes_nothing(tmp_path):
    path = str(tmp_path / 'env')
    write(path, ENV, 0o600)
    result = run_module(env_file, {'path': path, 'values': {'POSTGRES_PASSWORD': NEW}}, check_mode=True)
    assert result['changed'] and read(path) == ENV
    run_module(env_file, {'path': path, 'values': {'POSTGRES_PASSWORD': NEW}})
    again = run_module(env_file, {'path': path, 'values': {'POSTGRES_PASSWORD': NEW}})
    assert not again['changed'] and again['changed_keys'] == []


def test_env_file_rename_maps_secret_names_and_skips_unlisted(tmp_path):
    path = str(tmp_path / 'env')
    write(path, ENV, 0o600)
    result = run_module(env_file, {'path': path, 'values': {'db_password': NEW, 'other': 'x'},
                                   'rename': {'db_password': 'POSTGRES_PASSWORD'}})
    assert result['changed_keys'] == ['POSTGRES_PASSWORD'] and 'other' not in read(path)


def test_env_file_refuses_a_missing_file_and_bad_input_without_echoing_values(tmp_path):
    missing = run_module(env_file, {'path': str(tmp_path / 'nope'), 'values': {'A': NEW}})
    assert missing['failed'] and 'does not exist' in missing['msg']
    path = str(tmp_path / 'env')
    write(path, ENV)
    bad = run_module(env_file, {'path': path, 'values': {'A': NEW + '\n'}})
    assert bad['failed'] and 'line break' in bad['msg'] and NEW not in bad['msg']
    name = run_module(env_file, {'path': path, 'values': {'NOT A NAME': NEW}})
    assert name['failed'] and 'NOT A NAME' in name['msg'] and NEW not in name['msg']
    assert read(path) == ENV


SECRETS = {'db_password': {'env': 'POSTGRES_PASSWORD', 'vault': 'vault_t_postgres_password', 'lab': 'postgres_password'},
           'stripe_key': {'env': 'STRIPE_API_KEY', 'vault': 'vault_t_stripe_api_key'}}


def test_plan_module_returns_steps_keys_and_only_generated_values():
    stripe = 'sk_test_' + 'n' * 24
    result = run_module(secret_rotation_plan, {
        'requested': ['db_password', 'stripe_key'], 'secrets': SECRETS, 'confirm': True,
        'new_values': {'stripe_key': stripe}, 'current_values': {'db_password': OLD, 'stripe_key': 'sk_test_' + 'o' * 24}})
    assert result['names'] == ['stripe_key', 'db_password']
    assert result['env_keys'] == {'stripe_key': 'STRIPE_API_KEY', 'db_password': 'POSTGRES_PASSWORD'}
    assert result['lab_keys'] == {'db_password': 'postgres_password'}
    assert list(result['generated']) == ['db_password'] and result['generated']['db_password'] != OLD
    assert stripe not in json.dumps(result)


def test_plan_module_fails_clearly_without_confirmation_but_plans_in_check_mode():
    args = {'requested': ['db_password'], 'secrets': SECRETS, 'current_values': {'db_password': OLD}}
    refused = run_module(secret_rotation_plan, args)
    assert refused['failed'] and 'rotate_secrets_confirm=true' in refused['msg']
    planned = run_module(secret_rotation_plan, args, check_mode=True)
    assert planned['names'] == ['db_password']


class FakeVault(object):
    """ansible-vault stand-in: 'encrypts' by prefixing a header; records argv and environment."""
    HEADER = '$ANSIBLE_VAULT;1.1;AES256\n'

    def __init__(self, fail=None):
        self.calls, self.fail = [], fail

    def __call__(self, argv, environ_update=None, **kwargs):
        self.calls.append((list(argv), dict(environ_update or {})))
        if argv[1] == self.fail:
            return 1, '', 'ERROR! Decryption failed'
        if argv[1] == 'decrypt':
            return 0, read(argv[-1])[len(self.HEADER):], ''
        if argv[1] == 'encrypt':
            write(argv[-1], self.HEADER + read(argv[-1]), 0o600)
            return 0, '', ''
        raise AssertionError(argv)


def test_secret_store_writes_the_vault_through_ansible_vault_without_secrets_in_argv(tmp_path):
    path = str(tmp_path / 'vault.yml')
    write(path, FakeVault.HEADER + json.dumps({'vault_t_postgres_password': OLD, 'other': 'keep'}), 0o600)
    fake = FakeVault()
    result = run_module(secret_store, {'path': path, 'values': {'db_password': NEW},
                                       'rename': {'db_password': 'vault_t_postgres_password'},
                                       'vault_password_file': path, 'vault_bin': '/venv/bin/ansible-vault'},
                        run_command=fake)
    assert result['changed'] and result['changed_keys'] == ['vault_t_postgres_password']
    text = read(path)
    assert text.startswith(FakeVault.HEADER)
    assert json.loads(text[len(FakeVault.HEADER):]) == {'vault_t_postgres_password': NEW, 'other': 'keep'}
    assert all(NEW not in ' '.join(argv) for argv, _env in fake.calls)
    assert fake.calls[0][1] == {'ANSIBLE_VAULT_PASSWORD_FILE': path}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [n for n in os.listdir(str(tmp_path)) if n != 'vault.yml'] == []  # no plain-text copy left
    again = run_module(secret_store, {'path': path, 'values': {'vault_t_postgres_password': NEW}}, run_command=fake)
    assert not again['changed']


def test_secret_store_check_mode_and_failed_decrypt_change_nothing(tmp_path):
    path = str(tmp_path / 'vault.yml')
    original = FakeVault.HEADER + 'vault_x: old\n'
    write(path, original, 0o600)
    planned = run_module(secret_store, {'path': path, 'values': {'vault_x': NEW}}, check_mode=True,
                         run_command=FakeVault())
    assert planned['changed'] and read(path) == original
    failed = run_module(secret_store, {'path': path, 'values': {'vault_x': NEW}}, run_command=FakeVault('decrypt'))
    assert failed['failed'] and 'cannot decrypt' in failed['msg'] and read(path) == original
    failed = run_module(secret_store, {'path': path, 'values': {'vault_x': NEW}}, run_command=FakeVault('encrypt'))
    assert failed['failed'] and 'cannot encrypt' in failed['msg'] and read(path) == original
    assert os.listdir(str(tmp_path)) == ['vault.yml']


def test_secret_store_keeps_a_yaml_vault_yaml_and_edits_a_plain_json_section(tmp_path):
    path = str(tmp_path / 'vault.yml')
    write(path, FakeVault.HEADER + 'vault_x: old\nvault_y: keep\n', 0o600)
    run_module(secret_store, {'path': path, 'values': {'vault_x': NEW}}, run_command=FakeVault())
    assert read(path) == FakeVault.HEADER + '---\nvault_x: %s\nvault_y: keep\n' % NEW
    lab = str(tmp_path / 'secrets.json')
    write(lab, json.dumps({'t': {'postgres_password': OLD}, 'u': {'postgres_password': OLD}}))
    result = run_module(secret_store, {'path': lab, 'values': {'db_password': NEW}, 'vault': False, 'section': 't',
                                       'rename': {'db_password': 'postgres_password'}})
    assert result['changed']
    assert json.loads(read(lab)) == {'t': {'postgres_password': NEW}, 'u': {'postgres_password': OLD}}
    missing = run_module(secret_store, {'path': lab, 'values': {'a': 'b'}, 'vault': False, 'section': 'zz'})
    assert missing['failed'] and 'no object zz' in missing['msg']


@pytest.mark.parametrize('marker', ['{{', '{%', '{#'])
def test_secret_store_refuses_a_value_ansible_would_template(tmp_path, marker):
    path = str(tmp_path / 'vault.yml')
    original = FakeVault.HEADER + json.dumps({'vault_x': OLD})
    write(path, original, 0o600)
    value = 'Abc' + marker + " lookup('pipe', 'id') " + '}}xyz'
    result = run_module(secret_store, {'path': path, 'values': {'vault_x': value}}, run_command=FakeVault())
    assert result['failed'] and 'vault_x ("%s")' % marker in result['msg'] and 'nothing was written' in result['msg']
    assert value not in result['msg'] and read(path) == original


def test_what_secret_store_writes_reads_back_unchanged_through_ansible(tmp_path):
    """The second read: Ansible templates the vault's strings when a run uses them. Every marker the store
    refuses is one Ansible would render; the braces and percent signs a secret may hold come back as written."""
    path = str(tmp_path / 'vault.yml')
    write(path, FakeVault.HEADER + json.dumps({'vault_x': OLD}), 0o600)
    kept = 'a{b}c%d${e}f{ g}h%}i#}j'
    assert not run_module(secret_store, {'path': path, 'values': {'vault_x': kept}}, run_command=FakeVault()).get('failed')
    # Read as a run reads group_vars (strings from a vars file are templates to Ansible).
    plain = tmp_path / 'vars.yml'
    plain.write_text(read(path)[len(FakeVault.HEADER):])
    loader = DataLoader()
    data = loader.load_from_file(str(plain), unsafe=True, trusted_as_template=True)  # as host_group_vars loads
    assert Templar(loader=loader, variables=data).template(data['vault_x']) == kept
    for marker, rendered in (('{{', "{{ 'x' }}"), ('{%', "{% if true %}x{% endif %}"), ('{#', "{# c #}x")):
        plain.write_text(json.dumps({'vault_x': 'a' + rendered}))
        data = loader.load_from_file(str(plain), cache='none', unsafe=True, trusted_as_template=True)
        # what such a value would become on the next run: not what was stored
        assert Templar(loader=loader, variables=data).template(data['vault_x']) == 'ax', marker


def test_secret_store_says_where_it_cannot_write(tmp_path, monkeypatch):
    path = str(tmp_path / 'vault.yml')
    write(path, FakeVault.HEADER + json.dumps({'vault_x': OLD}), 0o600)
    missing = run_module(secret_store, {'path': str(tmp_path / 'nope.yml'), 'values': {'vault_x': NEW}},
                         check_mode=True, run_command=FakeVault())
    assert missing['failed'] and str(tmp_path / 'nope.yml') in missing['msg'] and 'does not exist' in missing['msg']
    monkeypatch.setattr(os, 'access', lambda p, mode: p != str(tmp_path))  # a read-only checkout (AWX project)
    readonly = run_module(secret_store, {'path': path, 'values': {'vault_x': NEW}}, check_mode=True,
                          run_command=FakeVault())
    assert readonly['failed'] and 'cannot be written' in readonly['msg'] and str(tmp_path) in readonly['msg']
