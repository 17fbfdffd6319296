# -*- coding: utf-8 -*-
# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secret rotation decisions: dotenv edits that keep every other line, secret generation, the plan.

Nothing here logs or returns a secret value; errors name variables and secrets, never their values.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re
import secrets
import string

ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_LINE = re.compile(r'^(?P<lead>\s*(?:export\s+)?)(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=')
# Values written bare: what a dotenv parser (compose, python-dotenv, the runbooks' `sed`) reads back as is.
_BARE = re.compile(r'^[A-Za-z0-9_\-.:/+@%,=~]*$')

# kind: how a new value is obtained and checked before the switch.
#   generated - the collection draws it (db_password, secret_key); an operator may supply one instead
#   provided  - only its issuer can make it (Stripe dashboard, BotFather, Pinata, toncenter): operator or Vault
KINDS = {
    'db_password': 'generated',
    'secret_key': 'generated',
    'stripe_key': 'provided',
    'telegram_bot_token': 'provided',
    'pinata_api_key': 'provided',
    'pinata_secret_key': 'provided',
    'toncenter_api_key': 'provided',
}
# Secrets that are one credential: rotating one without the other leaves a pair that does not match.
PAIRS = (('pinata_api_key', 'pinata_secret_key'),)
# Order of the steps: credentials checked against their issuer first, the database password last (it is the
# one whose switch needs the most undoing).
ORDER = ('stripe_key', 'pinata_api_key', 'pinata_secret_key', 'toncenter_api_key', 'telegram_bot_token',
         'secret_key', 'db_password')
_TOKEN = re.compile(r'^([1-9][0-9]{0,16}):[A-Za-z0-9_-]{30,}$')
_STRIPE = re.compile(r'^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$')
_HEX64 = re.compile(r'^[0-9a-f]{64}$')


# Ansible templates any string holding these when it reads the vault on the next run: a secret containing one
# would be rendered (or fail) instead of read. JSON vaults cannot carry !unsafe, and no issuer's credential
# contains them, so such a value is refused.
TEMPLATE_MARKERS = ('{{', '{%', '{#')


class RotationError(Exception):
    """A request that cannot be planned; the message never contains a secret value."""


def template_marker(value):
    """The first Jinja marker in ``value`` (a string), or None."""
    found = [marker for marker in TEMPLATE_MARKERS if marker in value]
    return found[0] if found else None


def generate(name):
    """A new value for a generated secret.

    db_password: 32 letters and digits (190 bits). The runbook's `openssl rand -base64 32` can contain `/`, `+`
    and `=`, which break DATABASE_URL-style connection strings and `sed` replacements.
    secret_key: 32 random bytes as hex, the runbook's `openssl rand -hex 32`.
    """
    if name == 'db_password':
        alphabet = string.ascii_letters + string.digits
        return ''.join(secrets.choice(alphabet) for _i in range(32))
    if name == 'secret_key':
        return secrets.token_hex(32)
    raise RotationError('%s cannot be generated: its issuer makes it (give it in the new values)' % name)


def check_shape(name, new, old):
    """Refuse a new value that cannot be right, before anything is touched. Returns None or raises."""
    if not new or new != new.strip() or '\n' in new or '\r' in new:
        raise RotationError('the new %s is empty or has whitespace around it or line breaks' % name)
    if old is not None and new == old:
        raise RotationError('the new %s is the current one: nothing would be rotated' % name)
    marker = template_marker(new)
    if marker:
        raise RotationError('the new %s contains "%s", which Ansible would template when it reads the vault on the '
                            'next run (the stored secret would not be the one in use): refused, nothing was changed'
                            % (name, marker))
    if name == 'secret_key' and not _HEX64.match(new):
        raise RotationError('the new secret_key must be 32 bytes as 64 lowercase hex characters')
    if name == 'db_password' and len(new) < 16:
        raise RotationError('the new db_password is shorter than 16 characters')
    if name == 'stripe_key':
        match = _STRIPE.match(new)
        if not match:
            raise RotationError('the new stripe_key is not shaped like a Stripe secret or restricted key '
                                '(sk_test_/sk_live_/rk_test_/rk_live_...)')
        old_match = _STRIPE.match(old or '')
        if old_match and old_match.group(2) != match.group(2):
            raise RotationError('the new stripe_key is a %s key but the current one is a %s key'
                                % (match.group(2), old_match.group(2)))
    if name == 'telegram_bot_token':
        match = _TOKEN.match(new)
        if not match:
            raise RotationError('the new telegram_bot_token is not shaped like a bot token (<bot id>:<secret>)')
        old_match = _TOKEN.match(old or '')
        if old_match and old_match.group(1) != match.group(1):
            raise RotationError('the new telegram_bot_token belongs to bot %s, not to bot %s: a token of '
                                'another bot is not a rotation' % (match.group(1), old_match.group(1)))


def plan(requested, available, confirm, new_values, current_values, check_mode=False):
    """Validate a rotation request and decide its steps.

    requested: names asked for; available: {name: {'env': VAR, 'vault': vault variable}} for this platform;
    new_values / current_values: {name: value} (operator-supplied new values; what is in use now).
    Returns (steps, values): steps in execution order, each {'name', 'env', 'vault', 'kind', 'source'}, and
    the new value of each step (supplied or generated).
    """
    if not isinstance(requested, list) or not requested:
        raise RotationError('no secret selected: set rotate_secrets to a list of: %s'
                            % ', '.join(sorted(available) or ['(none on this platform)']))
    seen = []
    for name in requested:
        if not isinstance(name, str) or name in seen:
            raise RotationError('rotate_secrets must list each secret once, by name')
        seen.append(name)
    unknown = [n for n in seen if n not in KINDS]
    if unknown:
        raise RotationError('unknown secret(s): %s (known: %s)' % (', '.join(unknown), ', '.join(sorted(KINDS))))
    missing = [n for n in seen if n not in available]
    if missing:
        raise RotationError('this platform has no %s (platform_secrets lists: %s)'
                            % (', '.join(missing), ', '.join(sorted(available)) or 'nothing'))
    for pair in PAIRS:
        chosen = [n for n in pair if n in seen]
        if chosen and len(chosen) != len(pair):
            raise RotationError('%s are one credential: rotate them together' % ' and '.join(pair))
    extra = sorted(set(new_values) - set(seen))
    if extra:
        raise RotationError('new values given for secrets not selected: %s' % ', '.join(extra))
    for name in seen:
        entry = available[name]
        if not isinstance(entry, dict) or not ENV_NAME.match(str(entry.get('env', ''))) \
                or not ENV_NAME.match(str(entry.get('vault', ''))):
            raise RotationError('platform_secrets.%s needs env (the env file variable) and vault (the vault '
                                'variable), both plain names' % name)
    need = [n for n in seen if KINDS[n] == 'provided' and not new_values.get(n)]
    if need:
        raise RotationError('the new %s must come from the operator or Vault (rotate_secrets_new): only its '
                            'issuer can make it' % ', '.join(need))
    if not confirm and not check_mode:
        raise RotationError('rotating %s is disruptive (restarts the application, may end sessions): '
                            'set rotate_secrets_confirm=true' % ', '.join(seen))
    steps, values = [], {}
    for name in ORDER:
        if name not in seen:
            continue
        supplied = new_values.get(name)
        value = supplied if supplied else generate(name)
        check_shape(name, value, current_values.get(name))
        values[name] = value
        steps.append({'name': name, 'env': available[name]['env'], 'vault': available[name]['vault'],
                      'kind': KINDS[name], 'source': 'provided' if supplied else 'generated'})
    return steps, values


def format_value(value):
    """The right-hand side of KEY=value for a dotenv file, quoted only when it must be."""
    if '\n' in value or '\r' in value:
        raise ValueError('a line break cannot be written to an env file')
    if _BARE.match(value):
        return value
    if "'" not in value:
        return "'%s'" % value
    if '"' not in value and '\\' not in value and '$' not in value:
        return '"%s"' % value
    raise ValueError('a value with both quote characters cannot be written to an env file')


def parse(text):
    """{KEY: raw value} of a dotenv text (the last assignment wins, as in compose and the app)."""
    out = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        value = line[match.end():].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
            value = value[1:-1]
        out[match.group('key')] = value
    return out


def set_values(text, values):
    """Set KEY=value in a dotenv text, keeping every other line byte for byte.

    Every assignment of a key is replaced (a later duplicate would otherwise win over the new value); a key
    that is absent is appended. Returns (new text, sorted changed keys).
    """
    current = parse(text)
    lines = text.splitlines(True)
    done, changed = set(), set()
    out = []
    for line in lines:
        match = _LINE.match(line)
        key = match.group('key') if match else None
        if key in values:
            ending = '\n' if line.endswith('\n') else ''
            new_line = '%s%s=%s%s' % (match.group('lead'), key, format_value(values[key]), ending)
            if new_line != line:
                changed.add(key)
            out.append(new_line)
            done.add(key)
        else:
            out.append(line)
    for key in sorted(values):
        if key in done:
            continue
        if out and not out[-1].endswith('\n'):
            out[-1] += '\n'
        out.append('%s=%s\n' % (key, format_value(values[key])))
        changed.add(key)
    new_text = ''.join(out)
    # A key written in another form (quoted) but with the same value is no change for readers either.
    changed = sorted(k for k in changed if current.get(k) != values[k] or k not in current)
    if not changed:
        return text, []
    return new_text, changed
