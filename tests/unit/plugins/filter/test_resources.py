"""resources_memory_diagnosis and resources_queries_diagnosis: runbooks P2 "High Memory Usage" and "Slow Database
Queries", judged from what the resources role read."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tgops.runbooks.plugins.filter.resources import (
    resources_memory_diagnosis,
    resources_queries_diagnosis,
)

NO_LOGS = {'count': 0, 'lines': [], 'failure': ''}
KINDS = ('connections', 'idle_in_transaction', 'slow_statements', 'seq_scan_tables', 'vacuum_tables', 'database_size')
CONNECTIONS = 'connections at 85.6%: 83 in use of 97 usable (warning at 80%)'
SIZE = 'database app is 600 MB (warning at 500 MB)'
SLOW = 'slow statement: mean 2000 ms over 1 call(s) (threshold 1000 ms): SELECT pg_sleep(2)'


def activity(**kinds):
    by_kind = dict((kind, kinds.get(kind, [])) for kind in KINDS)
    return {'database_size_bytes': 600 * 1048576, 'tables': [], 'pg_stat_statements': True,
            'findings': [line for kind in KINDS for line in by_kind[kind]], 'findings_by_kind': by_kind}


def memory(**extra):
    base = {'memory': {'findings': [], 'over_threshold': [], 'host': {'used_percent': 40.0}},
            'app_services': ['backend-api', 'telegram-bot'], 'host_warn_percent': 85, 'log_errors': NO_LOGS,
            'log_since': '1h', 'db': activity(), 'redis': {'keys': {'db0': 42}}, 'redis_db': '0'}
    base.update(extra)
    return resources_memory_diagnosis(base)


def test_healthy_memory_has_nothing_to_say():
    assert memory() == {'over_threshold': [], 'host_high': False, 'restart_targets': [], 'redis_keys': 42,
                        'findings': []}


def test_only_the_database_size_of_the_activity_is_a_memory_finding():
    # It used to be picked by the sentence starting with 'database '; now by its key.
    out = memory(db=activity(connections=[CONNECTIONS], database_size=[SIZE], slow_statements=[SLOW]))
    assert out['findings'] == [SIZE]


def test_services_over_the_threshold_in_the_platform_order_and_host_memory():
    out = memory(memory={'findings': ['container telegram-bot uses 91%', 'container backend-api uses 90%'],
                         'over_threshold': ['telegram-bot', 'redis', 'backend-api'], 'host': {'used_percent': 85}},
                 log_errors={'count': 4, 'lines': [], 'failure': ''})
    assert out['over_threshold'] == ['backend-api', 'telegram-bot']
    assert out['host_high'] is True
    assert out['restart_targets'] == ['backend-api', 'telegram-bot']
    # a short host with no service over its limit: every app service is a restart target
    short = memory(memory={'findings': [], 'over_threshold': [], 'host': {'used_percent': 90}})
    assert short['restart_targets'] == ['backend-api', 'telegram-bot']
    assert out['findings'] == ['container telegram-bot uses 91%', 'container backend-api uses 90%',
                               '4 memory, leak or slow-query line(s) in the application logs (last 1h)']


def test_redis_keys_of_the_app_database_an_empty_one_and_an_unread_one():
    assert memory(redis={'keys': {'db0': 3, 'db1': 9}}, redis_db=1)['redis_keys'] == 9
    assert memory(redis={'keys': {}})['redis_keys'] == 0
    out = memory(redis={'msg': 'no running container for service redis of project tgquiz: Redis is down'})
    assert out['redis_keys'] is None
    assert out['findings'] == ['cannot read the Redis database size: no running container for service redis of '
                               'project tgquiz: Redis is down']


def test_an_unread_database_size_is_said():
    assert memory(db={'msg': 'connection refused'})['findings'] == ['cannot read the database size: connection refused']


def test_slow_queries_keep_every_kind_but_connections():
    # It used to drop the sentences starting with 'connections'; now the connections kind by its key.
    read = activity(connections=[CONNECTIONS], slow_statements=[SLOW], database_size=[SIZE])
    assert resources_queries_diagnosis({'queries': read, 'db_name': 'app'})['findings'] == [SLOW, SIZE]


def test_slow_queries_without_the_extension_or_the_statistics():
    read = dict(activity(), pg_stat_statements=False)
    assert resources_queries_diagnosis({'queries': read, 'db_name': 'app'})['findings'] == [
        'pg_stat_statements is not installed in app: slow statements cannot be listed']
    assert resources_queries_diagnosis({'queries': {'msg': 'timeout'}, 'db_name': 'app'})['findings'] == [
        'cannot read the database statistics: timeout']


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match='memory.host.used_percent'):
        memory(memory={'findings': [], 'over_threshold': [], 'host': {}})
    with pytest.raises(AnsibleFilterError, match='queries must be a dict'):
        resources_queries_diagnosis({'queries': 'x'})


SKIPPED = {'changed': False, 'skipped': True}


def memory_actions(**extra):
    from ansible_collections.tgops.runbooks.plugins.filter.resources import resources_memory_actions
    base = {'restart_confirm': False, 'restart_targets': [], 'stack_actions': [], 'flushed': SKIPPED, 'redis_db': '0',
            'vacuumed_full': SKIPPED, 'containers': [{'service': 'backend-api', 'has_limit': True}],
            'check_mode': False}
    base.update(extra)
    return resources_memory_actions(base)


def test_memory_remedies_need_their_confirmation():
    assert memory_actions() == []
    assert memory_actions(restart_targets=['backend-api', 'telegram-bot']) == [
        'Not restarting backend-api, telegram-bot: confirm with -e p2_memory_restart_confirm=true']


def test_confirmed_memory_remedies_say_what_they_did_or_would_do():
    done = memory_actions(restart_confirm='true', restart_targets=['backend-api'],
                          stack_actions=['Restarted backend-api'], flushed={'changed': True, 'keys_before': 12},
                          vacuumed_full={'changed': True, 'statements': ['VACUUM (FULL)']})
    assert done == ['Restarted backend-api', 'Flushed Redis database 0 (12 keys; FLUSHDB)', 'Ran VACUUM (FULL)']
    would = memory_actions(restart_confirm=True, restart_targets=['backend-api'], check_mode=True,
                           flushed={'changed': True})
    assert would == ['Would restart backend-api', 'Would flush Redis database 0 (? keys; FLUSHDB)']


def test_containers_without_a_limit_are_named_when_something_is_over():
    containers = [{'service': 'backend-api', 'has_limit': True}, {'service': 'telegram-bot', 'has_limit': False},
                  {'service': 'redis'}]
    out = memory_actions(restart_targets=['backend-api'], containers=containers)
    assert out[-1] == ('Containers without a memory limit: telegram-bot, redis (runbook option 4: add '
                       'deploy.resources.limits.memory to the compose file)')
    assert memory_actions(containers=containers) == []


def query_actions(**extra):
    from ansible_collections.tgops.runbooks.plugins.filter.resources import resources_query_actions
    base = {'vacuumed': SKIPPED, 'indexed': SKIPPED, 'create_index': {}, 'queries': activity(), 'check_mode': False}
    base.update(extra)
    return resources_query_actions(base)


def test_slow_query_remedies_need_their_confirmation():
    queries = dict(activity(), slow_statements=[{'mean_ms': 2000}],
                   seq_scan_tables=[{'table': 'events'}, {'table': 'logs'}])
    assert query_actions(queries=queries) == [
        'Not running VACUUM ANALYZE: confirm with -e p2_slow_queries_vacuum_confirm=true',
        'Not creating an index for events, logs: name it with -e \'{"p2_slow_queries_create_index": {"name": ..., '
        '"table": ..., "columns": [...]}}\' and confirm with -e p2_slow_queries_create_index_confirm=true']
    assert query_actions() == []


def test_confirmed_slow_query_remedies_say_what_they_did():
    out = query_actions(vacuumed={'changed': True, 'statements': ['VACUUM (ANALYZE)']},
                        indexed={'changed': True, 'statements': ['CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "t" ("c")']})
    assert out == ['Ran VACUUM (ANALYZE)', 'Ran CREATE INDEX CONCURRENTLY IF NOT EXISTS "i" ON "t" ("c")']
    assert query_actions(indexed={'changed': False, 'statements': []}, create_index={'name': 'i'},
                         check_mode=True) == ['Index i already exists']
    assert query_actions(vacuumed={'changed': True, 'statements': ['VACUUM (FULL)']}, check_mode=True) == [
        'Would run VACUUM (FULL)']


def test_a_bad_confirmation_is_named():
    with pytest.raises(AnsibleFilterError, match='restart_confirm'):
        memory_actions(restart_confirm='maybe')


def memory_outcome(**read):
    from ansible_collections.tgops.runbooks.plugins.filter.resources import resources_memory_outcome
    return resources_memory_outcome(read)


OVER = {'findings': ['container backend-api uses 90% of its host memory'], 'over_threshold': ['backend-api'],
        'host': {'used_percent': 91.5}}


def test_the_memory_outcome_before_the_remedies_is_not_resolved():
    diagnosis = memory(memory=OVER, log_errors={'count': 1, 'lines': ['x | leak']})
    out = memory_outcome(diagnosis=diagnosis, memory=OVER, log_errors={'count': 1, 'lines': ['x | leak']},
                         restart_confirm=False)
    assert out == dict(findings=diagnosis['findings'], errors=['x | leak'], impacted=['backend-api'],
                       health_before='host memory 91.5% used', health_after='host memory ?% used', resolved=False,
                       summary='', wait=False)
    fixed = memory_outcome(diagnosis=diagnosis, memory=OVER, restart_confirm='true', actions=['Restarted backend-api'])
    assert fixed['actions'] == ['Restarted backend-api'] and fixed['wait'] is True and fixed['resolved'] is False


def test_the_memory_read_after_the_remedies_decides():
    diagnosis = memory(memory=OVER)
    after = {'findings': [], 'over_threshold': [], 'host': {'used_percent': 40.0}}
    out = memory_outcome(diagnosis=diagnosis, memory=OVER, restart_confirm=True, actions=['Restarted backend-api'],
                         memory_after=after)
    assert out['resolved'] is True and out['health_after'] == 'host memory 40.0% used'
    assert out['summary'] == 'Host memory 40.0% used; 0 memory finding(s) left'
    still = memory_outcome(diagnosis=diagnosis, memory=OVER, restart_confirm=False, actions=[], memory_after=OVER)
    assert still['resolved'] is False and still['summary'] == 'Host memory 91.5% used; 1 memory finding(s) left'
    # Check mode reads again too: nothing changed, so the finding stays.
    assert memory_outcome(diagnosis=diagnosis, memory=OVER, actions=['Would restart backend-api'],
                          memory_after=OVER)['resolved'] is False


def queries_outcome(**read):
    from ansible_collections.tgops.runbooks.plugins.filter.resources import resources_queries_outcome
    return resources_queries_outcome(read)


def test_the_queries_outcome_names_the_database_and_the_statements():
    queries = dict(activity(slow_statements=[SLOW]), slow_statements=[{'query': 'SELECT pg_sleep(2)'},
                                                                      {'query': 'SELECT ' + 'x, ' * 100}],
                   seq_scan_tables=[{'table': 'public.events'}])
    out = queries_outcome(findings=[SLOW], queries=queries, service='postgres', check_mode=False)
    assert out['impacted'] == ['postgres'] and out['resolved'] is False and 'actions' not in out
    assert out['health_before'] == '2 slow statement(s), 1 table(s) with missing-index signs'
    assert out['errors'][0] == 'SELECT pg_sleep(2)'
    assert out['errors'][1].endswith('...') and len(out['errors'][1]) <= 200
    assert out['wait'] is False
    healthy = queries_outcome(findings=[], queries=activity(), service='postgres')
    assert healthy['resolved'] is True and healthy['impacted'] == [] and healthy['errors'] == []


def test_a_remedy_that_ran_resolves_the_slow_queries_but_not_in_check_mode():
    ran = {'changed': True, 'statements': ['VACUUM (ANALYZE)']}
    skipped = {'changed': False, 'skipped': True}
    base = dict(findings=[SLOW], queries=activity(slow_statements=[SLOW]), service='postgres', actions=['x'])
    assert queries_outcome(vacuumed=ran, indexed=skipped, check_mode=False, **base)['resolved'] is True
    assert queries_outcome(vacuumed=skipped, indexed=ran, check_mode=False, **base)['resolved'] is True
    assert queries_outcome(vacuumed=ran, indexed=ran, check_mode=True, **base)['resolved'] is False
    # An index that already exists changed nothing; nothing confirmed, nothing ran.
    assert queries_outcome(vacuumed=skipped, indexed={'changed': False}, check_mode=False, **base)['resolved'] is False
    assert queries_outcome(vacuumed=skipped, indexed=skipped, check_mode=False, **base)['resolved'] is False


@pytest.mark.parametrize('call, words', [
    (lambda: memory_outcome(diagnosis='x'), 'resources_memory_outcome: diagnosis must be a dict'),
    (lambda: memory_outcome(diagnosis={}, memory={'host': 'x'}), 'resources_memory_outcome: host must be a dict'),
    (lambda: memory_outcome(diagnosis={}, restart_confirm='perhaps'), 'resources_memory_outcome: restart_confirm'),
    (lambda: memory_outcome(diagnosis={}, actions='Restarted'), 'resources_memory_outcome: actions must be a list'),
    (lambda: queries_outcome(findings='slow'), 'resources_queries_outcome: findings must be a list'),
    (lambda: queries_outcome(queries=[]), 'resources_queries_outcome: queries must be a dict'),
])
def test_outcome_bad_input_is_named(call, words):
    with pytest.raises(AnsibleFilterError, match=words):
        call()


def test_a_redis_flush_is_data_the_run_changed():
    diagnosis = memory(memory=OVER)
    base = dict(diagnosis=diagnosis, memory=OVER, restart_confirm=False, actions=['Flushed Redis database 0'],
                redis_db='0')
    flushed = {'changed': True, 'keys_before': 120}
    assert memory_outcome(flushed=flushed, **base)['data_changed'] == [
        'Flushed Redis database 0 (120 keys; FLUSHDB): the cached keys are gone, nothing keeps a copy']
    assert memory_outcome(flushed=flushed, check_mode=True, **base)['data_changed'] == []
    assert memory_outcome(flushed={'changed': False, 'skipped': True}, **base)['data_changed'] == []
    assert memory_outcome(**base)['data_changed'] == []
    assert 'data_changed' not in memory_outcome(diagnosis=diagnosis, memory=OVER)
