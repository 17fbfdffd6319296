#!/usr/bin/env python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Memory and time bounds of tgops.runbooks.backup_verify on hostile backups (issue 7).

Writes every crafted backup of tests/unit/plugins/hostile/test_backup_hostile.py (CASES) into a temporary
directory, some at full size here (1 GiB of zeros behind a bogus chunk length, as in the issue; a 30 GiB
sparse file with a wrong magic), then runs the backup_verify module on each, as Ansible runs it (a
separate Python process reading its arguments from a JSON file), and measures

* peak RSS of that process (``VmHWM`` of /proc/self/status, read by the process as it exits: ``ru_maxrss``
  of a child would also count this benchmark's own memory, which Linux carries over through fork and exec),
  target < 150 MB;
* wall time, target: within the case's deadline + 1 s (the process is killed at deadline + 5 s). A gzip case
  that must read every byte it inflates (a -Z0 archive's chunk of zeros is valid data until the stream
  ends) has a deadline of at least 1.5 times what ``gzip -t`` takes on the same file, measured here.

    .venv/bin/python bench/hostile_backup_bench.py [--workdir DIR] [--only NAME ...]

Prints a Markdown table; exits 1 when a case misses a target.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
COLLECTIONS = os.path.join(ROOT, '.collections')
sys.path.insert(0, COLLECTIONS)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit', 'plugins', 'modules'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit', 'plugins', 'hostile'))

import test_backup_hostile as hostile  # noqa: E402  pylint: disable=wrong-import-position

MODULE = os.path.join(ROOT, 'plugins', 'modules', 'backup_verify.py')
RSS_LIMIT_MB = 150.0
# cases whose verdict needs every byte inflated: their deadline is at least 1.5 x `gzip -t` on the same file
MUST_INFLATE = ('bogus_chunk_gzip_z0', 'tiny_gzip_members')
# runs the module file as Ansible does (as __main__, arguments from a file) and reports the process's peak RSS
_WRAPPER = '''
import atexit, runpy, sys
def hwm():
    with open('/proc/self/status') as f:
        sys.stderr.write(''.join(l for l in f if l.startswith('VmHWM:')))
atexit.register(hwm)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''
GIB = 1024 * 1024 * 1024


def _full_size_cases():
    """CASES, with the sizes of the issue where the unit tests use smaller ones."""
    cases = dict(hostile.CASES)
    cases['bogus_chunk_gzip'] = (lambda d: hostile.case_bogus_chunk_gzip(d, zeros=GIB), 2, {})
    cases['bogus_chunk_gzip_z0'] = (lambda d: hostile.case_bogus_chunk_gzip_z0(d, zeros=GIB), 10, {})

    def wrong_magic_30g(directory):
        path = hostile._write(directory, 'huge30.dump', b'NOTADUMP' + b'\x01' * 4096)
        with open(path, 'r+b') as f:
            f.truncate(30 * GIB)
        return path
    cases['wrong_magic_30g'] = (wrong_magic_30g, 1, {'expected_sha256': '0' * 64})
    cases['valid_custom (baseline)'] = (lambda d: hostile.CUSTOM, 1, {})
    cases['valid_plain_gz (baseline)'] = (lambda d: hostile.PLAIN_GZ, 1, {})
    return cases


def run_module(path, options, deadline, workdir):
    """(result dict or None, seconds, peak RSS MB) of one module run in its own process."""
    args = dict(options, path=path, fail_on_problem=False)
    args_file = os.path.join(workdir, 'args.json')
    with open(args_file, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    out_file = os.path.join(workdir, 'out.json')
    err_file = os.path.join(workdir, 'err.txt')
    started = time.time()
    with open(out_file, 'wb') as out, open(err_file, 'wb') as err:
        proc = subprocess.Popen([sys.executable, '-c', _WRAPPER, MODULE, args_file], stdout=out, stderr=err, env=env)
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.time() - started > deadline + 5:
            os.kill(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            killed = True
            break
        time.sleep(0.005)
    seconds = time.time() - started
    proc.returncode = status
    rss_mb = usage.ru_maxrss / 1024.0  # an upper bound; the process's own figure replaces it below
    with open(err_file, 'rb') as f:
        for line in f.read().decode('utf-8', 'replace').splitlines():
            if line.startswith('VmHWM:'):
                rss_mb = int(line.split()[1]) / 1024.0
    if killed:
        return None, seconds, rss_mb
    with open(out_file, 'rb') as f:
        raw = f.read()
    try:
        return json.loads(raw), seconds, rss_mb
    except ValueError:
        return {'msg': 'no JSON result: %r' % raw[-300:]}, seconds, rss_mb


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workdir', help='where the crafted files go (default: a temporary directory)')
    parser.add_argument('--only', nargs='*', help='case names')
    opts = parser.parse_args()
    workdir = opts.workdir or tempfile.mkdtemp(prefix='tgops-hostile-bench-')
    os.makedirs(workdir, exist_ok=True)
    cases = _full_size_cases()
    names = opts.only or sorted(cases)
    rows = []
    ok = True
    try:
        # a bare interpreter with the module's imports, for scale
        base, base_s, base_rss = run_module('/nonexistent', {}, 5, workdir)
        for name in names:
            builder, deadline, options = cases[name]
            path = builder(workdir)
            size = os.path.getsize(path)
            if name in MUST_INFLATE:
                started = time.time()
                subprocess.call(['gzip', '-t', path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                deadline = max(deadline, int(1.5 * (time.time() - started) + 0.999))
            result, seconds, rss = run_module(path, options, deadline, workdir)
            within = result is not None and seconds <= deadline + 1 and rss < RSS_LIMIT_MB
            clean = result is not None and 'exception' not in result and bool(result.get('msg'))
            ok = ok and within and clean
            verdict = 'killed' if result is None else (
                'passed' if result.get('passed') else 'failed: %s' % ', '.join(result.get('failed_checks') or ['-']))
            rows.append((name, size, deadline, seconds, rss, verdict, 'yes' if within and clean else 'NO'))
            if path.startswith(workdir):
                os.unlink(path)
    finally:
        if not opts.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print('| case | file size | deadline s | wall s | peak RSS MB | verdict | within bounds |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for name, size, deadline, seconds, rss, verdict, within in rows:
        print('| %s | %s | %d | %.2f | %.1f | %s | %s |' % (name, _size(size), deadline, seconds, rss, verdict, within))
    print()
    print('module process on a missing file (interpreter + imports): %.2f s, %.1f MB peak RSS' % (base_s, base_rss))
    print('targets: peak RSS < %d MB, wall time <= deadline + 1 s; %s' % (RSS_LIMIT_MB, 'all met' if ok else 'MISSED'))
    return 0 if ok else 1


def _size(size):
    for unit, factor in (('GiB', GIB), ('MiB', 1 << 20), ('KiB', 1 << 10)):
        if size >= factor:
            return '%.1f %s' % (size / float(factor), unit)
    return '%d B' % size


if __name__ == '__main__':
    sys.exit(main())
