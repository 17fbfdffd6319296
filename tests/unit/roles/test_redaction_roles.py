# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The redaction lists of the roles triage (platform_info's log lines, so the findings and the report), checks and
incident_report (the channel) hold every secret of the platform: rendered by ansible-playbook from the production
inventory's group_vars and a vault filled from its example, with the off-site backup keys set."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.tgops.runbooks.plugins.module_utils._redact import Redactor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
PRODUCTION = os.path.join(ROOT, 'inventories', 'production')
OFFSITE = {
    'platform_backup_s3_access_key': 'AKIAOFFSITEACCESS01',
    'platform_backup_s3_secret_key': 's3-Secret/Offsite+Key02',
    'vault_backup_hmac_key': 'hmac-backup-integrity-key-03',
}
# What each platform's log may carry that the old lists missed (besides the S3 and HMAC keys).
MISSED = {
    'tgquiz': ['vault_tgquiz_secret_key'],
    'toogoodtogo': ['vault_toogoodtogo_secret_key', 'vault_toogoodtogo_stripe_api_key'],
}


def checks_redact_expression():
    """The C(redact) option of the checks role's platform_info task, as written there."""
    with open(os.path.join(ROOT, 'roles', 'checks', 'tasks', 'main.yml')) as handle:
        tasks = yaml.safe_load(handle)
    return next(task['tgops.runbooks.platform_info']['redact'] for task in tasks
                if 'tgops.runbooks.platform_info' in task)


@pytest.fixture(scope='module', name='rendered')
def fixture_rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('redaction')
    inventory = tmp / 'inventory'
    (inventory / 'group_vars' / 'all').mkdir(parents=True)
    for name in ('tgquiz.yml', 'toogoodtogo.yml'):
        shutil.copy(os.path.join(PRODUCTION, 'group_vars', name), str(inventory / 'group_vars' / name))
    with open(os.path.join(PRODUCTION, 'group_vars', 'all', 'vault.yml.example')) as handle:
        example = yaml.safe_load(handle)
    # every vault variable a distinct value none of the others contains
    vault = {name: '%s-Zq%02d-value' % (name.replace('_', '-'), index) for index, name in enumerate(sorted(example))}
    vault['notify_telegram_chat_id'] = '-1001'
    vault['notify_telegram_bot_token'] = '123:notify-bot-token'
    vault.update(OFFSITE)
    (inventory / 'group_vars' / 'all' / 'vault.yml').write_text(json.dumps(vault))
    python = sys.executable
    (inventory / 'hosts.yml').write_text(json.dumps({'all': {
        'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': python},
        'children': {'tgquiz': {'hosts': {'quiz-1': {}}}, 'toogoodtogo': {'hosts': {'tgtg-1': {}}}}}}))
    line = 'app log: ' + ' '.join('%s=%s' % (name, value) for name, value in sorted(vault.items()))
    playbook = [{
        'hosts': 'all', 'gather_facts': False,
        'vars_files': [os.path.join(ROOT, 'roles', role, 'defaults', 'main.yml')
                       for role in ('triage', 'checks', 'incident_report')],
        'vars': {'checks_redact': checks_redact_expression(), 'log_line': line},
        'tasks': [
            # the incident channel's message, as the role's notify task builds it (check mode: nothing sent)
            {'name': 'Notify', 'tgops.runbooks.incident_notify': {
                'text': '{{ log_line }}', 'chat_id': '-1001', 'bot_token': '123:notify-bot-token',
                'api_url': 'http://127.0.0.1:9', 'redact': '{{ incident_report_notify_redact | select | list }}'},
             'check_mode': True, 'register': 'notified'},
            {'name': 'Save', 'ansible.builtin.copy': {
                'dest': str(tmp) + '/{{ inventory_hostname }}.json', 'mode': '0600',
                'content': '{{ {"triage": triage_redact | select | list, "checks": checks_redact,'
                           ' "report": incident_report_notify_redact | select | list,'
                           ' "notified": notified.text} | to_json }}'},
             'delegate_to': 'localhost'},
        ],
    }]
    (tmp / 'playbook.yml').write_text(json.dumps(playbook))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_VAULT_PASSWORD_FILE='')
    env.pop('ANSIBLE_VAULT_PASSWORD_FILE')
    proc = subprocess.run([os.path.join(os.path.dirname(python), 'ansible-playbook'), '-i', str(inventory),
                           str(tmp / 'playbook.yml')], capture_output=True, text=True, env=env, cwd=str(tmp),
                          check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = {}
    for host, platform in (('quiz-1', 'tgquiz'), ('tgtg-1', 'toogoodtogo')):
        with open(str(tmp / ('%s.json' % host))) as handle:
            out[platform] = json.load(handle)
    return vault, line, out


@pytest.mark.parametrize('platform', sorted(MISSED))
@pytest.mark.parametrize('role', ['triage', 'checks', 'report'])
def test_every_platform_secret_is_in_the_role_redaction_list(rendered, platform, role):
    vault, dummy, out = rendered
    names = MISSED[platform] + ['platform_backup_s3_access_key', 'platform_backup_s3_secret_key',
                                'vault_backup_hmac_key']
    missing = [name for name in names if vault[name] not in out[platform][role]]
    assert not missing, '%s of %s does not mask %s' % (role, platform, missing)


@pytest.mark.parametrize('platform', sorted(MISSED))
@pytest.mark.parametrize('role', ['triage', 'checks'])
def test_a_log_line_carrying_the_secrets_is_masked(rendered, platform, role):
    """platform_info masks its log lines with Redactor(redact): what the findings and the report then quote."""
    vault, line, out = rendered
    masked = Redactor(out[platform][role])(line)
    for name in MISSED[platform] + sorted(OFFSITE):
        assert vault[name] not in masked, name


@pytest.mark.parametrize('platform', sorted(MISSED))
def test_the_channel_message_is_masked(rendered, platform):
    vault, dummy, out = rendered
    for name in MISSED[platform] + sorted(OFFSITE):
        assert vault[name] not in out[platform]['notified'], name
    assert '********' in out[platform]['notified']
