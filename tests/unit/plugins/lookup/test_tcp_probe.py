# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""lookup tcp_probe against real sockets on 127.0.0.1: a service that speaks first, one that waits for its client,
one that accepts and closes (a proxy whose backend refused), a port nobody listens on."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket
import threading
import time

import pytest
import yaml
from ansible.errors import AnsibleLookupError
from ansible import constants as C

from ansible_collections.tgops.runbooks.plugins.lookup import tcp_probe
from ansible_collections.tgops.runbooks.plugins.lookup.tcp_probe import probe


def serve(behaviour):
    """A listening port whose accepted connections get ``behaviour(conn)``; returns (port, stop)."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                conn, _peer = server.accept()
            except socket.timeout:
                continue
            behaviour(conn)
        server.close()
    threading.Thread(target=loop, daemon=True).start()
    return server.getsockname()[1], stop


def banner(conn):
    conn.sendall(b'SSH-2.0-OpenSSH_9.2\r\n')


def silent(conn):
    threading.Timer(5, conn.close).start()


def close_at_once(conn):
    conn.close()


def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture(name='ports')
def fixture_ports():
    started = [serve(banner), serve(silent), serve(close_at_once)]
    yield [port for port, _stop in started]
    for _port, stop in started:
        stop.set()


def test_what_counts_as_open(ports):
    ssh, waiting, proxy = ports
    assert probe('127.0.0.1', ssh, 1) == dict(port=ssh, open=True, detail='answered')
    assert probe('127.0.0.1', ssh, 1, banner='^SSH-')['open']
    assert probe('127.0.0.1', waiting, 0.5) == dict(port=waiting, open=True, detail='silent (accepted and kept open)')
    # A silent port is not SSH: the SSH check wants sshd's banner.
    silent_ssh = dict(port=waiting, open=False, detail='silent, no ^SSH- banner')
    assert probe('127.0.0.1', waiting, 0.5, banner='^SSH-') == silent_ssh
    assert probe('127.0.0.1', proxy, 1) == dict(port=proxy, open=False, detail='closed without data')
    refused = free_port()
    assert probe('127.0.0.1', refused, 1) == dict(port=refused, open=False, detail='refused')
    not_http = dict(port=ssh, open=False, detail='answered without the ^HTTP/ banner')
    assert probe('127.0.0.1', ssh, 1, banner='^HTTP/') == not_http


def test_a_dropped_connection_times_out_closed():
    def dropped(address, timeout):
        raise socket.timeout('timed out')
    assert probe('192.0.2.1', 80, 1, connect=dropped) == dict(port=80, open=False, detail='timed out')


def lookup():
    """The plugin with its options from its DOCUMENTATION, as Ansible's loader registers them."""
    C.config.initialize_plugin_configuration_definitions(
        'lookup', 'tcp_probe', yaml.safe_load(tcp_probe.DOCUMENTATION)['options'])
    plugin = tcp_probe.LookupModule()
    plugin._load_name = 'tcp_probe'  # pylint: disable=protected-access
    return plugin


def test_lookup_probes_in_parallel_in_order_and_refuses_bad_terms(ports):
    ssh, waiting, proxy = ports
    started = time.monotonic()
    results = lookup().run([[waiting, proxy], ssh], host='127.0.0.1', timeout=1)
    assert [(r['port'], r['open']) for r in results] == [(waiting, True), (proxy, False), (ssh, True)]
    assert time.monotonic() - started < 1.9  # one timeout, not one per port
    assert lookup().run([], host='127.0.0.1') == []
    with pytest.raises(AnsibleLookupError, match=r"'80; rm -rf /' is not a TCP port"):
        lookup().run(['80; rm -rf /'], host='127.0.0.1')
    with pytest.raises(AnsibleLookupError, match='needs host='):
        lookup().run([22], host='')
    with pytest.raises(AnsibleLookupError, match='is not a regular expression'):
        lookup().run([22], host='127.0.0.1', banner='(')
