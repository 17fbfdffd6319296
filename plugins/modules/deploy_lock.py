#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take or release a host's deploy lock, refusing fast when someone else holds it
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - O(state=present) creates the lock file atomically - the record (owner, controller, controller pid,
    release, time, token) is written to a temporary file, then hard-linked to O(path), which fails when
    O(path) exists, so two deploys can never both hold the lock and a reader never sees a half-written lock.
  - When the lock is held, the module fails at once and names the holder and since when, for example
    C(deploy lock /var/lib/tgquiz/deploy.lock is held by alice (controller ops1, pid 4242, deploying v1.1.0)
    since 2026-11-23T16:40:12Z (42 s ago)).
  - Stale locks - a deploy killed before it could release its lock (Ctrl-C, lost connection) leaves it behind.
    A lock older than O(ttl) seconds is stale and is taken over with a warning naming its old holder. A younger
    one is only broken with O(break_lock=true), after the operator has checked that its holder is gone.
  - O(state=absent) removes the lock only when it holds O(token) (the one this run got when it took it), so a
    run never removes a lock another run holds (unless O(break_lock=true)).
extends_documentation_fragment:
  - tgops.runbooks._attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin fills O(controller) and O(pid) in on the controller, which the host cannot know.
  check_mode:
    support: full
    details:
      - Reports whether the lock could be taken (and fails when it is held, as a real run would) without
        writing anything.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Taking the lock again with the O(token) this run already holds reports no change.
options:
  path:
    description:
      - The lock file, for example V(/var/lib/toogoodtogo/deploy.lock). Its directory must exist.
    type: path
    required: true
  state:
    description:
      - V(present) takes the lock, V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  owner:
    description:
      - Who takes the lock (the operator). Required with O(state=present).
    type: str
  controller:
    description:
      - The machine the deploy runs from, for the message a second deploy gets.
      - Defaults to the controller's host name (the module's action plugin fills it in on the controller).
    type: str
  pid:
    description:
      - The process id of the deploy on O(controller) (C(ansible-playbook)), for the message a second deploy gets.
      - Defaults to the pid of the C(ansible-playbook) run (filled in on the controller by the action plugin).
    type: int
  release:
    description:
      - What the holder is deploying, for the message a second deploy gets.
    type: str
  token:
    description:
      - With O(state=present), the token of a lock this run already holds (re-entry, no change).
      - With O(state=absent), the token returned when the lock was taken. Required unless O(break_lock=true).
    type: str
  ttl:
    description:
      - Seconds after which a lock counts as stale and is taken over. Longer than the longest deploy.
    type: int
    default: 3600
  break_lock:
    description:
      - Take over (O(state=present)) or remove (O(state=absent)) a lock held by someone else even when it is not
        stale. The previous holder is reported in RV(holder) and in a warning.
    type: bool
    default: false
notes:
  - The lock lives on the host being deployed, so deploys from different controllers exclude each other too.
seealso:
  - module: tgops.runbooks.release
"""

EXAMPLES = r"""
- name: Take the deploy lock
  tgops.runbooks.deploy_lock:
    path: /var/lib/toogoodtogo/deploy.lock
    owner: alice
    release: v1.2.3
  register: lock

- name: Release it (in an always section)
  tgops.runbooks.deploy_lock:
    path: /var/lib/toogoodtogo/deploy.lock
    state: absent
    token: "{{ lock.token }}"
"""

RETURN = r"""
token:
  description: The token of the lock this run holds (pass it to O(state=absent)); null when released.
  returned: always
  type: str
holder:
  description: The lock record found in O(path) before this call (C(owner), C(controller), C(pid), C(release),
    C(time)), null when there was none. Never contains the token of someone else's lock.
  returned: always
  type: dict
lock:
  description: The lock record this run holds (or would hold in check mode).
  returned: with O(state=present)
  type: dict
msg:
  description: What happened.
  returned: always
  type: str
"""

import json
import os
import secrets
import tempfile
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.tgops.runbooks.plugins.module_utils import _release


def read_lock(path):
    """(record or None, exists). An unreadable or unparsable lock file exists but has no record."""
    try:
        with open(path, 'rb') as handle:
            data = handle.read(65536)
    except FileNotFoundError:
        return None, False
    except (IOError, OSError):
        return None, True
    try:
        record = json.loads(data.decode('utf-8', 'replace'))
    except ValueError:
        return None, True
    return (record if isinstance(record, dict) else None), True


def lock_age_time(path, record):
    """The lock's time, from its record or else from the file's modification time."""
    if record and _release.parse_time(record.get('time')):
        return record
    try:
        mtime = datetime.fromtimestamp(os.stat(path).st_mtime, timezone.utc)
    except OSError:
        return record
    return dict(record or {}, time=_release.format_time(mtime))


def public(record):
    if not record:
        return None
    return {k: v for k, v in record.items() if k != 'token'}


def create_lock(module, path, record):
    """True when this call created the lock, False when it already exists."""
    directory = os.path.dirname(path) or '.'
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot create the deploy lock %s: %s' % (path, exc))
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(json.dumps(record, sort_keys=True).encode('utf-8') + b'\n')
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        try:
            os.link(tmp, path)  # atomic: fails with EEXIST when someone holds the lock
        except FileExistsError:
            return False
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot create the deploy lock %s: %s' % (path, exc))
        return True
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def remove_if_same(path, expected):
    """Move the lock away only if it still holds ``expected`` (another run may have replaced it)."""
    aside = '%s.released.%s' % (path, secrets.token_hex(4))
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True
    moved, dummy = read_lock(aside)
    if (moved or {}).get('token') != (expected or {}).get('token') or (moved or {}).get('time') != (expected or {}).get('time'):
        # Not the lock we judged: put it back (link fails only if yet another lock appeared meanwhile).
        try:
            os.link(aside, path)
        except OSError:
            pass
        os.unlink(aside)
        return False
    os.unlink(aside)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            owner=dict(type='str'),
            controller=dict(type='str'),
            pid=dict(type='int'),
            release=dict(type='str'),
            token=dict(type='str', no_log=False),
            ttl=dict(type='int', default=3600),
            break_lock=dict(type='bool', default=False),
        ),
        required_if=[('state', 'present', ('owner',))],
        supports_check_mode=True,
    )
    params = module.params
    path = params['path']
    now = datetime.now(timezone.utc)
    if params['ttl'] < 1:
        module.fail_json(msg='ttl must be at least 1 second')
    if not os.path.isdir(os.path.dirname(path) or '.'):
        module.fail_json(msg='the directory of the deploy lock %s does not exist' % path)

    existing, exists = read_lock(path)
    aged = lock_age_time(path, existing) if exists else None
    result = dict(changed=False, token=None, holder=public(aged))

    if params['state'] == 'absent':
        if not exists:
            result['msg'] = 'the deploy lock %s is not held' % path
            module.exit_json(**result)
        if not params['break_lock'] and (not params['token'] or (existing or {}).get('token') != params['token']):
            if not params['token']:
                module.fail_json(msg='token is required to release the deploy lock %s (or break_lock)' % path, **result)
            module.warn('the deploy lock %s is held by %s, not by this run: left in place' % (
                path, _release.describe_lock(aged, now)))
            result['msg'] = 'the deploy lock is held by someone else; not removed'
            module.exit_json(**result)
        if params['break_lock'] and (existing or {}).get('token') != params['token']:
            module.warn('breaking the deploy lock %s held by %s' % (path, _release.describe_lock(aged, now)))
        result['changed'] = True
        result['msg'] = 'released the deploy lock %s' % path
        if not module.check_mode:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                module.fail_json(msg='cannot remove the deploy lock %s: %s' % (path, exc), **result)
        module.exit_json(**result)

    record = dict(owner=params['owner'], time=_release.format_time(now), token=params['token'] or secrets.token_hex(16))
    for key in ('controller', 'pid', 'release'):
        if params[key] not in (None, '', 0):
            record[key] = params[key]

    if exists:
        decision = _release.lock_decision(aged, now, params['ttl'], token=params['token'],
                                          break_lock=params['break_lock'])
        if decision == 'reentrant':
            result.update(token=existing['token'], lock=public(existing),
                          msg='this run already holds the deploy lock %s' % path)
            module.exit_json(**result)
        if decision == 'held':
            result['msg'] = ('deploy lock %s is held by %s; another deploy or rollback is running. '
                             'Wait for it, or once its holder is gone set break_lock (a lock older than %d s '
                             'is taken over automatically)' % (path, _release.describe_lock(aged, now), params['ttl']))
            module.fail_json(**result)
        module.warn('taking over the %s deploy lock %s held by %s' % (
            'stale' if decision == 'stale' else 'broken', path, _release.describe_lock(aged, now)))
        if not module.check_mode and not remove_if_same(path, existing):
            module.fail_json(msg='the deploy lock %s changed hands while it was being taken over; '
                             'another deploy started: try again later' % path, **result)

    result.update(changed=True, lock=public(record))
    if module.check_mode:
        result['msg'] = 'would take the deploy lock %s' % path
        module.exit_json(**result)
    if not create_lock(module, path, record):
        existing, dummy = read_lock(path)
        result['holder'] = public(existing)
        result['changed'] = False
        module.fail_json(msg='deploy lock %s is held by %s; another deploy or rollback started just now' % (
            path, _release.describe_lock(existing, now)), **result)
    result.update(token=record['token'], msg='took the deploy lock %s' % path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
