# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP for the tgops.runbooks modules: bounded in time and memory, one redirect policy, secret redaction.

This is a private module_utils (leading underscore): its interface may change without notice.

Every request of every module goes through :func:`fetch`, which guarantees:

- a deadline for the whole exchange (connect, TLS, headers, every body byte, redirects): a server that
  trickles one byte a second is cut off at the deadline, not kept alive by per-socket-operation timeouts;
- a bounded body: at most ``max_body`` bytes are read, and a gzip/deflate body is inflated incrementally
  with the same cap on the inflated size; a larger body is an error, never a silently truncated answer;
- one redirect policy: API clients follow none (their credentials are in the URL or headers); when
  redirects are followed, caller headers and URL credentials go only to the same origin (scheme, host and
  port), never to another host or over a downgrade from https to http.

Why not ``fetch_url``: on some transport errors ``fetch_url`` calls ``module.fail_json`` itself with the
request URL in the result. Telegram puts the bot token into every URL, so that would leak the token past
Ansible's ``no_log`` masking (which only knows the exact string, not its URL-quoted forms). Everything
here goes through ``open_url`` and every message it produces passes through a :class:`Redactor`.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import ipaddress
import json
import math
import re
import signal
import socket
import threading
import time
import zlib
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.common.warnings import get_warning_messages, warn as module_warn
from ansible.module_utils.urls import Request, make_context, prepare_multipart

from ansible_collections.tgops.runbooks.plugins.module_utils._redact import (
    BODY_EXCERPT,
    clean_text,
    excerpt,
    redact_url,
    shown,
    strip_userinfo,
    url_credentials,
)

# Indirection so that tests can replace the sleep of every client at once.
_sleep = time.sleep
_monotonic = time.monotonic
# Largest response body read, before and after inflating gzip/deflate. Every answer the modules use is a
# few KB; 1 MiB leaves room for a verbose health document without letting a server fill the host's memory.
MAX_BODY = 1024 * 1024
# Bounds of the transport options: beyond them a value is a typo, and a huge one overflows the C timeval of
# a socket timeout.
MAX_TIMEOUT = 86400
MAX_RETRIES = 100
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
# JSON nested deeper than this is refused: no API answer nests that deep, and deep nesting makes
# recursive code (ours, Ansible's result encoding) fail.
MAX_JSON_DEPTH = 64


def http_argument_spec():
    """Transport options shared by every API module (documented in doc fragment tgops.runbooks._http)."""
    return dict(
        timeout=dict(type='float', default=10),
        validate_certs=dict(type='bool', default=True),
        max_retries=dict(type='int', default=3),
        max_retry_wait=dict(type='float', default=30),
    )


def check_http_params(params):
    """Return an error message for out-of-range transport options, or None."""
    timeout = params.get('timeout')
    if timeout is not None and not 1 <= timeout <= MAX_TIMEOUT:
        return 'timeout must be between 1 and %d seconds, got %s' % (MAX_TIMEOUT, shown(timeout))
    retries = params.get('max_retries')
    if retries is not None and not 0 <= retries <= MAX_RETRIES:
        return 'max_retries must be between 0 and %d, got %s' % (MAX_RETRIES, shown(retries))
    wait = params.get('max_retry_wait')
    if wait is not None and not 0 <= wait <= MAX_TIMEOUT:
        return 'max_retry_wait must be between 0 and %d seconds, got %s' % (MAX_TIMEOUT, shown(wait))
    return None


def check_url(url, name):
    """Return a reason when ``url`` (option ``name``) is not an absolute http(s) URL, else None.

    ``open_url`` would also open ``file://`` and ``ftp://`` URLs; no module means to read a local file.
    """
    if not isinstance(url, str) or not url.strip():
        return '%s is empty' % name
    if url != url.strip() or any(ord(c) < 33 or c == '\x7f' for c in url):
        return '%s must not contain whitespace or control characters' % name
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return '%s is not a valid URL (%s): %s' % (name, to_native(exc), shown(redact_url(url)))
    if parts.scheme.lower() not in ('http', 'https') or not parts.hostname:
        return '%s must be an http:// or https:// URL with a host, got %s' % (name, shown(redact_url(url)))
    if port == 0:
        return '%s has port 0' % name
    return None


def is_loopback(host):
    """Whether ``host`` (a URL's host name) is this machine's loopback: 127.0.0.0/8, ::1, localhost. No DNS."""
    host = (host or '').strip('[]').rstrip('.').lower()
    if host == 'localhost' or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(url, option, service='the API'):
    """The warning for an API base URL (option ``option``) over plain http to a host that is not loopback, else
    None. It names the option and the host, never the URL (which may carry a token or userinfo)."""
    try:
        parts = urlsplit(url)
    except (TypeError, ValueError):
        return None
    if parts.scheme.lower() != 'http' or not parts.hostname or is_loopback(parts.hostname):
        return None
    return ('%s: %s is reached over plain http:// at %s, not a loopback address - its credentials and answers '
            'cross the network unencrypted, readable and changeable on the way; use https://'
            % (option, service, shown(parts.hostname, 100)))


def warn_plain_http(url, option, service='the API'):
    """Emit :func:`plain_http_warning` as a module warning (once per run): AnsibleModule adds the module_utils
    warnings to its result, so every module that builds a client warns without code of its own."""
    message = plain_http_warning(url, option, service)
    if message and message not in get_warning_messages():
        module_warn(message)
    return message


def check_header_value(name, value):
    """Return a reason when ``value`` cannot be sent as header ``name`` as it is (the value is never echoed)."""
    if value is None or to_text(value) == '':
        return '%s is empty: an empty credential cannot authenticate (an undefined or empty variable?)' % name
    if any(ord(c) < 32 or ord(c) == 127 for c in to_text(value)):
        return '%s contains control characters (a newline from a file or vault lookup?)' % name
    if to_text(value) != to_text(value).strip():
        return '%s has leading or trailing whitespace; strip it, for example with "| trim"' % name
    try:
        to_text(value).encode('latin-1')
    except UnicodeEncodeError:
        return '%s contains characters that cannot be sent in an HTTP header' % name
    return None


class APIError(Exception):
    """A request failed before an API answer could be used.

    ``msg`` is already redacted. ``kind`` is one of ``unreachable``, ``timeout``, ``rate_limited``,
    ``too_large``, ``bad_body``, ``invalid_json``. ``status`` is the HTTP status when one was received.
    """

    def __init__(self, msg, kind, status=None, response=None):
        super(APIError, self).__init__(msg)
        self.msg = msg
        self.kind = kind
        self.status = status
        self.response = response


class TransportError(Exception):
    """:func:`fetch` could not get a complete answer. ``detail`` is NOT redacted (the caller redacts)."""

    def __init__(self, kind, detail, status=None, headers=None):
        super(TransportError, self).__init__(detail)
        self.kind = kind
        self.detail = detail
        self.status = status
        self.headers = headers or {}


class _DeadlineExceeded(BaseException):
    """Raised from the SIGALRM handler; a BaseException so that no ``except Exception`` on the way swallows it."""


class Deadline(object):
    """A point in time (monotonic clock) by which a call must be over."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.end = _monotonic() + seconds

    def remaining(self):
        return self.end - _monotonic()


@contextlib.contextmanager
def _alarm(deadline):
    """Interrupt whatever blocks (connect, TLS, a trickled header line) when ``deadline`` passes.

    Socket timeouts bound each socket operation, not the exchange: a server sending one byte a second never
    trips them. SIGALRM does. It is only available in the main thread (where modules run) and only used
    when no other timer is armed; elsewhere the per-chunk deadline checks and socket timeouts still apply.
    """
    usable = (hasattr(signal, 'setitimer') and threading.current_thread() is threading.main_thread()
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN, None))
    if not usable:
        yield
        return

    def _on_alarm(signum, frame):
        raise _DeadlineExceeded()

    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, max(deadline.remaining(), 0.001))
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _socket_of(resp):
    try:
        return resp.fp.raw._sock
    except AttributeError:
        return None


def _answer(resp, status, headers, deadline, max_body):
    """(status, headers, body) of one answer, error answers included; a body that cannot be read within the
    bounds raises TransportError carrying the status and headers it came with."""
    try:
        return status, headers, _read_body(resp, deadline, max_body)
    except TransportError as err:
        err.status = status
        err.headers = headers
        raise


def _read_body(resp, deadline, max_body):
    """Read ``resp`` to its end, bounded: returns the (inflated) body or raises TransportError."""
    headers = dict((k.lower(), v) for k, v in resp.headers.items()) if resp.headers is not None else {}
    length = headers.get('content-length')
    if length is not None and length.strip().isdigit() and int(length.strip()) > max_body:
        raise TransportError('too_large', 'the body of %s bytes (Content-Length) exceeds the limit of %d bytes'
                             % (shown(length.strip(), 20), max_body), headers=headers)
    encoding = headers.get('content-encoding', '').strip().lower()
    inflater = None
    if encoding in ('gzip', 'x-gzip', 'deflate'):
        inflater = _Inflater(encoding, max_body)
    elif encoding not in ('', 'identity'):
        raise TransportError('bad_body', 'the body has a Content-Encoding the module cannot read: %s'
                             % shown(encoding, 40), headers=headers)
    read = getattr(resp, 'read1', None) or resp.read
    sock = _socket_of(resp)
    raw = bytearray()
    received = 0
    while True:
        left = deadline.remaining()
        if left <= 0:
            raise _DeadlineExceeded()
        if sock is not None:
            try:
                sock.settimeout(left)
            except OSError:
                pass
        chunk = read(_CHUNK)
        if not chunk:
            break
        received += len(chunk)
        if received > max_body:
            raise TransportError('too_large', 'the body exceeds the limit of %d bytes%s' % (
                max_body, ' (compressed)' if inflater else ''), headers=headers)
        if inflater is not None:
            inflater.feed(chunk)
        else:
            raw += chunk
    if inflater is not None:
        return inflater.finish()
    return bytes(raw)


class _Inflater(object):
    """Incremental gzip/deflate decoding that never holds more than ``max_body`` inflated bytes."""

    def __init__(self, encoding, max_body):
        self.encoding = encoding
        self.max_body = max_body
        self.out = bytearray()
        self.obj = None
        self.pending = b''

    def _new(self, first):
        if self.encoding == 'deflate':
            # RFC 9110 "deflate" is zlib-wrapped, but many servers send raw deflate.
            looks_zlib = len(first) >= 2 and (first[0] & 0x0F) == 8 and ((first[0] << 8) | first[1]) % 31 == 0
            return zlib.decompressobj(zlib.MAX_WBITS if looks_zlib else -zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data):
        data = self.pending + data
        self.pending = b''
        while data:
            if self.obj is None:
                if len(data) < 2:
                    self.pending = data
                    return
                self.obj = self._new(data)
            room = self.max_body + 1 - len(self.out)
            try:
                part = self.obj.decompress(data, room)
            except zlib.error as exc:
                raise TransportError('bad_body', 'the %s body does not decompress: %s' % (
                    self.encoding, to_native(exc)))
            self.out += part
            if len(self.out) > self.max_body:
                raise TransportError('too_large', 'the %s body inflates beyond the limit of %d bytes' % (
                    self.encoding, self.max_body))
            if self.obj.eof:
                # Concatenated gzip members are valid; anything after a deflate stream is not data.
                data = self.obj.unused_data if self.encoding != 'deflate' else b''
                self.obj = None
                if data.strip(b'\0') == b'':
                    return
            else:
                data = self.obj.unconsumed_tail

    def finish(self):
        if self.obj is not None or self.pending:
            raise TransportError('bad_body', 'the %s body ends before its compressed stream does (truncated)'
                                 % self.encoding)
        return bytes(self.out)


def same_origin(url_a, url_b):
    """Same scheme, host and port (default ports made explicit)."""
    def origin(url):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        return scheme, (parts.hostname or '').lower(), parts.port or {'http': 80, 'https': 443}.get(scheme)
    try:
        return origin(url_a) == origin(url_b)
    except ValueError:
        return False


def fetch(url, method='GET', data=None, headers=None, deadline=None, max_body=MAX_BODY, validate_certs=True,
          ca_path=None, max_redirects=0, http_agent=None):
    """One bounded HTTP exchange. Returns ``(status, headers, body bytes, final url)`` for any HTTP status.

    Raises :class:`TransportError` (``kind`` unreachable, timeout, too_large, bad_body, redirect) when no
    complete answer arrived within ``deadline`` (a :class:`Deadline`). Redirects (at most ``max_redirects``,
    0 returns the 3xx answer itself) keep the caller's headers and URL credentials only within one origin;
    a 301/302/303 becomes a GET without a body.
    """
    deadline = deadline or Deadline(10)
    headers = dict(headers or {})
    user, password = url_credentials(url)
    start_url = current = _without_userinfo(url)
    redirects = 0
    try:
        with _alarm(deadline):
            while True:
                trusted = same_origin(start_url, current) and not _downgrade(start_url, current)
                send_headers = headers if trusted else {}
                status, resp_headers, body = _exchange(
                    current, method, data, send_headers, deadline, max_body, validate_certs, ca_path, http_agent,
                    user if trusted else None, password if trusted else None)
                location = resp_headers.get('location')
                if not (300 <= status < 400 and location and redirects < max_redirects):
                    return status, resp_headers, body, current
                target = urljoin(current, location.strip())
                if urlsplit(target).scheme.lower() not in ('http', 'https'):
                    raise TransportError('redirect', 'a redirect to a non-HTTP URL was refused: %s'
                                         % shown(strip_userinfo(target)), status=status)
                redirects += 1
                if status in (301, 302, 303):
                    method, data = 'GET', None
                current = _without_userinfo(target)
    except _DeadlineExceeded:
        raise TransportError('timeout', 'timed out: no complete answer within %s seconds' % _fmt(deadline.seconds))


def _without_userinfo(url):
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if '@' not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition('@')[2], parts.path, parts.query, parts.fragment))


def _downgrade(from_url, to_url):
    try:
        return urlsplit(from_url).scheme.lower() == 'https' and urlsplit(to_url).scheme.lower() != 'https'
    except ValueError:
        return True


_CONTEXTS = {}


def _ssl_context(validate_certs, ca_path):
    """One TLS context per (validate_certs, ca_path) and process.

    ``open_url`` builds a context (reading the whole CA store, about 0.1 s) for every request, even plain
    http; that time would count against each request's deadline.
    """
    key = (bool(validate_certs), ca_path)
    if key not in _CONTEXTS:
        try:
            _CONTEXTS[key] = make_context(cafile=ca_path, validate_certs=validate_certs)
        except Exception as exc:  # ssl.SSLError, OSError: a CA file that is not PEM or not readable
            raise TransportError('unreachable', 'cannot set up TLS%s: %s: %s' % (
                ' with ca_path %s' % shown(ca_path, 200) if ca_path else '', type(exc).__name__, to_native(exc)))
    return _CONTEXTS[key]


def _exchange(url, method, data, headers, deadline, max_body, validate_certs, ca_path, http_agent, user, password):
    context = _ssl_context(validate_certs, ca_path)
    left = deadline.remaining()
    if left <= 0:
        raise _DeadlineExceeded()
    try:
        try:
            # Redirects are decided by fetch(); no .netrc (credentials are the module's options); no automatic
            # gzip decoding (it is unbounded): _read_body inflates with a cap. Request().open() is what open_url
            # calls, with a reusable TLS context.
            resp = Request().open(method, url, data=data, headers=headers, timeout=left,
                                  validate_certs=validate_certs, ca_path=ca_path, follow_redirects='none',
                                  use_netrc=False, decompress=False, http_agent=http_agent,
                                  url_username=user, url_password=password, context=context)
        except HTTPError as exc:
            resp = exc.fp
            status = exc.code
            resp_headers = dict((k.lower(), v) for k, v in exc.headers.items()) if exc.headers is not None else {}
            if resp is None or not hasattr(resp, 'read'):
                return status, resp_headers, b''
            try:
                return _answer(resp, status, resp_headers, deadline, max_body)
            finally:
                _close(resp)
        try:
            status = resp.getcode()
            resp_headers = dict((k.lower(), v) for k, v in resp.headers.items())
            return _answer(resp, status, resp_headers, deadline, max_body)
        finally:
            _close(resp)
    except (TransportError, _DeadlineExceeded):
        raise
    except (socket.timeout, TimeoutError) as exc:
        raise TransportError('timeout', 'timed out: no answer within %s seconds (%s)' % (
            _fmt(deadline.seconds), to_native(exc)))
    except URLError as exc:
        reason = getattr(exc, 'reason', exc)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise TransportError('timeout', 'timed out: no answer within %s seconds' % _fmt(deadline.seconds))
        raise TransportError('unreachable', to_native(reason))
    except Exception as exc:  # ConnectionError, SSLValidationError, http.client errors, OSError, ValueError ...
        raise TransportError('unreachable', '%s: %s' % (type(exc).__name__, to_native(exc)))


def _close(resp):
    try:
        resp.close()
    except Exception:  # pylint: disable=broad-except
        pass


def _reject_constant(name):
    raise ValueError('non-finite number %s' % name)


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError('number out of range: %s' % shown(text, 40))
    return value


def _depth_ok(doc, limit=MAX_JSON_DEPTH):
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return True


def parse_json(text):
    """Strict JSON: no NaN/Infinity, no number that overflows a float, at most MAX_JSON_DEPTH levels.

    Returns the document; raises ValueError with a reason (the text itself is not quoted).
    """
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError('JSON nested too deeply')
    except ValueError as exc:
        # json's message quotes no input, but a huge integer's message names its digit count only.
        raise ValueError(to_native(exc))
    if not _depth_ok(doc):
        raise ValueError('JSON nested deeper than %d levels' % MAX_JSON_DEPTH)
    return doc


class Response(object):
    """An HTTP answer of any status: ``status``, lower-cased ``headers``, ``text`` and decoded ``json``.

    ``json`` is None when the body is empty or not JSON; ``json_error`` then says why (redacted).
    """

    def __init__(self, status, headers, body, redact):
        self.status = status
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())
        self.text = clean_text((body or b'').decode('utf-8', 'replace')) if isinstance(body, bytes) \
            else clean_text(to_text(body or ''))
        self.json = None
        self.json_error = None
        if self.text.strip():
            try:
                self.json = parse_json(self.text)
            except ValueError as exc:
                self.json_error = redact(to_native(exc))
        else:
            self.json_error = 'empty body'

    def excerpt(self, redact):
        return excerpt(self.text, redact)


def parse_retry_after(value):
    """Seconds from a ``Retry-After`` header or a ``retry_after`` field.

    None when absent, negative, NaN or an HTTP date; ``inf`` for an infinite or absurdly long wait (which no
    budget allows, so the caller gives up at once instead of sleeping or overflowing).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value
    else:
        text = to_text(value, errors='surrogate_or_replace').strip()
        if len(text) > 64 or not re.match(r'^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?inf(inity)?$',
                                          text, re.IGNORECASE):
            return None
        try:
            seconds = float(text)
        except (TypeError, ValueError, OverflowError):
            return None
    try:
        seconds = float(seconds)
    except OverflowError:
        return float('inf') if value > 0 else None
    if math.isnan(seconds) or seconds < 0:
        return None
    if seconds > MAX_TIMEOUT * 365:
        return float('inf')
    return seconds


def default_is_rate_limited(response):
    """HTTP 429, or a JSON body carrying ``code``/``error_code`` 429 (toncenter may send it with HTTP 200)."""
    if response.status == 429:
        return True
    body = response.json
    if isinstance(body, dict):
        for key in ('code', 'error_code'):
            value = body.get(key)
            if not isinstance(value, bool) and (value == 429 or (isinstance(value, str) and value.strip() == '429')):
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
    :arg timeout: deadline in seconds for the whole module run - every :meth:`request` of this client, each
        attempt's connect and read and the waits between rate-limited attempts; a wait that would pass it is
        not started. It starts with the first request. (The collection's vocabulary: ``timeout`` always bounds
        the whole call; docs/module-vocabulary.md.)
    :arg max_retries: how many times a rate-limited request is retried.
    :arg max_retry_wait: total seconds the client may sleep for rate limits in one module run.
    :arg default_wait: wait before a retry when the server names none (doubles on each retry).
    :arg max_body: largest body read (compressed and inflated).
    :arg sleep: the sleep function (tests replace it).
    :arg option: the option that set ``base_url``, named in the warning a plain http:// URL to a host that is
        not loopback gets (:func:`warn_plain_http`).
    """

    def __init__(self, base_url, service, redactor, headers=None, timeout=10, validate_certs=True,
                 max_retries=3, max_retry_wait=30, default_wait=1.0, rate_limit_hint=None,
                 is_rate_limited=None, retry_after=None, sleep=None, max_body=MAX_BODY, option='api_url'):
        self.base_url = base_url.rstrip('/')
        warn_plain_http(self.base_url, option, '%s API' % service)
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
        self.max_body = max_body
        self.waited = 0.0
        self.retries = 0
        self._deadline = None

    def deadline(self):
        """The deadline of the whole run, started by the first request (one module, one client)."""
        if self._deadline is None:
            self._deadline = Deadline(self.timeout)
        return self._deadline

    @property
    def shown_url(self):
        """The base URL as messages show it: no userinfo, bounded length (redaction still applies)."""
        return shown(strip_userinfo(self.base_url), 200)

    def url(self, path, params=None):
        url = self.base_url + '/' + path.lstrip('/')
        if params:
            url += ('&' if '?' in url else '?') + urlencode(
                [(k, v) for k, v in params.items() if v is not None], doseq=True)
        return url

    def _open(self, method, url, data, headers, deadline):
        """One HTTP exchange. Returns a Response for any HTTP status; raises APIError for transport errors."""
        try:
            status, resp_headers, body, dummy = fetch(url, method=method, data=data, headers=headers,
                                                      deadline=deadline, max_body=self.max_body,
                                                      validate_certs=self.validate_certs, max_redirects=0)
        except TransportError as exc:
            if exc.kind == 'timeout':
                msg = ('%s API at %s did not answer completely within %s seconds (timeout: one deadline for the '
                       'whole call)' % (self.service, self.shown_url, _fmt(self.timeout)))
            elif exc.kind == 'too_large':
                msg = '%s API at %s answered%s with a body too large to read: %s' % (
                    self.service, self.shown_url, (' HTTP %s' % exc.status) if exc.status else '', exc.detail)
            elif exc.kind == 'bad_body':
                msg = '%s API at %s answered%s with an unreadable body: %s' % (
                    self.service, self.shown_url, (' HTTP %s' % exc.status) if exc.status else '', exc.detail)
            else:
                msg = 'cannot reach the %s API at %s: %s' % (self.service, self.shown_url, exc.detail)
            raise APIError(excerpt(msg, self.redact, 2 * BODY_EXCERPT), exc.kind, status=exc.status)
        return Response(status, resp_headers, body, self.redact)

    def request(self, method, path, params=None, json_body=None, form=None, multipart=None, headers=None):
        """Send one request, retrying while rate limited within the bounds; return the final Response.

        Any HTTP status is returned to the caller, which maps API errors. Raises :class:`APIError` when the
        API is unreachable, times out, answers a body too large or unreadable, or stays rate limited beyond
        ``max_retries`` / ``max_retry_wait``.
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
        deadline = self.deadline()

        while True:
            response = self._open(method, url, data, req_headers, deadline)
            if not self.is_rate_limited(response):
                return response
            asked = self.retry_after(response)
            wait = asked if asked is not None else self.default_wait * (2 ** min(self.retries, 30))
            remaining = self.max_retry_wait - self.waited
            left = deadline.remaining()
            what = self._rate_limit_text(response, asked)
            if self.retries >= self.max_retries or wait > remaining or wait >= left:
                if self.retries >= self.max_retries:
                    why = 'still rate limited after %d retr%s (max_retries=%d, waited %s s in total)' % (
                        self.retries, 'y' if self.retries == 1 else 'ies', self.max_retries, _fmt(self.waited))
                elif wait > remaining:
                    why = ('giving up without waiting: the next wait of %s s exceeds the remaining wait budget '
                           'of %s s (max_retry_wait=%s, waited %s s so far)' % (
                               _fmt(wait), _fmt(max(remaining, 0)), _fmt(self.max_retry_wait), _fmt(self.waited)))
                else:
                    # The timeout is a deadline for the whole call, every request and retry included.
                    why = ('giving up without waiting: the next wait of %s s would pass the deadline of the call '
                           '(timeout=%s, %s s left)' % (_fmt(wait), _fmt(self.timeout), _fmt(max(left, 0))))
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
            text += ' (%s)' % excerpt(detail, self.redact)
        if asked is not None:
            text += ', server asks to retry after %s s' % _fmt(asked)
        return self.redact(text)


def _fmt(seconds):
    try:
        seconds = float(seconds)
    except (TypeError, ValueError, OverflowError):
        return shown(seconds, 20)
    if not math.isfinite(seconds):
        return 'inf'
    if seconds > 1e15:
        return '%.3g' % seconds
    return ('%d' % seconds) if seconds == int(seconds) else ('%.1f' % seconds)
