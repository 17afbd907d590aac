# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconciliation: the findings checked against what a read of the host after remediation
found."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    parse_firewall,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.judge import (
    _triggering_socket_units,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.rules import (
    _CHANGING,
    _check_sockets,
    _endpoint,
    _join_notes,
    _port_label,
    _process_names,
    _reach,
    _read_context,
    _within,
)

# ---------------------------------------------------------------------------
# Reconciliation


def _would_reopen(unit):
    # Active now, or started at boot: either brings the listener back.
    return unit.get("active_state") in ("active", "activating", "reloading") or unit.get(
        "unit_file_state"
    ) in ("enabled", "enabled-runtime")


def _reviving_units(finding, socket_units):
    names = set(finding.get("activated_by") or [])
    names.update(_triggering_socket_units(finding.get("unit"), socket_units))
    return sorted(
        "{} ({}, {})".format(u["unit"], u.get("active_state"), u.get("unit_file_state"))
        for u in socket_units
        if u["unit"] in names and _would_reopen(u)
    )


def _check_disable(finding, sock, socket_units):
    if sock is not None:
        holders = ", ".join(_process_names(sock)) or "no visible process"
        return "failed", "still listening on {} (unit {}, held by {})".format(
            _endpoint(sock), sock.get("unit"), holders
        )
    reviving = _reviving_units(finding, socket_units)
    if reviving:
        return "failed", "socket units would reopen {}: {}".format(
            _port_label(finding["port"], finding["protocol"]), ", ".join(reviving)
        )
    return "remediated", None


def _check_firewall(finding, sock, ctx):
    label = _port_label(finding["port"], finding["protocol"])
    reach = _reach(sock, ctx)
    if reach["exposure"] == "everyone":
        return "failed", "{} is still admitted from everyone: {}".format(
            label, "; ".join(reach["via"])
        )
    if finding["action"] == "block":
        return "remediated", None
    if reach["exposure"] == "closed":
        return "remediated", f"{label} is closed to everyone, its sources included"
    extra = [s for s in reach["sources"] if not _within(s, finding["sources"])]
    if extra:
        return "failed", "{} is also admitted from {} (allowed: {})".format(
            label, ", ".join(extra), ", ".join(finding["sources"])
        )
    return "remediated", None


def _reconcile_one(finding, after, ctx):
    result = dict(finding)
    if finding.get("status") != "open" or finding.get("action") not in _CHANGING:
        return result
    key = (finding["protocol"], finding["family"], finding["address"], finding["port"])
    sock = after.get(key)
    if finding["action"] == "disable":
        status, note = _check_disable(finding, sock, ctx["socket_units"])
    elif sock is None:
        status, note = "remediated", None
    else:
        status, note = _check_firewall(finding, sock, ctx)
    result["status"] = status
    result["note"] = _join_notes(finding.get("note"), note)
    return result


def _check_findings(findings):
    if not is_list(findings):
        raise PolicyError(
            [f"findings: expected the findings list of evaluate, got {show(findings)}"]
        )
    keys = ("rule", "protocol", "family", "address", "port", "action", "status")
    errors = []
    for index, finding in enumerate(findings):
        if not isinstance(finding, Mapping):
            errors.append(f"findings[{index}]: expected a mapping, got {show(finding)}")
            continue
        missing = [k for k in keys if k not in finding]
        if missing:
            errors.append("findings[{}]: missing {}".format(index, ", ".join(missing)))
    if errors:
        raise PolicyError(errors)


def reconcile(findings, sockets_after, firewall_after, context=None):
    """The findings with open disable/block/restrict ones marked remediated or failed.

    ``sockets_after`` and ``firewall_after`` are the sockets and firewall
    (shaped as for evaluate) gathered after remediation; ``context`` may hold
    socket_units, gathered after too, to catch socket units that would bring
    a disabled service back.  Other findings are returned unchanged.
    """
    _check_findings(findings)
    _check_sockets(sockets_after, "sockets_after")
    model = parse_firewall(firewall_after, "firewall_after")
    ctx = _read_context(context)
    ctx["firewall"] = model
    after = dict(((s["protocol"], s["family"], s["address"], s["port"]), s) for s in sockets_after)
    return [_reconcile_one(f, after, ctx) for f in findings]
