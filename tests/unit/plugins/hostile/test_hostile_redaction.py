# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Hostile input classes for secret hygiene: URLs that hide credentials in user info or query parameters (odd
case, quoting, repeats, fragments), env files that spell assignments every way a dotenv reader takes them, and
passwords with the characters a libpq password file must escape. Generated (hypothesis, derandomized)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import string
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.tgops.runbooks.plugins.module_utils import _pg_backup as pgb
from ansible_collections.tgops.runbooks.plugins.module_utils._http import plain_http_warning
from ansible_collections.tgops.runbooks.plugins.module_utils._redact import Redactor, redact_url, url_secrets
from ansible_collections.tgops.runbooks.plugins.modules import platform_info

SETTINGS = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
SECRET = st.text(alphabet=string.ascii_letters + string.digits + '-_.~!$*+/=:@%&?# ', min_size=8, max_size=40)
PARAM = st.sampled_from(['token', 'TOKEN', 'access_token', 'api_key', 'apiKey', 'X-Amz-Signature', 'sig', 'auth',
                         'password', 'secret', 'client_secret', 'session_id', 'jwt'])
HOST = st.sampled_from(['127.0.0.1:18000', 'health.internal', '[::1]:8000', 'api.example.org'])


@SETTINGS
@given(secret=SECRET, param=PARAM, host=HOST, before=st.booleans(), fragment=st.booleans())
def test_a_credential_query_parameter_never_survives_redaction(secret, param, host, before, fragment):
    value = quote(secret, safe='')
    query = '%s=%s' % (param, value)
    query = ('probe=1&' + query) if before else (query + '&probe=1')
    url = 'http://%s/health?%s%s' % (host, query, '#top' if fragment else '')
    assert secret in url_secrets(url)
    shown = redact_url(url)
    assert value not in shown and 'probe=1' in shown
    # and every other spelling, through the Redactor the modules build from url_secrets()
    text = 'GET %s failed: %s %s' % (url, secret, json.dumps(secret))
    masked = Redactor(url_secrets(url))(text)
    assert secret not in masked and value not in masked


@SETTINGS
@given(password=SECRET.filter(lambda s: '@' not in s and '/' not in s and '?' not in s and '#' not in s),
       user=st.sampled_from(['ops', 'health', 'u']), host=HOST)
def test_user_info_never_survives_redaction(password, user, host):
    url = 'https://%s:%s@%s/health' % (user, quote(password, safe=''), host)
    assert url_secrets(url) == [password]
    assert quote(password, safe='') not in redact_url(url) and redact_url(url).startswith('https://********@')
    assert plain_http_warning(url, 'api_url') is None  # https: no warning


@SETTINGS
@given(value=SECRET.filter(lambda s: s.strip() == s and '\n' not in s and '"' not in s and "'" not in s),
       name=st.sampled_from(['SECRET_KEY', 'STRIPE_API_KEY', 'AWS_SECRET_ACCESS_KEY', 'S3_SECRET_KEY',
                             'POSTGRES_PASSWORD', 'TELEGRAM_BOT_TOKEN', 'PINATA_JWT', 'db_pass', 'SENTRY_DSN']),
       spelling=st.sampled_from(['%s=%s', 'export %s=%s', '%s="%s"', "%s='%s'", '  %s = %s']))
def test_every_spelling_of_an_env_assignment_yields_its_secret(value, name, spelling):
    assert value.strip() in platform_info.env_secrets('# comment\n' + spelling % (name, value) + '\nDEBUG=1\n')


@SETTINGS
@given(password=st.text(alphabet=string.printable.replace('\n', '').replace('\r', '').replace('\x0b', '')
                        .replace('\x0c', ''), min_size=1, max_size=40))
def test_a_libpq_password_file_holds_any_password_escaped(tmp_path_factory, password):
    with pgb.PassFile(password, tmpdir=str(tmp_path_factory.mktemp('pgpass'))) as passfile:
        assert stat.S_IMODE(os.stat(passfile.path).st_mode) == 0o600
        with open(passfile.path) as f:
            line = f.read()
    # libpq's reading: backslash escapes the next character; the fifth field runs to the end of the line
    fields, field, chars = [], '', iter(line.rstrip('\n'))
    for char in chars:
        if char == '\\':
            field += next(chars, '')
        elif char == ':' and len(fields) < 4:
            fields.append(field)
            field = ''
        else:
            field += char
    assert fields == ['*'] * 4 and field == password
