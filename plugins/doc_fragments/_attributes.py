# -*- coding: utf-8 -*-
# Copyright: tgops.runbooks developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """The attribute descriptions every module shares, and the complete set for read-only modules."""

    # The descriptions; a module adds support and details.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
  idempotent:
    description: When run twice in a row with the same arguments, the second run indicates no change.
'''

    # A module that only reads: the same answer in check mode, nothing to diff, never changed.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module only reads; it runs unchanged in check mode and returns the same information.
  diff_mode:
    support: N/A
    details:
      - This module does not modify state.
  idempotent:
    support: full
    details:
      - This module does not modify state; it always reports RV(ignore:changed=false).
'''

    # An API module with the collection's action plugin of the same name (module_utils stay the same code).
    CONTROLLER_SIDE = r'''
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - On the controller (C(delegate_to) V(localhost), a local connection without C(become)), the action plugin runs
        the module's own code in the task's worker process - the same result, without a module shipped and started.
        On any other host the module runs there, as usual.
'''

    # A module whose action plugin always does the whole job on the controller (incident channel, report file).
    CONTROLLER_ONLY = r'''
options: {}
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - The action plugin does the whole job on the controller, in the task's worker process.
'''
