"""A real ansible-playbook run (localhost, no lab): every failure of the collection's action plugins - an option
refused, a message the channel did not take (fail_on_problem) - is overridden by the task's failed_when, as a
module's failure is. ansible-core skips failed_when for a raised AnsibleActionFail and for any result with a
skipped key (even false)."""

import json
import os
import socket
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))

# Each task fails, and says failed_when: false. Registered as r<n>; the last task reports what they held.
TASKS = [
    ('incident_notify: channel refused, fail_on_problem', 'tgops.runbooks.incident_notify',
     dict(text='hello', chat_id='-1001', bot_token='123:abc', api_url='http://127.0.0.1:{port}', max_retries=0,
          fail_on_problem=True), 'incident notification not delivered'),
    ('incident_notify: int option refused', 'tgops.runbooks.incident_notify',
     dict(text='hello', chat_id='-1001', bot_token='123:abc', max_retries='.inf'), 'max_retries must be an integer'),
    ('incident_notify: unknown option', 'tgops.runbooks.incident_notify', dict(text='hello', bogus=1), 'bogus'),
    ('health_check: unknown option', 'tgops.runbooks.health_check', dict(url='http://127.0.0.1:{port}/', bogus=1),
     'Unsupported parameters'),
    ('health_check: int option refused', 'tgops.runbooks.health_check',
     dict(url='http://127.0.0.1:{port}/', status_codes=['1e999']), 'status_codes must be a list of integers'),
    ('health_check: unhealthy', 'tgops.runbooks.health_check', dict(url='http://127.0.0.1:{port}/', timeout=0),
     'is not healthy'),
    ('telegram_bot_info: int option refused', 'tgops.runbooks.telegram_bot_info',
     dict(bot_token='123:abc', max_retries='.inf'), 'max_retries must be an integer'),
    ('incident_report_file: missing option', 'tgops.runbooks.incident_report_file', dict(path='{tmp}/r.md'),
     'content'),
    ('platform_contract: a host without the platform variables', 'tgops.runbooks.platform_contract', {},
     'platform_name is required and not set'),
    ('platform_contract: unknown option', 'tgops.runbooks.platform_contract', dict(bogus=1), 'bogus'),
]


def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_failed_when_false_overrides_every_action_failure(tmp_path):
    port = closed_port()
    tasks = []
    for index, (name, action, args, dummy) in enumerate(TASKS):
        args = json.loads(json.dumps(args).replace('{port}', str(port)).replace('{tmp}', str(tmp_path)))
        tasks.append({'name': name, action: args, 'register': 'r%d' % index, 'failed_when': False})
    tasks.append({'name': 'Report', 'ansible.builtin.copy': {
        'dest': str(tmp_path / 'results.json'), 'mode': '0600',
        'content': '{{ [%s] | to_json }}' % ', '.join('r%d' % i for i in range(len(TASKS)))}})
    playbook = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]
    (tmp_path / 'playbook.yml').write_text(json.dumps(playbook))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
                           str(tmp_path / 'playbook.yml')],
                          capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'failed=0' in proc.stdout
    results = json.loads((tmp_path / 'results.json').read_text())
    for (name, dummy, dummy2, words), result in zip(TASKS, results):
        # the failure's message is still there to read; failed_when decided
        assert result['failed'] is False and result['failed_when_result'] is False, name
        assert words in result['msg'], (name, result['msg'])
