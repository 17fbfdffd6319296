#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: release
short_description: Record a deploy or rollback in the host's releases file and deployment log
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Appends one event (a deploy, a rollback, or the C(baseline) found before the first deploy) to the host's
    releases file and keeps only the last O(keep) events. The file is rewritten atomically (a temporary file
    in the same directory, then a rename), so a reader never sees half a file.
  - With O(log_path), also appends one audit line to the platform's deployment log, the file the runbooks read
    with C(tail -50 /var/log/toogoodtogo/deployment.log) -
    C(2026-11-23T16:40:12Z deploy result=success operator=alice from=v1.0.0@1a2b3c4d5e6f to=v1.1.0@5d6e7f8a9b0c).
  - M(tgops.runbooks.release_info) reads the file back and decides which release is current and previous.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._release
attributes:
  check_mode:
    support: full
    details:
      - Reports the record it would write (and the diff) without writing.
  diff_mode:
    support: full
    details:
      - The releases file before and after.
  idempotent:
    support: none
    details:
      - Every call records one event; the deploy and rollback roles call it only when they deployed or
        rolled back something.
options:
  action:
    description:
      - What happened.
    type: str
    choices: [baseline, deploy, rollback]
    required: true
  release:
    description:
      - The release deployed or rolled back to (tag, branch or commit as the operator named it).
    type: str
    required: true
  commit:
    description:
      - The full commit of O(release).
    type: str
    required: true
  from_release:
    description:
      - The release that was deployed before.
    type: str
  from_commit:
    description:
      - The commit of O(from_release).
    type: str
  operator:
    description:
      - Who ran it.
    type: str
    required: true
  result:
    description:
      - V(success), V(failed) (nothing was changed, or the failure left the previous release serving), or
        V(rolled_back) (a deploy whose health gate failed and that was rolled back).
      - Only successful events count in the history that M(tgops.runbooks.release_info) replays.
    type: str
    choices: [success, failed, rolled_back]
    default: success
  note:
    description:
      - A short explanation, for example why the health gate failed (recorded as C(message); the first 500
        characters go in the audit line).
    type: str
  keep:
    description:
      - Keep the last this many events in the releases file.
    type: int
    default: 20
  log_path:
    description:
      - The deployment log to append the audit line to; created with O(mode) when missing.
    type: path
  mode:
    description:
      - Permissions of the releases file and of a deployment log this module creates.
    type: raw
    default: '0640'
seealso:
  - module: tgops.runbooks.release_info
"""

EXAMPLES = r"""
- name: Record the deploy
  tgops.runbooks.release:
    path: /var/lib/toogoodtogo/releases.jsonl
    log_path: /var/log/toogoodtogo/deployment.log
    action: deploy
    release: v1.2.3
    commit: "{{ plan.target.commit }}"
    from_release: "{{ plan.current.release }}"
    from_commit: "{{ plan.current.commit }}"
    operator: alice
    result: success
    keep: 20
"""

RETURN = r"""
record:
  description: The event recorded (or that would be, in check mode).
  returned: always
  type: dict
  sample: {time: '2026-11-23T16:40:12Z', action: deploy, release: v1.2.3, commit: 5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e,
           from_release: v1.2.2, from_commit: 1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b, operator: alice, result: success}
audit_line:
  description: The line appended to O(log_path) (without the newline).
  returned: always
  type: str
dropped:
  description: How many old events were dropped to keep O(keep).
  returned: always
  type: int
"""

import os
import tempfile
from datetime import datetime, timezone


from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module

from ansible_collections.tgops.runbooks.plugins.module_utils import _release


def _mode(module, path):
    mode = module.params['mode']
    if isinstance(mode, int):
        return mode
    try:
        return int(str(mode), 8)
    except ValueError:
        module.fail_json(msg='mode must be an octal string such as 0640, not %r' % (mode,))
    return None


def write_atomically(module, path, content, mode):
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(content.encode('utf-8'))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.rename(tmp, path)
    except (IOError, OSError) as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        module.fail_json(msg='cannot write the releases file %s: %s' % (path, exc))


def append_line(module, path, line, mode):
    try:
        # One write() with O_APPEND: concurrent writers never interleave inside a line.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
        try:
            os.write(fd, line.encode('utf-8'))
        finally:
            os.close(fd)
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot append to the deployment log %s: %s' % (path, exc))


def main():
    argument_spec = _release.releases_file_argument_spec()
    argument_spec.update(
        action=dict(type='str', required=True, choices=list(_release.ACTIONS)),
        release=dict(type='str', required=True),
        commit=dict(type='str', required=True),
        from_release=dict(type='str'),
        from_commit=dict(type='str'),
        operator=dict(type='str', required=True),
        result=dict(type='str', default='success', choices=list(_release.RESULTS)),
        note=dict(type='str'),
        keep=dict(type='int', default=20),
        log_path=dict(type='path'),
        mode=dict(type='raw', default='0640'),
    )
    module = new_module(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    path = params['path']

    problem = _release.validate_release_name(params['release'])
    if problem:
        module.fail_json(msg='invalid release: %s' % problem)
    if params['from_release']:
        problem = _release.validate_release_name(params['from_release'])
        if problem:
            module.fail_json(msg='invalid from_release: %s' % problem)
    for key in ('commit', 'from_commit'):
        if params[key] and not _release.is_commit(params[key]):
            module.fail_json(msg='%s must be a commit id (7 to 64 lower-case hex digits), not %r' % (key, params[key]))
    if params['keep'] < 1:
        module.fail_json(msg='keep must be at least 1')
    if not params['operator'].strip():
        module.fail_json(msg='operator must not be empty')
    mode = _mode(module, path)

    record = dict(time=_release.format_time(datetime.now(timezone.utc)), action=params['action'],
                  release=params['release'], commit=params['commit'], operator=params['operator'],
                  result=params['result'])
    for key in ('from_release', 'from_commit'):
        if params[key]:
            record[key] = params[key]
    if params['note']:
        record['message'] = params['note']

    before, dummy = _release.read_releases_file(module, path)
    records, problems = _release.parse_records(before)
    for problem in problems:
        module.warn('releases file %s: %s (dropped on rewrite)' % (path, problem))
    records.append(record)
    dropped = max(0, len(records) - params['keep'])
    after = _release.dump_records(records[dropped:])
    line = _release.audit_line(record)

    result = dict(changed=True, record=record, audit_line=line.rstrip('\n'), dropped=dropped)
    if module._diff:
        result['diff'] = dict(before=before, after=after, before_header=path, after_header=path)
    if not module.check_mode:
        if not os.path.isdir(os.path.dirname(path) or '.'):
            module.fail_json(msg='the directory of the releases file %s does not exist' % path)
        write_atomically(module, path, after, mode)
        if params['log_path']:
            append_line(module, params['log_path'], line, mode)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
