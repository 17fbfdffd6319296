#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: platform_info
short_description: Everything incident triage needs about a platform's host, in one call
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - Reads, in one round trip, what the runbooks' triage sections read with a dozen commands - the state of
    every service of the compose project (state, health, exit code, restart count, OOM-killed flag), a real
    database query and a Redis C(PING) inside their containers, the systemd unit that owns the stack,
    disk and inode usage of the platform's paths, memory and load, which required environment variables
    the env file sets (names only, never values), the newest backup and its age, and the recent
    C(ERROR)/C(CRITICAL) lines of every container's log, with every secret given in O(redact) masked; and, with
    O(health), the application's health endpoint as seen from the host.
  - Returns RV(findings), one line per thing wrong, so roles decide on data rather than parse text.
  - The container commands run concurrently, so the call takes about as long as its slowest read.
  - A read that fails (the Docker engine does not answer, a log cannot be read) is a finding, never silence.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
options:
  project:
    description:
      - The compose project name (C(docker compose ls)), for example V(tgquiz). Containers are found by
        their C(com.docker.compose.project) label, so this works whether compose or systemd started them.
      - One-off containers (C(docker compose run), label C(com.docker.compose.oneoff=True)) are not the service's,
        as in C(docker compose ps), so a running one does not hide an exited service.
    type: str
    required: true
  services:
    description:
      - The services the project must run. A service without a container is reported as C(missing).
    type: list
    elements: str
    required: true
  service_manager:
    description:
      - Who owns the stack. With V(systemd), the state of O(systemd_unit) is read as well.
    type: str
    choices: [compose, systemd]
    default: compose
  systemd_unit:
    description:
      - The unit that owns the stack when O(service_manager=systemd), for example V(toogoodtogo).
    type: str
  paths:
    description:
      - Paths whose file system usage is reported (the runbooks' C(df -h)). Paths that do not exist are
        reported with an error.
    type: list
    elements: path
    default: [/]
  env_file:
    description:
      - The stack's env file. Only the names it sets are read and returned, never the values.
    type: path
  required_env:
    description:
      - Names that O(env_file) must set to a non-empty value.
    type: list
    elements: str
    default: []
  backup_dir:
    description:
      - Directory of the platform's backups; the newest file matching O(backup_pattern) is reported.
    type: path
  backup_pattern:
    description:
      - Shell pattern of backup file names, for example V(toogoodtogo_*.sql.gz).
    type: str
    default: '*'
  log_since:
    description:
      - How far back container logs are read, in C(docker logs --since) syntax (V(30m), V(2h)).
      - V(all) sets no time bound, so the last O(log_tail) lines are read however old they are (the runbooks'
        C(docker compose logs --tail 100 postgres)).
      - Set to an empty string to skip reading logs.
    type: str
    default: 30m
  log_tail:
    description:
      - At most this many of the most recent lines are read per container, which bounds the work on a
        service that logs a lot.
    type: int
    default: 5000
  log_lines:
    description:
      - How many matching lines are returned (the most recent).
    type: int
    default: 20
  log_patterns:
    description:
      - A line matches when it contains one of these strings (or, with O(log_regex=true), when one of these
        regular expressions matches part of it).
    type: list
    elements: str
    default: [ERROR, CRITICAL]
  log_regex:
    description:
      - Read O(log_patterns) as Python regular expressions, matched case-insensitively anywhere in a line (as the
        C(tgops.runbooks.log_scan) filter matches), rather than as plain strings.
    type: bool
    default: false
    version_added: 0.1.0
  database:
    description:
      - Run C(SELECT 1) with C(psql) inside the database service's container, over TCP with a password, as
        the application connects. The password goes to the container on standard input, never on a command
        line, and from there to C(psql) in a private libpq password file (mode 0600, removed afterwards), never
        in its environment.
    type: dict
    suboptions:
      service:
        description: The database service.
        type: str
        required: true
      name:
        description: The database.
        type: str
        required: true
      user:
        description: The role to connect as.
        type: str
        required: true
      password:
        description:
          - Its password (never logged, never on a command line).
          - When not set, the module reads the environment variable E(PGPASSWORD) (of the module's process - the
            controller's for a task delegated to C(localhost), else set it with the task keyword C(environment)).
        type: str
  redis_service:
    description:
      - The Redis service to C(PING) with C(redis-cli) inside its container.
    type: str
  health:
    description:
      - Probe the application's health endpoint once, from the host, while the other reads run - what
        M(tgops.runbooks.health_check) does with O(tgops.runbooks.health_check#module:timeout=0), judged the same
        way (status code, JSON C(status), dependencies). An answer that is not healthy is a finding.
    type: dict
    version_added: 0.1.0
    suboptions:
      url:
        description:
          - The URL, for example V(http://127.0.0.1:8000/health).
          - Its user info and the values of its credential query parameters (names with C(token), C(key),
            C(secret), C(sig), C(auth), ...) are secrets - masked in the result, in messages and in the task's
            invocation, as a C(no_log) option is.
        type: str
        required: true
      request_timeout:
        description: Seconds the request may take, connection and whole body included.
        type: float
        default: 5
      validate_certs:
        description: Verify the server's TLS certificate.
        type: bool
        default: true
      ca_path:
        description: A PEM file of CA certificates to verify the server with.
        type: path
  redact:
    description:
      - Secrets to mask in every returned log line (raw, URL-quoted, JSON-, HTML-escaped, base64), as
        C(********).
      - The secrets of O(env_file) are masked as well without being listed here - the values of every name that
        says it holds one (C(SECRET_KEY), C(STRIPE_API_KEY), C(POSTGRES_PASSWORD), C(TELEGRAM_BOT_TOKEN),
        C(AWS_SECRET_ACCESS_KEY), C(PINATA_JWT), C(SENTRY_DSN) - names with C(SECRET), C(TOKEN), C(PASSW), C(KEY),
        C(JWT), C(PRIVATE), C(CREDENTIAL), C(DSN), C(AUTH), ...) and the password of any URL value
        (C(DATABASE_URL)) - so give here the secrets the env file does not hold (the off-site backup keys).
    type: list
    elements: str
    default: []
  disk_warn_percent:
    description: A path's file system at or above this usage (blocks or inodes) is a finding.
    type: float
    default: 90
  memory_warn_percent:
    description: Host memory use at or above this percentage is a finding.
    type: float
    default: 85
  restart_count_warn:
    description: A service restarted by Docker at least this many times is a finding (a crash loop).
    type: int
    default: 3
  backup_max_age_hours:
    description:
      - The newest backup older than this is a finding; V(0) only requires that one exists.
    type: float
    default: 26
  docker_cli:
    description: The Docker CLI.
    type: path
    default: docker
  command_timeout:
    description:
      - Seconds each Docker command may take before it counts as a failed read (enforced with coreutils
        C(timeout) when the host has it). V(0) waits without limit. Fractions allowed.
    type: float
    default: 20
notes:
  - The logs are read with C(docker logs) per container, the same text C(docker compose logs) shows.
seealso:
  - module: tgops.runbooks.health_check
  - module: community.docker.docker_compose_v2
"""

EXAMPLES = r"""
- name: Everything triage needs, one round trip
  tgops.runbooks.platform_info:
    project: toogoodtogo
    services: [postgres, redis, bot, nginx]
    service_manager: systemd
    systemd_unit: toogoodtogo
    paths: [/, /opt/toogoodtogo, /opt/backups/postgres]
    env_file: /opt/toogoodtogo/deployment/.env.production
    required_env: [TELEGRAM_BOT_TOKEN, POSTGRES_PASSWORD, SECRET_KEY]
    backup_dir: /opt/backups/postgres
    backup_pattern: toogoodtogo_*.sql.gz
    database:
      service: postgres
      name: toogoodtogo
      user: toogoodtogo
      password: "{{ vault_toogoodtogo_postgres_password }}"
    redis_service: redis
    health:
      url: http://127.0.0.1:8000/health
    redact: ["{{ vault_toogoodtogo_bot_token }}"]
  register: facts

- name: Say what is wrong
  ansible.builtin.debug:
    var: facts.findings
"""

RETURN = r"""
passed:
  description: Whether triage found nothing wrong (RV(findings) is empty); the collection's verdict key.
  returned: always
  type: bool
findings:
  description: One line per thing wrong.
  returned: always
  type: list
  elements: str
  sample: ["service bot is exited (exit code 137)", "disk / (/) is 93.1% full, 1200 MB left"]
services:
  description: One entry per expected service.
  returned: always
  type: list
  elements: dict
  contains:
    service: {description: The compose service., type: str}
    container: {description: Its container name (empty when it has none)., type: str}
    state: {description: "C(running), C(exited), C(restarting), C(created), C(paused), C(dead) or C(missing).", type: str}
    health: {description: "The health check's verdict (C(healthy), C(unhealthy), C(starting)), empty without one.", type: str}
    exit_code: {description: The last exit code., type: int}
    restart_count: {description: How many times Docker restarted it., type: int}
    oom_killed: {description: Whether the kernel OOM killer ended its last run., type: bool}
    started_at: {description: When it last started., type: str}
    finished_at: {description: When it last stopped., type: str}
    error: {description: "Docker's error for the container, if any.", type: str}
down:
  description: Services that are not running.
  returned: always
  type: list
  elements: str
unhealthy:
  description: Services that run but whose health check fails.
  returned: always
  type: list
  elements: str
unit:
  description: The systemd unit's state, with O(service_manager=systemd).
  returned: when O(service_manager=systemd)
  type: dict
  contains:
    name: {description: The unit., type: str}
    active_state: {description: "C(active), C(inactive), C(failed), ...", type: str}
    sub_state: {description: "C(running), C(exited), C(dead), ...", type: str}
database:
  description: The result of the database query.
  returned: always
  type: dict
  contains:
    checked: {description: Whether O(database) was given., type: bool}
    reachable: {description: Whether C(SELECT 1) answered., type: bool}
    error: {description: "Why not, secrets masked.", type: str}
redis:
  description: The result of Redis C(PING).
  returned: always
  type: dict
  contains:
    checked: {description: Whether O(redis_service) was given., type: bool}
    reachable: {description: Whether it answered C(PONG)., type: bool}
    error: {description: Why not., type: str}
health:
  description:
    - The probe of O(health), with the keys M(tgops.runbooks.health_check) returns for one attempt.
  returned: always
  type: dict
  version_added: 0.1.0
  contains:
    checked: {description: Whether O(health) was given., type: bool}
    passed: {description: Whether the answer was healthy., type: bool, returned: when checked}
    status: {description: "The answer's C(status) (V(healthy) for a 2xx answer that is not JSON), null without one.", type: str, returned: when checked}
    version: {description: The version the answer names., type: str, returned: when checked}
    uptime_seconds: {description: The uptime the answer names., type: int, returned: when checked}
    http_status: {description: "The HTTP status, V(-1) when nothing answered.", type: int, returned: when checked}
    dependencies: {description: "The dependencies the answer lists, with their status.", type: dict, returned: when checked}
    unhealthy_dependencies: {description: Names of the dependencies that are not healthy., type: list, elements: str, returned: when checked}
    reasons: {description: Why the answer is not healthy., type: list, elements: str, returned: when checked}
    body_format: {description: "V(json), V(text) or V(empty).", type: str, returned: when checked}
    response: {description: The JSON document answered., type: dict, returned: when the answer is a JSON object}
    error: {description: "Why nothing answered, secrets masked.", type: str, returned: when nothing answered}
disk:
  description: One row per path.
  returned: always
  type: list
  elements: dict
  contains:
    path: {description: The path asked for., type: str}
    mount: {description: Its mount point., type: str}
    total_mb: {description: Size of the file system., type: int}
    avail_mb: {description: Space available to the application., type: int}
    used_percent: {description: "Used blocks, as C(df) counts them.", type: float}
    inodes_used_percent: {description: Used inodes., type: float}
    error: {description: Why the path could not be read., type: str}
memory:
  description: Host memory (C(total_mb), C(available_mb), C(used_percent)).
  returned: always
  type: dict
load:
  description: Load averages (C(1m), C(5m), C(15m)).
  returned: always
  type: dict
env:
  description: Names in the env file (never values).
  returned: when O(env_file) is given
  type: dict
  contains:
    file: {description: The env file., type: str}
    exists: {description: Whether it exists., type: bool}
    present: {description: Every name it sets., type: list, elements: str}
    missing: {description: Required names it does not set., type: list, elements: str}
    empty: {description: Required names set to an empty value., type: list, elements: str}
backups:
  description: The newest backup.
  returned: always
  type: dict
  contains:
    checked: {description: Whether O(backup_dir) was given., type: bool}
    dir: {description: The directory., type: str}
    pattern: {description: The pattern., type: str}
    count: {description: How many backups match., type: int}
    newest: {description: File name of the newest., type: str}
    age_seconds: {description: Its age., type: int}
    size: {description: Its size in bytes., type: int}
    error: {description: Why the directory could not be listed., type: str}
logs:
  description: Recent matching log lines.
  returned: always
  type: dict
  contains:
    checked: {description: Whether logs were read., type: bool}
    since: {description: O(log_since)., type: str}
    errors: {description: "The last O(log_lines) matching lines, C(service | line), secrets masked.", type: list, elements: str}
    error_count: {description: How many lines matched in all., type: int}
    failures: {description: "Containers whose logs could not be read, and why.", type: list, elements: str}
"""

import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._health import attempt, result_fields
from ansible_collections.tgops.runbooks.plugins.module_utils._health import describe as describe_health
from ansible_collections.tgops.runbooks.plugins.module_utils._http import Deadline, check_url
from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module, seconds_problem, seconds_text
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import Redactor, redact_url, url_secrets
from ansible_collections.tgops.runbooks.plugins.module_utils import _compose, _platform

# The password arrives on standard input; it never appears in docker's or psql's arguments, nor in psql's
# environment (PGPASSWORD is readable in /proc/<pid>/environ): the shell keeps it unexported and writes it to a
# private libpq password file (umask 077, pgpass escaping of \ and :) that it removes when psql is done.
_PSQL = ('IFS= read -r pw; if [ -n "$pw" ]; then umask 077; f=$(mktemp) || exit 2; '
         'trap \'rm -f "$f"\' EXIT; trap \'exit 129\' HUP INT TERM; '
         'printf \'%s\\n\' "$pw" | sed \'s/[\\\\:]/\\\\&/g; s/^/*:*:*:*:/\' > "$f" || exit 2; '
         'export PGPASSFILE="$f"; fi; '
         'psql -X -q -h 127.0.0.1 -U "$1" -d "$2" -tA -v ON_ERROR_STOP=1 -c "SELECT 1"')


# Env file names whose values are secrets (SECRET_KEY, STRIPE_API_KEY, POSTGRES_PASSWORD, TELEGRAM_BOT_TOKEN,
# AWS_SECRET_ACCESS_KEY, PINATA_JWT, SENTRY_DSN, ...): masked in every log line even when O(redact) misses them.
_SECRET_NAME = re.compile(r'SECRET|TOKEN|PASSW|PASS$|PWD|KEY|JWT|PRIVATE|CREDENTIAL|DSN|SALT|MNEMONIC|SEED|AUTH',
                          re.IGNORECASE)
_ENV_ASSIGNMENT = re.compile(r'^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$')


def env_secrets(text):
    """The secret values an env file sets: those of secret names, and what a URL value carries (the password of
    DATABASE_URL=postgresql://app:pw@db/app, a ?token= in a query)."""
    found = []
    for line in (text or '').splitlines():
        match = _ENV_ASSIGNMENT.match(line)
        if not match or line.lstrip().startswith('#'):
            continue
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        if not value:
            continue
        if _SECRET_NAME.search(match.group(1)):
            found.append(value)
        if '://' in value:
            found.extend(url_secrets(value, user_token=False))
    return found


def health_url_secrets(params):
    """What O(health.url) carries that is secret (userinfo, credential query parameters)."""
    return url_secrets(params['health']['url']) if params.get('health') else []


def log_regexes(params):
    """O(log_patterns) compiled as O(log_regex) reads them; re.error names the bad one."""
    return [re.compile(pattern, re.IGNORECASE) for pattern in params['log_patterns']]


class PlatformInfo(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.env_text = self.read_env_file() if self.params['env_file'] else None
        secrets = list(self.params['redact'])
        if self.params['database'] and self.params['database'].get('password'):
            secrets.append(self.params['database']['password'])
        # http://user:password@host/health?token=...: secrets like the others
        secrets.extend(health_url_secrets(self.params))
        # the platform's own secrets, whether or not the caller's list names them all
        secrets.extend(env_secrets(self.env_text))
        self.redact = Redactor(secrets)
        self.log_regexes = log_regexes(self.params) if self.params['log_regex'] else None
        self.timeout_bin = module.get_bin_path('timeout')

    def docker(self, args, data=None):
        argv = [self.params['docker_cli']] + args
        limit = self.params['command_timeout']
        if self.timeout_bin and limit:
            # A hung engine must not hang triage: coreutils timeout ends the command (rc 124).
            argv = [self.timeout_bin, '--kill-after=2', seconds_text(limit)] + argv
        rc, out, err = self.module.run_command(argv, data=data, binary_data=data is None,
                                               expand_user_and_vars=False, environ_update={'LC_ALL': 'C'})
        if self.timeout_bin and limit and rc in (124, 137):
            return rc, '', 'no answer within %s s' % seconds_text(limit)
        return rc, out, err

    def containers(self):
        # every container of the project, stopped ones too (an exited service is a finding, not an absence)
        rc, out, err = self.docker(_compose.ps_argv(self.params['docker_cli'], self.params['project'],
                                                    stopped=True)[1:])
        if rc != 0:
            return None, 'docker ps failed: %s' % self.redact(err.strip() or out.strip())
        ids = _compose.ps_ids(out)
        if not ids:
            return [], None
        rc, out, err = self.docker(['inspect'] + ids)
        if rc != 0:
            # A container removed between ps and inspect: inspect prints the others and fails.
            docs = _platform.parse_inspect(out)
            if not docs:
                return None, 'docker inspect failed: %s' % self.redact(err.strip())
            return docs, None
        return _platform.parse_inspect(out), None

    def read_logs(self, entry):
        since = self.params['log_since']
        bound = [] if since == 'all' else ['--since', since]
        rc, out, err = self.docker(['logs'] + bound + ['--tail', str(self.params['log_tail']), entry['container']])
        if rc != 0:
            return entry['service'], None, self.redact(err.strip() or 'exit code %d' % rc)
        # Applications log to stdout or stderr; docker logs replays each on its own stream.
        return entry['service'], out + '\n' + err, None

    def check_database(self, container):
        db = self.params['database']
        rc, out, err = self.docker(['exec', '-i', container, 'sh', '-c', _PSQL, 'sh', db['user'], db['name']],
                                   data=db.get('password') or '')
        if rc == 0 and out.strip() == '1':
            return {'checked': True, 'reachable': True, 'error': ''}
        text = (err.strip() or out.strip() or 'exit code %d' % rc).splitlines()
        return {'checked': True, 'reachable': False, 'error': self.redact(' '.join(text)[:500])}

    def check_redis(self, container):
        rc, out, err = self.docker(['exec', container, 'redis-cli', 'ping'])
        if rc == 0 and out.strip() == 'PONG':
            return {'checked': True, 'reachable': True, 'error': ''}
        return {'checked': True, 'reachable': False,
                'error': self.redact((err.strip() or out.strip() or 'exit code %d' % rc)[:500])}

    def unit_state(self):
        name = self.params['systemd_unit']
        systemctl = self.module.get_bin_path('systemctl')
        if not systemctl:
            return {'name': name, 'active_state': 'unknown', 'sub_state': 'systemctl not found'}
        rc, out, err = self.module.run_command([systemctl, 'show', name, '--property=ActiveState,SubState'])
        values = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        if rc != 0:
            return {'name': name, 'active_state': 'unknown', 'sub_state': err.strip()}
        return {'name': name, 'active_state': values.get('ActiveState', 'unknown'),
                'sub_state': values.get('SubState', 'unknown')}

    def disk(self):
        rows = []
        for path in self.params['paths']:
            try:
                real = os.path.realpath(path)
                mount = real
                while not os.path.ismount(mount):
                    mount = os.path.dirname(mount)
                rows.append(_platform.disk_usage(path, mount, os.statvfs(real)))
            except OSError as exc:
                rows.append({'path': path, 'mount': None, 'total_mb': None, 'avail_mb': None,
                             'used_percent': None, 'inodes_used_percent': None, 'error': exc.strerror or str(exc)})
        return rows

    def read_env_file(self):
        """The env file's text (at most 1 MiB), None when it cannot be read."""
        try:
            with open(self.params['env_file'], 'rb') as handle:
                return to_text(handle.read(1048576), errors='surrogate_or_replace')
        except (IOError, OSError):
            return None

    def env(self):
        path = self.params['env_file']
        result = {'file': path, 'exists': False, 'present': [], 'missing': list(self.params['required_env']),
                  'empty': []}
        if self.env_text is None:
            return result
        result.update(_platform.env_report(self.env_text, self.params['required_env']))
        result['exists'] = True
        return result

    def backups(self):
        directory = self.params['backup_dir']
        result = {'checked': directory is not None, 'dir': directory, 'pattern': self.params['backup_pattern'],
                  'count': 0, 'newest': None, 'age_seconds': None, 'size': None, 'error': ''}
        if directory is None:
            return result
        entries = []
        try:
            for entry in os.scandir(directory):
                try:
                    if entry.is_file():
                        st = entry.stat()
                        # A file name that is not UTF-8 is kept readable rather than breaking the result.
                        entries.append((to_text(entry.name, errors='surrogate_then_replace'), st.st_mtime,
                                        st.st_size))
                except OSError:
                    continue
        except OSError as exc:
            result['error'] = exc.strerror or str(exc)
            return result
        result.update(_platform.newest_backup(entries, self.params['backup_pattern'], time.time()))
        return result

    def probe_health(self):
        """One health request from the host, judged as health_check judges it."""
        health = self.params['health']
        http_status, verdict, error = attempt(
            health['url'], Deadline(health['request_timeout']), self.redact,
            validate_certs=health['validate_certs'], ca_path=health['ca_path'], agent='tgops.runbooks.platform_info')
        result = dict(checked=True)
        result.update(result_fields(http_status, verdict, error))
        return self.redact.redact_obj(result)

    @staticmethod
    def read_text(path):
        try:
            with open(path) as handle:
                return handle.read()
        except (IOError, OSError):
            return ''

    def run(self):
        p = self.params
        facts = {}
        docs, failure = self.containers()
        facts['services'] = _platform.container_states(docs or [], p['services'])
        if failure:
            for entry in facts['services']:
                entry['state'] = 'unknown'
                entry['error'] = failure
        by_service = dict((e['service'], e) for e in facts['services'])

        jobs = {}
        with ThreadPoolExecutor(max_workers=8) as pool:
            if p['log_since']:
                jobs['logs'] = [pool.submit(self.read_logs, e) for e in facts['services'] if e['container']]
            db = p['database']
            if db and by_service.get(db['service'], {}).get('state') == 'running':
                jobs['database'] = pool.submit(self.check_database, by_service[db['service']]['container'])
            if p['redis_service'] and by_service.get(p['redis_service'], {}).get('state') == 'running':
                jobs['redis'] = pool.submit(self.check_redis, by_service[p['redis_service']]['container'])
            if p['service_manager'] == 'systemd':
                jobs['unit'] = pool.submit(self.unit_state)
            if p['health']:
                jobs['health'] = pool.submit(self.probe_health)
            # The local reads overlap with the container commands.
            facts['disk'] = self.disk()
            facts['memory'] = _platform.parse_meminfo(self.read_text('/proc/meminfo'))
            facts['load'] = _platform.parse_loadavg(self.read_text('/proc/loadavg'))
            facts['backups'] = self.backups()
            if p['env_file']:
                facts['env'] = self.env()

            if 'unit' in jobs:
                facts['unit'] = jobs['unit'].result()
            facts['health'] = jobs['health'].result() if 'health' in jobs else {'checked': False}
            facts['database'] = self._dependency(jobs.get('database'), db and db['service'], by_service)
            facts['redis'] = self._dependency(jobs.get('redis'), p['redis_service'], by_service)
            facts['logs'] = self._logs(jobs.get('logs'), failure)

        facts['down'] = [e['service'] for e in facts['services'] if e['state'] != 'running']
        facts['unhealthy'] = [e['service'] for e in facts['services']
                              if e['state'] == 'running' and e['health'] == 'unhealthy']
        names = ('disk_warn_percent', 'memory_warn_percent', 'restart_count_warn', 'backup_max_age_hours')
        thresholds = dict((k, p[k]) for k in names)
        facts['findings'] = _platform.findings(facts, thresholds)
        if facts['health'].get('checked') and not facts['health']['passed']:
            # after the services: a dead service explains a dead endpoint, not the other way round
            facts['findings'].append(describe_health('health endpoint', redact_url(p['health']['url']),
                                                     facts['health']))
        if failure:
            facts['findings'].insert(0, failure)
        facts['passed'] = not facts['findings']
        # whatever a read echoed (a docker error, an answer, a log line): no secret in any spelling
        return self.redact.redact_obj(facts)

    @staticmethod
    def _dependency(job, service, by_service):
        if job is not None:
            return job.result()
        if not service:
            return {'checked': False, 'reachable': False, 'error': ''}
        state = by_service.get(service, {}).get('state', 'missing')
        return {'checked': True, 'reachable': False, 'error': 'service %s is %s' % (service, state)}

    def _logs(self, jobs, failure):
        p = self.params
        result = {'checked': bool(p['log_since']), 'since': p['log_since'], 'errors': [], 'error_count': 0,
                  'failures': []}
        if not p['log_since']:
            return result
        if failure:
            result['failures'].append(failure)
            return result
        lines = []
        for job in jobs or []:
            service, text, error = job.result()
            if error is not None:
                result['failures'].append('%s: %s' % (service, error))
                continue
            matched, count = _platform.error_lines(text, p['log_patterns'], p['log_lines'], self.redact,
                                                   regexes=self.log_regexes)
            result['error_count'] += count
            lines.extend('%s | %s' % (service, line) for line in matched)
        result['errors'] = lines[-p['log_lines']:] if p['log_lines'] else []
        return result


def main():
    module = new_module(
        argument_spec=dict(
            project=dict(type='str', required=True),
            services=dict(type='list', elements='str', required=True),
            service_manager=dict(type='str', choices=['compose', 'systemd'], default='compose'),
            systemd_unit=dict(type='str'),
            paths=dict(type='list', elements='path', default=['/']),
            env_file=dict(type='path'),
            required_env=dict(type='list', elements='str', default=[]),
            backup_dir=dict(type='path'),
            backup_pattern=dict(type='str', default='*'),
            log_since=dict(type='str', default='30m'),
            log_tail=dict(type='int', default=5000),
            log_lines=dict(type='int', default=20),
            log_patterns=dict(type='list', elements='str', default=['ERROR', 'CRITICAL']),
            log_regex=dict(type='bool', default=False),
            database=dict(type='dict', options=dict(
                service=dict(type='str', required=True),
                name=dict(type='str', required=True),
                user=dict(type='str', required=True),
                password=dict(type='str', no_log=True, fallback=(env_fallback, ['PGPASSWORD'])),
            )),
            redis_service=dict(type='str'),
            health=dict(type='dict', options=dict(
                url=dict(type='str', required=True),
                request_timeout=dict(type='float', default=5),
                validate_certs=dict(type='bool', default=True),
                ca_path=dict(type='path'),
            )),
            redact=dict(type='list', elements='str', default=[], no_log=True),
            disk_warn_percent=dict(type='float', default=90),
            memory_warn_percent=dict(type='float', default=85),
            restart_count_warn=dict(type='int', default=3),
            backup_max_age_hours=dict(type='float', default=26),
            docker_cli=dict(type='path', default='docker'),
            command_timeout=dict(type='float', default=20),
        ),
        required_if=[('service_manager', 'systemd', ['systemd_unit'])],
        supports_check_mode=True,
    )
    p = module.params
    # The URL is no secret option, so Ansible would print it in the invocation (-vvv) and in a failure
    for secret in health_url_secrets(p):
        module.no_log_values.add(secret)
    for name in ('disk_warn_percent', 'memory_warn_percent', 'backup_max_age_hours'):
        value = p[name]
        if not math.isfinite(value) or value < 0:
            module.fail_json(msg='%s must be a finite number, 0 or more' % name)
    for name in ('log_tail', 'log_lines', 'restart_count_warn'):
        if p[name] < 0:
            module.fail_json(msg='%s must be 0 or more' % name)
    problem = seconds_problem('command_timeout', p['command_timeout'])
    if problem:
        module.fail_json(msg=problem)
    if not p['services']:
        module.fail_json(msg='services must name at least one service')
    if p['log_regex']:
        for pattern in p['log_patterns']:
            try:
                re.compile(pattern)
            except re.error as exc:
                module.fail_json(msg='log_patterns: %r is not a regular expression: %s' % (pattern, exc))
    if p['health']:
        timeout = p['health']['request_timeout']
        if not math.isfinite(timeout) or not 0 < timeout <= 3600:
            module.fail_json(msg='health.request_timeout must be a number of seconds above 0 and at most 3600')
        problem = check_url(p['health']['url'], 'health.url')
        if problem:
            module.fail_json(msg=problem)  # check_url quotes the URL without its secrets
    module.exit_json(changed=False, **PlatformInfo(module).run())


if __name__ == '__main__':
    main()
