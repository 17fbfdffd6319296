# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""release_info, release and deploy_lock against a real git repository and real files in tmp_path."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import subprocess
import multiprocessing
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.tgops.runbooks.plugins.module_utils import _release
from ansible_collections.tgops.runbooks.plugins.modules import deploy_lock, release, release_info

from tgops_module_runner import run_module


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t.invalid', GIT_COMMITTER_NAME='t',
               GIT_COMMITTER_EMAIL='t@t.invalid', GIT_CONFIG_GLOBAL='/dev/null', GIT_CONFIG_NOSYSTEM='1')
    return subprocess.run(['git', '-C', str(repo)] + list(args), check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


class Repo(str):
    """The repository's path (a str) that also knows its commits by release."""

    def __new__(cls, path, commits):
        self = super(Repo, cls).__new__(cls, str(path))
        self.commits = commits
        return self


@pytest.fixture(name='repo')
def fixture_repo(tmp_path):
    """A checkout like the lab's: releases v1.0.0 and v1.1.0 (VERSION file), then an untagged commit."""
    repo = tmp_path / 'repo'
    repo.mkdir()
    git(repo, 'init', '-q', '-b', 'main')
    commits = {}
    for version in ('v1.0.0', 'v1.1.0', 'untagged'):
        (repo / 'VERSION').write_text(version + '\n')
        git(repo, 'add', '-A')
        git(repo, 'commit', '-qm', 'Release %s' % version)
        if version != 'untagged':
            git(repo, 'tag', version)
        commits[version] = git(repo, 'rev-parse', 'HEAD')
    git(repo, 'checkout', '-q', '--detach', 'v1.1.0')
    return Repo(repo, commits)


def write_records(path, *records):
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))


def rec(action, release_name, commit, result='success'):
    return dict(time='2026-11-23T16:00:00Z', action=action, release=release_name, commit=commit,
                result=result, operator='alice')


def info(tmp_path, repo, **args):
    return run_module(release_info, dict(path=str(tmp_path / 'releases.jsonl'), repo_dir=str(repo), **args))


# release_info

def test_info_without_history_falls_back_to_the_checkout(tmp_path, repo):
    result = info(tmp_path, repo)
    assert not result.get('failed'), result
    assert result['current'] == dict(release='v1.1.0', commit=repo.commits['v1.1.0'], source='checkout')
    assert result['previous'] is None and result['releases'] == []
    assert 'no releases file yet' in result['reason']


def test_info_names_the_tracked_files_a_forced_checkout_would_discard(tmp_path, repo):
    assert info(tmp_path, repo)['local_changes'] == []
    top = tmp_path / 'repo'
    (top / 'VERSION').write_text('edited on the host\n')  # unstaged
    (top / 'limits.yml').write_text('mem_limit: 512m\n')
    git(repo, 'add', 'limits.yml')  # staged, new
    (top / 'notes.txt').write_text('untracked: a checkout leaves it alone\n')
    assert info(tmp_path, repo)['local_changes'] == ['VERSION', 'limits.yml']
    git(repo, 'stash', '-q')
    assert info(tmp_path, repo)['local_changes'] == []


@pytest.mark.parametrize('porcelain, paths', [
    ('', []),
    (' M a.yml\0', ['a.yml']),
    ('M  a.yml\0 D gone.txt\0A  new dir/with space.txt\0', ['a.yml', 'gone.txt', 'new dir/with space.txt']),
    ('R  new.yml\0old.yml\0 M other\0', ['new.yml', 'old.yml', 'other']),
    ('MM line\nbreak\0', ['line\nbreak']),
    ('??\0garbage\0', []),
])
def test_local_changes_reads_git_status_porcelain_z(porcelain, paths):
    assert _release.local_changes(porcelain) == paths


def test_info_plans_a_deploy_of_a_new_tag(tmp_path, repo):
    result = info(tmp_path, repo, release='v1.0.0', running_healthy=True, running_version='v1.1.0')
    assert result['deploy_needed'] is True
    assert result['target'] == dict(release='v1.0.0', commit=repo.commits['v1.0.0'], tags=['v1.0.0'],
                                    expected_version='v1.0.0', recorded=False)
    assert 'current release is v1.1.0' in result['reason']


def test_info_deploy_of_the_running_release_is_not_needed(tmp_path, repo):
    write_records(tmp_path / 'releases.jsonl', rec('deploy', 'v1.1.0', repo.commits['v1.1.0']))
    result = info(tmp_path, repo, release='v1.1.0', running_healthy=True, running_version='v1.1.0')
    assert result['deploy_needed'] is False and 'already deployed' in result['reason']
    # ...but it is when the service is not healthy, or serves another version.
    assert info(tmp_path, repo, release='v1.1.0', running_healthy=False, running_version='v1.1.0')['deploy_needed']
    assert info(tmp_path, repo, release='v1.1.0', running_healthy=True, running_version='v1.0.0')['deploy_needed']


def test_info_untagged_commit_names_no_version(tmp_path, repo):
    result = info(tmp_path, repo, release=repo.commits['untagged'][:10])
    assert result['target']['commit'] == repo.commits['untagged'] and result['target']['expected_version'] is None


@pytest.mark.parametrize('name, words', [
    ('v9.9.9', 'unknown release v9.9.9: no tag, branch or commit of that name'),
    ('--upload-pack=touch /tmp/pwned', 'invalid release'),
    ('v1.0.0 ; id', 'invalid release'),
])
def test_info_refuses_unknown_or_invalid_release(tmp_path, repo, name, words):
    result = info(tmp_path, repo, release=name)
    assert result['failed'] and words in result['msg']
    assert not os.path.exists('/tmp/pwned')


def test_info_rollback_goes_to_the_previous_recorded_release(tmp_path, repo):
    write_records(tmp_path / 'releases.jsonl', rec('baseline', 'v1.0.0', repo.commits['v1.0.0']),
                  rec('deploy', 'v1.1.0', repo.commits['v1.1.0']))
    result = info(tmp_path, repo, rollback=True, running_healthy=True, running_version='v1.1.0')
    assert not result.get('failed'), result
    assert result['target']['release'] == 'v1.0.0' and result['target']['expected_version'] == 'v1.0.0'
    assert result['rollback_needed'] is True and result['current']['release'] == 'v1.1.0'


def test_info_rollback_after_a_deploy_and_its_rollback_failed_goes_to_the_release_that_ran_before(tmp_path, repo):
    # v1.0.0 then v1.1.0 deployed; the deploy of the untagged commit failed and so did its automatic rollback: the
    # checkout is left at the failed release, and "previous" (v1.0.0) is not where the host should go.
    write_records(tmp_path / 'releases.jsonl', rec('baseline', 'v1.0.0', repo.commits['v1.0.0']),
                  rec('deploy', 'v1.1.0', repo.commits['v1.1.0']),
                  dict(rec('deploy', 'untagged', repo.commits['untagged'], result='failed'),
                       message='health gate failed; automatic rollback failed: timeout'))
    git(repo, 'checkout', '-q', '--detach', repo.commits['untagged'])
    log = tmp_path / 'deployment.log'
    log.write_text(''.join('line %d\n' % n for n in range(80)))
    result = info(tmp_path, repo, rollback=True, running_healthy=False, log_path=str(log), log_tail=3)
    assert not result.get('failed'), result
    assert result['target']['release'] == 'v1.1.0' and result['rollback_needed'] is True
    assert 'the release that ran before' in result['reason'] and 'failed and so did' in result['reason']
    assert result['last_deploy']['result'] == 'failed' and 'automatic rollback failed' in result['last_deploy']['message']
    assert result['log'] == dict(path=str(log), exists=True, lines=['line 77', 'line 78', 'line 79'])
    # the failed rollback had already checked out v1.1.0 (its gate failed): the target is still v1.1.0
    git(repo, 'checkout', '-q', '--detach', 'v1.1.0')
    again = info(tmp_path, repo, rollback=True, running_healthy=True, running_version='v1.1.0')
    assert again['target']['release'] == 'v1.1.0' and again['rollback_needed'] is False
    assert again['reason'].startswith('the last deploy, of untagged, failed and so did its automatic rollback')
    # a deploy rolled back automatically is back on v1.1.0 as recorded: a rollback goes one below it, as before
    write_records(tmp_path / 'releases.jsonl', rec('baseline', 'v1.0.0', repo.commits['v1.0.0']),
                  rec('deploy', 'v1.1.0', repo.commits['v1.1.0']),
                  rec('rollback', 'v1.1.0', repo.commits['v1.1.0']),
                  rec('deploy', 'untagged', repo.commits['untagged'], result='rolled_back'))
    assert info(tmp_path, repo, rollback=True)['target']['release'] == 'v1.0.0'


def test_info_log_tail_of_a_missing_or_huge_log(tmp_path, repo):
    result = info(tmp_path, repo, log_path=str(tmp_path / 'none.log'))
    assert result['log'] == dict(path=str(tmp_path / 'none.log'), exists=False, lines=[])
    assert info(tmp_path, repo)['log'] is None
    lines, found = _release.read_tail(str(tmp_path / 'none.log'), 5)
    assert (lines, found) == ([], False)
    big = tmp_path / 'big.log'
    big.write_text('x' * 3000 + '\n' + ''.join('line %d\n' % n for n in range(10)))
    # only the end is read; the line cut by the window's start is dropped, not shown half
    assert _release.read_tail(str(big), 100, limit=66) == (['line %d' % n for n in range(1, 10)], True)
    assert _release.read_tail(str(big), 2, limit=66) == (['line 8', 'line 9'], True)
    assert info(tmp_path, repo, log_path=str(big), log_tail=-1)['failed']


def test_info_rollback_by_commit_keeps_the_recorded_name(tmp_path, repo):
    write_records(tmp_path / 'releases.jsonl', rec('baseline', 'v1.0.0', repo.commits['v1.0.0']),
                  rec('deploy', 'v1.1.0', repo.commits['v1.1.0']))
    result = info(tmp_path, repo, rollback=True, release=repo.commits['v1.0.0'])
    assert result['target']['release'] == 'v1.0.0' and result['target']['recorded'] is True


def test_info_rollback_without_previous_fails_clearly(tmp_path, repo):
    result = info(tmp_path, repo, rollback=True)
    assert result['failed'] and 'no previous release is recorded' in result['msg']


def test_info_rollback_refuses_an_unrecorded_release_unless_allowed(tmp_path, repo):
    write_records(tmp_path / 'releases.jsonl', rec('deploy', 'v1.1.0', repo.commits['v1.1.0']))
    result = info(tmp_path, repo, rollback=True, release='v1.0.0')
    assert result['failed'] and 'refusing to roll back to v1.0.0' in result['msg'] and 'recorded: v1.1.0' in result['msg']
    result = info(tmp_path, repo, rollback=True, release='v1.0.0', allow_unrecorded=True)
    assert not result.get('failed') and result['target']['release'] == 'v1.0.0' and result['rollback_needed']


def test_info_rollback_to_the_running_release_is_not_needed(tmp_path, repo):
    write_records(tmp_path / 'releases.jsonl', rec('deploy', 'v1.0.0', repo.commits['v1.0.0']),
                  rec('deploy', 'v1.1.0', repo.commits['v1.1.0']))
    result = info(tmp_path, repo, rollback=True, release='v1.1.0', running_healthy=True, running_version='v1.1.0')
    assert result['rollback_needed'] is False and 'nothing to roll back' in result['reason']


def test_info_warns_about_damaged_lines(tmp_path, repo):
    (tmp_path / 'releases.jsonl').write_text('garbage\n' + json.dumps(rec('deploy', 'v1.1.0', repo.commits['v1.1.0'])) + '\n')
    result = info(tmp_path, repo)
    assert result['current']['release'] == 'v1.1.0'
    assert any('line 1 is not JSON' in w for w in result['warnings'])


def test_info_fails_outside_a_git_checkout(tmp_path):
    result = run_module(release_info, dict(path=str(tmp_path / 'r.jsonl'), repo_dir=str(tmp_path)))
    assert result['failed'] and 'is not a git checkout' in result['msg']


# release

def record_args(tmp_path, **extra):
    args = dict(path=str(tmp_path / 'releases.jsonl'), log_path=str(tmp_path / 'deployment.log'),
                action='deploy', release='v1.1.0', commit='2' * 40, from_release='v1.0.0', from_commit='1' * 40,
                operator='alice')
    args.update(extra)
    return args


def test_release_records_event_and_audit_line(tmp_path):
    result = run_module(release, record_args(tmp_path))
    assert result['changed'] and not result.get('failed'), result
    records, problems = _release.parse_records((tmp_path / 'releases.jsonl').read_text())
    assert problems == [] and len(records) == 1
    assert records[0]['release'] == 'v1.1.0' and records[0]['from_release'] == 'v1.0.0'
    log = (tmp_path / 'deployment.log').read_text()
    assert log == result['audit_line'] + '\n'
    assert ' deploy result=success operator=alice from=v1.0.0@111111111111 to=v1.1.0@222222222222' in log
    assert stat.S_IMODE(os.stat(tmp_path / 'releases.jsonl').st_mode) == 0o640


def test_release_note_is_recorded_and_quoted_in_the_audit_line(tmp_path):
    result = run_module(release, record_args(tmp_path, result='rolled_back', note='Gate on /health: "no answer"\nagain'))
    records, dummy = _release.parse_records((tmp_path / 'releases.jsonl').read_text())
    assert records[0]['message'] == 'Gate on /health: "no answer"\nagain' and records[0]['result'] == 'rolled_back'
    log = (tmp_path / 'deployment.log').read_text()
    assert log.count('\n') == 1 and ' deploy result=rolled_back ' in log
    assert log.endswith(' msg="Gate on /health: \\"no answer\\"\\nagain"\n') and result['audit_line'] == log[:-1]


def test_release_keeps_the_last_n(tmp_path):
    for i in range(5):
        result = run_module(release, record_args(tmp_path, release='v1.%d.0' % i, keep=3))
    assert result['dropped'] == 1
    records, dummy = _release.parse_records((tmp_path / 'releases.jsonl').read_text())
    assert [r['release'] for r in records] == ['v1.2.0', 'v1.3.0', 'v1.4.0']
    assert len((tmp_path / 'deployment.log').read_text().splitlines()) == 5  # the audit log is never trimmed


def test_release_check_mode_writes_nothing_and_diffs(tmp_path):
    result = run_module(release, record_args(tmp_path), check_mode=True, diff=True)
    assert result['changed'] and '"release": "v1.1.0"' in result['diff']['after'] and result['diff']['before'] == ''
    assert not (tmp_path / 'releases.jsonl').exists() and not (tmp_path / 'deployment.log').exists()


@pytest.mark.parametrize('extra, words', [
    (dict(commit='main'), 'commit must be a commit id'),
    (dict(release='-x'), 'invalid release'),
    (dict(keep=0), 'keep must be at least 1'),
    (dict(operator=' '), 'operator must not be empty'),
    (dict(path='/nonexistent/dir/releases.jsonl'), 'does not exist'),
])
def test_release_bad_input(tmp_path, extra, words):
    result = run_module(release, record_args(tmp_path, **extra))
    assert result['failed'] and words in result['msg']


# deploy_lock

def lock_args(tmp_path, **extra):
    args = dict(path=str(tmp_path / 'deploy.lock'), owner='alice', controller='ops1', pid=4242, release='v1.1.0')
    args.update(extra)
    return args


def test_lock_taken_refused_and_released(tmp_path):
    first = run_module(deploy_lock, lock_args(tmp_path))
    assert first['changed'] and first['token'] and not first.get('failed')
    held = json.loads((tmp_path / 'deploy.lock').read_text())
    assert held['owner'] == 'alice' and held['pid'] == 4242 and held['token'] == first['token']

    second = run_module(deploy_lock, lock_args(tmp_path, owner='bob', pid=99))
    assert second['failed']
    assert 'is held by alice (controller ops1, pid 4242, deploying v1.1.0) since ' in second['msg']
    assert 'token' not in second['holder']  # another run never learns the holder's token

    again = run_module(deploy_lock, lock_args(tmp_path, token=first['token']))
    assert again['changed'] is False and again['token'] == first['token']

    wrong = run_module(deploy_lock, dict(path=str(tmp_path / 'deploy.lock'), state='absent', token='nope'))
    assert wrong['changed'] is False and (tmp_path / 'deploy.lock').exists() and wrong['warnings']

    released = run_module(deploy_lock, dict(path=str(tmp_path / 'deploy.lock'), state='absent', token=first['token']))
    assert released['changed'] and not (tmp_path / 'deploy.lock').exists()
    assert run_module(deploy_lock, dict(path=str(tmp_path / 'deploy.lock'), state='absent', token='x'))['changed'] is False


def test_lock_token_file_is_for_its_holder_only(tmp_path):
    run_module(deploy_lock, lock_args(tmp_path))
    assert stat.S_IMODE(os.stat(tmp_path / 'deploy.lock').st_mode) == 0o600


def test_lock_held_names_holder_operation_and_the_break_variable(tmp_path):
    run_module(deploy_lock, lock_args(tmp_path, owner='carol', operation='restore of tgquiznft_prod'))
    result = run_module(deploy_lock, lock_args(tmp_path, operation='deploy v1.2.0'))
    assert result['failed'] and result['held']
    assert 'held by carol (controller ops1, pid 4242, restore of tgquiznft_prod) since ' in result['msg']
    assert 'set -e deploy_lock_break=true' in result['msg'] and 'break_lock' not in result['msg']
    assert 'on ops1: pid 4242 no longer runs ansible-playbook' in result['msg']
    other = run_module(deploy_lock, lock_args(tmp_path, break_variable='tgops_lock_break'))
    assert 'set -e tgops_lock_break=true' in other['msg']


def test_lock_is_never_taken_over_by_age_alone(tmp_path):
    old = dict(owner='carol', token='old', controller='ops2', pid=7,
               time=_release.format_time(datetime.now(timezone.utc) - timedelta(hours=2)))
    (tmp_path / 'deploy.lock').write_text(json.dumps(old))
    result = run_module(deploy_lock, lock_args(tmp_path))
    assert result['failed'] and 'older than 3600 s' in result['msg'] and 'deploy_lock_break' in result['msg']
    assert json.loads((tmp_path / 'deploy.lock').read_text())['owner'] == 'carol'
    # ttl is seconds as a float (docs/module-vocabulary.md): the two-hour-old lock is older than 7100.5 s, not 7230.5
    assert 'older than' not in run_module(deploy_lock, lock_args(tmp_path, ttl=7230.5))['msg']
    assert 'older than 7100.5 s' in run_module(deploy_lock, lock_args(tmp_path, ttl=7100.5))['msg']
    for bad in ('nan', 0.5):
        refused = run_module(deploy_lock, lock_args(tmp_path, ttl=bad))
        assert refused['failed'] and refused['msg'].startswith('ttl must be between 1 and')


def test_lock_unparsable_file_is_held_until_broken(tmp_path):
    (tmp_path / 'deploy.lock').write_text('')
    past = (datetime.now(timezone.utc) - timedelta(hours=2)).timestamp()
    os.utime(tmp_path / 'deploy.lock', (past, past))
    result = run_module(deploy_lock, lock_args(tmp_path))
    assert result['failed'] and 'held by unknown owner since ' in result['msg']
    assert not run_module(deploy_lock, lock_args(tmp_path, break_lock=True)).get('failed')


def test_lock_dead_holder_is_taken_over_only_while_it_holds(tmp_path):
    holder = dict(owner='carol', controller='ops1', pid=99, process='b/n/5', time='2026-11-23T16:00:00Z')
    (tmp_path / 'deploy.lock').write_text(json.dumps(dict(holder, token='old')))
    # The controller's verdict was about someone else: refused.
    stale_verdict = run_module(deploy_lock, lock_args(tmp_path, dead_holder=dict(holder, pid=98)))
    assert stale_verdict['failed'] and stale_verdict['held']
    result = run_module(deploy_lock, lock_args(tmp_path, dead_holder=holder))
    assert result['changed'] and not result.get('failed')
    assert any('taking over the host lock' in w and 'carol' in w for w in result['warnings'])
    assert json.loads((tmp_path / 'deploy.lock').read_text())['owner'] == 'alice'


def test_lock_break(tmp_path):
    run_module(deploy_lock, lock_args(tmp_path, owner='carol'))
    result = run_module(deploy_lock, lock_args(tmp_path, break_lock=True))
    assert result['changed'] and any('breaking' in w and 'deploy_lock_break=true' in w for w in result['warnings'])


def test_lock_check_mode_changes_nothing_and_still_refuses(tmp_path):
    result = run_module(deploy_lock, lock_args(tmp_path), check_mode=True)
    assert result['changed'] and not (tmp_path / 'deploy.lock').exists()
    run_module(deploy_lock, lock_args(tmp_path, owner='carol'))
    assert run_module(deploy_lock, lock_args(tmp_path), check_mode=True)['failed']


class _FailLoud(object):
    def fail_json(self, **kw):
        raise AssertionError(kw)


def _take(path, owner, barrier, out):
    barrier.wait()
    out.put((owner, deploy_lock.create_lock(_FailLoud(), path, dict(owner=owner, time='2026-11-23T16:00:00Z'))))


def test_lock_exactly_one_of_many_concurrent_takers_wins(tmp_path):
    ctx = multiprocessing.get_context('fork')
    barrier, out = ctx.Barrier(8), ctx.Queue()
    path = str(tmp_path / 'deploy.lock')
    procs = [ctx.Process(target=_take, args=(path, 'op%d' % i, barrier, out)) for i in range(8)]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=30) for dummy in procs]
    for proc in procs:
        proc.join(timeout=30)
    winners = [owner for owner, won in results if won]
    assert len(winners) == 1
    assert json.loads((tmp_path / 'deploy.lock').read_text())['owner'] == winners[0]
    assert os.listdir(tmp_path) == ['deploy.lock']  # no temporary files left behind


def test_lock_missing_directory_and_token(tmp_path):
    assert 'does not exist' in run_module(deploy_lock, lock_args(tmp_path, path='/nonexistent/x.lock'))['msg']
    checked = run_module(deploy_lock, lock_args(tmp_path, path='/nonexistent/x.lock'), check_mode=True)
    assert not checked.get('failed') and 'would take' in checked['msg']  # the run creates the directory first
    run_module(deploy_lock, lock_args(tmp_path))
    result = run_module(deploy_lock, dict(path=str(tmp_path / 'deploy.lock'), state='absent'))
    assert result['failed'] and 'token is required' in result['msg']


def test_lock_creates_its_missing_directory_with_directory_mode(tmp_path):
    path = tmp_path / 'var' / 'lib' / 'tgquiz' / 'deploy.lock'
    checked = run_module(deploy_lock, lock_args(tmp_path, path=str(path), directory_mode='0750'), check_mode=True)
    assert checked['changed'] and 'would take' in checked['msg'] and not (tmp_path / 'var').exists()
    old_umask = os.umask(0o077)
    try:
        taken = run_module(deploy_lock, lock_args(tmp_path, path=str(path), directory_mode='0750'))
    finally:
        os.umask(old_umask)
    assert taken['changed'] and taken['token'] and not taken.get('failed')
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o750  # the mode asked for, not the umask's
    assert json.loads(path.read_text())['token'] == taken['token']
    # The directory exists now: a second taker is refused by the lock, not by the directory.
    second = run_module(deploy_lock, lock_args(tmp_path, path=str(path), owner='bob', directory_mode='0750'))
    assert second['failed'] and 'is held by alice' in second['msg']


@pytest.mark.parametrize('mode', ['rwx', '0758', '77777', '-1'])
def test_lock_refuses_a_directory_mode_that_is_not_octal(tmp_path, mode):
    path = tmp_path / 'sub' / 'deploy.lock'
    result = run_module(deploy_lock, lock_args(tmp_path, path=str(path), directory_mode=mode))
    assert result['failed'] and 'directory_mode must be an octal mode' in result['msg']
    assert not (tmp_path / 'sub').exists()


def test_lock_without_a_controller_pid_records_none(tmp_path):
    result = run_module(deploy_lock, lock_args(tmp_path, pid=0))
    assert not result.get('failed') and 'pid' not in json.loads((tmp_path / 'deploy.lock').read_text())
