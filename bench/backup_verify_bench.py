#!/usr/bin/env python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Benchmark of tgops.runbooks.backup_verify's verifier core against the standard tools.

1. Writes a synthetic but valid plain pg_dump (about --sql-mb MB of SQL with COPY data) as .sql.gz.
2. With a PostgreSQL server (--dsn, or the libpq PG* environment variables), loads that dump into a scratch
   database and makes a real ``pg_dump -Fc`` archive of it. Without a server the custom-format half is skipped.
3. Times, on a warm page cache, best of --repeat runs:
      gzip -t FILE.sql.gz                 vs  verify_backup(FILE.sql.gz)   (target: <= 0.4x, sha256 included)
      pg_restore -f /dev/null FILE.dump   vs  verify_backup(FILE.dump)     (target: <= 0.8x)
   and the peak RSS of a child process that runs only the verifier core (target: <= 150 MB), from os.wait4().
   The verifier inflates with ISA-L when the isal package is importable, else zlib (--inflater picks one);
   the report names the one that ran.

    .venv/bin/python bench/backup_verify_bench.py --dsn postgresql://postgres@127.0.0.1:5432/postgres
    # the server part alone (under the lab lock), then the timing alone (outside it):
    .venv/bin/python bench/backup_verify_bench.py --prepare-only --reuse --workdir /tmp/bench_full --dsn ...
    .venv/bin/python bench/backup_verify_bench.py --measure-only --workdir /tmp/bench_full

Results go to bench/results/backup_verify.json (git-ignored) and a Markdown table on stdout.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, '.collections'))

MIB = 1024 * 1024
# issue 20's targets: verify_backup's time over the standard tool's, and the verifier's peak RSS
TARGET_SQL_GZ = 0.4
TARGET_CUSTOM = 0.8
TARGET_RSS_MB = 150
ROWS_PER_BLOCK_HINT = 9000
DISTINCT_BLOCKS = 64
WORDS = ('quiz nft ton wallet mint bot order pickup store bag surprise reward answer score user lead deal '
         'fresh bread pastry veggie lunch dinner offer claim expired pending success failed retry').split()

HEADER = b"""--
-- PostgreSQL database dump
--

-- Dumped from database version 15.18
-- Dumped by pg_dump version 15.18 (synthetic, bench/backup_verify_bench.py)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;
SET row_security = off;
SET default_tablespace = '';
SET default_table_access_method = heap;

CREATE TABLE public.users (
    id bigint NOT NULL,
    telegram_id bigint NOT NULL,
    username text
);

CREATE TABLE public.bench_events (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    token text NOT NULL,
    note text,
    created_at timestamp with time zone NOT NULL
);

COPY public.users (id, telegram_id, username) FROM stdin;
"""

TRAILER = b"""
--
-- PostgreSQL database dump complete
--

"""


def _blocks(seed=20250120):
    """DISTINCT_BLOCKS blocks of about 1 MiB of COPY rows; hex tokens make gzip land near 2:1."""
    rnd = random.Random(seed)
    blocks = []
    row_id = 0
    for dummy in range(DISTINCT_BLOCKS):
        lines = []
        size = 0
        while size < MIB:
            row_id += 1
            note = ' '.join(rnd.choice(WORDS) for dummy in range(rnd.randint(2, 9)))
            line = '%d\t%d\t%s\t%s\t2025-01-%02d %02d:%02d:%02d+00\n' % (
                row_id, rnd.randint(1, 50000), '%032x%016x' % (rnd.getrandbits(128), rnd.getrandbits(64)), note,
                rnd.randint(1, 28), rnd.randint(0, 23), rnd.randint(0, 59), rnd.randint(0, 59))
            lines.append(line)
            size += len(line)
        blocks.append((''.join(lines).encode(), len(lines)))
    return blocks


def make_sql_gz(path, sql_mb, level):
    """Writes the dump through `gzip -<level>`; returns (rows per table, SQL bytes)."""
    blocks = _blocks()
    gz = subprocess.Popen(['gzip', '-%d' % level, '-c'], stdin=subprocess.PIPE, stdout=open(path, 'wb'))
    out = gz.stdin
    total = 0
    out.write(HEADER)
    total += len(HEADER)
    users = b''.join(b'%d\t%d\tuser_%d\n' % (i, 100000 + i, i) for i in range(1, 1001))
    out.write(users + b'\\.\n\n')
    total += len(users) + 4
    copy = b'COPY public.bench_events (id, user_id, token, note, created_at) FROM stdin;\n'
    out.write(copy)
    total += len(copy)
    rows = 0
    for index in range(sql_mb):
        block, count = blocks[index % DISTINCT_BLOCKS]
        out.write(block)
        total += len(block)
        rows += count
    out.write(b'\\.\n\n')
    out.write(TRAILER)
    total += 4 + len(TRAILER)
    out.close()
    if gz.wait() != 0:
        raise SystemExit('gzip failed')
    return {'public.users': 1000, 'public.bench_events': rows}, total


def _pg_env(dsn):
    env = dict(os.environ)
    if dsn:
        env['PGDATABASE'] = dsn  # a conninfo string or URI works wherever a database name does
    return env


def make_custom(sql_gz, dump_path, dsn, dbname):
    """Loads the synthetic dump into a scratch database, `pg_dump -Fc` it, drops the database."""
    env = _pg_env(dsn)
    admin = ['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1']
    if dsn:
        admin += ['-d', dsn]
    subprocess.check_call(admin + ['-c', 'DROP DATABASE IF EXISTS %s' % dbname], env=env)
    subprocess.check_call(admin + ['-c', 'CREATE DATABASE %s' % dbname], env=env)
    try:
        target = _replace_db(dsn, dbname)
        gunzip = subprocess.Popen(['gzip', '-dc', sql_gz], stdout=subprocess.PIPE)
        load = subprocess.Popen(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', target], stdin=gunzip.stdout,
                                env=env)
        gunzip.stdout.close()
        if load.wait() != 0 or gunzip.wait() != 0:
            raise SystemExit('loading the synthetic dump failed')
        subprocess.check_call(['pg_dump', '-Fc', '-d', target, '-f', dump_path], env=env)
    finally:
        subprocess.call(admin + ['-c', 'DROP DATABASE IF EXISTS %s' % dbname], env=env)


def _replace_db(dsn, dbname):
    if not dsn:
        return dbname
    if dsn.startswith(('postgresql://', 'postgres://')):
        head, sep, tail = dsn.partition('?')
        base = head.rsplit('/', 1)[0] if head.count('/') > 2 else head
        return base + '/' + dbname + (sep + tail if sep else '')
    return dsn + ' dbname=' + dbname


def timed(argv, env=None):
    """Wall time and peak RSS (MB) of a child process, from os.wait4()."""
    started = time.time()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read()
    proc.stdout.close()
    dummy, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.time() - started, usage.ru_maxrss / 1024.0, proc.returncode, out


def _summary(argv, runs):
    seconds = min(r[0] for r in runs)
    return {'argv': ' '.join(argv), 'seconds': round(seconds, 3), 'runs': [round(r[0], 3) for r in runs],
            'peak_rss_mb': round(max(r[1] for r in runs), 1), 'rc': runs[-1][2], 'output': runs[-1][3]}


def best_pair(tool, verifier, repeat):
    """Best of ``repeat`` runs of the standard tool and of the verifier, taken in turns: on a shared machine a
    burst of load then hits both sides of the ratio alike."""
    tool_runs, verifier_runs = [], []
    for dummy in range(repeat):
        tool_runs.append(timed(tool))
        verifier_runs.append(timed(verifier))
    return _summary(tool, tool_runs), _summary(verifier, verifier_runs)


def _commit():
    """The checkout's commit, with ``-dirty`` when the verifier's files differ from it."""
    try:
        head = subprocess.check_output(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], text=True).strip()
        dirty = subprocess.call(['git', '-C', ROOT, 'diff', '--quiet', 'HEAD', '--', 'plugins/module_utils',
                                 'bench/backup_verify_bench.py'])
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ('-dirty' if dirty else '')


def child_verify(path, inflater=None):
    """The verifier core alone, in this (child) process; prints its result as JSON."""
    from ansible_collections.tgops.runbooks.plugins.module_utils._backup_verify import verify_backup
    result = verify_backup(path, inflater=inflater)
    result.pop('archive', None)
    sys.stdout.write(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--workdir', default=os.environ.get('TGOPS_BENCH_DIR', os.path.join(HERE, 'results', 'work')))
    parser.add_argument('--sql-mb', type=int, default=int(os.environ.get('TGOPS_BENCH_SQL_MB', '2048')),
                        help='MiB of SQL to generate (default 2048: about 1 GB gzipped)')
    parser.add_argument('--gzip-level', type=int, default=6)
    parser.add_argument('--dsn', default=os.environ.get('TGOPS_BENCH_DSN'),
                        help='PostgreSQL server for the real pg_dump -Fc archive (libpq URI or conninfo of a '
                             'maintenance database); else the PG* environment variables; --no-custom skips it')
    parser.add_argument('--no-custom', action='store_true')
    parser.add_argument('--reuse', action='store_true', help='reuse inputs already in --workdir')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--measure-only', action='store_true',
                        help='only time the inputs already in --workdir (what the preparing run calls)')
    parser.add_argument('--prepare-only', action='store_true',
                        help='only build the inputs in --workdir (the part that needs the server: run it under the '
                             'lab lock, then time with --measure-only outside it)')
    parser.add_argument('--inflater', choices=('isal', 'zlib'),
                        help='inflater of the verifier (default: ISA-L when the isal package is importable, else zlib)')
    parser.add_argument('--child-verify', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_verify:
        child_verify(args.child_verify, args.inflater)
        return 0
    if not args.measure_only:
        prepare(args)
        if args.prepare_only:
            return 0
        # Time in a fresh, small process: a child's peak RSS (ru_maxrss) includes the memory of the process
        # it was forked from, and generating the input grew this one.
        argv = [sys.executable, os.path.abspath(__file__), '--measure-only', '--workdir', args.workdir,
                '--repeat', str(args.repeat)] + (['--inflater', args.inflater] if args.inflater else [])
        return subprocess.call(argv)
    return measure(args)


def prepare(args):

    os.makedirs(args.workdir, exist_ok=True)
    sql_gz = os.path.join(args.workdir, 'toogoodtogo_bench.sql.gz')
    dump = os.path.join(args.workdir, 'backup_bench.dump')
    meta_path = os.path.join(args.workdir, 'inputs.json')
    meta = {}
    if args.reuse and os.path.exists(meta_path) and os.path.exists(sql_gz):
        with open(meta_path) as f:
            meta = json.load(f)
    if meta.get('sql_mb') != args.sql_mb:
        started = time.time()
        rows, sql_bytes = make_sql_gz(sql_gz, args.sql_mb, args.gzip_level)
        meta = {'sql_mb': args.sql_mb, 'rows': rows, 'sql_bytes': sql_bytes,
                'make_sql_gz_seconds': round(time.time() - started, 1)}
        if os.path.exists(dump):
            os.unlink(dump)
    do_custom = not args.no_custom
    if do_custom and not (os.path.exists(dump) and args.reuse and meta.get('custom')):
        if not (args.dsn or os.environ.get('PGHOST') or os.environ.get('PGDATABASE')):
            sys.stderr.write('no PostgreSQL server given (--dsn, TGOPS_BENCH_DSN or PGHOST): skipping the custom '
                             'archive\n')
            do_custom = False
        else:
            started = time.time()
            make_custom(sql_gz, dump, args.dsn, 'tgops_bench_%d' % os.getpid())
            meta['custom'] = True
            meta['make_custom_seconds'] = round(time.time() - started, 1)
    meta['custom'] = bool(meta.get('custom')) and os.path.exists(dump)
    with open(meta_path, 'w') as f:
        json.dump(meta, f)


def measure(args):
    sql_gz = os.path.join(args.workdir, 'toogoodtogo_bench.sql.gz')
    dump = os.path.join(args.workdir, 'backup_bench.dump')
    with open(os.path.join(args.workdir, 'inputs.json')) as f:
        meta = json.load(f)
    do_custom = meta.get('custom') and os.path.exists(dump)
    me = [sys.executable, os.path.abspath(__file__)] + (['--inflater', args.inflater] if args.inflater else []) \
        + ['--child-verify']
    report = {
        'machine': {'python': platform.python_version(), 'cpus': os.cpu_count(), 'platform': platform.platform(),
                    'load_average': os.getloadavg()},
        'commit': _commit(),
        'inputs': meta, 'results': {},
    }
    # warm the page cache so both sides read from memory
    for path in (sql_gz, dump):
        if os.path.exists(path):
            with open(path, 'rb') as f:
                while f.read(8 * MIB):
                    pass

    gz = {'size_bytes': os.path.getsize(sql_gz)}
    gz['gzip -t'], gz['verify_backup'] = best_pair(['gzip', '-t', sql_gz], me + [sql_gz], args.repeat)
    verdict = json.loads(gz['verify_backup'].pop('output'))
    gz['gzip -t'].pop('output')
    gz['verify_backup']['passed'] = verdict['passed']
    gz['verify_backup']['decompressor'] = verdict['decompressor']
    gz['verify_backup']['row_counts_match'] = verdict['row_counts'] == meta['rows']
    gz['ratio'] = round(gz['verify_backup']['seconds'] / gz['gzip -t']['seconds'], 3)
    report['results']['sql_gz'] = gz

    if do_custom and os.path.exists(dump):
        cu = {'size_bytes': os.path.getsize(dump)}
        cu['pg_restore -f /dev/null'], cu['verify_backup'] = best_pair(['pg_restore', '-f', '/dev/null', dump],
                                                                       me + [dump], args.repeat)
        verdict = json.loads(cu['verify_backup'].pop('output'))
        cu['pg_restore -f /dev/null'].pop('output')
        cu['verify_backup']['passed'] = verdict['passed']
        cu['verify_backup']['decompressor'] = verdict['decompressor']
        cu['verify_backup']['row_counts_match'] = verdict['row_counts'] == meta['rows']
        cu['ratio'] = round(cu['verify_backup']['seconds'] / cu['pg_restore -f /dev/null']['seconds'], 3)
        report['results']['custom'] = cu

    os.makedirs(os.path.join(HERE, 'results'), exist_ok=True)
    with open(os.path.join(HERE, 'results', 'backup_verify.json'), 'w') as f:
        json.dump(report, f, indent=2)

    lines = ['| input | size | tool | seconds (best of %d) | runs | MB/s | peak RSS MB |' % args.repeat,
             '| --- | --- | --- | --- | --- | --- | --- |']
    for key, res in report['results'].items():
        for tool in [t for t in res if isinstance(res[t], dict)]:
            row = res[tool]
            label = tool if tool != 'verify_backup' else 'verify_backup (%s)' % row['decompressor']
            lines.append('| %s | %.0f MB | `%s` | %.2f | %s | %.0f | %.1f |' % (
                key, res['size_bytes'] / 1e6, label, row['seconds'], ', '.join('%.2f' % r for r in row['runs']),
                res['size_bytes'] / 1e6 / row['seconds'], row['peak_rss_mb']))
    sys.stdout.write('commit %s, load average before %s\n' % (report['commit'], ' '.join(
        '%.2f' % x for x in report['machine']['load_average'])))
    sys.stdout.write('\n'.join(lines) + '\n')
    ok = True

    def verdict_line(name, res, tool, target):
        met = res['ratio'] <= target and res['verify_backup']['passed'] and res['verify_backup']['row_counts_match']
        sys.stdout.write('%s: verify_backup (%s) / %s = %.3f (target <= %s: %s), passed=%s, rows match=%s\n' % (
            name, res['verify_backup']['decompressor'], tool, res['ratio'], target, 'met' if met else 'MISSED',
            res['verify_backup']['passed'], res['verify_backup']['row_counts_match']))
        return met

    ok = verdict_line('sql.gz', gz, 'gzip -t', TARGET_SQL_GZ) and ok
    if 'custom' in report['results']:
        ok = verdict_line('custom', report['results']['custom'], 'pg_restore -f /dev/null', TARGET_CUSTOM) and ok
    peak = max(r['verify_backup']['peak_rss_mb'] for r in report['results'].values())
    ok = ok and peak <= TARGET_RSS_MB
    sys.stdout.write('verifier peak RSS %.1f MB (target <= %d: %s); a bare `true` child of this process: %.1f MB\n'
                     % (peak, TARGET_RSS_MB, 'met' if peak <= TARGET_RSS_MB else 'MISSED', timed(['true'])[1]))
    if os.environ.get('TGOPS_BENCH_CLEAN'):
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
