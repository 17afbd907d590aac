# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of exposed_ports_scan: with ``hosts``, each host's ports to probe from its
plan (registered by the role), and its address from the inventory; then the module runs on the
task's host - the scanner the task is delegated to - in one round trip."""

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
from ansible_collections.portguard.hardening.plugins.plugin_utils._hostvars import set_by_host
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.outside import probe_ports

MODULE = "portguard.hardening.exposed_ports_scan"
# The role registers each host's plan under this name (roles/exposed_ports/tasks/evaluate.yml).
PLANNED = "__exposed_ports_planned"
# What the task takes of the module's answer.
ANSWER = ("changed", "failed", "msg", "probes", "unprobed", "exception", "module_stderr",
          "module_stdout", "rc")  # fmt: skip


def targets_of(hosts, hostvars, wanted, scanner=None):
    """The module's targets for inventory ``hosts``: each host with a plan whose probe is on
    (and, given ``scanner``, that names it in its exposed_ports_probe_from), at its
    exposed_ports_probe_address or ansible_host (else its name), with the ports probe_ports()
    gives for its exposed_ports_probe_ports. Each host's settings are those its own plan
    checked and carries (plan.probe), else ``wanted``'s ports from everywhere. A host whose
    facts set a role variable is left out: those values are the host's, not the operator's.
    PolicyError names the field."""
    targets = []
    for host in hosts:
        values = hostvars.get(host) if isinstance(host, str) else None
        if not isinstance(values, Mapping) or set_by_host(values):
            continue
        planned = values.get(PLANNED)
        plan = planned.get("plan") if isinstance(planned, Mapping) else None
        if not isinstance(plan, Mapping):
            continue
        probe = plan.get("probe") if isinstance(plan.get("probe"), Mapping) else {}
        if not probe.get("enabled", True):
            continue
        if scanner is not None and "scanners" in probe and scanner not in probe["scanners"]:
            continue
        ports = probe_ports(plan, probe.get("ports", wanted))
        address = probe.get("address") or values.get("ansible_host") or host
        targets.append(
            {"host": host, "address": address, "tcp_ports": ports["tcp"], "udp_ports": ports["udp"]}
        )
    return targets


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_diff = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        hosts = args.pop("hosts", None)
        wanted = args.pop("ports", "listeners")
        scanner = args.pop("scanner", None)
        if hosts is not None:
            if args.get("targets") is not None:
                raise AnsibleActionFail("hosts and targets: give one of them, not both")
            if not isinstance(hosts, list):
                raise AnsibleActionFail(
                    "hosts: expected a list of inventory names, got %s" % show(hosts)
                )
            try:
                args["targets"] = targets_of(
                    hosts, task_vars.get("hostvars") or {}, wanted, scanner
                )
            except PolicyError as exc:
                raise AnsibleActionFail(count_problems(exc.errors)) from None
        elif args.get("targets") is None:
            raise AnsibleActionFail("one of targets and hosts is required")
        if not args["targets"]:
            result.update(changed=False, probes=[], unprobed=[])
            return result
        answer = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        # The scanner's answer is data: only what the module returns, never facts, which a
        # run_once task would give every host of the batch.
        result.update((key, answer[key]) for key in ANSWER if key in answer)
        return result
