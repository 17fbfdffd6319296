"""modules/redis_keys: SCAN then UNLINK in the Redis container, FLUSHALL, check mode, refusals."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.tgops.runbooks.plugins.modules import redis_keys
from tgops_module_runner import run_module


class FakeRedis(object):
    def __init__(self, keys, container='cid1'):
        self.keys = dict((k, '1') for k in keys)
        self.container = container
        self.calls = []

    def __call__(self, argv, environ_update=None, data=None, **kw):
        self.calls.append((list(argv), data))
        if argv[1] == 'ps':
            return 0, (self.container + '\n') if self.container else '', ''
        args = argv[argv.index('redis-cli') + 3:]
        assert 'KEYS' not in [a.upper() for a in args]
        if args[:1] == ['--scan']:
            assert args[1:2] == ['--pattern'] and len(args) == 3, 'redis-cli 7.0 knows no --count'
            from ansible_collections.tgops.runbooks.plugins.module_utils._redis_keys import glob_match
            pattern = args[args.index('--pattern') + 1]
            return 0, ''.join(k + '\n' for k in self.keys if glob_match(pattern, k)), ''
        if args == ['INFO', 'keyspace']:
            return 0, '# Keyspace\r\ndb0:keys=%d,expires=0,avg_ttl=0\r\n' % len(self.keys), ''
        if args == ['FLUSHALL']:
            self.keys.clear()
            return 0, 'OK\n', ''
        if args == ['FLUSHDB']:
            assert argv[argv.index('redis-cli') + 1:][:2] == ['-n', '0'], 'the fake holds db0 only'
            self.keys.clear()
            return 0, 'OK\n', ''
        if args == [] and data is not None:
            import shlex
            out = []
            for line in data.decode().splitlines():
                words = shlex.split(line.replace('\\x0a', '\n'))
                assert words[0] == 'UNLINK'
                out.append(str(sum(1 for k in words[1:] if self.keys.pop(k, None) is not None)))
            return 0, '\n'.join(out) + '\n', ''
        raise AssertionError('unexpected %r' % argv)


def run(args, fake, check_mode=False):
    return run_module(redis_keys, args, check_mode=check_mode, run_command=fake)


def test_deletes_only_matching_keys():
    fake = FakeRedis(['quiz:1', 'quiz:2', 'quiz:a b', 'user:1', 'quizz'])
    result = run({'project': 'tgquiz', 'pattern': 'quiz:*'}, fake)
    assert result['changed'] and result['matched'] == 3 and result['deleted'] == 3
    assert sorted(fake.keys) == ['quizz', 'user:1']
    ps = fake.calls[0][0]
    assert 'label=com.docker.compose.project=tgquiz' in ps and 'label=com.docker.compose.service=redis' in ps
    again = run({'project': 'tgquiz', 'pattern': 'quiz:*'}, fake)
    assert not again['changed'] and again['matched'] == 0


def test_check_mode_deletes_nothing():
    fake = FakeRedis(['quiz:1', 'user:1'])
    result = run({'project': 'tgquiz', 'pattern': 'quiz:*'}, fake, check_mode=True)
    assert result['changed'] and result['matched'] == 1 and result['deleted'] == 0
    assert 'quiz:1' in fake.keys
    assert all(data is None for _argv, data in fake.calls)


def test_flushall():
    fake = FakeRedis(['a', 'b'])
    assert run({'project': 'p', 'flushall': True}, fake, check_mode=True)['keys_before'] == 2
    assert fake.keys
    result = run({'project': 'p', 'flushall': True}, fake)
    assert result['flushed'] and result['changed'] and not fake.keys


def test_flushdb_empties_only_its_database():
    fake = FakeRedis(['a', 'b'])
    result = run({'project': 'p', 'flushdb': True, 'db': 0}, fake, check_mode=True)
    assert result['keys_before'] == 2 and result['changed'] and not result['flushed'] and fake.keys
    result = run({'project': 'p', 'flushdb': True, 'db': 0}, fake)
    assert result['flushed'] and result['changed'] and not fake.keys and result['pattern'] == ''
    # An empty database: nothing to flush, no change (idempotent).
    assert run({'project': 'p', 'flushdb': True, 'db': 0}, fake)['changed'] is False
    # db1 holds nothing in INFO keyspace (only db0 is listed): untouched.
    fake = FakeRedis(['a'])
    result = run({'project': 'p', 'flushdb': True, 'db': 1}, fake)
    assert result['changed'] is False and fake.keys


@pytest.mark.parametrize('args,words', [
    ({'project': 'p', 'flushdb': True, 'pattern': 'a*'}, 'flushdb is mutually exclusive'),
    ({'project': 'p', 'flushdb': True, 'flushall': True}, 'flushdb is mutually exclusive'),
    ({'project': 'p'}, 'pattern is required'),
    ({'project': 'p', 'pattern': '*'}, 'matches every key'),
    ({'project': 'p', 'pattern': 'a*', 'flushall': True}, 'mutually exclusive'),
    ({'project': 'p', 'pattern': 'a*', 'batch_size': 0}, 'batch_size'),
    ({'project': 'p', 'pattern': 'a*', 'db': -1}, 'db must be'),
])
def test_refusals(args, words):
    fake = FakeRedis(['a'])
    result = run(args, fake)
    assert result['failed'] and words in result['msg']
    assert fake.calls == []


def test_no_container_is_a_clear_failure():
    result = run({'project': 'p', 'pattern': 'a*'}, FakeRedis([], container=''))
    assert result['failed'] and 'no running container' in result['msg']


def test_bad_unlink_reply_fails():
    fake = FakeRedis(['a1'])
    orig = fake.__call__

    def broken(argv, environ_update=None, data=None, **kw):
        if data is not None:
            return 0, 'ERR unknown command\n', ''
        return orig(argv, environ_update=environ_update, data=data, **kw)
    result = run({'project': 'p', 'pattern': 'a*'}, broken)
    assert result['failed'] and 'UNLINK' in result['msg']
