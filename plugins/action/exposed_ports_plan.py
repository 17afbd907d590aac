# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action: one host's plan from one host read (see the module's documentation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
from collections.abc import Mapping

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
    SETTINGS,
    ProbeError,
    check_settings,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    count_problems,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._baseline_file import (
    MAX_BYTES,
    BaselineFileError,
    read_baseline,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._filenames import (
    HostFileNameError,
    host_file_path,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._hostvars import (
    refusal,
    set_by_host,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.build import (
    build,
    verify,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.outside import (
    ADDRESSES,
    probe_ports,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.baseline import (
    validate_baseline,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.rules import (
    validate_policy,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    RulesetError,
)

ARGUMENT_SPEC = {
    # Left out, the action reads the host itself (exposed_ports_read, one round trip).
    "read": {"type": "dict"},
    "rules": {"type": "list", "elements": "raw", "default": []},
    "default_action": {"type": "str", "default": "report"},
    "builtin_rules_enabled": {"type": "bool", "default": True},
    "management_ports": {"type": "list", "elements": "raw", "default": []},
    "management_units": {"type": "list", "elements": "str", "default": []},
    "firewall_backend": {"type": "str", "default": "auto"},
    "firewall_zone": {"type": "str", "default": ""},
    "firewall_install": {"type": "bool", "default": False},
    "firewall_enable": {"type": "bool", "default": True},
    "baseline_dir": {"type": "str", "default": ""},
    "baseline_max_bytes": {"type": "int", "default": MAX_BYTES},
    "findings": {"type": "list", "elements": "dict"},
    # The host's probe settings, checked here, before anything changes, and carried in the plan
    # for the scanner hosts' task, which reads every host's plan (tasks/report.yml).
    "probe": {"type": "bool", "default": True},
    "probe_from": {"type": "raw", "default": ["controller"]},
    "probe_address": {"type": "str", "default": ""},
    "probe_ports": {"type": "raw", "default": "listeners"},
    "probe_addresses": {"type": "str", "default": "host"},
    "probe_networks": {"type": "list", "elements": "str", "default": []},
    # The probe's pacing; left out, the probe's own defaults.
    "probe_timeout": {"type": "float"},
    "probe_concurrency": {"type": "int"},
    "probe_rate": {"type": "float"},
    "probe_budget": {"type": "float"},
    "probe_tries": {"type": "int"},
}

CONTROLLER = "controller"
FROM = "exposed_ports_probe_from"
NETWORKS = "exposed_ports_probe_networks"


def _pacing(args, errors):
    """The probe's pacing settings (exposed_ports_probe_timeout and the others) with the probe's
    defaults filled in; each problem, named by its variable, added to ``errors``."""
    try:
        return check_settings(dict((name, args.get("probe_" + name)) for name in SETTINGS))
    except ProbeError as exc:
        errors.extend("exposed_ports_probe_" + error for error in exc.errors)
        return None


def _networks(args, errors):
    for index, text in enumerate(args.get("probe_networks") or []):
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            errors.append(f"{NETWORKS}[{index}]: {show(text)} is not a network (CIDR)")
    return list(args.get("probe_networks") or [])


def probe_settings(args, inventory):
    """{"enabled", "here", "scanners", "address", "ports", "addresses", "networks",
    "settings"}: where and how the host is probed (exposed_ports_probe*), or PolicyError naming
    each variable at fault. A name in probe_from is ``controller`` or a host of ``inventory``;
    one name given as a string is that name."""
    names = args["probe_from"]
    if isinstance(names, str):
        names = [names]
    errors, scanners = [], []
    if not isinstance(names, list):
        errors.append(f"{FROM}: expected a host name or a list of them, got {show(names)}")
        names = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name:
            errors.append(f"{FROM}[{index}]: expected a host name, got {show(name)}")
        elif name != CONTROLLER and name not in inventory:
            errors.append(
                f"{FROM}[{index}]: {show(name)} is neither {CONTROLLER} nor a host of the inventory"
            )
        elif name != CONTROLLER and name not in scanners:
            scanners.append(name)
    try:
        probe_ports({}, args["probe_ports"])
    except PolicyError as exc:
        errors.extend(exc.errors)
    addresses = args.get("probe_addresses", "host")
    if addresses not in ADDRESSES:
        errors.append(
            f"exposed_ports_probe_addresses: expected one of {', '.join(ADDRESSES)}, "
            f"got {show(addresses)}"
        )
    networks = _networks(args, errors)
    settings = _pacing(args, errors)
    if errors:
        raise PolicyError(errors)
    return {
        "enabled": args["probe"],
        "here": CONTROLLER in names,
        "scanners": scanners,
        "address": args["probe_address"],
        "ports": args["probe_ports"],
        "addresses": addresses,
        "networks": networks,
        "settings": settings,
    }


def _baseline(args, host):
    """The host's approved listeners, or None without a baseline directory."""
    if not args["baseline_dir"]:
        return None
    try:
        path = host_file_path(args["baseline_dir"], host, ".yml")
        doc = read_baseline(path, args["baseline_max_bytes"])
    except (HostFileNameError, BaselineFileError) as exc:
        raise AnsibleActionFail(f"exposed_ports_baseline: {exc}") from None
    problems = validate_baseline(doc)
    if problems:
        raise AnsibleActionFail(
            f"exposed_ports_baseline: {show(path)}: " + count_problems(problems)
        )
    return doc["listeners"]


READ = "portguard.hardening.exposed_ports_read"
# The role's variables and their shapes: the role's own argument spec, the one file that says.
ROLE_SPEC = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "roles",
    "exposed_ports",
    "meta",
    "argument_specs.yml",
)


def role_variable_errors(values, template=None):
    """Every problem of the role's variables in ``values`` (a host's task variables) against the
    role's argument spec, as validate_argument_spec words them; [] when none. ``template``
    resolves the values first (the task's templar)."""
    # A safe loader, the C one where PyYAML has it: ten times the pure one's speed, per host.
    with open(ROLE_SPEC, "rb") as f:
        spec = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    options = spec["argument_specs"]["main"]["options"]
    given = dict((name, values[name]) for name in options if name in values)
    if template is not None:
        given = template(given)
    checked = ArgumentSpecValidator(options).validate(given, validate_role_argument_spec=True)
    return list(checked.error_messages)


# What the plan keeps of a read that failed: the module's own answer.
FAILED_READ = ("failed", "msg", "exception", "module_stderr", "module_stdout", "rc")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # Without read, the host is read here: exposed_ports_read runs on it.
    _requires_connection = True
    _supports_check_mode = True
    _supports_diff = True
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        if self._task.args.get("findings") is None:
            # The role's variables against its argument spec, first: the role passes them to
            # this task's typed options, whose own check would name the option, not the
            # variable, and stop at the first problem. Where the role's own check did not run
            # (the playbooks import the role with rolespec_validate false, a task per host
            # fewer), its message: nothing has been read or changed yet.
            errors = role_variable_errors(
                task_vars, self._templar.template if self._templar is not None else None
            )
            if errors:
                result.update(
                    failed=True,
                    msg="Validation of arguments failed:\n" + "\n".join(errors),
                    argument_errors=errors,
                )
                return result
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        host = task_vars.get("inventory_hostname", "?")
        connection = task_vars.get("ansible_connection")
        port = task_vars.get("ansible_port")
        hostile = set_by_host(task_vars)
        if hostile:
            done = (
                "nothing was changed"
                if args["findings"] is None
                else "this run's changes are not verified"
            )
            raise AnsibleActionFail(f"{show(host)}: {refusal(hostile)}; {done}")
        if args["findings"] is None:
            # The policy first, before anything the host returned: its problems are the
            # operator's, the same on every host. Then the probe settings, the baseline file.
            try:
                problems = validate_policy(args["rules"], args["default_action"])
                if problems:
                    raise PolicyError(problems)
                probe = probe_settings(args, (task_vars.get("groups") or {}).get("all") or [])
            except PolicyError as exc:
                raise AnsibleActionFail(f"{show(host)}: " + count_problems(exc.errors)) from None
            baseline = _baseline(args, host)
        if args["read"] is None:
            # After every check of the operator's input: a bad policy costs no round trip.
            read = self._read(task_vars)
            if read.get("failed"):
                result.update((key, read[key]) for key in FAILED_READ if key in read)
                return result
            args["read"] = read
            # The round trip, as a module run on the host shows it.
            if "invocation" in read:
                result["invocation"] = read["invocation"]
        try:
            if args["findings"] is not None:
                findings, notes, firewall = verify(
                    args["findings"], args["read"], args, connection, port
                )
                result.update(changed=False, findings=findings, notes=notes, firewall=firewall)
                return result
            plan = build(
                args["read"],
                args,
                connection,
                port,
                baseline,
                diff=bool(self._task.diff),
            )
        except (PolicyError, RulesetError) as exc:
            raise AnsibleActionFail(f"{show(host)}: " + count_problems(exc.errors)) from None
        except Exception as exc:  # pylint: disable=broad-exception-caught
            # What the host returned is host data: whatever it makes fail, the host is named.
            raise AnsibleActionFail(
                f"{show(host)}: cannot plan from what the host returned: "
                f"{type(exc).__name__}: {show(str(exc))}"
            ) from exc
        plan["check_mode"] = bool(self._play_context.check_mode)
        plan["probe"] = probe
        # What the firewall's tasks need of the host (the package manager to install with).
        facts = args["read"].get("host")
        plan["host"] = {"pkg_mgr": facts.get("pkg_mgr") if isinstance(facts, Mapping) else None}
        shown = plan.pop("diff", None)
        if shown is not None:
            result["diff"] = {
                "before_header": "exposure now",
                "after_header": "exposure after remediation",
                "before": shown["before"],
                "after": shown["after"],
            }
        result.update(changed=plan["changes"], plan=plan)
        return result

    def _read(self, task_vars):
        """The host read (exposed_ports_read's answer), run on the task's host. It only reads,
        so it runs in check mode as well."""
        try:
            return self._execute_module(module_name=READ, module_args={}, task_vars=task_vars)
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
