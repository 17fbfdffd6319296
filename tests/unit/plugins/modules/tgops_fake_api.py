# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test helpers for the API modules: a real HTTP server on 127.0.0.1 (port 0) and a module runner.

The server is real so that the modules' whole HTTP path (open_url, error statuses, headers, bodies) is exercised.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import threading
import time

from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, quote_plus, urlsplit


class Request(object):
    def __init__(self, method, path, headers, body):
        self.method = method
        split = urlsplit(path)
        self.path = split.path
        self.query = dict((k, v[0]) for k, v in parse_qs(split.query).items())
        self.headers = headers
        self.body = body
        self.params = dict(self.query)
        ctype = headers.get('Content-Type', '')
        if body and ctype.startswith('application/json'):
            self.params.update(json.loads(body.decode('utf-8')))
        elif body and ctype.startswith('application/x-www-form-urlencoded'):
            self.params.update(dict((k, v[0]) for k, v in parse_qs(body.decode('utf-8')).items()))
        elif body and ctype.startswith('multipart/form-data'):
            msg = BytesParser(policy=HTTP).parsebytes(b'Content-Type: ' + ctype.encode() + b'\r\n\r\n' + body)
            self.files = {}
            for part in msg.iter_parts():
                name = part.get_param('name', header='content-disposition')
                if part.get_filename():
                    self.files[name] = part.get_payload(decode=True)
                    self.params[name] = '(file)'
                else:
                    self.params[name] = part.get_content()


class FakeAPI(object):
    """Routes exact paths to queued answers. An answer is ``(status, body, headers)`` or a callable(request).

    Answers queued for a path are used in order; the last one repeats.
    """

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else b''
                req = Request(self.command, self.path, self.headers, body)
                with fake.lock:
                    fake.requests.append(req)
                answer = fake.answer(req)
                if callable(answer):
                    answer = answer(req)
                answer = tuple(answer)
                status, payload = answer[:2]
                headers = answer[2] if len(answer) > 2 else {}
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode('utf-8')
                    headers = dict({'Content-Type': 'application/json'}, **headers)
                elif isinstance(payload, str):
                    payload = payload.encode('utf-8')
                if status == 'sleep':
                    time.sleep(headers.get('seconds', 3))
                    return
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, str(value))
                self.send_header('Content-Length', str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05},
                                       daemon=True)
        self.thread.start()

    def route(self, path, *answers):
        self.routes[path] = list(answers)
        return self

    def answer(self, req):
        answers = self.routes.get(req.path)
        if answers is None:
            for path, queued in self.routes.items():
                if path.endswith('*') and req.path.startswith(path[:-1]):
                    answers = queued
                    break
        if not answers:
            return (404, {'ok': False, 'error_code': 404, 'description': 'Not Found'})
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def calls(self, suffix=None):
        return [r for r in self.requests if suffix is None or r.path.endswith(suffix)]

    def close(self):
        if self.thread is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread = None


class FakeTelegram(object):
    """A small stateful Bot API following the documented behaviour of the real server (telegram-bot-api).

    Scripted to what issue 10 established from the server's source (Client.cpp) and documentation:

    - getWebhookInfo always carries ``ip_address`` while a URL is set (the resolved address, or the fixed one);
    - a setWebhook that is refused after the current webhook was closed leaves the bot with NO webhook
      (process_set_webhook_query -> on_webhook_closed -> do_set_webhook);
    - changing only ``allowed_updates`` answers "Webhook is already set", yet stores the new list; type names
      are lowercased;
    - any setWebhook that changes something clears ``last_error_*``;
    - with ``rate_limit = True``, every setWebhook with a URL is limited to one per second (no-op calls included,
      deleteWebhook never): the call right after another answers 429 with ``retry_after`` 1, and the retry after
      the wait passes (the fake has no clock: a refused call counts as the wait);
    - a well-formed token the server does not know answers 401 (see FakeAPI route ``/bot*``).
    """

    RESOLVED_IP = '203.0.113.7'

    def __init__(self, api, token, bot_id=None, username='tgops_test_bot'):
        self.api = api
        self.token = token
        self.bot_id = bot_id or int(token.split(':')[0])
        self.username = username
        self.webhook = dict(url='', has_custom_certificate=False, pending_update_count=0)
        self.secret = ''
        self.fix_ip = False
        self.revoked = False
        self.rate_limit = False
        self._limited_next = False
        self.set_calls = []
        base = '/bot%s/' % token
        api.route(base + 'getMe', self._get_me)
        api.route(base + 'getWebhookInfo', self._get_info)
        api.route(base + 'setWebhook', self._set)
        api.route(base + 'deleteWebhook', self._delete)
        # Any other /bot<token>/ path: 401 for a well-formed token the server does not accept, 404 for a path it
        # cannot parse (telegram-bot-api: a wrong token is Unauthorized; 404 is for a malformed request path).
        api.route('/bot*', self._unknown_path)

    @staticmethod
    def _unknown_path(req):
        if re.match(r'^/bot[1-9][0-9]{0,15}:[A-Za-z0-9_-]+/[A-Za-z]+$', req.path):
            return (401, {'ok': False, 'error_code': 401, 'description': 'Unauthorized'})
        return (404, {'ok': False, 'error_code': 404, 'description': 'Not Found'})

    def _unauthorized(self):
        return (401, {'ok': False, 'error_code': 401, 'description': 'Unauthorized'})

    def _get_me(self, req):
        if self.revoked:
            return self._unauthorized()
        return (200, {'ok': True, 'result': {'id': self.bot_id, 'is_bot': True, 'first_name': 'Test',
                                             'username': self.username, 'can_join_groups': True}})

    def _get_info(self, req):
        if self.revoked:
            return self._unauthorized()
        info = dict(self.webhook)
        if not info['url']:
            info.pop('ip_address', None)
        return (200, {'ok': True, 'result': info})

    def _closed(self):
        pending = self.webhook['pending_update_count']
        self.webhook = dict(url='', has_custom_certificate=False, pending_update_count=pending)
        self.secret = ''
        self.fix_ip = False

    def _set(self, req):
        if self.revoked:
            return self._unauthorized()
        p = req.params
        self.set_calls.append(dict(p))
        url = p.get('url', '')
        if url and self.rate_limit:
            if self._limited_next:
                self._limited_next = False
                return (429, {'ok': False, 'error_code': 429, 'description': 'Too Many Requests: retry after 1',
                              'parameters': {'retry_after': 1}})
            self._limited_next = True
        cert = 'certificate' in getattr(req, 'files', {})
        max_conn = int(p.get('max_connections') or 40)
        secret = p.get('secret_token') or ''
        ip = p.get('ip_address') or ''
        drop = p.get('drop_pending_updates') in (True, 'true', 'True', '1')
        allowed = p.get('allowed_updates')
        if isinstance(allowed, str):
            try:
                allowed = json.loads(allowed)
            except ValueError:
                allowed = None  # unparsable allowed_updates is ignored
        w = self.webhook
        if (url and w['url'] == url and not w['has_custom_certificate'] and not cert
                and w.get('max_connections') == max_conn and self.secret == secret
                and self.fix_ip == bool(ip) and (not ip or w.get('ip_address') == ip) and not drop):
            if allowed is not None:
                self._allowed(allowed)
            return (200, {'ok': True, 'result': True, 'description': 'Webhook is already set'})
        # The current webhook is closed first; validation comes after.
        self._closed()
        if url and not url.startswith('https://'):
            return (400, {'ok': False, 'error_code': 400,
                          'description': 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook'})
        w = self.webhook
        if not url:
            return (200, {'ok': True, 'result': True, 'description': 'Webhook was deleted'})
        w.update(url=url, has_custom_certificate=cert, max_connections=max_conn, ip_address=ip or self.RESOLVED_IP)
        self.secret = secret
        self.fix_ip = bool(ip)
        if allowed is not None:
            self._allowed(allowed)
        if drop:
            w['pending_update_count'] = 0
        return (200, {'ok': True, 'result': True, 'description': 'Webhook was set'})

    def _allowed(self, allowed):
        names = [a.lower() for a in allowed if isinstance(a, str)]
        if names:
            self.webhook['allowed_updates'] = names
        else:
            self.webhook.pop('allowed_updates', None)

    def _delete(self, req):
        if self.revoked:
            return self._unauthorized()
        drop = req.params.get('drop_pending_updates') in (True, 'true', 'True', '1')
        if drop:
            self.webhook['pending_update_count'] = 0
        if not self.webhook['url']:
            return (200, {'ok': True, 'result': True, 'description': 'Webhook is already deleted'})
        self._closed()
        return (200, {'ok': True, 'result': True, 'description': 'Webhook was deleted'})


def secret_forms(secret):
    """The spellings a leak check looks for."""
    forms = set([secret, quote(secret, safe=''), quote(secret), quote_plus(secret)])
    forms.update([f.replace('%3A', '%3a') for f in forms])
    return forms


def assert_no_secret(obj, *secrets):
    text = json.dumps(obj, default=str)
    for secret in secrets:
        for form in secret_forms(secret):
            assert form not in text, 'secret leaked as %r in %s' % (form, text)
