# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Building a tgops.runbooks module (private to tgops.runbooks): ``int`` options are guarded before
ansible-core converts them (``inf`` raises OverflowError there and ``1e999999999`` computes a billion-digit
number), then refused with a message that names the option (``guard_int_options``, ``refuse_bad_ints``;
``bad_int_message`` for an action plugin's raw arguments); ``run_api_module`` is the ``main()`` of a module an
action plugin can also run in-process.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

from ansible.module_utils import basic

from ansible_collections.tgops.runbooks.plugins.module_utils._redact import shown

_PLAIN_INT = re.compile(r'^\s*[+-]?[0-9]{1,30}(\.0*)?\s*$')


def _plain_int(value):
    """Whether ansible-core's int conversion can take ``value`` safely (it raises OverflowError on "inf" and
    computes a billion-digit number for "1e999999999")."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    if isinstance(value, float):
        return math.isfinite(value) and value.is_integer() and abs(value) < 1e30
    return isinstance(value, str) and bool(_PLAIN_INT.match(value))


def guard_int_options(argument_spec):
    """``(argument_spec, names)``: the spec to build the AnsibleModule with, and the int options to refuse.

    ansible-core's own int conversion raises OverflowError on ``inf`` and computes a billion-digit number for
    ``1e999999999`` before the module runs. An ``int`` option (or list of ints) holding such a value is
    validated as ``raw`` for this run instead; :func:`refuse_bad_ints` then fails with a message.
    """
    bad = []
    if getattr(basic, '_ANSIBLE_ARGS', None) is None:  # set by AnsiballZ and by module tests
        return argument_spec, bad
    try:
        raw = basic._load_params()
    except Exception:  # pylint: disable=broad-except
        return argument_spec, bad
    spec = dict(argument_spec)
    for name, option in argument_spec.items():
        for key in [name] + list(option.get('aliases') or []):
            if key not in raw:
                continue
            value = raw[key]
            if option.get('type') == 'int':
                ok = _plain_int(value)
            elif option.get('type') == 'list' and option.get('elements') == 'int' and isinstance(value, list):
                ok = all(_plain_int(item) for item in value)
            else:
                ok = True
            if not ok:
                spec[name] = dict(option, type='raw')
                spec[name].pop('elements', None)
                bad.append(name)
    return spec, bad


def refuse_bad_ints(module, names):
    """Fail for the options :func:`guard_int_options` set aside."""
    if names:
        module.fail_json(msg='; '.join('%s must be %s, got %s' % (
            name, 'a list of integers' if isinstance(module.params[name], list) else 'an integer',
            shown(module.params[name])) for name in names))


def bad_int_message(args, spec):
    """What :func:`refuse_bad_ints` says, for the raw task arguments an action plugin validates (ansible-core's
    int conversion raises OverflowError on ``inf`` before any check of ours could run)."""
    bad = []
    for name, option in spec.items():
        for key in [name] + list(option.get('aliases') or []):
            if key not in args:
                continue
            value = args[key]
            if option.get('type') == 'int' and not _plain_int(value):
                bad.append('%s must be an integer, got %s' % (name, shown(value)))
            elif option.get('type') == 'list' and option.get('elements') == 'int' and isinstance(value, list) \
                    and not all(_plain_int(item) for item in value):
                bad.append('%s must be a list of integers, got %s' % (name, shown(value)))
    return '; '.join(bad) or None


def run_api_module(module_class, module_spec, run_module):
    """The ``main()`` of an API module whose action plugin can run it in-process: build ``module_class`` (the
    module's AnsibleModule) from ``module_spec()``, int options guarded as :func:`guard_int_options` says, then
    ``run_module(module)``."""
    spec = module_spec()
    spec['argument_spec'], bad_ints = guard_int_options(spec['argument_spec'])
    module = module_class(supports_check_mode=True, **spec)
    refuse_bad_ints(module, bad_ints)
    run_module(module)
