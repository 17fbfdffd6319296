# -*- coding: utf-8 -*-

# Copyright (c) tgops.runbooks developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tgops.runbooks.plugins.module_utils._pinata_auth import module_spec, run_module
from ansible_collections.tgops.runbooks.plugins.plugin_utils._controller_side import ControllerSideAction


class ActionModule(ControllerSideAction):
    """tgops.runbooks.pinata_auth_info: in the worker process on the controller, shipped as a module anywhere else."""

    MODULE = 'tgops.runbooks.pinata_auth_info'
    module_spec = staticmethod(module_spec)
    run_module = staticmethod(run_module)
