# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release decisions: names, the releases file, the history stack, deploy plans, audit lines, locks."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.tgops.runbooks.plugins.module_utils import _release

C1, C2, C3, C4 = ('1' * 40), ('2' * 40), ('3' * 40), ('4' * 40)
NOW = datetime(2026, 11, 23, 16, 40, 12, tzinfo=timezone.utc)


def rec(action, release, commit, result='success', **extra):
    return dict(time='2026-11-23T16:00:00Z', action=action, release=release, commit=commit, result=result,
                operator='alice', **extra)


@pytest.mark.parametrize('name', ['v1.0.0', 'v1.2.3-rc.1', 'main', 'release/2026-11', 'abc1234', C1, 'v1+build.5'])
def test_valid_release_names(name):
    assert _release.validate_release_name(name) is None


@pytest.mark.parametrize('name, words', [
    ('', 'empty'), ('   ', 'empty'), (None, 'empty'),
    ('--upload-pack=touch /tmp/x', 'starts with "-"'), ('-v', 'starts with "-"'),
    ('v1.0.0; rm -rf /', 'may contain only'), ('v1 0', 'may contain only'), ('v1.0.0\n', 'may contain only'),
    ('$(id)', 'may contain only'), ('../etc', 'may contain only'), ('a..b', "contains '..'"),
    ('v1@{1}', 'may contain only'), ('a//b', "contains '//'"), ('v1/', 'ends with'), ('v1.', 'ends with'),
    ('x.lock', 'ends with'), ('v' * 200, 'longer than'),
])
def test_invalid_release_names_say_why(name, words):
    problem = _release.validate_release_name(name)
    assert problem is not None and words in problem


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_accepted_names_never_look_like_options_or_contain_whitespace(name):
    if _release.validate_release_name(name) is None:
        assert not name.startswith('-')
        assert not any(c.isspace() for c in name)
        assert all(c.isalnum() or c in '._+/-' for c in name)


def test_parse_records_skips_and_names_bad_lines():
    good = rec('deploy', 'v1.0.0', C1)
    text = '\n'.join([
        json.dumps(good), 'not json', '[1, 2]', json.dumps({'action': 'deploy'}),
        json.dumps(rec('explode', 'v1', C2)), json.dumps(rec('deploy', 'v1', 'xyz')), '',
        json.dumps(rec('rollback', 'v0.9.0', C3)),
    ])
    records, problems = _release.parse_records(text)
    assert [r['release'] for r in records] == ['v1.0.0', 'v0.9.0']
    assert len(problems) == 5
    assert problems[0].startswith('line 2 is not JSON')
    assert problems[1] == 'line 3 is not a JSON object'
    assert problems[2].startswith('line 4 lacks time, release, commit, result')
    assert 'unknown action' in problems[3] and 'invalid commit' in problems[4]


def test_dump_and_parse_round_trip():
    records = [rec('baseline', 'v1.0.0', C1), rec('deploy', 'v1.1.0', C2, from_release='v1.0.0', message='ok "x"\n')]
    again, problems = _release.parse_records(_release.dump_records(records))
    assert again == records and problems == []


def test_history_deploys_push_and_rollbacks_pop():
    records = [
        rec('baseline', 'v1.0.0', C1),
        rec('deploy', 'v1.1.0', C2),
        rec('deploy', 'v1.2.0', C3, result='rolled_back'),  # failed deploys do not count
        rec('rollback', 'v1.1.0', C2),                      # the automatic rollback of that deploy: a no-op
        rec('deploy', 'v1.2.1', C4),
        rec('deploy', 'v1.2.1', C4),                        # redeploy of the top: no new entry
    ]
    assert [e['release'] for e in _release.history(records)] == ['v1.0.0', 'v1.1.0', 'v1.2.1']
    records.append(rec('rollback', 'v1.1.0', C2))
    stack = _release.history(records)
    # After a rollback the previous release is the one before it, never the one rolled back from.
    assert [e['release'] for e in stack] == ['v1.0.0', 'v1.1.0']
    records.append(rec('rollback', 'v1.0.0', C1))
    assert [e['release'] for e in _release.history(records)] == ['v1.0.0']


def test_history_rollback_to_a_trimmed_release_pushes_it():
    records = [rec('deploy', 'v1.1.0', C2), rec('rollback', 'v1.0.0', C1)]
    assert [e['release'] for e in _release.history(records)] == ['v1.1.0', 'v1.0.0']


def test_history_ignores_failed_events():
    assert _release.history([rec('deploy', 'v2', C2, result='failed'), rec('rollback', 'v1', C1, result='failed')]) == []


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['deploy', 'rollback']), st.sampled_from([C1, C2, C3, C4]),
                          st.sampled_from(['success', 'rolled_back'])), max_size=30))
def test_history_invariants(events):
    records = [rec(a, 'r' + c[0], c, result=r) for a, c, r in events]
    stack = _release.history(records)
    successful = [r for r in records if r['result'] == 'success']
    # The top of the stack is always the last successful event's release; neighbours never repeat.
    if successful:
        assert stack[-1]['commit'] == successful[-1]['commit']
    else:
        assert stack == []
    assert all(a['commit'] != b['commit'] for a, b in zip(stack, stack[1:]))


TARGET = dict(release='v1.1.0', commit=C2)


@pytest.mark.parametrize('current, head, healthy, version, expected, needed, words', [
    (None, C2, True, 'v1.1.0', 'v1.1.0', True, 'current release is unknown'),
    (dict(release='v1.0.0', commit=C1), C1, True, 'v1.0.0', 'v1.1.0', True, 'current release is v1.0.0'),
    (dict(release='v1.1.0', commit=C2), C1, True, 'v1.1.0', 'v1.1.0', True, 'checkout is at 111111111111'),
    (dict(release='v1.1.0', commit=C2), C2, False, 'v1.1.0', 'v1.1.0', True, 'not healthy'),
    (dict(release='v1.1.0', commit=C2), C2, True, 'v1.0.0', 'v1.1.0', True, 'reports version v1.0.0'),
    (dict(release='v1.1.0', commit=C2), C2, True, '1.1.0', 'v1.1.0', False, 'already deployed'),
    (dict(release='v1.1.0', commit=C2), C2, True, None, None, False, 'already deployed'),
])
def test_plan_deploy(current, head, healthy, version, expected, needed, words):
    got, reason = _release.plan_deploy(TARGET, current, head, healthy, version, expected)
    assert got is needed and words in reason


@pytest.mark.parametrize('release, tags, version', [
    ('v1.1.0', ['v1.1.0', 'latest'], 'v1.1.0'),
    (C2, ['v1.1.0'], 'v1.1.0'),
    (C2, ['v1.1.0', 'v1.1'], None),   # ambiguous: no version required
    (C2, [], None),
    ('main', ['stable'], None),
])
def test_version_from_tags(release, tags, version):
    assert _release.version_from_tags(release, tags) == version


def test_audit_line_is_one_line_of_tokens():
    record = rec('deploy', 'v1.1.0', C2, from_release='v1.0.0', from_commit=C1, message='health "failed"\nbadly')
    record['operator'] = 'eve smith\n2026 forged line'
    line = _release.audit_line(record)
    assert line.endswith('\n') and line.count('\n') == 1
    assert line.startswith('2026-11-23T16:00:00Z deploy result=success operator=eve_smith_2026_forged_line '
                           'from=v1.0.0@111111111111 to=v1.1.0@222222222222 msg=')
    assert json.loads(line.split(' msg=', 1)[1]) == 'health "failed"\nbadly'


def test_audit_line_without_from_or_tag():
    line = _release.audit_line(dict(rec('baseline', C1, C1)))
    assert ' from=- to=111111111111' in line


def lock(minutes_ago, token='t1'):
    return dict(owner='alice', controller='ops1', pid=4242, release='v1.1.0', token=token,
                time=_release.format_time(NOW - timedelta(minutes=minutes_ago)))


@pytest.mark.parametrize('existing, token, break_lock, dead, decision', [
    (lock(1), 't1', False, None, 'reentrant'),
    (lock(1), 'other', False, None, 'held'),
    (lock(1), None, False, None, 'held'),
    (lock(1), None, True, None, 'break'),
    # Age alone frees nothing: a two-hour restore or a paused run still holds the lock.
    (lock(61), None, False, None, 'held'),
    (lock(600), None, False, None, 'held'),
    (None, None, False, None, 'held'),            # unreadable: nothing can prove its holder gone
    (dict(owner='x', time='garbage'), None, False, None, 'held'),
    (lock(1), None, False, lock(1, token=None), 'dead'),
    # The controller judged another holder dead: the lock changed hands since, so it is not taken over.
    (lock(1), None, False, lock(2, token=None), 'held'),
    (lock(1), None, False, dict(lock(1), pid=1), 'held'),
    (dict(owner='x', time='2026-11-23T16:40:12Z'), None, False, dict(owner='x', time='2026-11-23T16:40:12Z'), 'held'),
])
def test_lock_decision(existing, token, break_lock, dead, decision):
    assert _release.lock_decision(existing, token=token, break_lock=break_lock, dead_holder=dead) == decision


def test_lock_is_old_only_words_the_message():
    assert _release.lock_is_old(lock(61), NOW, 3600) and not _release.lock_is_old(lock(59), NOW, 3600)
    assert _release.lock_is_old(None, NOW, 3600)


BOOT, NS = 'b00t', 'pid:[4026531836]'
HERE = '%s/%s' % (BOOT, NS)


def holder(**extra):
    record = dict(owner='alice', controller='ops1', pid=4242, process='%s/%s/1000' % (BOOT, NS),
                  time='2026-11-23T16:40:12Z')
    record.update(extra)
    return record


def processes(table):
    return table.get


@pytest.mark.parametrize('record, table, state, words', [
    # Same controller: the pid is gone.
    (holder(), {}, 'dead', 'pid 4242 is gone on controller ops1'),
    # Same controller: the pid now belongs to a process that started later (reused).
    (holder(), {4242: HERE + '/9999'}, 'dead', 'is now another process'),
    # Same controller, rebooted since the lock was taken: every process of that boot is gone.
    (holder(process='0ldb00t/%s/1000' % NS), {4242: HERE + '/1000'}, 'dead', 'has rebooted'),
    # Live holder: same pid, same start.
    (holder(), {4242: HERE + '/1000'}, 'alive', 'still running'),
    # A start time that cannot be read now (another user's process under hidepid): alive, never guessed dead.
    (holder(), {4242: HERE + '/'}, 'alive', 'still running'),
    # Foreign controller: never judged from here, whatever its pid is here.
    (holder(controller='ops2'), {}, 'foreign', 'taken from controller ops2'),
    # Another pid namespace on the same host name (a container): its pids mean nothing here.
    (holder(process='%s/pid:[1]/1000' % BOOT), {}, 'foreign', 'another pid namespace'),
    # A lock written before process identities were recorded: the pid cannot be compared.
    (holder(process=None), {}, 'foreign', 'cannot be identified'),
    (holder(pid=None), {}, 'unknown', 'names no controller process'),
    (holder(pid='4242'), {}, 'unknown', 'names no controller process'),
    (holder(pid=True), {}, 'unknown', 'names no controller process'),
    (None, {}, 'unknown', 'names no controller process'),
])
def test_holder_state(record, table, state, words):
    got, reason = _release.holder_state(record, 'ops1', processes(table), HERE)
    assert got == state and words in reason


def test_holder_state_without_proc_relies_on_the_pid_alone():
    record = holder(process='//')
    assert _release.holder_state(record, 'ops1', processes({}), '/')[0] == 'dead'
    assert _release.holder_state(record, 'ops1', processes({4242: '//'}), '/')[0] == 'alive'


def test_describe_lock_names_holder_and_age():
    text = _release.describe_lock(lock(2), NOW)
    assert text == 'alice (controller ops1, pid 4242, deploying v1.1.0) since 2026-11-23T16:38:12Z (120 s ago)'
    restore = dict(lock(2), operation='restore of tgquiznft_prod')
    assert 'alice (controller ops1, pid 4242, restore of tgquiznft_prod) since ' in _release.describe_lock(restore, NOW)
    assert _release.describe_lock(None, NOW) == 'an unreadable lock file'
