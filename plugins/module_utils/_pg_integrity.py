# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Integrity of a PostgreSQL database by reading it (private; postgres_integrity_info).

``pg_isready`` only says the server accepts connections; a damaged page is found only when a backend reads
it. So every user table is read in full (every row, every column detoasted) in its own psql call, one failing
relation never hides the next, and the error PostgreSQL gave is kept (masked). B-tree indexes are checked
with amcheck's ``bt_index_check`` when that extension is installed in the database (installing it is a change
this read-only check does not make).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import os
import stat

from ansible_collections.tgops.runbooks.plugins.module_utils._pg_query import PgQueryError
from ansible_collections.tgops.runbooks.plugins.module_utils._postgres import quote_ident

MARKER = '/* tgops.runbooks postgres_integrity_info */'

RELATIONS_SQL = MARKER + """
SELECT json_build_object(
  'server_version', current_setting('server_version'),
  'database', current_database(),
  'amcheck', EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck'),
  'tables', (SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
                                                        'file', pg_relation_filepath(c.oid))
                                      ORDER BY n.nspname, c.relname), '[]'::json)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'),
  'indexes', (SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname,
                                                         'file', pg_relation_filepath(c.oid))
                                       ORDER BY n.nspname, c.relname), '[]'::json)
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam
              WHERE c.relkind = 'i' AND a.amname = 'btree' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')
)
"""

# Index scans would answer count(*) from an index without touching the heap: sequential scans read every page,
# and t::text detoasts every column.
TABLE_SQL = MARKER + """
SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off;
SELECT json_build_object('rows', count(*), 'bytes', coalesce(sum(length(t::text)), 0)) FROM {rel} AS t;
"""

INDEX_SQL = MARKER + "SELECT json_build_object('checked', true) FROM (SELECT bt_index_check({oid}::regclass)) x;\n"


def qualified(schema, name):
    return '%s.%s' % (quote_ident(schema), quote_ident(name))


def check_database(session, check_indexes=True):
    """Read every relation through ``session`` (a _pg_query.PgSession). Raises PgQueryError when the
    database cannot even be listed; a relation that fails is recorded with its error."""
    listing = session.query_json(RELATIONS_SQL)
    relations = []
    for table in listing.get('tables') or []:
        entry = dict(schema=table['schema'], name=table['name'], kind='table', file=table.get('file'),
                     rows=None, error=None)
        try:
            answer = session.query_json(TABLE_SQL.format(rel=qualified(table['schema'], table['name'])))
            entry['rows'] = (answer or {}).get('rows')
        except PgQueryError as exc:
            entry['error'] = exc.msg
        relations.append(entry)
    if check_indexes and listing.get('amcheck'):
        for index in listing.get('indexes') or []:
            entry = dict(schema=index['schema'], name=index['name'], kind='index', file=index.get('file'),
                         rows=None, error=None)
            literal = "'%s'" % qualified(index['schema'], index['name']).replace("'", "''")
            try:
                session.query_json(INDEX_SQL.format(oid=literal))
            except PgQueryError as exc:
                entry['error'] = exc.msg
            relations.append(entry)
    return dict(server_version=listing.get('server_version'), database=listing.get('database'),
                amcheck=bool(listing.get('amcheck')), relations=relations)


def judge(checked):
    """The verdict on check_database()'s answer: passed, corrupted (schema.name), findings."""
    corrupted = []
    findings = []
    for rel in checked['relations']:
        if rel.get('error'):
            name = '%s.%s' % (rel['schema'], rel['name'])
            corrupted.append(name)
            where = rel.get('file') or 'no file'
            findings.append('%s %s cannot be read (%s): %s' % (rel['kind'], name, where, rel['error']))
    tables = [r for r in checked['relations'] if r['kind'] == 'table']
    if not tables:
        findings.append('no user table found in database %s: nothing was read (wrong database?)'
                        % checked.get('database'))
    return dict(passed=not findings, corrupted=corrupted, findings=findings,
                tables_checked=len(tables), indexes_checked=len(checked['relations']) - len(tables))


def list_backups(directory, pattern, exclude_labels, listdir=os.listdir, lstat=os.lstat):
    """Backups in ``directory`` whose names match the glob ``pattern``, newest first (modification time,
    then name), without those whose name carries one of ``exclude_labels`` (``..._<label>.<ext>``).

    Only regular files count, judged by ``lstat``: a symbolic link (whose target's mtime could make it the newest,
    and whose target lies outside the directory), a directory or a FIFO under a backup's name is skipped, and so
    is a name gone before it was looked at."""
    found = []
    for name in listdir(directory):
        if not fnmatch.fnmatch(name, pattern):
            continue
        stem = name.split('.', 1)[0]
        if any(stem.endswith('_' + label) for label in exclude_labels if label):
            continue
        path = os.path.join(directory, name)
        try:
            info = lstat(path)
        except FileNotFoundError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        found.append(dict(name=name, path=path, size=info.st_size, mtime=int(info.st_mtime)))
    found.sort(key=lambda b: (b['mtime'], b['name']), reverse=True)
    return found
