# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action: the task host's ports probed from the controller (see the module's
documentation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import socket

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
    DEFAULTS,
    ProbeError,
    check_settings,
    expand_ports,
    probe_host,
)
from ansible_collections.portguard.hardening.plugins.module_utils._probe.udp import PROBES
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    count_problems,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.outside import (
    check,
    combine,
    probe_ports,
)

ARGUMENT_SPEC = {
    "address": {"type": "str"},
    "tcp_ports": {"type": "list", "elements": "raw"},
    "udp_ports": {"type": "list", "elements": "raw"},
    # The plan's entries: given findings, the probe checks the plan's verdicts.
    "ports": {"type": "raw", "default": "listeners"},
    "findings": {"type": "list", "elements": "dict"},
    "allowed": {"type": "list", "elements": "dict", "default": []},
    "compliant": {"type": "list", "elements": "dict", "default": []},
    # More of the host's own addresses to probe as well (the plan's global addresses).
    "addresses": {"type": "list", "elements": "str", "default": []},
    # Only addresses inside these networks are probed: the host names its own addresses.
    "networks": {"type": "list", "elements": "str", "default": []},
    "concurrency": {"type": "int", "default": DEFAULTS["concurrency"]},
    "rate": {"type": "float", "default": float(DEFAULTS["rate"])},
    "timeout": {"type": "float", "default": float(DEFAULTS["timeout"])},
    "budget": {"type": "float", "default": float(DEFAULTS["budget"])},
    "tries": {"type": "int", "default": DEFAULTS["tries"]},
}
SETTINGS = ("concurrency", "rate", "timeout", "budget", "tries")
DEFAULT_PORTS = {"tcp_ports": ["1-65535"], "udp_ports": sorted(PROBES)}
ORIGIN = "the controller"
# Connections whose host is reached some other way than by its address over the network.
UNPROBED_CONNECTIONS = {
    "local": "the host is the controller itself: a probe would not come from outside",
}


def source_address(address):
    """The controller's address toward ``address`` (a UDP socket connected, nothing sent), or
    None."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((address.partition("%")[0], 9))
            return probe.getsockname()[0]
    except OSError:
        return None


def is_ip(text):
    try:
        ipaddress.ip_address(text.partition("%")[0])
    except ValueError:
        return False
    return True


def resolve(name, field):
    """(the address to probe, notes): an IP literal as it is, a name resolved here, its first
    address in the resolver's order, the others named in a note."""
    if not isinstance(name, str) or not name.strip():
        raise ProbeError(
            ["%s: expected a host name or an IP address, got %s" % (field, show(name))]
        )
    name = name.strip()
    if is_ip(name):
        return name, []
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ProbeError(["%s: cannot resolve %s: %s" % (field, show(name), exc)]) from None
    found = []
    for info in infos:
        address = info[4][0]
        if address not in found:
            found.append(address)
    if not found:
        raise ProbeError(["%s: %s resolves to no address" % (field, show(name))])
    notes = []
    if len(found) > 1:
        notes.append(
            "%s resolves to %d addresses (%s); probed the first only"
            % (show(name), len(found), ", ".join(found))
        )
    return found[0], notes


def _controllers_own(address, source):
    """Why ``address`` is the controller itself (loopback, or an address of its own: a
    port-forwarded SSH or Vagrant host), or None. A probe there sees the controller's ports.
    ``source`` is source_address(address)."""
    if ipaddress.ip_address(address.partition("%")[0]).is_loopback:
        return "%s is a loopback address: the probe would see the controller's own ports" % address
    if source == address.partition("%")[0]:
        return "%s is an address of the controller itself" % address
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # The probe runs here, on the controller: nothing runs on the host.
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        host = task_vars.get("inventory_hostname", "?")
        field = "address"
        target = args["address"]
        if target is None:
            field = "address (ansible_host)"
            target = task_vars.get("ansible_host") or host
            if self._templar is not None:
                target = self._templar.template(target)
        planned = args["findings"] is not None
        try:
            problems = []
            ports = {}
            if planned:
                plan = {k: args[k] for k in ("findings", "allowed", "compliant")}
                wanted = probe_ports(plan, args["ports"])
                ports = {"tcp_ports": wanted["tcp"], "udp_ports": wanted["udp"]}
            for name in ("tcp_ports", "udp_ports") if not planned else ():
                try:
                    given = args[name] if args[name] is not None else DEFAULT_PORTS[name]
                    ports[name] = expand_ports(given, name)
                except ProbeError as exc:
                    problems.extend(exc.errors)
            settings = dict((name, args[name]) for name in SETTINGS)
            try:
                check_settings(settings)
            except ProbeError as exc:
                problems.extend(exc.errors)
            nets = []
            for index, text in enumerate(args["networks"]):
                try:
                    nets.append(ipaddress.ip_network(text, strict=False))
                except ValueError:
                    problems.append("networks[%d]: %s is not a network" % (index, show(text)))
            for index, extra in enumerate(args["addresses"]):
                if not is_ip(extra):
                    problems.append("addresses[%d]: %s is not an IP address" % (index, show(extra)))
            if problems:
                raise ProbeError(problems)
            unprobed = UNPROBED_CONNECTIONS.get(task_vars.get("ansible_connection"))
            if planned and unprobed and args["address"] is None:
                return self._not_probed(result, args, unprobed)
            # Names are resolved only once everything else is known to be good.
            try:
                address, notes = resolve(target, field)
            except ProbeError as exc:
                if not planned:
                    raise
                return self._not_probed(result, args, "; ".join(exc.errors))
            source = source_address(address)
            own = _controllers_own(address, source)
            if planned and own and args["address"] is None:
                return self._not_probed(result, args, own)
            others, outside_nets = [], []
            for extra in args["addresses"]:
                if extra == address or extra in others:
                    continue
                if any(ipaddress.ip_address(extra) in net for net in nets):
                    others.append(extra)
                else:
                    outside_nets.append(extra)
            if outside_nets:
                notes.append(
                    "not probed: %s, outside exposed_ports_probe_networks (the host names its "
                    "own addresses; only networks the operator lists are probed)"
                    % ", ".join(outside_nets)
                )
            probe = probe_host(address, ports["tcp_ports"], ports["udp_ports"], settings)
            more = [
                probe_host(extra, ports["tcp_ports"], ports["udp_ports"], settings)
                for extra in others
            ]
        except (ProbeError, PolicyError) as exc:
            raise AnsibleActionFail("%s: %s" % (show(host), count_problems(exc.errors))) from None
        probe["notes"] = notes + probe["notes"]
        result.update(changed=False, probe=probe)
        if planned:
            views = [
                check(
                    args["findings"],
                    args["allowed"],
                    args["compliant"],
                    seen,
                    ORIGIN,
                    from_here,
                )
                for seen, from_here in zip(
                    [probe] + more, [source] + [source_address(extra) for extra in others]
                )
            ]
            findings, allowed, outside = combine(views)
            result.update(findings=findings, allowed=allowed, outside=outside)
        if more:
            result["probes"] = more
        return result

    @staticmethod
    def _not_probed(result, args, why):
        """The plan's entries as they are, each not probed, and why."""
        marked = []
        for entry in args["findings"]:
            marked.append(dict(entry, reachable="not probed", probe=None))
        allowed = [dict(entry, reachable="not probed", probe=None) for entry in args["allowed"]]
        outside = {
            "address": None,
            "addresses": [],
            "from": ORIGIN,
            "source": None,
            "elapsed": 0,
            "disagreements": [],
            "unexpected": [],
            "notes": ["not probed from outside: " + why],
        }
        result.update(changed=False, probe=None, findings=marked, allowed=allowed, outside=outside)
        return result
