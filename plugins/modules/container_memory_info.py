#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: container_memory_info
short_description: Memory use of a compose project's containers and of the host
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The runbook's P2 "High Memory Usage" diagnosis (C(docker stats --no-stream), C(free -h)) in one call - each
    running container of the compose O(project) (one-off C(docker compose run) containers left out, as in
    C(docker compose ps)) with its memory use against its limit (or the host's memory
    when it has none), whether it was OOM-killed and how often it restarted, and the host's memory from
    C(/proc/meminfo).
  - Returns RV(findings) and RV(over_threshold) (the compose services at or above O(container_warn_percent)).
  - Needs the C(docker) command-line client on the host.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
options:
  project:
    description:
      - Compose project name (the C(com.docker.compose.project) label of its containers).
    type: str
    required: true
  container_warn_percent:
    description:
      - Memory use, in percent of a container's limit, at or above which it is a finding.
    type: float
    default: 85
  host_warn_percent:
    description:
      - Host memory use in percent (total less available) at or above which it is a finding.
    type: float
    default: 85
"""

EXAMPLES = r"""
- name: Read memory use
  tgops.runbooks.container_memory_info:
    project: tgquiz
  register: memory

- name: Show the hungriest container
  ansible.builtin.debug:
    msg: "{{ memory.containers[0] }}"
"""

RETURN = r"""
containers:
  description: Running containers of the project, largest memory use first.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Container name.
      type: str
    service:
      description: Compose service.
      type: str
    usage_bytes:
      description: Memory in use.
      type: int
    limit_bytes:
      description: The container's memory limit, or the host's memory when it has none.
      type: int
    has_limit:
      description: Whether the container has its own memory limit.
      type: bool
    used_percent:
      description: RV(containers[].usage_bytes) in percent of RV(containers[].limit_bytes).
      type: float
    oom_killed:
      description: Whether the container's last exit was an OOM kill.
      type: bool
    restart_count:
      description: How often the engine restarted it.
      type: int
host:
  description: The host's memory.
  returned: success
  type: dict
  contains:
    total_bytes:
      description: Total memory.
      type: int
    available_bytes:
      description: Memory available to new work (C(MemAvailable)).
      type: int
    used_percent:
      description: Total less available, in percent of total.
      type: float
over_threshold:
  description: Compose services whose container is at or above O(container_warn_percent).
  returned: success
  type: list
  elements: str
  sample: [backend-api]
passed:
  description: Whether nothing is wrong (RV(findings) is empty); the collection's verdict key.
  returned: success
  type: bool
  sample: true
findings:
  description: What is wrong, one sentence each.
  returned: success
  type: list
  elements: str
"""

import json
import math

from ansible_collections.tgops.runbooks.plugins.module_utils._container_memory import (
    container_rows,
    memory_findings,
    over_threshold,
    parse_meminfo,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._compose import ps_argv, ps_ids
from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module


def run(module, argv, what):
    rc, out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg='%s failed (rc %d): %s' % (what, rc, (err or out).strip()[:500]))
    return out


def main():
    module = new_module(
        argument_spec=dict(
            project=dict(type='str', required=True),
            container_warn_percent=dict(type='float', default=85),
            host_warn_percent=dict(type='float', default=85),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for name in ('container_warn_percent', 'host_warn_percent'):
        if not (math.isfinite(params[name]) and params[name] >= 0):
            module.fail_json(msg='%s must be a finite number, 0 or more, got %s' % (name, params[name]))
    try:
        with open('/proc/meminfo') as handle:
            host = parse_meminfo(handle.read())
    except (IOError, OSError, ValueError) as exc:
        module.fail_json(msg='cannot read the host memory from /proc/meminfo: %s' % exc)

    docker = module.get_bin_path('docker', required=True)
    ids = ps_ids(run(module, ps_argv(docker, params['project']), 'docker ps'))
    containers = []
    if ids:
        stats_out = run(module, [docker, 'stats', '--no-stream', '--format', '{{json .}}'] + ids, 'docker stats')
        inspect_out = run(module, [docker, 'inspect'] + ids, 'docker inspect')
        try:
            stats = [json.loads(line) for line in stats_out.splitlines() if line.strip()]
            containers = container_rows(stats, json.loads(inspect_out), host['total_bytes'])
        except ValueError as exc:
            module.fail_json(msg='cannot parse the docker output: %s' % exc)
    findings = memory_findings(containers, host, params['container_warn_percent'], params['host_warn_percent'])
    if not ids:
        findings.append('no running container in compose project %s' % params['project'])
    module.exit_json(changed=False, containers=containers, host=host, passed=not findings, findings=findings,
                     over_threshold=over_threshold(containers, params['container_warn_percent']))


if __name__ == '__main__':
    main()
