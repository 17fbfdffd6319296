#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: network_info
short_description: Check from a host that names resolve and HTTP services answer, and read its firewall
version_added: 0.1.0
author:
  - tgops.runbooks developers (@tgops)
description:
  - The toogoodtogo runbook's checks for network connectivity loss ("health checks pass but webhooks fail") in
    one round trip, from the host itself - resolve each URL's host name (the runbook's C(ping google.com)
    checks DNS and the route), send one C(HEAD) request to each URL (C(curl -I https://api.telegram.org)), and
    read the firewall (C(ufw status)).
  - Any HTTP answer counts as reachable (a C(302) or C(404) proves the path works); no answer within O(timeout),
    a refused connection, a TLS failure or a name that does not resolve is a problem.
  - URLs are shown without user information; no request body is sent and no answer body is returned.
extends_documentation_fragment:
  - tgops.runbooks._attributes
  - tgops.runbooks._attributes.info_module
options:
  urls:
    description:
      - The HTTP(S) URLs to reach, for example V(https://api.telegram.org) and the platform's public health URL.
      - Never a URL holding a secret (a Telegram URL with a bot token); the module refuses one with user
        information.
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Deadline in seconds for the whole module call - every URL together. A URL checked when it has passed is
        reported as not checked (a problem), never waited for.
    type: float
    default: 30
  request_timeout:
    description:
      - Deadline in seconds for one URL (resolving, connecting, TLS and the answer's headers), never beyond what is
        left of O(timeout).
    type: float
    default: 5
  validate_certs:
    description: Whether to validate TLS certificates.
    type: bool
    default: true
  ca_path:
    description: A PEM CA bundle on the host for the URLs' certificates (a private CA, such as the lab's).
    type: path
  firewall:
    description: Whether to read C(ufw status verbose) when ufw is installed (as root).
    type: bool
    default: true
  fail_on_problem:
    description: Fail the task when RV(passed) is V(false); the message lists the problems.
    type: bool
    default: false
seealso:
  - module: tgops.runbooks.health_check
"""

EXAMPLES = r"""
- name: Can the bot's host reach Telegram and its own public URL?
  tgops.runbooks.network_info:
    urls:
      - https://api.telegram.org
      - https://bot.example.org/health
  register: network
"""

RETURN = r"""
urls:
  description: One entry per URL, in order.
  returned: always
  type: list
  elements: dict
  contains:
    url: {description: The URL (without user information)., type: str}
    host: {description: Its host name., type: str}
    addresses: {description: The addresses the name resolved to; empty when it did not resolve., type: list, elements: str}
    reachable: {description: Whether an HTTP answer arrived in time., type: bool}
    status: {description: The HTTP status of the answer; null when none arrived., type: int}
    seconds: {description: How long the check took., type: float}
    error: {description: Why it is not reachable; null when it is., type: str}
  sample: [{url: "https://api.telegram.org", host: api.telegram.org, addresses: ["149.154.167.220"], reachable: true,
            status: 302, seconds: 0.21, error: null}]
firewall:
  description: C(tool) (V(ufw) or V(none)), C(active), C(default_incoming) and C(rules) (the lines of C(ufw status verbose)).
  returned: always
  type: dict
  sample: {tool: ufw, active: true, default_incoming: deny, rules: ["22/tcp ALLOW IN Anywhere"]}
passed:
  description: V(false) when a URL is not reachable (the collection's verdict key).
  returned: always
  type: bool
findings:
  description: One sentence per URL that is not reachable.
  returned: always
  type: list
  elements: str
  sample: ["https://api.telegram.org: no answer within 5 seconds (timeout) - the host cannot reach it"]
"""

import socket
import time

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    MAX_TIMEOUT,
    Deadline,
    TransportError,
    check_url,
    fetch,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._module import new_module
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import shown


def resolve(host):
    """``(addresses, error)`` for a host name (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, None, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return [], 'the name %s does not resolve (%s)' % (host, exc)
    addresses = []
    for info in infos:
        if info[4][0] not in addresses:
            addresses.append(info[4][0])
    return addresses, None


def check_one(url, timeout, validate_certs, ca_path, fetcher=fetch, clock=time.monotonic):
    """Resolve and HEAD one URL within ``timeout`` seconds; the entry RV(urls) returns."""
    host = urlsplit(url).hostname or ''
    entry = dict(url=url, host=host, addresses=[], reachable=False, status=None, seconds=0.0, error=None)
    if timeout <= 0:
        entry['error'] = 'not checked: the deadline of the whole call (timeout) had passed'
        return entry
    started = clock()
    addresses, error = resolve(host)
    entry['addresses'] = addresses
    if error is None:
        try:
            status = fetcher(url, method='HEAD', deadline=Deadline(timeout), max_body=0,
                             validate_certs=validate_certs, ca_path=ca_path, max_redirects=0)[0]
            entry.update(reachable=True, status=status)
        except TransportError as exc:
            if exc.status is not None and exc.kind in ('too_large', 'bad_body'):
                # An answer arrived (a HEAD body is not read): the path works.
                entry.update(reachable=True, status=exc.status)
            elif exc.kind == 'timeout':
                error = 'no answer within %s seconds (timeout)' % shown(round(timeout, 1), 20)
            else:
                error = shown(to_text(exc.detail), 300)
    entry['seconds'] = round(clock() - started, 3)
    entry['error'] = error
    return entry


def parse_ufw(text):
    """``ufw status verbose``: active, the default for incoming traffic, the rule lines."""
    active = False
    default_incoming = None
    rules = []
    in_rules = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('Status:'):
            active = stripped.split(':', 1)[1].strip() == 'active'
        elif stripped.startswith('Default:'):
            for part in stripped.split(':', 1)[1].split(','):
                words = part.split()
                if len(words) >= 2 and words[1].strip('()') == 'incoming':
                    default_incoming = words[0]
        elif stripped.startswith('--'):
            in_rules = True
        elif in_rules and stripped:
            rules.append(' '.join(stripped.split()))
    return dict(tool='ufw', active=active, default_incoming=default_incoming, rules=rules)


def main():
    module = new_module(
        argument_spec=dict(
            urls=dict(type='list', elements='str', default=[]),
            timeout=dict(type='float', default=30),
            request_timeout=dict(type='float', default=5),
            validate_certs=dict(type='bool', default=True),
            ca_path=dict(type='path'),
            firewall=dict(type='bool', default=True),
            fail_on_problem=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    for name in ('timeout', 'request_timeout'):
        if not 0 < p[name] <= MAX_TIMEOUT:  # also refuses NaN
            module.fail_json(msg='%s must be above 0 and at most %d seconds' % (name, MAX_TIMEOUT))
    for url in p['urls']:
        problem = check_url(url, 'urls')
        if problem:
            module.fail_json(msg=problem)
        if '@' in (urlsplit(url).netloc or ''):
            module.fail_json(msg='urls must not carry user information (credentials): %s' % shown(urlsplit(url).hostname))
    deadline = Deadline(p['timeout'])
    entries = [check_one(url, min(p['request_timeout'], deadline.remaining()), p['validate_certs'], p['ca_path'])
               for url in p['urls']]
    problems = ['%s: %s - the host cannot reach it' % (e['url'], e['error']) for e in entries if not e['reachable']]

    firewall = dict(tool='none', active=False, default_incoming=None, rules=[])
    ufw = module.get_bin_path('ufw') if p['firewall'] else None
    if ufw:
        rc, out, err = module.run_command([ufw, 'status', 'verbose'], environ_update={'LC_ALL': 'C'})
        if rc == 0:
            firewall = parse_ufw(to_text(out))
        else:
            module.warn('ufw status failed (rc=%d): %s' % (rc, to_text(err or out).strip()[:200]))
    result = dict(changed=False, urls=entries, firewall=firewall, passed=not problems, findings=problems)
    if problems and p['fail_on_problem']:
        module.fail_json(msg='; '.join(problems), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
