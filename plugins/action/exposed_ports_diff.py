# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action: the exposure before and after remediation, as a diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    count_problems,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    parse_firewall,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.findings import (
    exposure_diff,
    findings_errors,
    firewall_outlook,
)

ARGUMENT_SPEC = {
    "findings": {"type": "list", "elements": "dict", "required": True},
    "firewall": {"type": "dict"},
    "rich_rules": {"type": "list", "elements": "str", "default": []},
    "firewall_zone": {"type": "str", "default": ""},
    "firewall_install": {"type": "bool", "default": False},
    "firewall_enable": {"type": "bool", "default": True},
}


def _outlook(args):
    """firewall_outlook() of the arguments, or None without a firewall; raises naming the field."""
    firewall = args["firewall"]
    if firewall is None:
        return None
    try:
        parse_firewall(firewall, "firewall")
    except PolicyError as exc:
        raise AnsibleActionFail(count_problems(exc.errors)) from None
    for index, zone in enumerate(firewall.get("zones") or []):
        rules = zone.get("rich_rules") if isinstance(zone, Mapping) else None
        if rules is not None and not all(isinstance(r, str) for r in rules):
            raise AnsibleActionFail(
                f"firewall.zones[{index}].rich_rules: expected strings, got {show(rules)}"
            )
    return firewall_outlook(
        firewall,
        args["rich_rules"],
        args["firewall_zone"],
        args["firewall_install"],
        args["firewall_enable"],
    )


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_diff = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        errors = findings_errors(args["findings"])
        if errors:
            raise AnsibleActionFail(count_problems(errors))
        outlook = _outlook(args)
        try:
            diff = exposure_diff(args["findings"], outlook)
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
