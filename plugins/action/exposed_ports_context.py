# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action: the policy engine's context for a host, from what the role read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    count_problems,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.hoststate import (
    READS,
    describe_host,
)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # Works on data the play already holds: nothing runs on the host.
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = False
    _VALID_ARGS = frozenset(READS)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            context = describe_host(self._task.args)
        except PolicyError as exc:
            raise AnsibleActionFail(count_problems(exc.errors)) from None
        result.update(changed=False, context=context)
        return result
