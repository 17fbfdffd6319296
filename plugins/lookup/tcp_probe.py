# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: tcp_probe
version_added: 0.1.0
author: tgops.runbooks developers (@tgops)
short_description: Whether TCP ports answer, probed from the controller
description:
  - Connects to each port from the controller (outside the host) and says whether a service answers there - what
    the suspected-compromise lockdown uses to prove it closed the host's published ports and kept SSH.
  - A port is open when the connection is accepted and the peer then sends data (matching O(banner) when given)
    or stays connected and silent for O(timeout) (a service waiting for its client); it is closed when the
    connection is refused, times out, or is accepted and then closed or reset without data (a proxy in front of
    the host, such as Docker's userland proxy, accepts first and closes when the host refuses it).
  - Read-only; the ports are probed in parallel, each for at most O(timeout) seconds per step.
options:
  _terms:
    description: The TCP ports.
    type: list
    elements: int
    required: true
  host:
    description: The address probed (the host's address as the controller reaches it).
    type: str
    required: true
  timeout:
    description: Seconds to wait for the connection, and then for data.
    type: float
    default: 3
  banner:
    description:
      - A regular expression the first bytes must match for the port to count as open (C(^SSH-) for sshd); a
        silent connection then counts as closed.
    type: str
'''

EXAMPLES = r'''
- name: Probe the published ports from the controller
  ansible.builtin.set_fact:
    probes: "{{ query('tgops.runbooks.tcp_probe', 8080, 8443, host=ansible_host) }}"

- name: Prove SSH still answers
  ansible.builtin.assert:
    that: (query('tgops.runbooks.tcp_probe', 22, host=ansible_host, banner='^SSH-') | first).open
'''

RETURN = r'''
_list:
  description: One result per port, in the order given.
  type: list
  elements: dict
  contains:
    port:
      description: The port.
      type: int
    open:
      description: Whether a service answered.
      type: bool
    detail:
      description: What was seen (C(refused), C(timed out), C(closed without data), C(answered), C(silent)).
      type: str
'''

import re
import socket
from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def probe(host, port, timeout, banner=None, connect=socket.create_connection):
    """``{port, open, detail}`` for one port (see DOCUMENTATION for what counts as open)."""
    try:
        sock = connect((host, port), timeout)
    except socket.timeout:
        return dict(port=port, open=False, detail='timed out')
    except OSError as exc:
        return dict(port=port, open=False, detail='refused' if isinstance(exc, ConnectionRefusedError)
                    else 'unreachable (%s)' % (exc.strerror or exc))
    try:
        sock.settimeout(timeout)
        try:
            data = sock.recv(256)
        except socket.timeout:
            if banner:
                return dict(port=port, open=False, detail='silent, no %s banner' % banner)
            return dict(port=port, open=True, detail='silent (accepted and kept open)')
        except OSError:
            return dict(port=port, open=False, detail='reset without data')
    finally:
        sock.close()
    if not data:
        return dict(port=port, open=False, detail='closed without data')
    if banner and not re.search(banner, data.decode('latin-1')):
        return dict(port=port, open=False, detail='answered without the %s banner' % banner)
    return dict(port=port, open=True, detail='answered')


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        host = self.get_option('host')
        timeout = float(self.get_option('timeout'))
        banner = self.get_option('banner')
        ports = []
        flat = []
        for term in terms:  # query('tgops.runbooks.tcp_probe', [80, 443]) passes the list as one term
            flat.extend(term if isinstance(term, (list, tuple)) else [term])
        for term in flat:
            try:
                port = int(term)
            except (TypeError, ValueError):
                port = 0
            if isinstance(term, bool) or not 1 <= port <= 65535:
                raise AnsibleLookupError('tcp_probe: %r is not a TCP port (1-65535)' % (term,))
            ports.append(port)
        if not host:
            raise AnsibleLookupError('tcp_probe needs host= (the address the controller reaches the host at)')
        if banner:
            try:
                re.compile(banner)
            except re.error as exc:
                raise AnsibleLookupError('tcp_probe: banner %r is not a regular expression: %s' % (banner, exc))
        if not ports:
            return []
        with ThreadPoolExecutor(max_workers=min(16, len(ports))) as pool:
            return list(pool.map(lambda port: probe(host, port, timeout, banner), ports))
