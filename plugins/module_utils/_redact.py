# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a tgops.runbooks message may show of a value (private to tgops.runbooks): cut to a length
(``shown``, ``excerpt``), cleaned of control characters (``clean_text``), and with every secret masked - the
credentials and secret query parameters of a URL (``strip_userinfo``, ``redact_url``, ``url_secrets``) and any
known secret in its raw, URL-quoted, JSON-escaped and HTML-escaped forms (``Redactor``). Telegram puts the bot
token into every URL, so a message that quotes a URL or an answer passes through here before it is shown.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import html
import json
import re
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

from ansible.module_utils.common.text.converters import to_text

MASK = '********'

# Longest text of a response body (or of any echoed input) quoted back in a message.
BODY_EXCERPT = 300


def shown(value, limit=80):
    """``value`` as text for a message, cut to ``limit`` characters (hostile input can be megabytes long)."""
    text = value if isinstance(value, str) else repr(value)
    text = clean_text(text)
    if len(text) > limit:
        return '%s... (%d characters)' % (text[:limit], len(text))
    return text


def clean_text(text):
    """Text that encodes as UTF-8: lone surrogates (from JSON ``\\ud800`` escapes) become ``?``.

    Ansible's controller refuses a result holding invalid UTF-8, so no API string may reach it unchanged.
    """
    try:
        text.encode('utf-8')
        return text
    except UnicodeEncodeError:
        return text.encode('utf-8', 'replace').decode('utf-8')


def strip_userinfo(url):
    """``url`` with any ``user:password@`` replaced by ``********@`` (for messages and results)."""
    if not isinstance(url, str) or '@' not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r'//[^/@]*@', '//%s@' % MASK, url)
    if '@' not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, MASK + '@' + parts.netloc.rpartition('@')[2], parts.path, parts.query,
                       parts.fragment))


def url_credentials(url):
    """The decoded ``(user, password)`` of a URL's userinfo, (None, None) without one."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return None, None
    if '@' not in netloc:
        return None, None
    userinfo = netloc.rpartition('@')[0]
    user, sep, password = userinfo.partition(':')
    return unquote(user), (unquote(password) if sep else None)


# Query parameters whose value is a credential (``/health?token=...``, ``?api_key=``, ``?X-Amz-Signature=``).
_SECRET_PARAM = re.compile(r'token|secret|passw|pwd|key|sig|auth|credential|session|jwt', re.IGNORECASE)


def _query_pairs(query):
    """``(name, value)`` of each ``name=value`` of a query string, decoded, in order (no value: None)."""
    pairs = []
    for item in query.split('&') if query else []:
        name, sep, value = item.partition('=')
        pairs.append((unquote(name.replace('+', ' ')), unquote(value.replace('+', ' ')) if sep else None))
    return pairs


def url_secrets(url, user_token=True):
    """The secrets a URL carries, decoded: its userinfo password (or, with ``user_token``, the user alone, which is
    then a token, as in ``https://TOKEN@host/``) and the value of every query parameter whose name says it is a
    credential."""
    found = []
    user, password = url_credentials(url)
    if password:
        found.append(password)
    elif user and user_token:
        found.append(user)
    try:
        query = urlsplit(url).query if isinstance(url, str) else ''
    except ValueError:
        query = url.partition('?')[2].partition('#')[0]
    found.extend(value for name, value in _query_pairs(query) if value and _SECRET_PARAM.search(name))
    return found


def redact_url(url):
    """``url`` for messages and results: userinfo replaced by ``********@`` and the value of every credential
    query parameter (see url_secrets()) by ``********``; the rest as it was."""
    url = strip_userinfo(url)
    if not isinstance(url, str) or '?' not in url:
        return url
    head, dummy, rest = url.partition('?')
    query, hash_, fragment = rest.partition('#')
    items = []
    for item in query.split('&'):
        name, sep, value = item.partition('=')
        if sep and value and _SECRET_PARAM.search(unquote(name.replace('+', ' '))):
            item = name + '=' + MASK
        items.append(item)
    return head + '?' + '&'.join(items) + hash_ + fragment


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
    forms.add(json.dumps(secret).replace('/', '\\/')[1:-1])   # JSON with escaped slashes (PHP and others)
    forms.add(html.escape(secret))
    # Numeric character references (&#58; &#x3a; &#x3A;) and \u escapes for the punctuation of a secret.
    for fmt in ('&#%d;', '&#x%x;', '&#x%X;', '\\u%04x', '\\u%04X'):
        forms.add(''.join(c if c.isalnum() else fmt % ord(c) for c in secret))
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
    JSON-, HTML- and backslash-escaped, as numeric character references and base64-encoded. Longer spellings
    are replaced first so that a secret containing another secret is masked whole. Redact before cutting a
    text short: a cut secret is no longer recognised (:func:`excerpt` does it in that order).
    """

    def __init__(self, secrets=None):
        self._forms = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret):
        if secret is None:
            return
        secret = clean_text(to_text(secret, errors='surrogate_or_replace'))
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
        text = clean_text(text)
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


def excerpt(text, redact, limit=BODY_EXCERPT):
    """Whitespace-collapsed ``text`` for a message: redacted FIRST, then cut to ``limit`` characters."""
    if text is None:
        return ''
    text = redact(' '.join(to_text(text, errors='surrogate_or_replace').split()))
    if len(text) > limit:
        text = text[:limit] + '...'
    return text
