# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Telegram Bot API client shared by the telegram_* modules (private: the interface may change).

The options are documented once in the doc fragments ``tgops.runbooks._telegram`` and
``tgops.runbooks._http``; :func:`telegram_argument_spec` returns the matching argument spec.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import re
import time

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tgops.runbooks.plugins.module_utils._http import (
    APIError,
    JSONAPIClient,
    check_http_params,
    check_url,
    http_argument_spec,
)
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import Redactor, excerpt, shown, strip_userinfo

DEFAULT_API_URL = 'https://api.telegram.org'

# Loose shape: "<bot id>:<secret>". The id is decimal without a leading zero and below 2^54 (what the Bot
# API server accepts); the secret is URL-safe. Lengths are not enforced: real tokens happen to be
# 8-10 digits and 35 characters, but that is a convention, not a rule.
_TOKEN_RE = re.compile(r'^([1-9][0-9]*):([A-Za-z0-9_-]+)$')
_MAX_BOT_ID = 2 ** 54


WEBHOOK_FIELDS = (
    'url', 'has_custom_certificate', 'pending_update_count', 'ip_address', 'max_connections', 'allowed_updates',
    'last_error_date', 'last_error_message', 'last_synchronization_error_date',
)
# Latest Unix time datetime can format (9999-12-31T23:59:59Z); Telegram's dates are far below it.
_MAX_UNIX_TIME = 253402300799


class MalformedResult(ValueError):
    """An ``ok: true`` answer whose ``result`` does not have the documented shape."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def iso_utc(timestamp):
    """Unix time as ISO-8601 UTC (``2025-11-23T12:13:20Z``); None stays None."""
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _check_field(info, key):
    """The value of ``key`` in a WebhookInfo object, type-checked; raise MalformedResult when it is wrong."""
    value = info.get(key)
    if value is None:
        return None
    if key == 'url' or key.endswith('_message') or key == 'ip_address':
        ok = isinstance(value, str)
        want = 'a string'
    elif key == 'has_custom_certificate':
        ok = isinstance(value, bool)
        want = 'true or false'
    elif key == 'pending_update_count':
        ok = _is_int(value) and 0 <= value < 2 ** 53
        want = 'an integer of 0 or more'
    elif key == 'max_connections':
        ok = _is_int(value) and 0 <= value <= 100000
        want = 'a small positive integer'
    elif key == 'allowed_updates':
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        want = 'a list of strings'
    else:  # dates
        ok = _is_int(value) and 0 <= value <= _MAX_UNIX_TIME
        want = 'an integer Unix time'
    if not ok:
        raise MalformedResult('getWebhookInfo returned a malformed WebhookInfo: %s is %s, expected %s' % (
            key, shown(value, 60), want))
    return value


def describe_webhook(info, now):
    """Validate and normalize a WebhookInfo object (absent fields become None) and add computed fields.

    Raises :class:`MalformedResult` when ``info`` is not an object or a field has the wrong type: a ``null`` or
    ``[1]`` result is a broken answer, never "no webhook".
    """
    if not isinstance(info, dict):
        raise MalformedResult('getWebhookInfo returned %s instead of a WebhookInfo object' % (
            'null' if info is None else 'a %s (%s)' % (type(info).__name__, shown(info, 60))))
    webhook = dict((key, _check_field(info, key)) for key in WEBHOOK_FIELDS)
    webhook['url'] = webhook['url'] or ''
    webhook['is_set'] = bool(webhook['url'])
    webhook['has_custom_certificate'] = bool(webhook['has_custom_certificate'])
    webhook['pending_update_count'] = webhook['pending_update_count'] or 0
    webhook['last_error_date_iso'] = iso_utc(webhook['last_error_date'])
    webhook['last_error_age'] = (max(0, int(now - webhook['last_error_date']))
                                 if webhook['last_error_date'] else None)
    webhook['last_synchronization_error_date_iso'] = iso_utc(webhook['last_synchronization_error_date'])
    return webhook


BOT_FIELDS = (('id', 'int'), ('is_bot', 'bool'), ('first_name', 'str'), ('username', 'str'),
              ('can_join_groups', 'bool'), ('can_read_all_group_messages', 'bool'),
              ('supports_inline_queries', 'bool'))


def describe_bot(result):
    """Validate a getMe User object; raise :class:`MalformedResult` unless it names a bot with an id."""
    if not isinstance(result, dict):
        raise MalformedResult('getMe returned %s instead of a User object' % (
            'no result' if result is None else 'a %s (%s)' % (type(result).__name__, shown(result, 60))))
    bot = {}
    for key, kind in BOT_FIELDS:
        value = result.get(key)
        if value is None:
            continue
        ok = {'int': _is_int(value), 'bool': isinstance(value, bool), 'str': isinstance(value, str)}[kind]
        if not ok:
            raise MalformedResult('getMe returned a malformed User: %s is %s' % (key, shown(value, 60)))
        bot[key] = value
    if 'id' not in bot or bot['id'] <= 0:
        raise MalformedResult('getMe returned a User without a valid id')
    if bot.get('is_bot') is not True:
        raise MalformedResult('getMe returned a User that is not a bot (is_bot=%s)' % shown(result.get('is_bot')))
    for key, value in result.items():
        # Optional fields Telegram adds over time: keep plain values, not nested documents.
        if key not in bot and isinstance(key, str) and isinstance(value, (bool, int, str)):
            bot[key] = value
    return bot


def telegram_argument_spec():
    """Options of every module that talks to the Bot API (doc fragments _telegram and _http)."""
    spec = dict(
        bot_token=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['TELEGRAM_BOT_TOKEN'])),
        api_url=dict(type='str', default=DEFAULT_API_URL),
    )
    spec.update(http_argument_spec())
    return spec


def check_token(token):
    """Return None for a plausible bot token, else a reason that never contains the token."""
    if token is None or token == '':
        return 'bot_token is empty'
    token = to_text(token)
    if token != token.strip():
        return ('bot_token has leading or trailing whitespace (a newline from a file or vault lookup?); '
                'strip it, for example with "| trim"')
    if token.lower().startswith('bot') and ':' in token:
        return ('bot_token must not start with "bot": the module adds that prefix to the URL itself '
                '(a doubled prefix gets 404 Not Found from Telegram)')
    if ':' not in token:
        return 'bot_token is malformed: expected "<bot id>:<secret>" and found no ":" (%d characters)' % len(token)
    match = _TOKEN_RE.match(token)
    if not match:
        bot_id, dummy, secret = token.partition(':')
        if not bot_id.isdigit():
            return 'bot_token is malformed: the part before ":" must be the numeric bot id'
        if bot_id.startswith('0'):
            return 'bot_token is malformed: the bot id before ":" must not start with 0'
        if not secret:
            return 'bot_token is malformed: nothing follows ":"'
        return ('bot_token is malformed: the part after ":" may contain only letters, digits, "_" and "-" '
                '(%d characters in total)' % len(token))
    if int(match.group(1)) >= _MAX_BOT_ID:
        return 'bot_token is malformed: the bot id before ":" is too large'
    return None


def token_redactor(token, *others):
    """A Redactor for a bot token: the whole token and, on its own, its secret half."""
    redactor = Redactor()
    if token:
        token = to_text(token)
        redactor.add(token)
        redactor.add('bot' + token)
        secret = token.partition(':')[2]
        if len(secret) >= 8:
            redactor.add(secret)
    for other in others:
        redactor.add(other)
    return redactor


class TelegramError(Exception):
    """The Bot API refused a call. ``msg`` is redacted and human readable."""

    def __init__(self, msg, error_code=None, description=None, retry_after=None, kind='api'):
        super(TelegramError, self).__init__(msg)
        self.msg = msg
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.kind = kind


class TelegramClient(object):
    """Minimal Bot API client: getMe, getWebhookInfo, setWebhook, deleteWebhook."""

    def __init__(self, token, api_url=DEFAULT_API_URL, timeout=10, validate_certs=True, max_retries=3,
                 max_retry_wait=30, redactor=None, sleep=None):
        self.token = token
        self.redact = redactor or token_redactor(token)
        self.http = JSONAPIClient(
            '%s/bot%s' % (api_url.rstrip('/'), token), 'Telegram', self.redact, timeout=timeout,
            validate_certs=validate_certs, max_retries=max_retries, max_retry_wait=max_retry_wait,
            rate_limit_hint='Telegram asks for long waits during floods; raise max_retry_wait to wait longer',
            sleep=sleep)
        # What users see as the API location: the base URL without the token (nor any userinfo).
        self.api_url = shown(strip_userinfo(api_url.rstrip('/')), 200)

    @classmethod
    def from_module(cls, module, redactor=None):
        """Build a client from the module's telegram options, failing cleanly on bad values."""
        params = module.params
        token = params['bot_token']
        redactor = redactor or token_redactor(token)
        problem = check_token(token) or check_url(params['api_url'], 'api_url') or check_http_params(params)
        if problem:
            module.fail_json(msg=redactor(problem))
        return cls(token, api_url=params['api_url'], timeout=params['timeout'],
                   validate_certs=params['validate_certs'], max_retries=params['max_retries'],
                   max_retry_wait=params['max_retry_wait'], redactor=redactor)

    def _send(self, method, params=None, multipart=None, http_method='POST'):
        """Send one call; return ``(result, description)`` or raise :class:`TelegramError` (redacted)."""
        try:
            if multipart is not None:
                response = self.http.request('POST', method, multipart=multipart)
            elif http_method == 'GET':
                response = self.http.request('GET', method)
            else:
                response = self.http.request('POST', method, json_body=params or {})
        except APIError as exc:
            raise TelegramError(self.redact('%s failed: %s' % (method, exc.msg)), error_code=exc.status,
                                kind=exc.kind)
        body = response.json
        if isinstance(body, dict) and body.get('ok') is True and 200 <= response.status < 300:
            if 'result' not in body:
                raise TelegramError(self.redact('%s failed: Telegram answered ok without a result (malformed '
                                                'response): %s' % (method, response.excerpt(self.redact))),
                                    error_code=response.status, kind='malformed')
            description = body.get('description')
            return body.get('result'), (excerpt(description, self.redact) if isinstance(description, str) else None)
        raise self._error(method, response)

    def call(self, method, params=None):
        """Call ``method`` (GET without params, else POST JSON) and return its ``result``."""
        return self._send(method, params, http_method='GET' if params is None else 'POST')[0]

    def _error(self, method, response):
        body = response.json if isinstance(response.json, dict) else {}
        code = body.get('error_code')
        if not (isinstance(code, int) and not isinstance(code, bool) and 100 <= code <= 999):
            code = response.status
        description = body.get('description')
        if not isinstance(description, str):
            description = None
        if description is not None:
            description = excerpt(description, self.redact)
        if code == 401:
            # The Bot API server answers 401 for a well-formed token it does not know or that was revoked.
            msg = ('%s failed: token rejected (revoked or invalid): Telegram answered 401 %s' % (
                method, description or 'Unauthorized'))
        elif code == 404:
            # 404 is for a path the Bot API server cannot parse: not a rejected token, a wrong URL.
            msg = ('%s failed: Telegram answered 404 %s: the request path was not recognised; check api_url '
                   '(currently %s) and that bot_token has no "bot" prefix. A revoked or unknown token answers '
                   '401, not 404' % (method, description or 'Not Found', self.api_url))
        elif description is not None:
            msg = '%s failed: Telegram answered %s: %s' % (method, code, description)
            if code == 409 and method.lower() == 'getupdates':
                msg += ' (a webhook is set: delete it before polling)'
        elif response.json is None:
            msg = '%s failed: Telegram answered HTTP %s with a body that is not JSON (%s): %s' % (
                method, response.status, response.json_error, response.excerpt(self.redact) or '(empty)')
        else:
            msg = '%s failed: Telegram answered HTTP %s without an error description: %s' % (
                method, response.status, response.excerpt(self.redact))
        return TelegramError(self.redact(msg), error_code=code, description=description, kind='api')

    def get_me(self):
        return self.call('getMe')

    def get_webhook_info(self):
        return self.call('getWebhookInfo')

    def bot(self):
        """getMe, validated (:func:`describe_bot`); a malformed answer raises TelegramError kind=malformed."""
        try:
            return describe_bot(self.get_me())
        except MalformedResult as exc:
            raise TelegramError(self.redact('%s (malformed response)' % exc), kind='malformed')

    def webhook(self, now=None):
        """getWebhookInfo, validated and normalized (:func:`describe_webhook`)."""
        try:
            return describe_webhook(self.get_webhook_info(), time.time() if now is None else now)
        except MalformedResult as exc:
            raise TelegramError(self.redact('%s (malformed response)' % exc), kind='malformed')

    def set_webhook(self, params, certificate=None):
        """setWebhook with ``params``; ``certificate`` is ``(file name, bytes)``, sent as a multipart upload."""
        if certificate is None:
            return self._send('setWebhook', params)
        fields = {}
        for key, value in params.items():
            if value is None:
                continue
            if isinstance(value, bool):
                fields[key] = 'true' if value else 'false'
            elif isinstance(value, (list, dict)):
                fields[key] = json.dumps(value)
            else:
                fields[key] = to_text(value)
        # The content, read once and bounded by the caller: prepare_multipart would open the path again.
        fields['certificate'] = {'filename': certificate[0], 'content': certificate[1],
                                 'mime_type': 'application/octet-stream'}
        return self._send('setWebhook', multipart=fields)

    def delete_webhook(self, drop_pending_updates=False):
        return self._send('deleteWebhook', {'drop_pending_updates': bool(drop_pending_updates)})
