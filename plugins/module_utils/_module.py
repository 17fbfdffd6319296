# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Building a tgops.runbooks module (private to tgops.runbooks). Every module's AnsibleModule comes from
``new_module``: a value that ansible-core's own validation cannot take (``inf`` for an ``int`` raises
OverflowError there, ``1e999999999`` computes a billion-digit number, a string for an option with suboptions
raises TypeError) fails the task with a message that names the option, instead of a traceback
(``option_problems``; ``bad_int_message`` for the raw arguments an action plugin validates). ``run_api_module``
is the ``main()`` of a module an action plugin can also run in-process.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

from ansible.module_utils import basic

from ansible_collections.tgops.runbooks.plugins.module_utils._redact import shown

_PLAIN_INT = re.compile(r'^\s*[+-]?[0-9]{1,30}(\.0*)?\s*$')
# Largest value of a duration option (every duration is seconds, type float): ten years. Beyond it a value is a
# typo, and PostgreSQL intervals and C timevals have limits of their own.
MAX_SECONDS = 10 * 366 * 86400


def seconds_text(value):
    """A duration as messages show it: 300.0 as ``300``, 0.5 as ``0.5``."""
    value = float(value)
    return '%d' % value if value.is_integer() else '%g' % value


def seconds_problem(name, value, minimum=0, maximum=MAX_SECONDS):
    """The message when duration option ``name`` is not a finite number of seconds from ``minimum`` to ``maximum``,
    else None. ansible-core's float takes ``nan`` and ``inf``; NaN fails every comparison, so both are refused."""
    if value is None or minimum <= value <= maximum:
        return None
    return '%s must be between %s and %s seconds, got %s' % (name, seconds_text(minimum), seconds_text(maximum),
                                                             shown(value))


def _plain_int(value):
    """Whether ansible-core's int conversion can take ``value`` safely (it raises OverflowError on "inf" and
    computes a billion-digit number for "1e999999999")."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer() and abs(value) < 1e30
    return isinstance(value, str) and bool(_PLAIN_INT.match(value))


def _plain_float(value):
    """Whether ansible-core's float conversion can take ``value`` (an int too large for a float raises
    OverflowError there)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return True  # ansible-core refuses other types itself, with a message
    try:
        float(value)
    except (OverflowError, ValueError):
        return isinstance(value, str)  # a string that is no number gets ansible-core's own message
    return True


def option_problems(args, spec, prefix=''):
    """Messages for the values in ``args`` (raw task arguments) that ansible-core's own validation of ``spec``
    cannot take safely: an ``int`` (or list of ints) of ``inf`` or ``1e999999999`` (OverflowError, or a
    billion-digit number), a ``float`` of an integer too large for one (OverflowError), an option with suboptions
    given something else than a dictionary (TypeError); the suboptions of a dictionary are checked the same way."""
    found = []
    for name, option in spec.items():
        for key in [name] + list(option.get('aliases') or []):
            if key not in args or args[key] is None:
                continue
            value = args[key]
            kind = option.get('type')
            if option.get('options'):
                if not isinstance(value, dict):
                    found.append('%s%s must be a dictionary (with %s), got %s'
                                 % (prefix, name, ', '.join(sorted(option['options'])), shown(value)))
                else:
                    found.extend(option_problems(value, option['options'], '%s%s.' % (prefix, name)))
            elif kind == 'int' and not _plain_int(value):
                found.append('%s%s must be an integer, got %s' % (prefix, name, shown(value)))
            elif kind == 'float' and not _plain_float(value):
                found.append('%s%s must be a number, got %s' % (prefix, name, shown(value)))
            elif kind == 'list' and option.get('elements') == 'int' and isinstance(value, list) \
                    and not all(_plain_int(item) for item in value):
                found.append('%s%s must be a list of integers, got %s' % (prefix, name, shown(value)))
    return found


def bad_int_message(args, spec):
    """:func:`option_problems` as one message, or None: for the raw task arguments an action plugin validates."""
    return '; '.join(option_problems(args, spec)) or None


def new_module(argument_spec, module_class=None, **kwargs):
    """The AnsibleModule (``module_class``, default AnsibleModule) of every tgops.runbooks module.

    A value that would crash ansible-core's validation before the module runs (:func:`option_problems`) fails
    the task with a message that names the option instead, before any other validation. ``kwargs`` go to the
    module class (``supports_check_mode``, ``mutually_exclusive``...)."""
    module_class = module_class or basic.AnsibleModule
    problems = []
    if getattr(basic, '_ANSIBLE_ARGS', None) is not None:  # set by AnsiballZ and by module tests
        try:
            raw = basic._load_params()
        except Exception:  # pylint: disable=broad-except
            raw = {}  # the module class reports unreadable arguments itself
        problems = option_problems(raw, argument_spec)
    if problems:
        # every option raw and optional, so that nothing else can fail first; no_log and aliases kept, so the
        # invocation stays masked and every spelling of an option is accepted
        loose = dict((name, dict(type='raw', no_log=bool(option.get('no_log')), aliases=option.get('aliases') or []))
                     for name, option in argument_spec.items())
        module_class(argument_spec=loose, supports_check_mode=True).fail_json(msg='; '.join(problems))
    return module_class(argument_spec=argument_spec, **kwargs)


def run_api_module(module_class, module_spec, run_module):
    """The ``main()`` of an API module whose action plugin can run it in-process: build ``module_class`` (the
    module's AnsibleModule) from ``module_spec()`` with :func:`new_module`, then ``run_module(module)``."""
    spec = module_spec()
    run_module(new_module(spec.pop('argument_spec'), module_class=module_class, supports_check_mode=True, **spec))
