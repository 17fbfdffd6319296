#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: redis_memory_info
short_description: Read a compose project's Redis memory against its maxmemory, and judge it
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The toogoodtogo runbook's check for Redis memory exhaustion (C(redis-cli info memory)), inside the Redis
    service's container of a compose project - C(INFO memory), C(INFO stats) and C(INFO keyspace) in one
    C(redis-cli) call each.
  - Judges it - at or above O(max_percent) of C(maxmemory), a C(noeviction) Redis answers C(OOM command not
    allowed) to every write (rate limiting fails, health degrades), and an evicting one throws keys away.
    A Redis without C(maxmemory) can grow until the host runs out of memory - a problem too when
    O(require_maxmemory=true).
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
  - tgops.runbooks._redis
options:
  max_percent:
    description: C(used_memory) at or above this percentage of C(maxmemory) is a problem.
    type: float
    default: 90
  require_maxmemory:
    description: Whether a Redis without C(maxmemory) (no limit) is a problem.
    type: bool
    default: false
  fail_on_problem:
    description: Fail the task when RV(passed) is V(false); the message lists the problems.
    type: bool
    default: false
seealso:
  - module: tgops.runbooks.redis_keys
  - name: Redis INFO
    description: The fields this module reads.
    link: https://redis.io/docs/latest/commands/info/
"""

EXAMPLES = r"""
- name: Read the toogoodtogo Redis memory
  tgops.runbooks.redis_memory_info:
    project: toogoodtogo
  register: redis_memory

- name: Fail when it is nearly full
  tgops.runbooks.redis_memory_info:
    project: toogoodtogo
    max_percent: 80
    fail_on_problem: true
"""

RETURN = r"""
container:
  description: The Redis container read.
  returned: always
  type: str
used_memory:
  description: Bytes Redis uses (C(used_memory)).
  returned: always
  type: int
  sample: 66846720
maxmemory:
  description: The configured limit in bytes; V(0) means none.
  returned: always
  type: int
  sample: 67108864
maxmemory_policy:
  description: What Redis does at the limit (C(noeviction) refuses writes; the C(*-lru), C(*-lfu), C(*-random) and
    C(volatile-ttl) policies evict keys).
  returned: always
  type: str
  sample: noeviction
percent:
  description: RV(used_memory) as a percentage of RV(maxmemory), one decimal; null without a limit.
  returned: always
  type: float
  sample: 99.6
evicted_keys:
  description: Keys evicted since Redis started (C(INFO stats)).
  returned: always
  type: int
keys:
  description: Keys per database, from C(INFO keyspace) (C(db0) to its count).
  returned: always
  type: dict
  sample: {db0: 1542}
passed:
  description: V(false) when a problem was found (the collection's verdict key).
  returned: always
  type: bool
findings:
  description: One sentence per problem; empty when RV(passed).
  returned: always
  type: list
  elements: str
  sample: ["Redis uses 63.7 MiB of its 64.0 MiB maxmemory (99.6%) with policy noeviction: writes fail with OOM"]
"""

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._compose import ps_ids
from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._redis_keys import (
    memory_problems,
    parse_info,
    redis_argument_spec,
    service_container_argv,
)


def main():
    argument_spec = redis_argument_spec()
    argument_spec.update(
        max_percent=dict(type='float', default=90),
        require_maxmemory=dict(type='bool', default=False),
        fail_on_problem=dict(type='bool', default=False),
    )
    module = new_module(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not 0 < p['max_percent'] <= 100:  # also refuses NaN
        module.fail_json(msg='max_percent must be above 0 and at most 100, got %s' % p['max_percent'])

    def run(argv, what):
        rc, out, err = module.run_command(argv)
        if rc != 0:
            module.fail_json(msg='%s failed (rc=%d): %s' % (what, rc, to_text(err or out).strip()[:500]))
        return to_text(out, errors='surrogate_or_replace')

    ids = ps_ids(run(service_container_argv(p), 'docker ps'))
    if not ids:
        module.fail_json(msg='no running container for service %s of project %s: Redis is down (start it first)'
                         % (p['service'], p['project']))
    container = ids[0]
    info = {}
    for section in ('memory', 'stats', 'keyspace'):
        text = run([p['docker_cli'], 'exec', container, 'redis-cli', 'INFO', section], 'redis-cli INFO %s' % section)
        if section != 'keyspace' and ':' not in text:
            # redis-cli prints server errors (NOAUTH, LOADING) on stdout with rc 0.
            module.fail_json(msg='redis-cli INFO %s answered no fields: %s' % (section, text.strip()[:300]))
        info.update(parse_info(text))
    try:
        facts = memory_problems(info, p['max_percent'], p['require_maxmemory'])
    except ValueError as exc:
        module.fail_json(msg='unexpected INFO answer: %s' % exc)
    result = dict(changed=False, container=container, **facts)
    if result['findings'] and p['fail_on_problem']:
        module.fail_json(msg='; '.join(result['findings']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
