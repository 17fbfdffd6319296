#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: release_info
short_description: Read a platform's release history and plan a deploy or a rollback
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Reads the host's releases file (see M(tgops.runbooks.release)) and replays it into the stack of deployed
    releases RV(releases) - a successful deploy pushes its release, a successful rollback pops the stack back
    to its target. RV(current) is the top of that stack and RV(previous) the entry below it, so after a rollback
    the previous release is the one before it, never the release that was just rolled back from.
  - With no recorded history, RV(current) is what the git checkout in O(repo_dir) has checked out
    (RV(current.source) is V(checkout)).
  - With O(release), validates the name (a git tag, branch or commit; never anything that could read as an
    option to git), resolves it to a commit in O(repo_dir) and fails with a clear message when it does not
    exist. RV(target.expected_version) is the version C(/health) must report for it (the tag's name).
  - With O(release) and without O(rollback), decides whether a deploy is needed (RV(deploy_needed)) - not when
    the release is recorded as current, checked out, and the running service (O(running_healthy),
    O(running_version)) is healthy and serves it.
  - With O(rollback=true), picks the rollback target RV(target) - O(release) when given (it must be in the
    recorded history unless O(allow_unrecorded=true)), else RV(previous) - and fails when there is none.
    When the newest record is a deploy that failed outright (its automatic rollback failed too), or the checkout
    is not at RV(current) (someone checked out another commit by hand), the default target is RV(current) itself,
    the release that ran before, and RV(reason) says so.
  - With O(log_path), returns the last O(log_tail) lines of the deployment log (the runbook's
    C(tail -50 deployment.log), which says whether an automatic rollback happened) and RV(last_deploy), the newest
    deploy record whatever its result.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._release
options:
  repo_dir:
    description:
      - The platform's git checkout on the host (the inventory's C(platform_repo_dir)). Needed to resolve
        O(release) and to report RV(checked_out).
    type: path
  release:
    description:
      - A release to resolve - a git tag such as V(v1.2.3), a branch, or a commit (7 to 40 hex digits).
      - Letters, digits and C(. _ + / -) only, starting with a letter or digit.
    type: str
  rollback:
    description:
      - Plan a rollback instead of a deploy - see the description.
    type: bool
    default: false
  allow_unrecorded:
    description:
      - With O(rollback=true), allow a named O(release) that is not in the recorded history (never deployed
        successfully by these playbooks, or trimmed from the file).
    type: bool
    default: false
  running_healthy:
    description:
      - Whether the service is healthy right now (from M(tgops.runbooks.health_check)). Used to decide
        RV(deploy_needed).
    type: bool
    default: false
  running_version:
    description:
      - The version the running service reports in C(/health). Used to decide RV(deploy_needed).
    type: str
  git_bin:
    description:
      - The git program, when it is not on E(PATH).
    type: path
  log_path:
    description:
      - The deployment log M(tgops.runbooks.release) appends an audit line to (the inventory's
        C(platform_deploy_log)). Its last O(log_tail) lines are returned in RV(log).
    type: path
  log_tail:
    description:
      - How many of the log's last lines to return (at most 1 MiB of the file's end is read).
    type: int
    default: 50
notes:
  - The module only reads (git C(rev-parse), C(tag --points-at) and C(status)); it never fetches. Fetch first when the
    release may be new to the checkout.
seealso:
  - module: tgops.runbooks.release
  - module: tgops.runbooks.deploy_lock
"""

EXAMPLES = r"""
- name: Plan the deploy of v1.2.3
  tgops.runbooks.release_info:
    path: /var/lib/toogoodtogo/releases.jsonl
    repo_dir: /opt/toogoodtogo
    release: v1.2.3
    running_healthy: "{{ health.healthy }}"
    running_version: "{{ health.version }}"
  register: plan

- name: Which release would a rollback go to?
  tgops.runbooks.release_info:
    path: /var/lib/tgquiz/releases.jsonl
    repo_dir: /opt/tgquiz
    rollback: true
  register: rollback_plan

- name: Say it
  ansible.builtin.debug:
    msg: "Rollback would go from {{ rollback_plan.current.release }} to {{ rollback_plan.target.release }}"
"""

RETURN = r"""
last_deploy:
  description: The newest deploy record of the releases file, whatever its C(result) (V(success), V(rolled_back),
    V(failed)); null when none. RV(releases) keeps only successful events.
  returned: always
  type: dict
  sample: {action: deploy, release: v1.3.0, result: failed, message: "Gate on /health ...; automatic rollback failed: ..."}
log:
  description: The end of the deployment log, when O(log_path) is set; null otherwise.
  returned: always
  type: dict
  contains:
    path: {description: O(log_path)., type: str}
    exists: {description: Whether the file exists., type: bool}
    lines: {description: "Its last O(log_tail) lines, oldest first.", type: list, elements: str}
records:
  description: The valid records of the releases file, oldest first.
  returned: always
  type: list
  elements: dict
releases:
  description: The stack of deployed releases replayed from the records, oldest first (C(release), C(commit),
    C(time), C(action), C(operator)).
  returned: always
  type: list
  elements: dict
current:
  description: The release deployed now - the top of RV(releases), or the checked-out commit when nothing is
    recorded; null when neither is known.
  returned: always
  type: dict
  sample: {release: v1.1.0, commit: 5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e, source: releases_file}
  contains:
    release:
      description: The release name as it was deployed (tag, branch or commit).
      type: str
    commit:
      description: Its commit.
      type: str
    source:
      description: V(releases_file), or V(checkout) when nothing is recorded.
      type: str
previous:
  description: The release below RV(current) in the stack, null when there is none.
  returned: always
  type: dict
local_changes:
  description:
    - Tracked files in O(repo_dir) with uncommitted changes, staged or not (C(git status)), relative to the
      checkout's top - what a C(git checkout --force) of another release would throw away (an operator's compose
      memory limit, a hot fix). Untracked files are not listed. Null without O(repo_dir).
  returned: always
  type: list
  elements: str
  sample: [deployment/docker-compose.prod.yml]
checked_out:
  description: The commit checked out in O(repo_dir) and the tags pointing at it; null without O(repo_dir).
  returned: always
  type: dict
  sample: {commit: 5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e, tags: [v1.1.0], release: v1.1.0}
target:
  description:
    - The release to deploy (O(release)) or to roll back to. Null when there is none.
    - A recorded release named by its commit gets its recorded name back (V(v1.1.0) rather than the commit).
  returned: always
  type: dict
  contains:
    release:
      description: The release name.
      type: str
    commit:
      description: The full commit it resolves to.
      type: str
    tags:
      description: The tags pointing at that commit.
      type: list
      elements: str
    expected_version:
      description: The version C(/health) must report for it - the tag's name; null for a commit or branch without
        exactly one version tag.
      type: str
    recorded:
      description: Whether it is in the recorded history.
      type: bool
deploy_needed:
  description: Whether deploying O(release) would change anything. False when O(rollback=true), or without O(release).
  returned: always
  type: bool
rollback_needed:
  description: With O(rollback=true), whether the target differs from what is deployed and running.
  returned: always
  type: bool
reason:
  description: Why a deploy or rollback is or is not needed.
  returned: always
  type: str
  sample: the current release is v1.0.0 (1a2b3c4d5e6f), not v1.1.0 (5d6e7f8a9b0c)
"""


from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module

from ansible_collections.tgops.runbooks.plugins.module_utils import _release


class Git(object):
    def __init__(self, module, repo_dir):
        self.module = module
        self.repo_dir = repo_dir
        self.git = module.params['git_bin'] or module.get_bin_path('git', required=True)

    def _run(self, args):
        rc, out, err = self.module.run_command([self.git] + args, cwd=self.repo_dir)
        return rc, out.strip(), err.strip()

    def resolve(self, ref):
        # ^{commit} peels annotated tags; --verify --quiet: exit 1 and no output when it does not exist.
        rc, out, err = self._run(['rev-parse', '--verify', '--quiet', '%s^{commit}' % ref])
        if rc != 0 or not _release.is_commit(out):
            return None
        return out

    def local_changes(self):
        rc, out, err = self.module.run_command([self.git, 'status', '--porcelain=v1', '-z', '--untracked-files=no'],
                                               cwd=self.repo_dir)
        if rc != 0:
            self.module.fail_json(msg='git status failed in %s: %s' % (self.repo_dir, err.strip() or out.strip()))
        return _release.local_changes(out)

    def tags_at(self, commit):
        rc, out, err = self._run(['tag', '--points-at', commit])
        if rc != 0:
            self.module.fail_json(msg='git tag --points-at failed in %s: %s' % (self.repo_dir, err or out))
        return sorted(t for t in out.splitlines() if t.strip())


def main():
    argument_spec = _release.releases_file_argument_spec()
    argument_spec.update(
        repo_dir=dict(type='path'),
        release=dict(type='str'),
        rollback=dict(type='bool', default=False),
        allow_unrecorded=dict(type='bool', default=False),
        running_healthy=dict(type='bool', default=False),
        running_version=dict(type='str'),
        git_bin=dict(type='path'),
        log_path=dict(type='path'),
        log_tail=dict(type='int', default=50),
    )
    module = new_module(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    result = dict(changed=False, records=[], releases=[], current=None, previous=None, checked_out=None,
                  local_changes=None, target=None, deploy_needed=False, rollback_needed=False, reason='',
                  last_deploy=None, log=None)
    if module.params['log_tail'] < 0:
        module.fail_json(msg='log_tail must be 0 or more, got %d' % module.params['log_tail'], **result)

    if params['release'] is not None:
        problem = _release.validate_release_name(params['release'])
        if problem:
            module.fail_json(msg='invalid release: %s' % problem, **result)
    if params['release'] is not None and not params['repo_dir']:
        module.fail_json(msg='repo_dir is required to resolve release %s' % params['release'], **result)

    text, exists = _release.read_releases_file(module, params['path'])
    records, problems = _release.parse_records(text)
    for problem in problems:
        module.warn('releases file %s: %s (skipped)' % (params['path'], problem))
    stack = _release.history(records)
    result['records'] = records
    result['releases'] = stack
    result['last_deploy'] = _release.last_deploy(records)
    if params['log_path']:
        lines, found = _release.read_tail(params['log_path'], params['log_tail'])
        result['log'] = dict(path=params['log_path'], exists=found, lines=lines)

    git = Git(module, params['repo_dir']) if params['repo_dir'] else None
    head = None
    if git:
        head = git.resolve('HEAD')
        if head is None:
            module.fail_json(msg='%s is not a git checkout with a commit checked out' % params['repo_dir'], **result)
        tags = git.tags_at(head)
        result['checked_out'] = dict(commit=head, tags=tags, release=_release.version_from_tags(None, tags) or head)
        result['local_changes'] = git.local_changes()

    if stack:
        result['current'] = dict(stack[-1], source='releases_file')
        if len(stack) > 1:
            result['previous'] = dict(stack[-2], source='releases_file')
    elif result['checked_out']:
        result['current'] = dict(release=result['checked_out']['release'], commit=head, source='checkout')

    target, target_why = None, ''
    if params['release'] is not None:
        commit = git.resolve(params['release'])
        if commit is None:
            module.fail_json(msg='unknown release %s: no tag, branch or commit of that name in %s' % (
                params['release'], params['repo_dir']), **result)
        tags = git.tags_at(commit)
        entry = _release.find_in_history(stack, params['release'], commit)
        # A release named by its commit (the deploy role's automatic rollback) keeps its recorded name.
        name = entry['release'] if entry and entry['commit'] == commit and _release.is_commit(params['release']) \
            else params['release']
        target = dict(release=name, commit=commit, tags=tags,
                      expected_version=_release.version_from_tags(name, tags), recorded=entry is not None)
    elif params['rollback'] and _release.rollback_default(stack, head, records)[0]:
        entry, target_why = _release.rollback_default(stack, head, records)
        tags = git.tags_at(entry['commit']) if git else []
        if git and git.resolve(entry['commit']) is None:
            module.fail_json(msg='the release to roll back to, %s, is no longer in %s' % (
                _release.describe(entry), params['repo_dir']), **result)
        target = dict(release=entry['release'], commit=entry['commit'], tags=tags,
                      expected_version=_release.version_from_tags(entry['release'], tags), recorded=True)
    result['target'] = target

    if params['rollback']:
        if target is None:
            module.fail_json(msg='no previous release is recorded in %s (%d release(s) in the history); '
                             'name the release to roll back to' % (params['path'], len(stack)), **result)
        if not target['recorded'] and not params['allow_unrecorded']:
            module.fail_json(msg='refusing to roll back to %s: it is not a release recorded in %s (recorded: %s); '
                             'set allow_unrecorded to roll back to it anyway' % (
                                 _release.describe(target), params['path'],
                                 ', '.join(e['release'] for e in stack) or 'none'), **result)
        needed, reason = _release.plan_deploy(target, result['current'], head, params['running_healthy'],
                                              params['running_version'], target['expected_version'])
        result['rollback_needed'] = needed
        result['reason'] = reason if needed else 'already at %s: nothing to roll back' % _release.describe(target)
        if target_why:
            result['reason'] = '%s; %s' % (target_why, result['reason'])
    elif target is not None:
        result['deploy_needed'], result['reason'] = _release.plan_deploy(
            target, result['current'], head, params['running_healthy'], params['running_version'],
            target['expected_version'])
    if not exists:
        result['reason'] = (result['reason'] + '; ' if result['reason'] else '') + \
            'no releases file yet (%s)' % params['path']
    module.exit_json(**result)


if __name__ == '__main__':
    main()
