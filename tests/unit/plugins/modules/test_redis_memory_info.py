"""modules/redis_memory_info: INFO memory/stats/keyspace inside the Redis container, and the verdict."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils._redis_keys import memory_problems, parse_info
from ansible_collections.tgops.runbooks.plugins.modules import redis_memory_info
from tgops_module_runner import run_module

MIB = 1048576


def info_memory(used, limit, policy='noeviction'):
    return ('# Memory\r\nused_memory:%d\r\nused_memory_human:%.2fM\r\nmaxmemory:%d\r\nmaxmemory_human:%.2fM\r\n'
            'maxmemory_policy:%s\r\nmem_fragmentation_ratio:1.20\r\n' % (used, used / MIB, limit, limit / MIB, policy))


class FakeDocker(object):
    """docker ps / docker exec redis-cli INFO <section>, as Redis 7.0 answers them."""

    def __init__(self, memory, stats='# Stats\r\nevicted_keys:0\r\n', keyspace='# Keyspace\r\ndb0:keys=12,expires=1\r\n',
                 container='redis1'):
        self.answers = {'memory': memory, 'stats': stats, 'keyspace': keyspace}
        self.container = container
        self.calls = []

    def __call__(self, argv, environ_update=None, **kw):
        self.calls.append(list(argv))
        if argv[1] == 'ps':
            assert 'label=com.docker.compose.project=toogoodtogo' in argv
            return 0, (self.container + '\n') if self.container else '', ''
        assert argv[1:5] == ['exec', self.container, 'redis-cli', 'INFO']
        answer = self.answers[argv[5]]
        if isinstance(answer, tuple):
            return answer
        return 0, answer, ''


def run(fake, check_mode=False, **args):
    return run_module(redis_memory_info, dict(dict(project='toogoodtogo'), **args), check_mode=check_mode,
                      run_command=fake)


def test_a_redis_with_room_passes():
    result = run(FakeDocker(info_memory(10 * MIB, 64 * MIB)))
    assert result['passed'] is True and result['findings'] == [] and result['changed'] is False
    assert result['used_memory'] == 10 * MIB and result['maxmemory'] == 64 * MIB and result['percent'] == 15.6
    assert result['maxmemory_policy'] == 'noeviction' and result['keys'] == {'db0': 12}


def test_the_service_container_is_read_not_a_one_off_one():
    # `docker compose run redis redis-cli ...` listed first: it was taken for the Redis service (ids[0]).
    fake = FakeDocker(info_memory(10 * MIB, 64 * MIB), container='real-redis')
    listed = FakeDocker.__call__

    def call(self, argv, environ_update=None, **kw):
        if argv[1] == 'ps':
            self.calls.append(list(argv))
            assert 'label=com.docker.compose.service=redis' in argv
            return 0, 'oneoff-redis\tTrue\nreal-redis\tFalse\n', ''
        return listed(self, argv, environ_update, **kw)
    fake.__class__ = type('OneOffFirst', (FakeDocker,), {'__call__': call})
    result = run(fake)
    assert result['container'] == 'real-redis' and result['passed'] is True


def test_full_under_noeviction_means_writes_fail():
    result = run(FakeDocker(info_memory(int(63.8 * MIB), 64 * MIB)))
    assert result['passed'] is False
    assert result['findings'] == ['Redis uses 63.8 MiB of its 64.0 MiB maxmemory (99.7%) with policy noeviction: '
                                  'writes fail with OOM']


def test_full_with_an_evicting_policy_says_keys_are_thrown_away():
    fake = FakeDocker(info_memory(60 * MIB, 64 * MIB, 'allkeys-lru'), stats='evicted_keys:314\r\n')
    result = run(fake)
    assert 'it evicts keys (314 evicted since start)' in result['findings'][0]


def test_the_threshold_is_the_callers():
    fake = FakeDocker(info_memory(50 * MIB, 64 * MIB))
    assert run(fake)['passed'] is True
    assert run(fake, max_percent=75)['passed'] is False


def test_no_limit_is_a_problem_only_when_asked():
    fake = FakeDocker(info_memory(500 * MIB, 0))
    result = run(fake)
    assert result['passed'] is True and result['percent'] is None
    result = run(fake, require_maxmemory=True)
    assert result['findings'] == ['Redis has no maxmemory (uses 500.0 MiB): it can grow until the host runs out of '
                                  'memory']


def test_fail_on_problem():
    result = run(FakeDocker(info_memory(64 * MIB, 64 * MIB)), fail_on_problem=True)
    assert result['failed'] is True and 'writes fail with OOM' in result['msg'] and result['percent'] == 100.0


def test_check_mode_reads_the_same():
    assert run(FakeDocker(info_memory(10 * MIB, 64 * MIB)), check_mode=True)['passed'] is True


def test_redis_down_is_said():
    result = run(FakeDocker(info_memory(1, 1), container=''))
    assert result['failed'] is True and 'Redis is down' in result['msg']


@pytest.mark.parametrize('memory,expect', [
    ('NOAUTH Authentication required.\n', 'answered no fields: NOAUTH'),
    ((1, '', 'Error response from daemon: container is restarting'), 'rc=1'),
    ('# Memory\r\nused_memory:lots\r\n', 'unexpected INFO answer: used_memory is not a count'),
    ('# Memory\r\nmaxmemory:5\r\n', 'unexpected INFO answer: used_memory is missing'),
])
def test_odd_answers_fail_clearly(memory, expect):
    result = run(FakeDocker(memory))
    assert result['failed'] is True and expect in result['msg']


@pytest.mark.parametrize('value', [0, -5, 101, float('nan')])
def test_max_percent_out_of_range(value):
    result = run(FakeDocker(info_memory(1, 1)), max_percent=value)
    assert result['failed'] is True and 'max_percent' in result['msg']


def test_parse_info_skips_sections_and_blank_lines():
    assert parse_info('# Memory\r\n\r\nused_memory:5\r\nweird line\r\n') == {'used_memory': '5'}


def test_memory_problems_counts_keys_of_every_database():
    facts = memory_problems(parse_info('used_memory:1\r\ndb0:keys=3,expires=0\r\ndb2:keys=4,expires=1\r\n'), 90)
    assert facts['keys'] == {'db0': 3, 'db2': 4}
