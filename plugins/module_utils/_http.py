# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""JSON API calls for the tgops.runbooks modules, with bounded 429 handling and secret redaction.

This is a private module_utils (leading underscore): its interface may change without notice.

Why not ``fetch_url``: on some transport errors ``fetch_url`` calls ``module.fail_json`` itself with the
request URL in the result. Telegram puts the bot token into every URL, so that would leak the token past
Ansible's ``no_log`` masking (which only knows the exact string, not its URL-quoted forms). Everything
here goes through ``open_url`` and every message it produces passes through a :class:`Redactor`.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import html
import json
import re
import socket
import time

from urllib.error import HTTPError, URLError
from urllib.parse import quote, quote_plus, urlencode

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import open_url, prepare_multipart

MASK = '********'

# Indirection so that tests can replace the sleep of every client at once.
_sleep = time.sleep

# Longest text of a response body quoted back in an error message.
BODY_EXCERPT = 300


def http_argument_spec():
    """Transport options shared by every API module (documented in doc fragment tgops.runbooks._http)."""
    return dict(
        timeout=dict(type='int', default=10),
        validate_certs=dict(type='bool', default=True),
        max_retries=dict(type='int', default=3),
        max_retry_wait=dict(type='int', default=30),
    )


def check_http_params(params):
    """Return an error message for out-of-range transport options, or None."""
    if params.get('timeout') is not None and params['timeout'] < 1:
        return 'timeout must be at least 1 second'
    if params.get('max_retries') is not None and params['max_retries'] < 0:
        return 'max_retries must be 0 or more'
    if params.get('max_retry_wait') is not None and params['max_retry_wait'] < 0:
        return 'max_retry_wait must be 0 or more'
    return None


def _variants(secret):
    """Every spelling of ``secret`` that may show up in a URL, a body or an exception text."""
    forms = set([secret])
    forms.add(quote(secret, safe=''))
    forms.add(quote(secret))
    forms.add(quote_plus(secret))
    forms.add(quote(quote(secret, safe=''), safe=''))  # double-quoted (a quoted URL inside a URL)
    for form in list(forms):
        # %3a as well as %3A
        forms.add(re.sub(r'%[0-9A-F]{2}', lambda m: m.group(0).lower(), form))
    forms.add(json.dumps(secret)[1:-1])          # JSON string escaping
    forms.add(html.escape(secret))
    forms.add(secret.encode('unicode_escape').decode('ascii'))
    try:
        forms.add(to_text(base64.b64encode(secret.encode('utf-8'))))
        forms.add(to_text(base64.urlsafe_b64encode(secret.encode('utf-8'))))
    except Exception:  # pragma: no cover - str always encodes
        pass
    return forms


class Redactor(object):
    """Replace secrets in strings (and nested results) by ``********``.

    Every secret is removed raw, URL-quoted (``%3A`` or ``%3a`` for ``:``, ``+`` for spaces, double quoting),
    JSON-, HTML- and backslash-escaped and base64-encoded. Longer spellings are replaced first so that a
    secret containing another secret is masked whole.
    """

    def __init__(self, secrets=None):
        self._forms = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret):
        if secret is None:
            return
        secret = to_text(secret)
        # Very short values would mask unrelated text; no real credential is that short.
        if len(secret) < 4:
            return
        forms = set(self._forms)
        forms.update(form for form in _variants(secret) if len(form) >= 4)
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text):
        if text is None:
            return None
        if not isinstance(text, str):
            text = to_text(text, errors='surrogate_or_replace')
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def redact_obj(self, obj):
        """Redact every string (keys included) inside dicts, lists and tuples."""
        if isinstance(obj, dict):
            return dict((self.redact_obj(k), self.redact_obj(v)) for k, v in obj.items())
        if isinstance(obj, (list, tuple)):
            return [self.redact_obj(v) for v in obj]
        if isinstance(obj, (str, bytes)):
            return self(obj)
        return obj


class APIError(Exception):
    """A request failed before an API answer could be used (transport, rate limit, not JSON).

    ``msg`` is already redacted. ``kind`` is one of ``unreachable``, ``timeout``, ``rate_limited``,
    ``invalid_json``. ``status`` is the HTTP status when one was received.
    """

    def __init__(self, msg, kind, status=None, response=None):
        super(APIError, self).__init__(msg)
        self.msg = msg
        self.kind = kind
        self.status = status
        self.response = response


class Response(object):
    """An HTTP answer of any status: ``status``, lower-cased ``headers``, ``text`` and decoded ``json``.

    ``json`` is None when the body is empty or not JSON; ``json_error`` then says why (redacted).
    """

    def __init__(self, status, headers, body, redact):
        self.status = status
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())
        self.text = to_text(body or b'', errors='surrogate_or_replace')
        self.json = None
        self.json_error = None
        if self.text.strip():
            try:
                self.json = json.loads(self.text)
            except ValueError as exc:
                self.json_error = redact(to_native(exc))
        else:
            self.json_error = 'empty body'

    def excerpt(self, redact):
        text = ' '.join(self.text.split())
        if len(text) > BODY_EXCERPT:
            text = text[:BODY_EXCERPT] + '...'
        return redact(text)


def parse_retry_after(value):
    """Seconds from a ``Retry-After`` header or a ``retry_after`` field; None when absent or an HTTP date."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(to_text(value).strip())
    except (TypeError, ValueError):
        return None
    if seconds < 0:
        return None
    return seconds


def default_is_rate_limited(response):
    """HTTP 429, or a JSON body carrying ``code``/``error_code`` 429 (toncenter may send it with HTTP 200)."""
    if response.status == 429:
        return True
    body = response.json
    if isinstance(body, dict):
        for key in ('code', 'error_code'):
            if body.get(key) == 429 or to_text(body.get(key)) == '429':
                return True
    return False


def default_retry_after(response):
    """Server's requested wait: JSON ``parameters.retry_after`` (Telegram), JSON ``retry_after``, ``Retry-After``."""
    body = response.json
    if isinstance(body, dict):
        params = body.get('parameters')
        if isinstance(params, dict) and parse_retry_after(params.get('retry_after')) is not None:
            return parse_retry_after(params.get('retry_after'))
        if parse_retry_after(body.get('retry_after')) is not None:
            return parse_retry_after(body.get('retry_after'))
    return parse_retry_after(response.headers.get('retry-after'))


class JSONAPIClient(object):
    """Calls one JSON HTTP API.

    :arg base_url: prefix of every request URL (trailing ``/`` ignored).
    :arg service: human name used in messages (``Telegram``, ``toncenter``, ``Pinata``).
    :arg redactor: a :class:`Redactor` holding every secret of the call.
    :arg headers: headers sent with every request (credentials go here, never into messages).
    :arg max_retries: how many times a rate-limited request is retried.
    :arg max_retry_wait: total seconds the client may sleep for rate limits in one module run.
    :arg default_wait: wait before a retry when the server names none (doubles on each retry).
    :arg sleep: the sleep function (tests replace it).
    """

    def __init__(self, base_url, service, redactor, headers=None, timeout=10, validate_certs=True,
                 max_retries=3, max_retry_wait=30, default_wait=1.0, rate_limit_hint=None,
                 is_rate_limited=None, retry_after=None, sleep=None):
        self.base_url = base_url.rstrip('/')
        self.service = service
        self.redact = redactor
        self.headers = dict(headers or {})
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.default_wait = default_wait
        self.rate_limit_hint = rate_limit_hint
        self.is_rate_limited = is_rate_limited or default_is_rate_limited
        self.retry_after = retry_after or default_retry_after
        self.sleep = sleep
        self.waited = 0.0
        self.retries = 0

    def url(self, path, params=None):
        url = self.base_url + '/' + path.lstrip('/')
        if params:
            url += ('&' if '?' in url else '?') + urlencode(
                [(k, v) for k, v in params.items() if v is not None], doseq=True)
        return url

    def _open(self, method, url, data, headers):
        """One HTTP exchange. Returns a Response for any HTTP status; raises APIError for transport errors."""
        try:
            # Redirects are not followed: they would carry the credential headers to another URL. A 3xx
            # arrives as HTTPError and is returned like any other status. No .netrc either: the
            # credentials are the module's options.
            resp = open_url(url, data=data, headers=headers, method=method, timeout=self.timeout,
                            validate_certs=self.validate_certs, follow_redirects='none', use_netrc=False)
            try:
                return Response(resp.getcode(), dict(resp.headers.items()), resp.read(), self.redact)
            finally:
                resp.close()
        except HTTPError as exc:
            try:
                body = exc.read()
            except Exception:
                body = b''
            headers = dict(exc.headers.items()) if exc.headers is not None else {}
            return Response(exc.code, headers, body, self.redact)
        except (socket.timeout, TimeoutError) as exc:
            raise APIError(self.redact('%s API at %s did not answer within %s seconds (timeout): %s' % (
                self.service, self.base_url, self.timeout, to_native(exc))), 'timeout')
        except URLError as exc:
            reason = getattr(exc, 'reason', exc)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                raise APIError(self.redact('%s API at %s did not answer within %s seconds (timeout)' % (
                    self.service, self.base_url, self.timeout)), 'timeout')
            raise APIError(self.redact('cannot reach the %s API at %s: %s' % (
                self.service, self.base_url, to_native(reason))), 'unreachable')
        except Exception as exc:  # ConnectionError, SSLValidationError, http.client errors, OSError ...
            raise APIError(self.redact('cannot reach the %s API at %s: %s: %s' % (
                self.service, self.base_url, type(exc).__name__, to_native(exc))), 'unreachable')

    def request(self, method, path, params=None, json_body=None, form=None, multipart=None, headers=None):
        """Send one request, retrying while rate limited within the bounds; return the final Response.

        Any HTTP status is returned to the caller, which maps API errors. Raises :class:`APIError` when the
        API is unreachable, times out, or stays rate limited beyond ``max_retries`` / ``max_retry_wait``.
        """
        req_headers = dict(self.headers)
        req_headers.setdefault('Accept', 'application/json')
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode('utf-8')
            req_headers['Content-Type'] = 'application/json'
        elif form is not None:
            data = urlencode([(k, v) for k, v in form.items() if v is not None]).encode('utf-8')
            req_headers['Content-Type'] = 'application/x-www-form-urlencoded'
        elif multipart is not None:
            content_type, data = prepare_multipart(multipart)
            req_headers['Content-Type'] = content_type
        req_headers.update(headers or {})
        url = self.url(path, params)

        while True:
            response = self._open(method, url, data, req_headers)
            if not self.is_rate_limited(response):
                return response
            asked = self.retry_after(response)
            wait = asked if asked is not None else self.default_wait * (2 ** self.retries)
            remaining = self.max_retry_wait - self.waited
            what = self._rate_limit_text(response, asked)
            if self.retries >= self.max_retries or wait > remaining:
                if self.retries >= self.max_retries:
                    why = 'still rate limited after %d retr%s (max_retries=%d, waited %s s in total)' % (
                        self.retries, 'y' if self.retries == 1 else 'ies', self.max_retries, _fmt(self.waited))
                else:
                    why = ('giving up without waiting: the next wait of %s s exceeds the remaining wait budget '
                           'of %s s (max_retry_wait=%s, waited %s s so far)' % (
                               _fmt(wait), _fmt(max(remaining, 0)), self.max_retry_wait, _fmt(self.waited)))
                msg = '%s API rate limit: %s; %s' % (self.service, what, why)
                if self.rate_limit_hint:
                    msg += '. ' + self.rate_limit_hint
                raise APIError(self.redact(msg), 'rate_limited', status=response.status, response=response)
            (self.sleep or _sleep)(wait)
            self.waited += wait
            self.retries += 1

    def _rate_limit_text(self, response, asked):
        detail = None
        body = response.json
        if isinstance(body, dict):
            for key in ('description', 'error', 'result', 'message'):
                value = body.get(key)
                if isinstance(value, dict):
                    value = value.get('details') or value.get('reason') or value.get('message')
                if isinstance(value, str) and value:
                    detail = value
                    break
        text = 'HTTP %s' % response.status
        if detail:
            text += ' (%s)' % detail
        if asked is not None:
            text += ', server asks to retry after %s s' % _fmt(asked)
        return self.redact(text)


def _fmt(seconds):
    seconds = float(seconds)
    return ('%d' % seconds) if seconds == int(seconds) else ('%.1f' % seconds)
