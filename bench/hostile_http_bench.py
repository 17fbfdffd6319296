# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Memory and time bounds of the API modules against a hostile HTTP server (issue 7).

Every case runs the real module in its own Python process (module arguments handed over exactly as AnsiballZ
does, through ``basic._ANSIBLE_ARGS``), against ``tests/unit/plugins/hostile/hostile_server.py`` on 127.0.0.1
serving full-size hostile answers: a gzip body inflating to 1 GiB, 500 MB bodies, a body trickled at one byte
a second, hangs. For each case it records the child's peak RSS (``VmHWM`` of its own process image) and the
module's own run time against its deadline.

Targets: peak RSS under 150 MB, and the deadline respected within 1 s, for every case.

    .venv/bin/python bench/hostile_http_bench.py            # all cases, table on stdout
    .venv/bin/python bench/hostile_http_bench.py --quick    # a few cases per class
    .venv/bin/python bench/hostile_http_bench.py --json bench/results/hostile_http.json

Exit status 1 when any case misses a target.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'unit', 'plugins', 'hostile'))

from hostile_server import HostileServer  # noqa: E402  pylint: disable=wrong-import-position

RSS_LIMIT_MB = 150
DEADLINE_SLACK = 1.0
TIMEOUT = 3

TOKEN = '7770001234:AAG-benchSecretPartOfTheToken_01234'
ADDRESS = 'EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N'

RUNNER = r'''
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from ansible.module_utils.testing import patch_module_args
import importlib
module = importlib.import_module('ansible_collections.tgops.runbooks.plugins.modules.' + sys.argv[2])
args = json.loads(sys.argv[3])
started = time.monotonic()
try:
    with patch_module_args(args):
        module.main()
except SystemExit:
    pass
finally:
    seconds = time.monotonic() - started
    # VmHWM is the peak RSS of this process image; the rusage of a forked child would also count the
    # parent's memory from before exec().
    with open('/proc/self/status') as status:
        hwm = [int(line.split()[1]) for line in status if line.startswith('VmHWM:')]
    with open(sys.argv[4], 'w') as f:
        json.dump({'seconds': seconds, 'vmhwm_kb': hwm[0] if hwm else None}, f)
'''

HTTP_CASES = ['ok', 'gzip_bomb', 'gzip_bomb_chunked', 'gzip_bomb_error', 'deflate_bomb', 'huge_body', 'huge_chunked',
              'huge_error', 'big_error_with_token', 'trickle_body', 'trickle_headers', 'trickle_endless', 'hang',
              'hang_after_headers', 'short_body', 'echo_token', 'retry_after_inf', 'retry_after_nan',
              'retry_after_huge', 'nan_json', 'huge_number', 'deep_json', 'surrogates']
QUICK_CASES = ['ok', 'gzip_bomb', 'huge_body', 'huge_error', 'trickle_body', 'trickle_headers', 'hang',
               'retry_after_inf', 'deep_json']
API_MODULES = ['telegram_bot_info', 'telegram_webhook', 'ton_wallet_info', 'pinata_auth_info', 'health_check']


def module_args(name, base, timeout=TIMEOUT):
    if name == 'telegram_bot_info':
        return dict(bot_token=TOKEN, api_url=base, timeout=timeout)
    if name == 'telegram_webhook':
        return dict(bot_token=TOKEN, api_url=base, timeout=timeout, url='https://bot.example.org/hook')
    if name == 'ton_wallet_info':
        return dict(address=ADDRESS, api_url=base, timeout=timeout)
    if name == 'pinata_auth_info':
        return dict(jwt='eyJhbGciOiJIUzI1NiJ9.benchJwtSecret', api_url=base, timeout=timeout)
    return dict(url=base + '/health', timeout=0, request_timeout=timeout)


def cases(server, quick):
    """(label, module, args, deadline seconds)."""
    out = []
    for case in (QUICK_CASES if quick else HTTP_CASES):
        for name in API_MODULES:
            out.append(('%s/%s' % (name, case), name, module_args(name, server.case_url(case)), TIMEOUT))
    # health_check polling: the overall timeout, not request_timeout, bounds the run.
    for case in ('trickle_body', 'hang'):
        out.append(('health_check/%s polling (timeout=%d, request_timeout=30)' % (case, TIMEOUT), 'health_check',
                    dict(url=server.case_url(case) + '/health', timeout=TIMEOUT, request_timeout=30, interval=1),
                    TIMEOUT))
    tmp = tempfile.mkdtemp(prefix='hostile-bench-')
    fifo = os.path.join(tmp, 'cert.pem')
    os.mkfifo(fifo)
    for label, path in (('/dev/zero', '/dev/zero'), ('a FIFO', fifo), ('a directory', tmp)):
        args = module_args('telegram_webhook', server.case_url('ok'))
        args['certificate'] = path
        out.append(('telegram_webhook/certificate is %s' % label, 'telegram_webhook', args, TIMEOUT))
    for value in ('1e999999', '1e999999999', 'nan', '\u0661\u0662'):
        args = module_args('ton_wallet_info', server.case_url('ok'))
        args['min_balance_ton'] = value
        out.append(('ton_wallet_info/min_balance_ton=%s' % value, 'ton_wallet_info', args, TIMEOUT))
    for value in ('nan', 'inf', '1e999999999'):
        args = module_args('telegram_bot_info', server.case_url('ok'))
        args['timeout'] = value
        out.append(('telegram_bot_info/timeout=%s' % value, 'telegram_bot_info', args, TIMEOUT))
        args = module_args('health_check', server.case_url('ok'))
        args['timeout'] = value
        out.append(('health_check/timeout=%s' % value, 'health_check', args, TIMEOUT))
    return out


def run_case(name, args):
    fd, timing = tempfile.mkstemp(prefix='hostile-bench-time-')
    os.close(fd)
    started = time.monotonic()
    argv = [sys.executable, '-c', RUNNER, os.path.join(ROOT, '.collections'), name, json.dumps(args), timing]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b''
    err = b''
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    wall = time.monotonic() - started
    try:
        with open(timing) as f:
            own = json.load(f)
    except ValueError:
        own = {}
    os.unlink(timing)
    try:
        result = json.loads(out.decode('utf-8', 'replace').strip().splitlines()[-1])
    except (ValueError, IndexError):
        result = {'failed': True, 'msg': 'NO JSON RESULT: ' + err.decode('utf-8', 'replace')[-500:]}
    return dict(module_seconds=own.get('seconds'), wall_seconds=round(wall, 3), vmhwm_kb=own.get('vmhwm_kb'),
                result=result, returncode=proc.returncode)


def verdict(result):
    if result.get('failed'):
        return 'failed: ' + ' '.join(str(result.get('msg', '')).split())[:90]
    if 'passed' in result:
        return 'passed=%s' % result['passed']
    return 'ok'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--quick', action='store_true', help='a few cases per class')
    parser.add_argument('--json', help='also write the measurements to this file')
    parser.add_argument('--only', help='run only the cases whose label contains this text')
    opts = parser.parse_args()

    server = HostileServer(bomb_mib=1024, huge_bytes=500 * 1000 * 1000, trickle_interval=1.0)
    rows = []
    worst_rss = worst_over = 0.0
    misses = []
    try:
        for label, name, args, deadline in cases(server, opts.quick):
            if opts.only and opts.only not in label:
                continue
            run = run_case(name, args)
            rss_mb = run['vmhwm_kb'] / 1024.0 if run['vmhwm_kb'] else float('nan')
            seconds = run['module_seconds'] if run['module_seconds'] is not None else run['wall_seconds']
            over = seconds - deadline
            ok = rss_mb < RSS_LIMIT_MB and over <= DEADLINE_SLACK and 'NO JSON RESULT' not in str(run['result'])
            if not ok:
                misses.append(label)
            worst_rss = max(worst_rss, rss_mb)
            worst_over = max(worst_over, over)
            rows.append(dict(case=label, peak_rss_mb=round(rss_mb, 1), module_seconds=round(seconds, 2),
                             deadline=deadline, wall_seconds=run['wall_seconds'], ok=ok,
                             verdict=verdict(run['result'])))
            print('%-62s %7.1f MB %6.2f s / %d s  %s  %s' % (
                label, rss_mb, seconds, deadline, 'ok  ' if ok else 'MISS', rows[-1]['verdict']), flush=True)
    finally:
        server.close()
    print()
    print('%d cases; worst peak RSS %.1f MB (target < %d MB); worst time over the deadline %+.2f s '
          '(target <= +%.0f s); %d miss(es)%s' % (len(rows), worst_rss, RSS_LIMIT_MB, worst_over, DEADLINE_SLACK,
                                                  len(misses), (': ' + ', '.join(misses)) if misses else ''))
    if opts.json:
        os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
        with open(opts.json, 'w') as f:
            json.dump(dict(rows=rows, worst_peak_rss_mb=worst_rss, worst_over_deadline_s=worst_over,
                           misses=misses), f, indent=1)
    return 1 if misses else 0


if __name__ == '__main__':
    sys.exit(main())
