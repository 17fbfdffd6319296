# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A hostile HTTP server on 127.0.0.1 (port 0) that answers badly on purpose, for the API modules' tests.

It speaks raw HTTP/1.1 over a socket, so that it can do what a well-behaved framework would not: trickle the
status line or the body one byte at a time, hang, announce half a gigabyte, send gzip and deflate bombs,
redirect to another origin, echo the request path (and so a bot token) in odd encodings, send NaN and
Infinity, and answer API results of the wrong type.

The case is chosen by the URL: ``<base>/case/<name>/<anything>``. So an API module pointed at
``api_url=<base>/case/gzip_bomb`` gets the bomb for every call, and ``health_check`` gets it with
``url=<base>/case/gzip_bomb/health``. Cases whose answer depends on the API method (a webhook module calls
getWebhookInfo, then maybe setWebhook) look at the last path segment.

Every behaviour is bounded on the server side too (at most ``MAX_SECONDS`` per connection, bytes capped, a
closed client ends the stream), so a broken client cannot keep the test run alive.

Usable from the unit tests (``HostileServer()`` in-process) and from ``bench/hostile_http_bench.py``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import html
import json
import select
import socket
import socketserver
import threading
import time
import zlib

from urllib.parse import quote, quote_plus, unquote

MAX_SECONDS = 60
MIB = 1024 * 1024


_PAD_MEMBER = gzip.compress(b'x' * MIB, 9)


def _gzip_bomb(mib, req=None):
    """A gzip body inflating to ``mib`` MiB: concatenated gzip members (valid gzip, built instantly).

    With ``req``, the inflated text is the normal JSON answer to that request with a huge ``pad`` string, so a
    client that inflates without a limit parses a perfectly good answer (and says healthy) after eating memory.
    """
    if req is None:
        return _PAD_MEMBER * mib
    normal = json.dumps(normal_answer(req)[1])
    prefix = normal[:-1] + ', "pad": "' if normal.endswith('}') else '{"pad": "'
    return gzip.compress(prefix.encode()) + _PAD_MEMBER * mib + gzip.compress(b'"}')


_DEFLATE_CACHE = {}


def _deflate_bomb(mib):
    """A zlib-wrapped deflate body inflating to ``mib`` MiB of zeros (compressed once per process)."""
    if mib not in _DEFLATE_CACHE:
        comp = zlib.compressobj(9)
        block = b'\0' * MIB
        parts = [comp.compress(block) for dummy in range(mib)]
        parts.append(comp.flush())
        _DEFLATE_CACHE[mib] = b''.join(parts)
    return _DEFLATE_CACHE[mib]


class Request(object):
    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        parts = target.split('?', 1)[0].split('/')
        # /case/<name>/<rest...>
        self.case = parts[2] if len(parts) > 2 and parts[1] == 'case' else None
        self.rest = '/'.join(parts[3:])
        self.method_name = parts[-1] if parts else ''


class Conn(object):
    """The server side of one connection, with bounded writes that stop quietly when the client has gone."""

    def __init__(self, sock, started):
        self.sock = sock
        self.started = started
        self.closed = False

    def overdue(self):
        return time.monotonic() - self.started > MAX_SECONDS

    def send(self, data):
        if self.closed:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def client_gone(self, wait=0.0):
        """True when the client closed its side (readable with no data) within ``wait`` seconds."""
        try:
            readable = select.select([self.sock], [], [], wait)[0]
            if readable:
                return self.sock.recv(1, socket.MSG_PEEK) == b''
        except OSError:
            return True
        return False

    def trickle(self, data, interval):
        for index in range(len(data)):
            if self.overdue() or not self.send(data[index:index + 1]):
                return
            if self.client_gone(interval):
                self.closed = True
                return

    def stream(self, chunk, total, chunked=False):
        sent = 0
        while sent < total and not self.overdue():
            piece = chunk[:total - sent]
            data = (b'%x\r\n' % len(piece)) + piece + b'\r\n' if chunked else piece
            if not self.send(data):
                return
            sent += len(piece)
        if chunked:
            self.send(b'0\r\n\r\n')

    def hang(self):
        while not self.overdue() and not self.client_gone(0.2):
            pass


def head(status, headers=None, reason=None):
    reasons = {200: 'OK', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found', 307: 'Temporary Redirect',
               400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests',
               500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable'}
    lines = ['HTTP/1.1 %d %s' % (status, reason or reasons.get(status, 'Status'))]
    for key, value in (headers or {}).items():
        lines.append('%s: %s' % (key, value))
    lines.append('Connection: close')
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1')


def simple(conn, status, body, headers=None):
    if isinstance(body, (dict, list)) or body is None:
        body = json.dumps(body)
        headers = dict({'Content-Type': 'application/json'}, **(headers or {}))
    if isinstance(body, str):
        body = body.encode('utf-8')
    headers = dict(headers or {})
    headers.setdefault('Content-Length', str(len(body)))
    conn.send(head(status, headers) + body)


def telegram_ok(result, description=None):
    body = {'ok': True, 'result': result}
    if description:
        body['description'] = description
    return body


NORMAL_BOT = {'id': 7770001234, 'is_bot': True, 'first_name': 'Hostile', 'username': 'hostile_bot'}
NORMAL_WEBHOOK = {'url': '', 'has_custom_certificate': False, 'pending_update_count': 0}
TON_INFO = {'balance': '1500000000', 'state': 'active', 'last_transaction_id': {'lt': '1', 'hash': 'x'},
            'sync_utime': 1763900000}


def normal_answer(req):
    """What a well-behaved service answers, by method name (the part after the last /)."""
    name = req.method_name
    if name == 'getMe':
        return 200, telegram_ok(NORMAL_BOT)
    if name == 'getWebhookInfo':
        return 200, telegram_ok(NORMAL_WEBHOOK)
    if name in ('setWebhook', 'deleteWebhook'):
        return 200, telegram_ok(True, 'Webhook was set')
    if name == 'getAddressInformation':
        return 200, {'ok': True, 'result': TON_INFO}
    if name == 'testAuthentication':
        return 200, {'message': 'Congratulations! You are communicating with the Pinata API!'}
    if name == 'userPinnedDataTotal':
        return 200, {'pin_count': 1, 'pin_size_total': 2, 'pin_size_with_replications_total': 3}
    if name == 'health':
        return 200, {'status': 'healthy', 'version': 'v1.0.0', 'uptime_seconds': 1, 'dependencies': {}}
    return 404, {'ok': False, 'error_code': 404, 'description': 'Not Found'}


def echo_forms(text):
    """``text`` in the spellings a broken upstream echoes it: raw, URL-quoted, JSON-escaped, HTML-escaped."""
    return [
        text,
        quote(text, safe=''),
        quote(text).replace('%3A', '%3a'),
        quote_plus(text),
        json.dumps(text)[1:-1].replace('/', '\\/'),
        ''.join(c if c.isalnum() else '\\u%04x' % ord(c) for c in text),
        html.escape(text),
        ''.join(c if c.isalnum() else '&#%d;' % ord(c) for c in text),
        ''.join(c if c.isalnum() else '&#x%x;' % ord(c) for c in text),
    ]


# --- the cases ----------------------------------------------------------------------------------------------

def case_ok(conn, req, server):
    simple(conn, *normal_answer(req))


def case_gzip_bomb(conn, req, server):
    body = _gzip_bomb(server.bomb_mib, req)
    conn.send(head(200, {'Content-Type': 'application/json', 'Content-Encoding': 'gzip',
                         'Content-Length': len(body)}) + body)


def case_gzip_bomb_chunked(conn, req, server):
    body = _gzip_bomb(server.bomb_mib, req)
    conn.send(head(200, {'Content-Type': 'application/json', 'Content-Encoding': 'gzip',
                         'Transfer-Encoding': 'chunked'}))
    for start in range(0, len(body), 64 * 1024):
        piece = body[start:start + 64 * 1024]
        if not conn.send(b'%x\r\n%s\r\n' % (len(piece), piece)):
            return
    conn.send(b'0\r\n\r\n')


def case_gzip_bomb_error(conn, req, server):
    body = _gzip_bomb(server.bomb_mib)
    conn.send(head(500, {'Content-Type': 'text/html', 'Content-Encoding': 'gzip', 'Content-Length': len(body)}) + body)


def case_deflate_bomb(conn, req, server):
    body = _deflate_bomb(min(server.bomb_mib, 256))
    conn.send(head(200, {'Content-Type': 'application/json', 'Content-Encoding': 'deflate',
                         'Content-Length': len(body)}) + body)


def case_gzip_garbage(conn, req, server):
    simple(conn, 200, b'\x1f\x8b\x08\x00garbage that is not deflate data', {'Content-Encoding': 'gzip'})


def case_gzip_truncated(conn, req, server):
    body = gzip.compress(json.dumps({'status': 'healthy'}).encode())[:-12]
    simple(conn, 200, body, {'Content-Encoding': 'gzip'})


def case_huge_body(conn, req, server):
    """Announces 500 MB of JSON and sends it as fast as the client reads."""
    total = server.huge_bytes
    conn.send(head(200, {'Content-Type': 'application/json', 'Content-Length': total}))
    normal = json.dumps(normal_answer(req)[1])
    conn.send((normal[:-1] + ', "pad": "').encode())
    conn.stream(b'x' * (64 * 1024), total)


def case_huge_chunked(conn, req, server):
    """No Content-Length: an endless chunked stream (up to the server's cap)."""
    conn.send(head(200, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}))
    conn.stream(b'[' + b'1,' * (32 * 1024), server.huge_bytes, chunked=True)


def case_huge_error(conn, req, server):
    """A 500 with a huge HTML error body (a proxy's error page gone wrong)."""
    total = server.huge_bytes
    conn.send(head(500, {'Content-Type': 'text/html', 'Content-Length': total}))
    conn.stream(b'<html>' + b'error ' * 10000, total)


def case_big_error_with_token(conn, req, server):
    """5 MB error page that quotes the request path (with the token) at the start and further on."""
    pad = ('<p>' + 'x' * 280 + '</p>')
    body = '<html>%s %s %s</html>' % (req.target, pad * 20000, req.target)
    simple(conn, 502, body, {'Content-Type': 'text/html'})


def case_trickle_body(conn, req, server):
    """Headers at once, then one byte of body per ``trickle_interval`` seconds."""
    body = json.dumps(normal_answer(req)[1]).encode()
    conn.send(head(200, {'Content-Type': 'application/json', 'Content-Length': len(body)}))
    conn.trickle(body, server.trickle_interval)


def case_trickle_headers(conn, req, server):
    """Even the status line and headers arrive one byte at a time."""
    body = json.dumps(normal_answer(req)[1]).encode()
    conn.trickle(head(200, {'Content-Type': 'application/json', 'Content-Length': len(body)}) + body,
                 server.trickle_interval)


def case_trickle_endless(conn, req, server):
    """A chunked body that never ends: one tiny chunk per interval."""
    conn.send(head(200, {'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}))
    while not conn.overdue() and conn.send(b'1\r\n \r\n'):
        if conn.client_gone(server.trickle_interval):
            return


def case_hang(conn, req, server):
    """Reads the request and never answers."""
    conn.hang()


def case_hang_after_headers(conn, req, server):
    conn.send(head(200, {'Content-Type': 'application/json', 'Content-Length': 100}))
    conn.hang()


def case_short_body(conn, req, server):
    """Content-Length promises more than is sent, then the connection closes."""
    conn.send(head(200, {'Content-Type': 'application/json', 'Content-Length': 1000}) + b'{"ok": true')


def case_bad_status_line(conn, req, server):
    conn.send(b'HTTP/1.1 abc Broken\r\n\r\n')


def case_echo_token(conn, req, server):
    """An error whose description quotes the request path in every odd encoding, with the path placed so that a
    300-character cut would fall inside the token."""
    path = unquote(req.target)
    forms = echo_forms(path)
    lead = 'x' * max(0, 300 - len('Bad Request: ') - len(path) // 2)
    description = 'Bad Request: %s%s' % (lead, ' | '.join(forms))
    body = {'ok': False, 'error_code': 400, 'description': description, 'error': description,
            'message': description, 'result': description}
    simple(conn, 400, body)


def case_echo_token_html(conn, req, server):
    """A non-JSON 502 page echoing the path; the path starts just before character 300."""
    path = unquote(req.target)
    body = '<html>' + 'y' * 280 + ' '.join(echo_forms(path)) + '</html>'
    simple(conn, 502, body, {'Content-Type': 'text/html'})


def _rate_limit(value_header, value_body_json):
    def case(conn, req, server):
        body = ('{"ok": false, "error_code": 429, "code": 429, "description": "Too Many Requests", '
                '"parameters": {"retry_after": %s}, "retry_after": %s}' % (value_body_json, value_body_json))
        headers = {'Content-Type': 'application/json'}
        if value_header is not None:
            headers['Retry-After'] = value_header
        simple(conn, 429, body, headers)
    return case


def case_nan_json(conn, req, server):
    """ok with NaN and Infinity literals in the result (not JSON, but Python's json module accepts them)."""
    name = req.method_name
    if name == 'getAddressInformation':
        body = '{"ok": true, "result": {"balance": NaN, "state": "active"}}'
    elif name == 'health':
        body = '{"status": "healthy", "uptime_seconds": Infinity, "dependencies": {}}'
    elif name == 'testAuthentication':
        body = '{"message": NaN}'
    else:
        body = '{"ok": true, "result": {"id": Infinity, "is_bot": true, "url": "", "pending_update_count": NaN}}'
    simple(conn, 200, body, {'Content-Type': 'application/json'})


def case_huge_number(conn, req, server):
    simple(conn, 200, '{"ok": true, "result": {"balance": 1e999, "id": 1e999, "pending_update_count": 1e999, '
                      '"status": "healthy", "uptime_seconds": 1e999}}', {'Content-Type': 'application/json'})


def case_deep_json(conn, req, server):
    simple(conn, 200, '[' * 100000 + ']' * 100000, {'Content-Type': 'application/json'})


def case_surrogates(conn, req, server):
    """Lone surrogates in strings: valid JSON escapes, invalid UTF-8 once decoded."""
    name = req.method_name
    if name == 'getWebhookInfo':
        body = {'ok': True, 'result': {'url': 'https://x/\ud800', 'pending_update_count': 0,
                                       'last_error_message': '\udfff bad', 'has_custom_certificate': False}}
    elif name == 'health':
        body = {'status': 'healthy', 'version': '\ud800', 'dependencies': {'\udc00': {'status': 'healthy'}}}
    elif name == 'getAddressInformation':
        body = {'ok': True, 'result': {'balance': '1', 'state': '\ud800'}}
    elif name == 'testAuthentication':
        body = {'message': 'hi \ud800'}
    else:
        body = {'ok': True, 'result': dict(NORMAL_BOT, first_name='\ud800')}
    simple(conn, 200, json.dumps(body))


def _webhook_result(result):
    def case(conn, req, server):
        if req.method_name == 'getWebhookInfo':
            simple(conn, 200, {'ok': True, 'result': result})
        elif req.method_name == 'setWebhook':
            server.set_webhook_calls += 1
            simple(conn, 200, telegram_ok(True, 'Webhook was set'))
        else:
            simple(conn, *normal_answer(req))
    return case


def _getme_result(body):
    def case(conn, req, server):
        if req.method_name == 'getMe':
            simple(conn, 200, body)
        else:
            simple(conn, *normal_answer(req))
    return case


def _ton_result(result):
    def case(conn, req, server):
        simple(conn, 200, {'ok': True, 'result': result})
    return case


def _pinata(status, body, headers=None):
    def case(conn, req, server):
        simple(conn, status, body, headers)
    return case


def _health(status, body, headers=None):
    def case(conn, req, server):
        simple(conn, status, body, headers)
    return case


def case_health_over_limit(conn, req, server):
    """A healthy-looking JSON document padded past 1 MiB: cut at the limit it would no longer parse."""
    pad = 'x' * (2 * MIB)
    simple(conn, 200, '{"status": "healthy", "pad": "%s", "status": "unhealthy"}' % pad,
           {'Content-Type': 'application/json'})


def case_health_truncated_json(conn, req, server):
    simple(conn, 200, '{"status": "unhealthy", "dependencies": {"postgres": {"status": "unh',
           {'Content-Type': 'application/json'})


def case_redirect_other_origin(conn, req, server):
    """302 to the collector server (another origin): it records whatever headers arrive."""
    simple(conn, 302, '', {'Location': server.collector_url + '/collect/' + req.rest})


def case_redirect_307_other_origin(conn, req, server):
    simple(conn, 307, '', {'Location': server.collector_url + '/collect/' + req.rest})


def case_redirect_same_origin(conn, req, server):
    simple(conn, 302, '', {'Location': '/case/ok/' + req.rest})


def case_redirect_loop(conn, req, server):
    simple(conn, 302, '', {'Location': req.target})


def case_redirect_file(conn, req, server):
    simple(conn, 302, '', {'Location': 'file:///etc/passwd'})


def case_collect(conn, req, server):
    simple(conn, *normal_answer(req))


CASES = {
    'ok': case_ok,
    'collect': case_collect,
    'gzip_bomb': case_gzip_bomb,
    'gzip_bomb_chunked': case_gzip_bomb_chunked,
    'gzip_bomb_error': case_gzip_bomb_error,
    'deflate_bomb': case_deflate_bomb,
    'gzip_garbage': case_gzip_garbage,
    'gzip_truncated': case_gzip_truncated,
    'huge_body': case_huge_body,
    'huge_chunked': case_huge_chunked,
    'huge_error': case_huge_error,
    'big_error_with_token': case_big_error_with_token,
    'trickle_body': case_trickle_body,
    'trickle_headers': case_trickle_headers,
    'trickle_endless': case_trickle_endless,
    'hang': case_hang,
    'hang_after_headers': case_hang_after_headers,
    'short_body': case_short_body,
    'bad_status_line': case_bad_status_line,
    'echo_token': case_echo_token,
    'echo_token_html': case_echo_token_html,
    'retry_after_nan': _rate_limit('nan', 'NaN'),
    'retry_after_inf': _rate_limit('inf', 'Infinity'),
    'retry_after_infinity_header': _rate_limit('Infinity', '"Infinity"'),
    'retry_after_huge': _rate_limit('1' + '0' * 400, '1e308'),
    'retry_after_huge_int': _rate_limit(None, '1' + '0' * 400),
    'retry_after_negative': _rate_limit('-5', '-5'),
    'retry_after_text': _rate_limit('soon', '"soon"'),
    'nan_json': case_nan_json,
    'huge_number': case_huge_number,
    'deep_json': case_deep_json,
    'surrogates': case_surrogates,
    'webhook_null': _webhook_result(None),
    'webhook_list': _webhook_result([1]),
    'webhook_string': _webhook_result('no webhook'),
    'webhook_pending_abc': _webhook_result({'url': '', 'pending_update_count': 'abc'}),
    'webhook_pending_bool': _webhook_result({'url': '', 'pending_update_count': True}),
    'webhook_pending_negative': _webhook_result({'url': '', 'pending_update_count': -3}),
    'webhook_error_date_1e20': _webhook_result({'url': 'https://x/h', 'pending_update_count': 0,
                                                'last_error_date': 1e20}),
    'webhook_error_date_negative': _webhook_result({'url': 'https://x/h', 'pending_update_count': 0,
                                                    'last_error_date': -10 ** 20}),
    'webhook_error_date_huge_int': _webhook_result({'url': 'https://x/h', 'pending_update_count': 0,
                                                    'last_error_date': 10 ** 30}),
    'webhook_allowed_dicts': _webhook_result({'url': 'https://x/h', 'pending_update_count': 0,
                                              'allowed_updates': [{'a': 1}]}),
    'webhook_url_number': _webhook_result({'url': 12, 'pending_update_count': 0}),
    'webhook_ok_no_result': _getme_result({'ok': True}),
    'getme_no_result': _getme_result({'ok': True}),
    'getme_null': _getme_result({'ok': True, 'result': None}),
    'getme_list': _getme_result({'ok': True, 'result': [1]}),
    'getme_id_string': _getme_result({'ok': True, 'result': {'id': 'abc', 'is_bot': True}}),
    'getme_not_bot': _getme_result({'ok': True, 'result': {'id': 5, 'is_bot': False}}),
    'ton_negative': _ton_result({'balance': '-5000000000', 'state': 'active'}),
    'ton_negative_int': _ton_result({'balance': -5, 'state': 'active'}),
    'ton_arabic_digits': _ton_result({'balance': '\u0661\u0662', 'state': 'active'}),
    'ton_underscore': _ton_result({'balance': '1_000', 'state': 'active'}),
    'ton_float': _ton_result({'balance': 1.5e9, 'state': 'active'}),
    'ton_huge': _ton_result({'balance': '9' * 5000, 'state': 'active'}),
    'ton_null': _ton_result(None),
    'ton_state_dict': _ton_result({'balance': '1', 'state': {'a': 1}}),
    'pinata_html_200': _pinata(200, '<html><body>Welcome to the proxy</body></html>', {'Content-Type': 'text/html'}),
    'pinata_empty_204': _pinata(204, ''),
    'pinata_empty_200': _pinata(200, ''),
    'pinata_json_list_200': _pinata(200, [1, 2]),
    'pinata_usage_wrong_types': lambda conn, req, server: simple(conn, 200, (
        {'pin_count': 'many', 'pin_size_total': -1, 'pin_size_with_replications_total': 1e300}
        if req.method_name == 'userPinnedDataTotal' else normal_answer(req)[1])),
    'pinata_huge_401': _pinata(401, {'error': {'reason': 'INVALID_CREDENTIALS', 'details': 'z' * (5 * MIB)}}),
    'health_unhealthy_200': _health(200, {'status': 'unhealthy', 'dependencies': {}}),
    'health_over_limit': case_health_over_limit,
    'health_truncated_json': case_health_truncated_json,
    'health_status_dict': _health(200, {'status': {'a': 'healthy'}}),
    'health_deps_list': _health(200, {'status': 'healthy', 'dependencies': ['postgres']}),
    'redirect_other_origin': case_redirect_other_origin,
    'redirect_307_other_origin': case_redirect_307_other_origin,
    'redirect_same_origin': case_redirect_same_origin,
    'redirect_loop': case_redirect_loop,
    'redirect_file': case_redirect_file,
}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server.owner
        sock = self.request
        sock.settimeout(10)
        conn = Conn(sock, time.monotonic())
        try:
            req = self._read_request(sock)
        except (OSError, ValueError):
            return
        if req is None:
            return
        with server.lock:
            server.requests.append(req)
        case = CASES.get(req.case) or case_ok
        if req.case == 'collect' or req.target.startswith('/collect/'):
            case = case_collect
        try:
            case(conn, req, server)
        except OSError:
            pass
        finally:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    @staticmethod
    def _read_request(sock):
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
            if len(data) > 256 * 1024:
                raise ValueError('request head too large')
        head_bytes, dummy, body = data.partition(b'\r\n\r\n')
        lines = head_bytes.decode('latin-1').split('\r\n')
        method, target = lines[0].split(' ')[:2]
        headers = {}
        for line in lines[1:]:
            key, dummy, value = line.partition(':')
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get('content-length') or 0)
        length = min(length, 4 * MIB)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return Request(method, target, headers, body)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class HostileServer(object):
    """The hostile server and a second, well-behaved "collector" origin that records what a redirect delivers.

    ``url`` is the base URL; ``case_url(name)`` the prefix of a case. ``requests`` holds every request of both
    origins (method, target, lower-case headers, body).
    """

    def __init__(self, bomb_mib=64, huge_bytes=500 * 1000 * 1000, trickle_interval=1.0):
        self.bomb_mib = bomb_mib
        self.huge_bytes = huge_bytes
        self.trickle_interval = trickle_interval
        self.requests = []
        self.set_webhook_calls = 0
        self.lock = threading.Lock()
        self._servers = []
        self.url = self._start()
        self.collector_url = self._start()

    def _start(self):
        srv = _TCPServer(('127.0.0.1', 0), _Handler)
        srv.owner = self
        thread = threading.Thread(target=srv.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        thread.start()
        self._servers.append(srv)
        return 'http://127.0.0.1:%d' % srv.server_address[1]

    def case_url(self, name):
        assert name in CASES, name
        return '%s/case/%s' % (self.url, name)

    def collected(self):
        return [r for r in self.requests if r.target.startswith('/collect/')]

    def reset(self):
        with self.lock:
            self.requests = []
            self.set_webhook_calls = 0

    def close(self):
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        self._servers = []


if __name__ == '__main__':  # pragma: no cover - manual use: python hostile_server.py
    SERVER = HostileServer()
    print(SERVER.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        SERVER.close()
