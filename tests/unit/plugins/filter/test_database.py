"""database_diagnosis: runbook P1 "Database Connection Failures", judged from what the database role read."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.database import database_diagnosis

NO_LOGS = {'count': 0, 'lines': [], 'failure': ''}
SKIPPED = {'changed': False, 'skipped': True, 'skip_reason': 'Conditional result was False'}
HEALTHY = {'connections': 5, 'usable_connections': 97, 'connections_exhausted': False, 'findings': [],
           'idle_in_transaction_over_age': []}


def read(activity=None, isready=None, **extra):
    base = {'activity': HEALTHY if activity is None else activity, 'isready': SKIPPED if isready is None else isready,
            'pg_errors': NO_LOGS, 'pool_errors': NO_LOGS, 'service': 'postgres',
            'app_services': ['backend-api', 'telegram-bot'], 'down': [], 'log_since': '30m', 'log_lines': 100}
    base.update(extra)
    return database_diagnosis(base)


def test_a_healthy_database_has_nothing_to_say():
    out = read()
    assert out['findings'] == [] and out['errors'] == []
    assert out['reachable'] is True and out['postgres_down'] is False and out['needs_restart'] is False
    assert out['answers'] is False and out['not_answering'] is False


def test_a_stopped_container_needs_a_restart():
    out = read({'msg': 'connection refused'}, down=['postgres'])
    assert out['container_down'] is True and out['needs_restart'] is True
    assert out['findings'] == ['service postgres is not running or unhealthy',
                               'database not reachable: connection refused']


def test_a_failed_login_on_an_answering_server_is_not_a_restart():
    out = read({'msg': 'password authentication failed for user "app"'},
               {'rc': 0, 'stdout': '/var/run/postgresql:5432 - accepting connections\n'})
    assert out['needs_restart'] is False and out['answers'] is True
    assert out['findings'] == [
        'database not reachable: password authentication failed for user "app"',
        'PostgreSQL is running and answers (pg_isready: /var/run/postgresql:5432 - accepting connections): the login '
        'failed, not the server, so it is not restarted (a restart cannot fix a bad password or full connection slots)']


def test_no_response_is_down_and_an_odd_exit_is_said():
    assert read({'msg': 'timeout'}, {'rc': 2, 'stdout': 'no response'})['needs_restart'] is True
    out = read({'msg': 'x'}, {'rc': 126, 'stdout': ''})
    assert out['needs_restart'] is False
    assert 'cannot ask postgres whether it answers (pg_isready exit 126): not restarting it' in out['findings']


def test_exhausted_connections_and_log_lines():
    activity = dict(HEALTHY, connections_exhausted=True, idle_in_transaction_over_age=[{'pid': 7}],
                    findings=['connections exhausted: 97 in use of 97 usable (max_connections 100)'])
    out = read(activity, pool_errors={'count': 3, 'lines': ['backend-api | too many clients'], 'failure': ''},
               pg_errors={'count': 1, 'lines': ['postgres | FATAL: x'], 'failure': ''})
    assert out['exhausted'] is True and out['idle_over_age'] == [{'pid': 7}]
    assert out['findings'] == ['connections exhausted: 97 in use of 97 usable (max_connections 100)',
                               '3 pool or connection error line(s) in the backend-api, telegram-bot logs (last 30m)',
                               '1 ERROR/FATAL line(s) in the last 100 PostgreSQL log lines']
    assert out['errors'] == ['backend-api | too many clients', 'postgres | FATAL: x']


def test_unread_logs_are_findings():
    out = read(pg_errors=dict(NO_LOGS, failure='postgres: no answer within 20 s'),
               pool_errors=dict(NO_LOGS, failure='docker ps failed: ' + 'x ' * 150))
    assert out['findings'][0] == 'cannot read the PostgreSQL logs: postgres: no answer within 20 s'
    assert out['findings'][1].startswith('cannot read the application logs: docker ps failed') and out['findings'][1].endswith('...')


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match='activity must be a dict'):
        read('not a result')


def plan(**extra):
    from ansible_collections.tgops.runbooks.plugins.filter.database import database_fix_plan
    base = {'needs_restart': False, 'exhausted': False, 'idle_over_age': [], 'allow_restart': True,
            'terminate_confirm': False, 'restore_confirm': '', 'restore_backup': '', 'ready_retries': 30,
            'service': 'postgres', 'app_services': ['backend-api', 'telegram-bot'], 'db_name': 'app',
            'check_mode': False}
    base.update(extra)
    return database_fix_plan(base)


def test_nothing_found_nothing_planned():
    assert plan() == dict(restart_postgres=False, ready_retries=0, terminate=False, terminate_notes=[],
                          app_restart_check_mode_notes=[], restore=False, restore_notes=[])


def test_a_down_postgres_is_restarted_and_waited_for_unless_not_allowed_or_in_check_mode():
    out = plan(needs_restart=True)
    assert out['restart_postgres'] is True and out['ready_retries'] == 30
    assert out['restore_notes'] == ['Not restoring from backup: if corruption is suspected, confirm with '
                                    '-e p1_database_restore_confirm=app -e p1_database_restore_backup=<file>']
    assert plan(needs_restart=True, check_mode=True)['ready_retries'] == 0
    assert plan(needs_restart=True, allow_restart='false')['restart_postgres'] is False


def test_idle_sessions_end_only_when_confirmed():
    assert plan(idle_over_age=[{'pid': 1}, {'pid': 2}])['terminate_notes'] == [
        'Not ending 2 session(s) idle in transaction: confirm with -e p1_database_terminate_confirm=true']
    out = plan(idle_over_age=[{'pid': 1}], terminate_confirm='true')
    assert out['terminate'] is True and out['terminate_notes'] == []
    assert plan(terminate_confirm=True)['terminate'] is False


def test_check_mode_says_which_app_services_a_real_run_restarts():
    assert plan(exhausted=True, check_mode=True)['app_restart_check_mode_notes'] == [
        'Would restart backend-api, telegram-bot (connections exhausted)']
    assert plan(exhausted=True)['app_restart_check_mode_notes'] == []


def test_a_restore_needs_the_database_name_and_a_backup():
    assert plan(restore_confirm='app', restore_backup='b.dump')['restore'] is True
    out = plan(restore_confirm='app')
    assert out['restore'] is False
    assert out['restore_notes'] == ['Restore confirmed but no backup named: not restoring '
                                    '(add -e p1_database_restore_backup=<file>)']
    assert plan(restore_confirm='other', restore_backup='b.dump')['restore'] is False


def test_a_bad_switch_is_named():
    with pytest.raises(AnsibleFilterError, match='database_fix_plan'):
        plan(allow_restart='perhaps')
