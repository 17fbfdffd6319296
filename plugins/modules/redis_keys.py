#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: redis_keys
short_description: Delete the Redis keys matching a pattern with SCAN (never KEYS), or FLUSHALL
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The runbook's cache clearing (C(redis-cli KEYS "quiz:*" | xargs ... DEL)) without C(KEYS), which blocks
    a production Redis while it walks the whole key space. Keys are listed with C(redis-cli --scan), which
    iterates with C(SCAN) in small steps, inside the Redis service's container of a compose project.
  - Every listed key is matched again against O(pattern) with Redis's glob rules before it is deleted, and
    keys are deleted with C(UNLINK) in batches of O(batch_size), sent to C(redis-cli) on standard input as
    quoted arguments (keys with spaces, quotes or binary bytes are deleted exactly).
  - With O(flushall=true), every key of every database is removed with C(FLUSHALL); O(pattern) is then not
    used. Asking for that is the caller's confirmation; the playbook asks for a separate one.
  - A pattern that is empty or matches every key (C(*)) is refused; clearing everything is O(flushall).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._redis
attributes:
  check_mode:
    support: full
    details: Lists the matching keys (or counts all keys for O(flushall)) and deletes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run finds no matching key and reports no change (keys written again meanwhile are deleted again).
options:
  pattern:
    description:
      - Redis glob pattern of the keys to delete, for example V(quiz:*). Required unless O(flushall=true) or
        O(flushdb=true).
    type: str
  db:
    description: The Redis database number (C(redis-cli -n)).
    type: int
    default: 0
  flushall:
    description: Remove every key of every database with C(FLUSHALL).
    type: bool
    default: false
  flushdb:
    description:
      - Remove every key of database O(db) with C(FLUSHDB) (the toogoodtogo runbook's mitigation of Redis memory
        exhaustion); other databases keep theirs.
    type: bool
    default: false
    version_added: 0.1.0
  batch_size:
    description: Keys per C(UNLINK) command.
    type: int
    default: 500
notes:
  - Redis without a password (the runbooks' compose Redis listens on the project network only). A Redis with
    C(requirepass) is not supported yet, because C(redis-cli -a) would put the password on a command line.
  - A key containing a newline cannot be told apart in C(--scan) output; its pieces are reported in
    RV(stray_lines) and nothing is deleted for them unless a piece is itself a matching key.
seealso:
  - module: tgops.runbooks.platform_info
"""

EXAMPLES = r"""
- name: Clear the quiz cache (the runbook's KEYS "quiz:*" | xargs DEL, with SCAN)
  tgops.runbooks.redis_keys:
    project: tgquiz
    pattern: "quiz:*"
  register: cleared

- name: Say how many keys went
  ansible.builtin.debug:
    msg: "{{ cleared.deleted }} of {{ cleared.matched }} keys deleted"

- name: Clear everything (only after its own confirmation)
  tgops.runbooks.redis_keys:
    project: tgquiz
    flushall: true
  when: redis_clear_flushall_confirm | bool
"""

RETURN = r"""
container:
  description: The Redis container.
  returned: always
  type: str
  sample: tgquiz-redis-1
pattern:
  description: The pattern, or an empty string with O(flushall) or O(flushdb).
  returned: always
  type: str
matched:
  description: How many distinct keys matched (before deleting).
  returned: always
  type: int
  sample: 42
deleted:
  description: How many keys were deleted (C(UNLINK) replies); 0 in check mode.
  returned: always
  type: int
keys_sample:
  description: Up to 20 of the matched keys.
  returned: always
  type: list
  elements: str
stray_lines:
  description: Lines of the C(--scan) output that do not match the pattern (pieces of keys with newlines).
  returned: always
  type: int
keys_before:
  description: With O(flushall), how many keys all databases held before; with O(flushdb), how many database O(db)
    held (from C(INFO keyspace)).
  returned: when O(flushall=true) or O(flushdb=true)
  type: int
flushed:
  description: Whether C(FLUSHALL) or C(FLUSHDB) ran.
  returned: always
  type: bool
"""


from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils import _redis_keys
from ansible_collections.tgops.runbooks.plugins.module_utils._compose import ps_ids
from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module


def keyspace_keys(info, db=None):
    """Keys of every database (or of database ``db``) from ``INFO keyspace`` (``db0:keys=3,expires=0,...``)."""
    total = 0
    for line in info.splitlines():
        line = line.strip()
        if line.startswith('db') and ':' in line and (db is None or line.split(':', 1)[0] == 'db%d' % db):
            for field in line.split(':', 1)[1].split(','):
                name, _sep, value = field.partition('=')
                if name == 'keys' and value.isdigit():
                    total += int(value)
    return total


class RedisKeys(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.docker = module.params['docker_cli']

    def run(self, argv, data=None, what='command'):
        rc, out, err = self.module.run_command(argv, data=data, binary_data=True)
        if rc != 0:
            self.module.fail_json(msg='%s failed (rc=%d): %s' % (what, rc, to_text(err or out).strip()[:500]))
        return to_text(out, errors='surrogate_or_replace')

    def container(self):
        ids = ps_ids(self.run(_redis_keys.service_container_argv(self.params), what='docker ps'))
        if not ids:
            self.module.fail_json(msg='no running container for service %s of project %s'
                                  % (self.params['service'], self.params['project']))
        return ids[0]

    def cli(self, container, args, data=None, what='redis-cli'):
        argv = [self.docker, 'exec']
        if data is not None:
            argv.append('-i')
        argv += [container, 'redis-cli', '-n', str(self.params['db'])] + args
        return self.run(argv, data=data, what=what)

    def flushall(self, container, result):
        before = keyspace_keys(self.cli(container, ['INFO', 'keyspace'], what='INFO keyspace'))
        result['keys_before'] = before
        result['changed'] = before > 0
        if not self.module.check_mode:
            reply = self.cli(container, ['FLUSHALL'], what='FLUSHALL').strip()
            if reply != 'OK':
                self.module.fail_json(msg='FLUSHALL answered %r' % reply[:200], **result)
            result['flushed'] = True
            result['changed'] = True
        return result

    def flushdb(self, container, result):
        before = keyspace_keys(self.cli(container, ['INFO', 'keyspace'], what='INFO keyspace'), self.params['db'])
        result['keys_before'] = before
        result['changed'] = before > 0
        if before and not self.module.check_mode:
            reply = self.cli(container, ['FLUSHDB'], what='FLUSHDB').strip()
            if reply != 'OK':
                self.module.fail_json(msg='FLUSHDB answered %r' % reply[:200], **result)
            result['flushed'] = True
        return result

    def clear(self, container, result):
        pattern = self.params['pattern']
        # no --count: redis-cli before 7.2 (Debian 12 ships 7.0) does not know it
        out = self.cli(container, ['--scan', '--pattern', pattern], what='redis-cli --scan')
        keys, stray = _redis_keys.scanned_keys(out, pattern)
        result.update(matched=len(keys), keys_sample=keys[:20], stray_lines=len(stray), changed=bool(keys))
        if keys and not self.module.check_mode:
            script = _redis_keys.delete_script(keys, self.params['batch_size'])
            replies = self.cli(container, [], data=script.encode('utf-8', 'surrogateescape'), what='UNLINK')
            deleted = _redis_keys.deleted_count(replies)
            if deleted is None:
                self.module.fail_json(msg='UNLINK answered something else than a count: %s' % replies.strip()[:300],
                                      **result)
            result['deleted'] = deleted
        return result


def main():
    argument_spec = _redis_keys.redis_argument_spec()
    argument_spec.update(
        pattern=dict(type='str'),
        db=dict(type='int', default=0),
        flushall=dict(type='bool', default=False),
        flushdb=dict(type='bool', default=False),
        batch_size=dict(type='int', default=500),
    )
    module = new_module(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not 0 <= params['db'] <= 65535:
        module.fail_json(msg='db must be between 0 and 65535, got %d' % params['db'])
    if not 1 <= params['batch_size'] <= 100000:
        module.fail_json(msg='batch_size must be between 1 and 100000, got %d' % params['batch_size'])
    if params['flushall'] and params['pattern'] is not None:
        module.fail_json(msg='pattern and flushall are mutually exclusive: flushall removes every key')
    if params['flushdb'] and (params['flushall'] or params['pattern'] is not None):
        module.fail_json(msg='flushdb is mutually exclusive with pattern and flushall: it removes every key of db')
    if not (params['flushall'] or params['flushdb']):
        if params['pattern'] is None:
            module.fail_json(msg='pattern is required unless flushall=true or flushdb=true')
        reason = _redis_keys.validate_pattern(params['pattern'])
        if reason:
            module.fail_json(msg=reason)

    worker = RedisKeys(module)
    container = worker.container()
    result = dict(changed=False, container=container,
                  pattern='' if params['flushall'] or params['flushdb'] else params['pattern'],
                  matched=0, deleted=0, keys_sample=[], stray_lines=0, flushed=False)
    if params['flushall']:
        worker.flushall(container, result)
    elif params['flushdb']:
        worker.flushdb(container, result)
    else:
        worker.clear(container, result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
