#!/usr/bin/env python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmarks of playbooks/p0_outage.yml against the lab (issue 6's targets).

    .venv/bin/python bench/p0_bench.py healthy [--repeat 5]   P0 on a healthy lab vs the literal playbook
    .venv/bin/python bench/p0_bench.py drill [--repeat 3]     kill both apps, P0 until verified (public URL too)
    .venv/bin/python bench/p0_bench.py floor [--repeat 3]     kill both apps, docker start, both public URLs 200
    .venv/bin/python bench/p0_bench.py scale                  healthy P0 with 1, 4 and 16 inventory hosts, and
                                                               40 set_fact tasks with 1 and 16 (Ansible's own cost)

Targets: the drill recovered and verified in at most 8 s; a healthy P0 at most one third of the literal
playbook's time; 16 hosts in at most twice the time of 1. Every run is bounded (timeouts) and ends by
itself; traffic goes to 127.0.0.1 only. Results: Markdown on stdout, JSON in bench/results/p0.json.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PLAYBOOK = os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook')
CA = os.path.join(ROOT, '.lab', 'ca', 'ca.crt')
PUBLIC = ['https://127.0.0.1:18443/health', 'https://127.0.0.1:28443/health']
APPS = [('tgquiz', 'backend-api'), ('toogoodtogo', 'bot')]


def env(**extra):
    e = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
             ANSIBLE_VAULT_PASSWORD_FILE=os.environ.get('ANSIBLE_VAULT_PASSWORD_FILE',
                                                        os.path.join(ROOT, '.lab', 'vault-pass')),
             TGOPS_REPORT_DIR=tempfile.mkdtemp(prefix='p0bench-'))
    e.update(extra)
    return e


def timed(argv, **kwargs):
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False, **kwargs)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit('%s failed (%d):\n%s%s' % (' '.join(argv), proc.returncode, proc.stdout[-3000:], proc.stderr[-2000:]))
    return elapsed


def app_containers():
    ids = []
    for project, service in APPS:
        out = subprocess.run(['docker', 'ps', '-q', '--filter', 'label=com.docker.compose.project=%s' % project,
                              '--filter', 'label=com.docker.compose.service=%s' % service],
                             capture_output=True, text=True, check=True).stdout.split()
        if len(out) != 1:
            sys.exit('expected one running %s %s container, found %r' % (project, service, out))
        ids.extend(out)
    return ids


def public_ok():
    import requests  # pylint: disable=import-outside-toplevel
    for url in PUBLIC:
        try:
            if requests.get(url, verify=CA, timeout=2).status_code != 200:
                return False
        except requests.RequestException:
            return False
    return True


def wait_public(limit=120):
    deadline = time.monotonic() + limit
    while not public_ok():
        if time.monotonic() > deadline:
            sys.exit('the public URLs did not answer 200 within %d s' % limit)
        time.sleep(0.1)


def median(values):
    return round(statistics.median(values), 2)


def bench_healthy(repeat):
    ours, literal, diagnose = [], [], []
    for _run in range(repeat):
        ours.append(timed([PLAYBOOK, 'playbooks/p0_outage.yml'], env=env()))
        literal.append(timed([PLAYBOOK, 'bench/playbooks/p0_literal.yml'], env=env()))
        # The literal playbook restarted the stacks: P0 is timed on a settled lab again.
        wait_public()
        diagnose.append(timed([PLAYBOOK, 'bench/playbooks/p0_literal.yml', '-e', 'literal_diagnose_only=true'],
                              env=env()))
    return {'p0_outage_s': ours, 'literal_s': literal, 'literal_diagnose_only_s': diagnose,
            'ratio': round(median(ours) / median(literal), 2),
            'ratio_to_diagnose_only': round(median(ours) / median(diagnose), 2)}


def bench_drill(repeat):
    times = []
    for _run in range(repeat):
        subprocess.run(['docker', 'kill'] + app_containers(), check=True, capture_output=True)
        times.append(timed([PLAYBOOK, 'playbooks/p0_outage.yml'], env=env()))
        if not public_ok():
            sys.exit('P0 returned but a public URL does not answer 200')
    return {'drill_s': times}


def bench_floor(repeat):
    times = []
    for _run in range(repeat):
        ids = app_containers()
        subprocess.run(['docker', 'kill'] + ids, check=True, capture_output=True)
        start = time.monotonic()
        subprocess.run(['docker', 'start'] + ids, check=True, capture_output=True)
        wait_public()
        times.append(time.monotonic() - start)
    return {'floor_s': times}


def scaled_inventory(per_platform):
    """Copies of the two lab hosts under other names (same SSH endpoints, read-only use)."""
    with open(os.path.join(ROOT, 'inventories', 'lab', 'hosts.yml')) as handle:
        hosts = yaml.safe_load(handle)  # JSON under a comment line: YAML reads both
    for group in hosts['all']['children'].values():
        (name, host_vars), = group['hosts'].items()
        group['hosts'] = dict(('%s-%02d' % (name, i), host_vars) for i in range(per_platform))
    directory = tempfile.mkdtemp(prefix='p0scale-')
    path = os.path.join(directory, 'hosts.yml')
    with open(path, 'w') as handle:
        json.dump(hosts, handle)
    # The group and vault variables come with the inventory directory.
    os.symlink(os.path.join(ROOT, 'inventories', 'lab', 'group_vars'), os.path.join(directory, 'group_vars'))
    return path


def noop_playbook(tasks=40):
    """Ansible's own cost per task and host: a playbook of ``tasks`` set_fact tasks (no module, no connection)."""
    path = os.path.join(tempfile.mkdtemp(prefix='p0noop-'), 'noop.yml')
    with open(path, 'w') as handle:
        handle.write('- hosts: all\n  gather_facts: false\n  tasks:\n')
        for i in range(tasks):
            handle.write('    - name: step %d\n      ansible.builtin.set_fact:\n        step_%d: "{{ inventory_hostname }}"\n'
                         % (i, i))
    return path


def bench_scale(repeat):
    """Healthy P0 with 1, 4 and 16 hosts; beside it, the same host counts through a playbook of 40 set_fact
    tasks, which measures what Ansible itself costs per task and host on this machine."""
    out = {}
    noop = noop_playbook()
    inventory16 = scaled_inventory(8)
    for total in (1, 4, 16):
        if total == 1:
            args, extra = ['-l', 'toogoodtogo-lab-00'], {}
            inventory = inventory16
        else:
            args, extra = [], {'ANSIBLE_FORKS': str(total)}
            inventory = scaled_inventory(total // 2)
        out['%d_hosts_s' % total] = [timed([PLAYBOOK, '-i', inventory, 'playbooks/p0_outage.yml'] + args,
                                           env=env(**extra)) for _run in range(repeat)]
        if total in (1, 16):
            out['noop40_%d_hosts_s' % total] = [timed([PLAYBOOK, '-i', inventory, noop] + args, env=env(**extra))
                                                for _run in range(repeat)]
    out['ratio_16_to_1'] = round(median(out['16_hosts_s']) / median(out['1_hosts_s']), 2)
    out['noop40_ratio_16_to_1'] = round(median(out['noop40_16_hosts_s']) / median(out['noop40_1_hosts_s']), 2)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('mode', choices=['healthy', 'drill', 'floor', 'scale'])
    parser.add_argument('--repeat', type=int, default=3)
    opts = parser.parse_args()
    result = {'healthy': bench_healthy, 'drill': bench_drill, 'floor': bench_floor, 'scale': bench_scale}[opts.mode](
        opts.repeat)
    with open('/proc/loadavg') as handle:
        result['loadavg_after'] = handle.read().split()[:3]
    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'p0-%s.json' % opts.mode), 'w') as handle:
        json.dump(result, handle, indent=2)
    print('| measure | runs (s) | median (s) |\n| --- | --- | --- |')
    for key, value in result.items():
        if isinstance(value, list) and key != 'loadavg_after':
            print('| %s | %s | %s |' % (key, ', '.join('%.2f' % v for v in value), median(value)))
        else:
            print('| %s | %s | |' % (key, value))


if __name__ == '__main__':
    main()
