#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: deploy_lock
short_description: Take or release a host's lock for operations that change its stack or database
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - One lock per host, shared by every operation that changes the stack or the database (deploy, rollback,
    restore, secret rotation, the corruption and P1 database restores), taken before the operation plans.
  - O(state=present) creates the lock file atomically - the record (owner, controller, controller pid and its
    start, operation, time, token) is written to a temporary file of mode C(0600), then hard-linked to
    O(path), which fails when O(path) exists, so two runs can never both hold the lock and a reader never
    sees a half-written lock.
  - When the lock is held, the module fails at once and names the holder, the operation and since when, and
    the variable that breaks the lock (O(break_variable)), for example C(host lock /var/lib/tgquiz/deploy.lock
    is held by alice (controller ops1, pid 4242, deploy v1.1.0) since 2026-11-23T16:40:12Z (42 s ago)).
  - A lock whose holder is provably dead is taken over with a warning naming its old holder. Only the action
    plugin can prove it, on the controller the holder ran on - its pid is gone, or now belongs to a process
    started at another time, or the controller has rebooted since - and it then passes the holder as
    O(dead_holder). A live holder, a holder on another controller and an unreadable lock are never taken over
    on age alone; the operator breaks them with O(break_lock=true) after checking that the holder is gone.
  - O(state=absent) removes the lock only when it holds O(token) (the one this run got when it took it), so a
    run never removes a lock another run holds (unless O(break_lock=true)).
extends_documentation_fragment:
  - tgops.runbooks._attributes
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin fills O(controller), O(pid) and O(process) in on the controller, which the host cannot
        know, and when the lock is held judges on the controller whether its holder is alive (O(dead_holder)).
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
      - The lock file, for example V(/var/lib/toogoodtogo/deploy.lock). Its directory must exist unless
        O(directory_mode) is set.
    type: path
    required: true
  directory_mode:
    description:
      - With O(state=present), create the directory of O(path) (and its parents) with this mode when it does
        not exist, for example V('0750'), in the same call that takes the lock. Check mode creates nothing.
      - An octal mode, a string such as V('0750') or a YAML octal number, as M(tgops.runbooks.incident_report_file)'s
        O(tgops.runbooks.incident_report_file#module:directory_mode) takes it.
      - Without it, a missing directory is an error.
    type: raw
    version_added: 0.1.0
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
      - The machine the run comes from, for the message a second run gets and the liveness check.
      - Defaults to the controller's host name (the module's action plugin fills it in on the controller).
    type: str
  pid:
    description:
      - The process id of the run on O(controller) (C(ansible-playbook)), for the message a second run gets.
      - Defaults to the pid of the C(ansible-playbook) run (filled in on the controller by the action plugin).
    type: int
  process:
    description:
      - What identifies O(pid) beyond its number on O(controller) - C(<boot id>/<pid namespace>/<start time>),
        empty parts where the controller cannot tell - so a pid reused by another process, a reboot or another
        container is recognised. Filled in by the action plugin.
    type: str
  operation:
    description:
      - What the holder does, for the message a second run gets, for example V(deploy v1.2.3) or
        V(restore of tgquiznft_prod).
    type: str
  release:
    description:
      - What the holder is deploying, for the message a second run gets when O(operation) is not given.
    type: str
  token:
    description:
      - With O(state=present), the token of a lock this run already holds (re-entry, no change).
      - With O(state=absent), the token returned when the lock was taken. Required unless O(break_lock=true).
    type: str
  ttl:
    description:
      - Seconds after which the error about a held lock says it was probably left behind by a killed run.
        A lock is never taken over because of its age.
      - At least 1; fractions allowed.
    type: float
    default: 3600
  break_lock:
    description:
      - Take over (O(state=present)) or remove (O(state=absent)) a lock held by someone else. The previous
        holder is reported in RV(holder) and in a warning.
    type: bool
    default: false
  break_variable:
    description:
      - The variable through which the operator sets O(break_lock), named in the error about a held lock.
    type: str
    default: deploy_lock_break
  dead_holder:
    description:
      - The holder record (RV(holder)) the action plugin found dead on the controller. The lock is taken over
        only while it still holds exactly that holder (owner, controller, pid, process, time).
    type: dict
notes:
  - The lock lives on the host being changed, so runs from different controllers exclude each other too.
seealso:
  - module: tgops.runbooks.release
"""

EXAMPLES = r"""
- name: Take the host lock
  tgops.runbooks.deploy_lock:
    path: /var/lib/toogoodtogo/deploy.lock
    directory_mode: "0750"
    owner: alice
    operation: deploy v1.2.3
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
  description: The lock record found in O(path) before this call (C(owner), C(controller), C(pid), C(process),
    C(operation), C(release), C(time)), null when there was none. Never contains the token of someone else's lock.
  returned: always
  type: dict
held:
  description: True when the module failed because someone else holds the lock.
  returned: when the lock is held by someone else
  type: bool
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


from ansible_collections.tgops.runbooks.plugins.module_utils import _release
from ansible_collections.tgops.runbooks.plugins.module_utils._mode import octal_mode
from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module, seconds_problem, seconds_text


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
        module.fail_json(msg='cannot create the host lock %s: %s' % (path, exc))
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(json.dumps(record, sort_keys=True).encode('utf-8') + b'\n')
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # the token releases the lock: for its holder only
        try:
            os.link(tmp, path)  # atomic: fails with EEXIST when someone holds the lock
        except FileExistsError:
            return False
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot create the host lock %s: %s' % (path, exc))
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


def held_message(path, aged, now, params):
    text = ('host lock %s is held by %s: another operation that changes the stack or the database is running. '
            'Wait for it to finish' % (path, _release.describe_lock(aged, now)))
    if _release.lock_is_old(aged, now, params['ttl']):
        text += ' (the lock is older than %s s or undated: a killed run may have left it behind)' % seconds_text(
            params['ttl'])
    where = ''
    if aged and aged.get('controller') and aged.get('pid'):
        where = ' (on %s: pid %s no longer runs ansible-playbook)' % (aged['controller'], aged['pid'])
    return text + '; once its holder is gone%s, set -e %s=true to take the lock over' % (where, params['break_variable'])


def main():
    module = new_module(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            owner=dict(type='str'),
            controller=dict(type='str'),
            pid=dict(type='int'),
            process=dict(type='str'),
            operation=dict(type='str'),
            release=dict(type='str'),
            token=dict(type='str', no_log=False),
            ttl=dict(type='float', default=3600),
            break_lock=dict(type='bool', default=False),
            break_variable=dict(type='str', default='deploy_lock_break'),
            dead_holder=dict(type='dict'),
            directory_mode=dict(type='raw'),
        ),
        required_if=[('state', 'present', ('owner',))],
        supports_check_mode=True,
    )
    params = module.params
    path = params['path']
    now = datetime.now(timezone.utc)
    problem = seconds_problem('ttl', params['ttl'], minimum=1)
    if problem:
        module.fail_json(msg=problem)
    directory = os.path.dirname(path) or '.'
    directory_mode = None
    if params['directory_mode'] not in (None, ''):
        directory_mode = octal_mode(params['directory_mode'])
        if directory_mode is None:
            module.fail_json(msg='directory_mode must be an octal mode such as 0750, not %r'
                             % (params['directory_mode'],))
    if not os.path.isdir(directory):
        if params['state'] == 'absent' or (directory_mode is None and not module.check_mode):
            module.fail_json(msg='the directory of the host lock %s does not exist' % path)
        if module.check_mode:
            # Nobody can hold a lock in a directory that does not exist yet.
            module.exit_json(changed=True, token=None, holder=None,
                             msg='would take the host lock %s (its directory does not exist yet)' % path)
        try:
            os.makedirs(directory, exist_ok=True)
            os.chmod(directory, directory_mode)  # the exact mode, whatever the umask
        except OSError as exc:
            module.fail_json(msg='cannot create the directory of the host lock %s: %s' % (path, exc))

    existing, exists = read_lock(path)
    aged = lock_age_time(path, existing) if exists else None
    result = dict(changed=False, token=None, holder=public(aged))

    if params['state'] == 'absent':
        if not exists:
            result['msg'] = 'the host lock %s is not held' % path
            module.exit_json(**result)
        if not params['break_lock'] and (not params['token'] or (existing or {}).get('token') != params['token']):
            if not params['token']:
                module.fail_json(msg='token is required to release the host lock %s (or break_lock)' % path, **result)
            module.warn('the host lock %s is held by %s, not by this run: left in place' % (
                path, _release.describe_lock(aged, now)))
            result['msg'] = 'the host lock is held by someone else; not removed'
            module.exit_json(**result)
        if params['break_lock'] and (existing or {}).get('token') != params['token']:
            module.warn('breaking the host lock %s held by %s' % (path, _release.describe_lock(aged, now)))
        result['changed'] = True
        result['msg'] = 'released the host lock %s' % path
        if not module.check_mode:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                module.fail_json(msg='cannot remove the host lock %s: %s' % (path, exc), **result)
        module.exit_json(**result)

    record = dict(owner=params['owner'], time=_release.format_time(now), token=params['token'] or secrets.token_hex(16))
    for key in ('controller', 'pid', 'process', 'operation', 'release'):
        if params[key] not in (None, '', 0):
            record[key] = params[key]

    if exists:
        decision = _release.lock_decision(existing, token=params['token'], break_lock=params['break_lock'],
                                          dead_holder=params['dead_holder'])
        if decision == 'reentrant':
            result.update(token=existing['token'], lock=public(existing),
                          msg='this run already holds the host lock %s' % path)
            module.exit_json(**result)
        if decision == 'held':
            result.update(held=True, msg=held_message(path, aged, now, params))
            module.fail_json(**result)
        if decision == 'dead':
            module.warn('taking over the host lock %s held by %s: the controller found its process gone' % (
                path, _release.describe_lock(aged, now)))
        else:
            module.warn('breaking the host lock %s held by %s (%s=true)' % (
                path, _release.describe_lock(aged, now), params['break_variable']))
        if not module.check_mode and not remove_if_same(path, existing):
            module.fail_json(msg='the host lock %s changed hands while it was being taken over; '
                             'another operation started: try again later' % path, **result)

    result.update(changed=True, lock=public(record))
    if module.check_mode:
        result['msg'] = 'would take the host lock %s' % path
        module.exit_json(**result)
    if not create_lock(module, path, record):
        existing, dummy = read_lock(path)
        result.update(holder=public(existing), changed=False, held=True)
        module.fail_json(msg='host lock %s is held by %s; another operation that changes the stack or the database '
                         'started just now' % (path, _release.describe_lock(existing, now)), **result)
    result.update(token=record['token'], msg='took the host lock %s' % path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
