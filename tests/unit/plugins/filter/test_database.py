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
                          app_restart_check_mode_notes=[], restore=False, restore_refused='', restore_notes=[])


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


@pytest.mark.parametrize('confirm', ['true', 'yes', 'other', True])
def test_a_restore_confirmation_that_does_not_name_the_database_is_refused(confirm):
    out = plan(restore_confirm=confirm, restore_backup='b.dump', host='lab')
    assert out['restore'] is False
    assert out['restore_refused'] == (
        'Restoring drops the database app on lab: confirm with -e p1_database_restore_confirm=app '
        '(database_restore_confirm), not %s. Nothing was changed.' % confirm)
    assert plan(restore_confirm='x' * 100, host='lab')['restore_refused'].endswith('not %s.... Nothing was changed.'
                                                                                   % ('x' * 61))


@pytest.mark.parametrize('no', ['', 'false', 'False', 'none', None, False])
def test_a_survey_no_confirms_nothing_and_refuses_nothing(no):
    out = plan(restore_confirm=no, restore_backup='b.dump', needs_restart=True)
    assert out['restore'] is False and out['restore_refused'] == ''
    assert out['restore_notes'][0].startswith('Not restoring from backup')


def test_a_bad_switch_is_named():
    with pytest.raises(AnsibleFilterError, match='database_fix_plan'):
        plan(allow_restart='perhaps')


def outcome(**read):
    from ansible_collections.tgops.runbooks.plugins.filter.database import database_outcome
    return database_outcome(read)


EXHAUSTED = dict(read(dict(HEALTHY, connections=97, connections_exhausted=True, idle_in_transaction_over_age=[{'pid': 7}],
                           findings=['connections exhausted: 97 in use of 97 usable (max_connections 100)']),
                      pool_errors={'count': 1, 'lines': ['backend-api | too many clients'], 'failure': ''}))
EXHAUSTED_ACTIVITY = dict(HEALTHY, connections=97)


def test_the_diagnosis_outcome_before_the_fix():
    out = outcome(diagnosis=EXHAUSTED, activity=EXHAUSTED_ACTIVITY, service='postgres')
    assert out == dict(findings=EXHAUSTED['findings'], errors=['backend-api | too many clients'], impacted=[],
                       health_before='97 connection(s) of 97 usable', resolved=False,
                       summary='97 connection(s) of 97 usable')
    healthy = outcome(diagnosis=read(), activity=HEALTHY, service='postgres')
    assert healthy['resolved'] is True and healthy['findings'] == []


def test_a_down_postgres_is_impacted_and_not_reachable():
    down = read({'msg': 'connection refused'}, down=['postgres'])
    out = outcome(diagnosis=down, activity={'msg': 'connection refused'}, service='postgres')
    assert out['impacted'] == ['postgres'] and out['resolved'] is False
    assert out['health_before'] == '? connection(s) of ? usable (not reachable)'
    assert out['summary'] == '? connection(s) of ? usable'
    # started again by the fix: still the service the incident impacted
    fixed = outcome(diagnosis=down, activity={'msg': 'connection refused'}, service='postgres',
                    actions=['Started postgres'], diagnosis_after=read(), activity_after=HEALTHY)
    assert fixed['impacted'] == ['postgres'] and fixed['resolved'] is True


def test_after_the_fix_the_second_diagnosis_decides_and_its_findings_are_added():
    after = read(dict(HEALTHY, findings=['connections at 85%']))
    out = outcome(diagnosis=EXHAUSTED, activity=EXHAUSTED_ACTIVITY, service='postgres',
                  actions=['Ended 3 session(s) idle in transaction'], diagnosis_after=after, activity_after=HEALTHY)
    assert out['findings'] == EXHAUSTED['findings'] + ['after the fix: connections at 85%']
    assert out['resolved'] is True and out['actions'] == ['Ended 3 session(s) idle in transaction']
    assert out['health_before'] == '97 connection(s) of 97 usable' and out['summary'] == '5 connection(s) of 97 usable'
    assert out['errors'] == ['backend-api | too many clients']
    still = outcome(diagnosis=EXHAUSTED, activity=EXHAUSTED_ACTIVITY, service='postgres', actions=[],
                    diagnosis_after=EXHAUSTED, activity_after=EXHAUSTED_ACTIVITY)
    assert still['resolved'] is False and still['findings'][2].startswith('after the fix: connections exhausted')


def test_check_mode_and_unconfirmed_steps_keep_the_first_diagnosis():
    # No second diagnosis in check mode: the fix's sentences, the first diagnosis's verdict.
    out = outcome(diagnosis=EXHAUSTED, activity=EXHAUSTED_ACTIVITY, service='postgres',
                  actions=['Would restart backend-api, telegram-bot (connections exhausted)'])
    assert out['resolved'] is False and out['actions'] == ['Would restart backend-api, telegram-bot (connections exhausted)']
    assert not any(finding.startswith('after the fix') for finding in out['findings'])


def test_the_outcome_names_bad_input():
    with pytest.raises(AnsibleFilterError, match='database_outcome: diagnosis must be a dict'):
        outcome(diagnosis='x')
    with pytest.raises(AnsibleFilterError, match='database_outcome: actions must be a list'):
        outcome(diagnosis={}, actions='Restarted postgres')


def test_what_the_fix_changed_in_the_data_is_named():
    ended = {'changed': True, 'terminated': [{'pid': 41, 'application': 'tgops-it-leak-0', 'age_seconds': 9},
                                             {'pid': 42, 'application': '', 'age_seconds': 9}]}
    base = dict(diagnosis=EXHAUSTED, activity=EXHAUSTED_ACTIVITY, service='postgres', actions=['Ended 2 session(s)'],
                db_name='app', backup='b.dump')
    out = outcome(terminated=ended, plan={'restore': False}, **base)
    assert out['data_changed'] == ['Ended 2 session(s) idle in a transaction (application(s) tgops-it-leak-0, ?): what '
                                   'they had not committed was rolled back, nothing keeps it']
    # A leak of many sessions names its few applications once each, at most five.
    many = {'terminated': [{'pid': n, 'application': 'app-%d' % (n % 7)} for n in range(96)]}
    assert outcome(terminated=many, plan={}, **base)['data_changed'] == [
        'Ended 96 session(s) idle in a transaction (application(s) app-0, app-1, app-2, app-3, app-4 and 2 more): '
        'what they had not committed was rolled back, nothing keeps it']
    restored = outcome(terminated={'skipped': True}, plan={'restore': True}, safety={'path': '/b/safety.dump'}, **base)
    assert restored['data_changed'] == ['app dropped and restored from b.dump: whatever changed after that backup was '
                                        'replaced; the database as it was is in the safety backup /b/safety.dump']
    unsafe = outcome(plan={'restore': True}, safety={}, safety_error='disk full', **base)
    assert unsafe['data_changed'][0].endswith('no safety backup of the database as it was (disk full)')
    # Check mode changed nothing; a run that only said what needs confirming changed nothing either.
    assert outcome(terminated=ended, plan={'restore': True}, check_mode=True, **base)['data_changed'] == []
    assert outcome(terminated={'skipped': True}, plan={'restore': False}, **base)['data_changed'] == []
    assert 'data_changed' not in outcome(diagnosis=EXHAUSTED, activity=EXHAUSTED_ACTIVITY, service='postgres')
