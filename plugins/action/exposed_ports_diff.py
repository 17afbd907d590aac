# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action: the exposure before and after remediation, as a diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.portguard.hardening.plugins.module_utils._report import exposure_diff


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_diff = True
    _VALID_ARGS = frozenset(("findings",))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        findings = self._task.args.get("findings")
        if not isinstance(findings, list):
            raise AnsibleActionFail(
                "findings: expected the list of findings of the exposed_ports role"
            )
        try:
            diff = exposure_diff(findings)
        except (KeyError, TypeError) as exc:
            raise AnsibleActionFail(
                "findings: not findings of the exposed_ports role (%s)" % exc
            ) from None
        result["changed"] = diff["changed"]
        if self._task.diff:
            result["diff"] = {
                "before_header": "exposure now",
                "after_header": "exposure after remediation",
                "before": diff["before"],
                "after": diff["after"],
            }
        return result
