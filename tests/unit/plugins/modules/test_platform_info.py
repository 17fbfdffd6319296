"""platform_info: one call reads the stack; failed reads are findings; secrets never reach argv or output."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import subprocess
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.tgops.runbooks.plugins.modules import platform_info
from tgops_module_runner import run_module

TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw'
PASSWORD = 'pg-secret-Passw0rd'


def inspect_doc(service, status='running', health='healthy', exit_code=0):
    return {'Name': '/toogoodtogo_%s' % service, 'RestartCount': 0,
            'State': {'Status': status, 'ExitCode': exit_code, 'OOMKilled': False, 'Health': {'Status': health}},
            'Config': {'Labels': {'com.docker.compose.service': service}}}


class FakeDocker(object):
    """Answers the docker CLI argv platform_info sends; records every call."""

    def __init__(self, docs, logs=None, ps_rc=0, db_ok=True, logs_rc=0):
        self.docs, self.logs, self.ps_rc, self.db_ok, self.logs_rc = docs, logs or {}, ps_rc, db_ok, logs_rc
        self.calls = []

    def __call__(self, argv, environ_update=None, data=None, **kwargs):
        self.calls.append((list(argv), data))
        if argv[0].endswith('timeout'):
            argv = argv[3:]
        verb = argv[1]
        if verb == 'ps':
            if self.ps_rc:
                return self.ps_rc, '', 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock'
            return 0, '\n'.join('id-%s' % d['Config']['Labels']['com.docker.compose.service'] for d in self.docs), ''
        if verb == 'inspect':
            return 0, json.dumps(self.docs), ''
        if verb == 'logs':
            if self.logs_rc:
                return self.logs_rc, '', 'error from daemon: can not get logs'
            return 0, self.logs.get(argv[-1], ''), ''
        if verb == 'exec' and any('psql' in a for a in argv):
            return (0, '1\n', '') if self.db_ok and data == PASSWORD else (
                2, '', 'psql: error: password authentication failed for user "toogoodtogo" (%s)' % data)
        if verb == 'exec' and argv[-2:] == ['redis-cli', 'ping']:
            return 0, 'PONG\n', ''
        raise AssertionError('unexpected command %r' % argv)


def args(**extra):
    base = {'project': 'toogoodtogo', 'services': ['postgres', 'redis', 'bot'], 'paths': ['/'],
            'database': {'service': 'postgres', 'name': 'toogoodtogo', 'user': 'toogoodtogo', 'password': PASSWORD},
            'redis_service': 'redis', 'redact': [TOKEN]}
    base.update(extra)
    return base


def test_healthy_stack_has_no_findings_and_password_only_on_stdin():
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')])
    result = run_module(platform_info, args(), run_command=fake)
    assert not result.get('failed'), result
    assert result['findings'] == [] and result['passed'] is True
    assert result['database'] == {'checked': True, 'reachable': True, 'error': ''}
    assert result['redis']['reachable'] is True
    assert result['changed'] is False
    for argv, data in fake.calls:
        assert PASSWORD not in ' '.join(argv)
    assert any(call[1] == PASSWORD for call in fake.calls), 'the password goes on standard input'


def test_exited_service_and_log_errors_are_found_and_redacted():
    logs = {'toogoodtogo_bot': 'INFO start\nERROR telegram call https://api.telegram.org/bot%s/getMe failed\n' % TOKEN}
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')], logs=logs)
    fake.docs[2]['State'].update({'Status': 'exited', 'ExitCode': 137})
    result = run_module(platform_info, args(), run_command=fake)
    assert result['down'] == ['bot']
    assert 'service bot is exited (exit code 137)' in result['findings']
    # an exited container's logs are still read: they say why it died
    assert result['logs']['error_count'] == 1
    assert result['logs']['errors'] == ['bot | ERROR telegram call https://api.telegram.org/bot********/getMe failed']
    assert TOKEN not in json.dumps(result)


def test_a_one_off_container_of_the_service_is_not_the_service():
    # `docker compose run bot ...` left running while the bot's own container exited: the bot is down.
    oneoff = inspect_doc('bot')
    oneoff['Config']['Labels']['com.docker.compose.oneoff'] = 'True'
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), oneoff, inspect_doc('bot', 'exited', '', 1)])
    result = run_module(platform_info, args(), run_command=fake)
    assert result['down'] == ['bot'] and 'service bot is exited (exit code 1)' in result['findings']
    ps = [argv for argv, data in fake.calls if 'ps' in argv][0]
    assert '--all' in ps and 'label=com.docker.compose.project=toogoodtogo' in ps


def test_an_engine_that_does_not_answer_is_a_finding_not_silence():
    fake = FakeDocker([], ps_rc=1)
    result = run_module(platform_info, args(), run_command=fake)
    assert result['passed'] is False
    assert result['findings'][0].startswith('docker ps failed: Cannot connect to the Docker daemon')
    assert all(s['state'] == 'unknown' for s in result['services'])
    assert result['logs']['failures'], 'unread logs must be reported'


def test_unreadable_logs_are_a_finding():
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')], logs_rc=1)
    result = run_module(platform_info, args(), run_command=fake)
    assert 'logs could not be read: postgres: error from daemon: can not get logs' in result['findings']


def test_wrong_database_password_is_reported_without_the_password():
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')], db_ok=False)
    result = run_module(platform_info, args(), run_command=fake)
    assert result['database']['reachable'] is False
    assert 'password authentication failed' in result['database']['error']
    assert PASSWORD not in json.dumps(result)


def test_database_down_is_not_queried():
    fake = FakeDocker([inspect_doc('postgres', 'exited', '', 0), inspect_doc('redis'), inspect_doc('bot')])
    result = run_module(platform_info, args(), run_command=fake)
    assert result['database'] == {'checked': True, 'reachable': False, 'error': 'service postgres is exited'}
    assert not [call for call in fake.calls if 'psql' in ' '.join(call[0])]


def test_env_file_names_only(tmp_path):
    env = tmp_path / '.env.production'
    env.write_text('TELEGRAM_BOT_TOKEN=%s\nSECRET_KEY=\n' % TOKEN)
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')])
    required = ['TELEGRAM_BOT_TOKEN', 'SECRET_KEY', 'POSTGRES_PASSWORD']
    result = run_module(platform_info, args(env_file=str(env), required_env=required), run_command=fake)
    assert result['env']['missing'] == ['POSTGRES_PASSWORD'] and result['env']['empty'] == ['SECRET_KEY']
    assert TOKEN not in json.dumps(result)
    missing = run_module(platform_info, args(env_file=str(tmp_path / 'nope'), required_env=['A']), run_command=fake)
    assert 'env file %s is missing' % (tmp_path / 'nope') in missing['findings']


def test_backups_with_a_non_utf8_name(tmp_path):
    (tmp_path / 'toogoodtogo_20261123_030000.sql.gz').write_bytes(b'x')
    (tmp_path / b'toogoodtogo_\xff.sql.gz'.decode('utf-8', 'surrogateescape')).write_bytes(b'y')
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')])
    result = run_module(platform_info, args(backup_dir=str(tmp_path), backup_pattern='toogoodtogo_*.sql.gz'),
                        run_command=fake)
    assert result['backups']['count'] == 2
    json.dumps(result)  # serialisable: no surrogates


def test_systemd_unit_state_is_read():
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')])

    def run(argv, **kwargs):
        if argv[0].endswith('systemctl'):
            return 0, 'ActiveState=inactive\nSubState=dead\n', ''
        return fake(argv, **kwargs)
    result = run_module(platform_info, args(service_manager='systemd', systemd_unit='toogoodtogo'), run_command=run)
    assert result['unit'] == {'name': 'toogoodtogo', 'active_state': 'inactive', 'sub_state': 'dead'}
    assert result['findings'][0] == 'systemd unit toogoodtogo is inactive (dead)'


def test_bad_thresholds_fail_cleanly():
    for bad in (float('nan'), float('inf'), -1):
        result = run_module(platform_info, args(disk_warn_percent=bad), run_command=FakeDocker([]))
        assert result['failed'] and 'disk_warn_percent' in result['msg']

    for bad in (float('nan'), float('inf'), -1):
        result = run_module(platform_info, args(command_timeout=bad), run_command=FakeDocker([]))
        assert result['failed'] and result['msg'].startswith('command_timeout must be between 0 and')


def test_command_timeout_is_seconds_as_a_float():
    # A duration is seconds as a float (docs/module-vocabulary.md): coreutils timeout takes 2.5 as it is, and a
    # whole number is written as before (20, not 20.0).
    fake = FakeDocker([], ps_rc=124)
    result = run_module(platform_info, args(command_timeout=2.5), run_command=fake,
                        bin_paths={'timeout': '/usr/bin/timeout'})
    assert fake.calls[0][0][:3] == ['/usr/bin/timeout', '--kill-after=2', '2.5']
    assert result['findings'][0] == 'docker ps failed: no answer within 2.5 s'
    fake = FakeDocker([], ps_rc=124)
    run_module(platform_info, args(), run_command=fake, bin_paths={'timeout': '/usr/bin/timeout'})
    assert fake.calls[0][0][:3] == ['/usr/bin/timeout', '--kill-after=2', '20']


def healthy_stack():
    return FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')])


def test_health_is_probed_from_the_host_with_the_other_reads(api):
    api.route('/health', (200, {'status': 'healthy', 'version': 'v1.2.3', 'platform': 'toogoodtogo'}))
    result = run_module(platform_info, args(health={'url': api.url + '/health'}), run_command=healthy_stack())
    health = result['health']
    assert health['checked'] is True and health['passed'] is True and health['status'] == 'healthy'
    assert health['version'] == 'v1.2.3' and health['http_status'] == 200
    assert health['response']['platform'] == 'toogoodtogo'
    assert result['findings'] == [] and result['passed'] is True
    # without the option nothing is probed
    assert run_module(platform_info, args(), run_command=healthy_stack())['health'] == {'checked': False}


def test_an_unhealthy_or_silent_endpoint_is_a_finding(api):
    api.route('/health', (503, {'status': 'unhealthy', 'dependencies': {'redis': {'status': 'unhealthy'}}}))
    result = run_module(platform_info, args(health={'url': api.url + '/health'}), run_command=healthy_stack())
    assert result['health']['passed'] is False and result['passed'] is False
    assert result['findings'] == ['health endpoint %s/health reports unhealthy (unhealthy: redis)' % api.url]
    # a port nobody listens on: refused, and said so
    url = 'http://127.0.0.1:9/health'
    silent = run_module(platform_info, args(health={'url': url, 'request_timeout': 2}), run_command=healthy_stack())
    assert silent['health']['http_status'] == -1 and silent['health']['error']
    assert silent['findings'][-1].startswith('health endpoint %s is not healthy: no answer: ' % url)


def test_the_health_url_password_never_comes_back(api):
    api.route('/health', (503, {'status': 'unhealthy', 'detail': 'auth ops:Hx-health-pw-91 rejected'}))
    url = api.url.replace('http://', 'http://ops:Hx-health-pw-91@') + '/health'
    result = run_module(platform_info, args(health={'url': url}), run_command=healthy_stack())
    assert 'Hx-health-pw-91' not in json.dumps(result)
    assert result['findings'] == ['health endpoint %s/health reports unhealthy'
                                  % api.url.replace('http://', 'http://********@')]


def test_bad_health_options_fail_clearly():
    result = run_module(platform_info, args(health={'url': 'ftp://host/health'}), run_command=healthy_stack())
    assert result['failed'] and 'health.url must be an http:// or https:// URL' in result['msg']
    result = run_module(platform_info, args(health={'url': 'http://h/health', 'request_timeout': 0}),
                        run_command=healthy_stack())
    assert result['failed'] and 'health.request_timeout' in result['msg']


def test_the_container_psql_gets_the_password_in_a_passfile_not_in_its_environment(tmp_path):
    """The script docker exec runs in the database container, run here by sh with a fake psql that reports
    its environment and its password file (PGPASSWORD would be readable in /proc/<pid>/environ)."""
    fake = tmp_path / 'bin' / 'psql'
    fake.parent.mkdir()
    report = tmp_path / 'report'
    fake.write_text('#!/bin/sh\nenv > "%s.env"\n[ -n "$PGPASSFILE" ] && stat -c %%a "$PGPASSFILE" > "%s.mode" '
                    '&& cat "$PGPASSFILE" > "%s.passfile"\necho 1\n' % (report, report, report))
    fake.chmod(0o755)
    password = 'pg:se\\cret Pa55'
    env = dict(os.environ, PATH='%s:%s' % (fake.parent, os.environ['PATH']), TMPDIR=str(tmp_path / 'tmp'))
    (tmp_path / 'tmp').mkdir()
    proc = subprocess.run(['sh', '-c', platform_info._PSQL, 'sh', 'toogoodtogo', 'toogoodtogo'],
                          input=password + '\n', capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0 and proc.stdout == '1\n', proc.stderr
    child_env = (tmp_path / 'report.env').read_text()
    assert 'PGPASSWORD' not in child_env and password not in child_env
    assert (tmp_path / 'report.mode').read_text().strip() == '600'
    assert (tmp_path / 'report.passfile').read_text() == '*:*:*:*:pg\\:se\\\\cret Pa55\n'
    assert os.listdir(str(tmp_path / 'tmp')) == [], 'the password file is removed after psql'
    # no password given: no file, libpq's own defaults
    proc = subprocess.run(['sh', '-c', platform_info._PSQL, 'sh', 'u', 'd'], input='', capture_output=True,
                          text=True, env=env, check=False)
    assert proc.returncode == 0 and 'PGPASSFILE' not in (tmp_path / 'report.env').read_text()


def run_for_real(module_args, run_command, capsys):
    """main() with Ansible's own exit_json/fail_json: the JSON the controller receives and prints at -vvv,
    invocation (module_args) included."""
    with patch_module_args(module_args), \
            mock.patch.object(basic.AnsibleModule, 'run_command',
                              lambda self, argv, environ_update=None, **kw: run_command(argv, **kw)):
        with pytest.raises(SystemExit):
            platform_info.main()
    out = capsys.readouterr().out
    return out, json.loads(out)


HEALTH_PW = 'Hx-health-pw-4711'
HEALTH_TOKEN = 'tk-health-query-0815'


def test_the_health_url_secrets_reach_neither_the_invocation_nor_the_result(api, capsys):
    api.route('/health', (503, {'status': 'unhealthy', 'detail': 'token %s for ops:%s' % (HEALTH_TOKEN, HEALTH_PW)}))
    url = api.url.replace('http://', 'http://ops:%s@' % HEALTH_PW) + '/health?probe=1&token=' + HEALTH_TOKEN
    out, result = run_for_real(args(health={'url': url}), healthy_stack(), capsys)
    assert HEALTH_PW not in out and HEALTH_TOKEN not in out
    assert result['invocation']['module_args']['health']['url'] != url
    assert result['findings'] == ['health endpoint %s/health?probe=1&token=******** reports unhealthy'
                                  % api.url.replace('http://', 'http://********@')]


def test_a_bad_health_url_fails_without_its_secrets(capsys):
    url = 'http://ops:%s@127.0.0.1:99999/health?api_key=%s' % (HEALTH_PW, HEALTH_TOKEN)
    out, result = run_for_real(args(health={'url': url}), healthy_stack(), capsys)
    assert result['failed'] and 'health.url is not a valid URL' in result['msg']
    assert HEALTH_PW not in out and HEALTH_TOKEN not in out


# The platform's secrets (the vault variables of inventories/lab, the env files' names): each reaches a log line.
ENV_SECRETS = {
    'STRIPE_API_KEY': 'sk_live_51HxLeakStripeKey0123456789',
    'SECRET_KEY': 'f3' * 32,
    'POSTGRES_PASSWORD': 'pg-env-Passw0rd-1',
    'TELEGRAM_WEBHOOK_SECRET': 'whs-env-secret-77',
    'TONCENTER_API_KEY': 'ton' + 'ab12' * 8,
    'PINATA_API_KEY': 'pinata-key-0011',
    'PINATA_SECRET_KEY': 'pinata-secret-0022',
    'AWS_SECRET_ACCESS_KEY': 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    'S3_SECRET_KEY': 's3-secret-0033',
}
S3_SECRET_ONLY_IN_REDACT = 's3-offsite-secret-not-in-env-44'


def test_every_platform_secret_in_a_log_line_is_masked(tmp_path):
    env = tmp_path / '.env.production'
    env.write_text('# secrets\n' + ''.join('%s=%s\n' % item for item in ENV_SECRETS.items()) +
                   'export QUOTED_TOKEN="quoted-token-55"\nDATABASE_URL=postgresql://app:db-url-pw-66@db/app\n'
                   'ENVIRONMENT=production\nLOG_LEVEL=ERROR\n')
    leaked = list(ENV_SECRETS.values()) + ['quoted-token-55', 'db-url-pw-66', S3_SECRET_ONLY_IN_REDACT]
    logs = {'toogoodtogo_bot': ''.join('ERROR production request failed with %s (%s)\n' % (value, value.replace('/', '%2F'))
                                       for value in leaked)}
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')], logs=logs)
    result = run_module(platform_info, args(env_file=str(env), redact=[TOKEN, S3_SECRET_ONLY_IN_REDACT]),
                        run_command=fake)
    dumped = json.dumps(result)
    for value in leaked:
        assert value not in dumped, value
    assert len(result['logs']['errors']) == len(leaked)
    # what is not a secret stays readable: the level, the environment's name
    assert all(line.startswith('bot | ERROR production request failed with ********')
               for line in result['logs']['errors'])


def test_env_secrets_reads_secret_names_and_url_passwords_only():
    text = ('SECRET_KEY=abc123abc\nDEBUG=false\nPORT=8000\n# API_KEY=commented\nDATABASE_URL=postgres://u:pw12@h/d\n'
            'REDIS_URL=redis://redis:6379/0\nSENTRY_DSN=https://pub@sentry.example/1\n')
    assert platform_info.env_secrets(text) == ['abc123abc', 'pw12', 'https://pub@sentry.example/1']


def test_one_service_last_lines_by_regex_as_the_diagnosing_roles_read_them():
    # p1_database reads the last N PostgreSQL lines however old (log_since=all) and matches the role's regular
    # expressions case-insensitively, as the log_scan filter did on `docker compose logs` output.
    logs = {'toogoodtogo_postgres': ('LOG  checkpoint complete\nfatal:  password authentication failed (%s)\n'
                                     'ERROR:  relation "x" does not exist\nconnection pool exhausted\n' % PASSWORD)}
    fake = FakeDocker([inspect_doc('postgres'), inspect_doc('redis'), inspect_doc('bot')], logs=logs)
    result = run_module(platform_info, {'project': 'toogoodtogo', 'services': ['postgres'], 'log_since': 'all',
                                        'log_tail': 100, 'log_regex': True, 'redact': [PASSWORD],
                                        'log_patterns': ['ERROR|FATAL', '(pool|slots?) (exhausted|full)']},
                        run_command=fake)
    reads = [argv for argv, _data in fake.calls if 'logs' in argv]
    assert len(reads) == 1 and reads[0][-4:] == ['logs', '--tail', '100', 'toogoodtogo_postgres']
    assert '--since' not in reads[0]
    assert result['logs']['error_count'] == 3
    assert result['logs']['errors'] == ['postgres | fatal:  password authentication failed (********)',
                                        'postgres | ERROR:  relation "x" does not exist',
                                        'postgres | connection pool exhausted']


def test_plain_patterns_stay_plain_strings():
    logs = {'toogoodtogo_bot': 'error: lower case\nERROR upper case\nERROR|FATAL literally\n'}
    fake = FakeDocker([inspect_doc('bot')], logs=logs)
    result = run_module(platform_info, {'project': 'toogoodtogo', 'services': ['bot'],
                                        'log_patterns': ['ERROR|FATAL']}, run_command=fake)
    assert result['logs']['errors'] == ['bot | ERROR|FATAL literally']
    assert ['logs', '--since', '30m'] == [a for a in fake.calls[-1][0] if a in ('logs', '--since', '30m')]


def test_a_bad_log_regex_is_named():
    result = run_module(platform_info, {'project': 'toogoodtogo', 'services': ['bot'], 'log_regex': True,
                                        'log_patterns': ['ERROR', 'pool (exhausted']},
                        run_command=FakeDocker([inspect_doc('bot')]))
    assert result['failed'] and "log_patterns: 'pool (exhausted' is not a regular expression" in result['msg']
