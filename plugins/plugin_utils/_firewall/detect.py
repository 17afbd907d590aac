# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which firewalls a host runs, and which one closes the ports the policy forbids.

The choice never installs or starts a second firewall: firewalld is used when it runs, and
started or installed only on a host that filters nothing at all (as
exposed_ports_firewall_enable and exposed_ports_firewall_install allow). Everywhere else the
collection's own nftables table (portguard.hardening.exposed_ports_nftables) closes ports
beside the admin's firewall, ahead of its chains. ufw gets that table too: ufw takes a rule
that differs from the admin's only in its action for the same rule (it skips it, or rewrites
the admin's rule in place) and appends the IPv6 half of an inserted rule after the admin's
allows, so no ufw rule can both win and leave the admin's rules as they were.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    show,
)

BACKENDS = ("auto", "firewalld", "nftables")
FIELD = "exposed_ports_firewall_backend"
OWN_TABLE = ("inet", "portguard")
# Tables of firewalld (its nftables backend) and of the collection: not another firewall.
OWN_TABLES = (OWN_TABLE, ("inet", "firewalld"), ("ip", "firewalld"), ("ip6", "firewalld"))
# Services that load an admin's ruleset, by the name the report gives their firewall.
SERVICES = (
    ("firewalld", "firewalld.service"),
    ("ufw", "ufw.service"),
    ("nftables", "nftables.service"),
    ("iptables", "netfilter-persistent.service"),
)


def _unit(host, name):
    return (host.get("units") or {}).get(name) or {}


def unit_state(host, name):
    """absent, masked, active or inactive, from the host read's units."""
    unit = _unit(host, name)
    if not unit or unit.get("load_state") in ("not-found", None):
        return "absent"
    if unit.get("load_state") == "masked" or unit.get("unit_file_state") == "masked":
        return "masked"
    return "active" if unit.get("active_state") in ("active", "reloading") else "inactive"


def _ufw_active(host, ruleset):
    ufw = host.get("ufw") or {}
    chains = ruleset is not None and any(key[2] == "ufw-user-input" for key in ruleset.chains)
    return bool(ufw.get("enabled")) and (unit_state(host, "ufw.service") == "active" or chains)


def _filter_tables(ruleset):
    """(family, table) of every table with a filter base chain on the input or forward hook."""
    return sorted(
        set(
            (c.family, c.table)
            for c in ruleset.chains.values()
            if c.is_base and c.hook in ("input", "forward") and c.type in (None, "filter")
        )
    )


def _input_tables(ruleset):
    """(family, table) of every table with a filter chain on the input hook."""
    if ruleset is None:
        return []
    return sorted(
        set((c.family, c.table) for c in ruleset.chains.values() if c.is_base and c.hook == "input")
    )


def seen(host, ruleset):
    """[{"name", "state", "why"}]: the firewalls of the host and what else filters input."""
    found = []
    for name, unit in SERVICES:
        state = unit_state(host, unit)
        if name == "ufw":
            if not (host.get("ufw") or {}).get("installed") and state == "absent":
                continue
            state = "active" if _ufw_active(host, ruleset) else "inactive"
            why = "ufw is enabled" if state == "active" else "ufw is installed but not enabled"
        elif state == "absent":
            continue
        else:
            why = f"{unit} is {state}"
        found.append({"name": name, "state": state, "why": why})
    if not host.get("units"):
        # Without the units nobody can say that no other firewall runs: never start one.
        found.append(
            {"name": "unknown", "state": "active", "why": "the host's units could not be read"}
        )
    engines = (host.get("containers") or {}).get("engines") or {}
    chains = set(key[2] for key in ruleset.chains) if ruleset is not None else set()
    tables = set(ruleset.tables) if ruleset is not None else set()
    if "DOCKER" in chains or "DOCKER-USER" in chains:
        found.append({"name": "docker", "state": "active", "why": "Docker's chains are loaded"})
    elif (engines.get("docker") or {}).get("state") == "read":
        found.append({"name": "docker", "state": "active", "why": "docker.service runs"})
    if ("inet", "netavark") in tables or any(c.startswith("NETAVARK") for c in chains):
        found.append(
            {"name": "podman", "state": "active", "why": "podman's (netavark's) rules are loaded"}
        )
    if ruleset is not None:
        if OWN_TABLE in ruleset.tables:
            found.append(
                {"name": "portguard", "state": "active", "why": "table inet portguard is loaded"}
            )
        # Filter chains nothing above accounts for (a script, another tool): someone filters.
        if not any(f["state"] == "active" and f["name"] != "portguard" for f in found):
            other = [
                f"{f} {t}" for f, t in _filter_tables(ruleset)
                if (f, t) not in OWN_TABLES and not t.endswith("(iptables-legacy)")
            ]  # fmt: skip
            if other:
                found.append(
                    {
                        "name": "netfilter",
                        "state": "active",
                        "why": "tables filter traffic: " + ", ".join(other),
                    }
                )
        legacy = [t for f, t in _input_tables(ruleset) if t.endswith("(iptables-legacy)")]
        if legacy:
            found.append(
                {
                    "name": "iptables-legacy",
                    "state": "active",
                    "why": "iptables-legacy tables filter input: " + ", ".join(legacy),
                }
            )
    return found


def _others(found):
    """The active firewalls and rule sets other than firewalld and the collection's table."""
    return [f["name"] for f in found if f["state"] == "active" and f["name"] != "portguard"]


def _own_table(host, why):
    if not (host.get("tools") or {}).get("nft"):
        return {
            "name": None,
            "why": why,
            "start": False,
            "install": False,
            "problem": "nftables (the nft command) is not installed, so the collection's table "
            "cannot close ports: install the nftables package"
            + ("" if "firewalld" in why else ", or let the role install firewalld on a host "
               "with no firewall (exposed_ports_firewall_install)"),
        }  # fmt: skip
    return {"name": "nftables", "why": why, "start": False, "install": False, "problem": None}


def _firewalld(why, start=False, install=False):
    return {"name": "firewalld", "why": why, "start": start, "install": install, "problem": None}


def choose(host, found, wanted="auto", install=False, enable=True):
    """The backend that closes ports on this host: {"name" (None when none can), "why",
    "start", "install" (firewalld only), "problem" (why none can, and what to do)}.

    Raises PolicyError naming exposed_ports_firewall_backend when the one asked for would
    start a second firewall or cannot run.
    """
    if wanted not in BACKENDS:
        raise PolicyError(
            [f"{FIELD}: {show(wanted)} is not one of {', '.join(BACKENDS)}"
             + (" (ufw hosts get the collection's nftables table: choose auto or nftables)"
                if wanted == "ufw" else "")]
        )  # fmt: skip
    state = unit_state(host, "firewalld.service")
    others = [n for n in _others(found) if n != "firewalld"]
    if wanted == "nftables":
        return _own_table(host, f"{FIELD} is nftables")
    if state == "active":
        return _firewalld("firewalld is running")
    if wanted == "firewalld":
        why = _firewalld_refusal(state, others, install, enable)
        if why:
            raise PolicyError([f"{FIELD}: firewalld {why}"])
    elif others or state == "masked":
        if others:
            why = "the host runs {}: closed beside it in table inet portguard".format(
                ", ".join(others)
            )
        else:
            why = "firewalld is masked: closed in table inet portguard"
        return _own_table(host, why)
    if state == "inactive" and enable:
        return _firewalld("firewalld is installed and exposed_ports_firewall_enable is true",
                          start=True)  # fmt: skip
    if state == "absent" and install:
        if host.get("pkg_mgr") in (None, "unknown"):
            return _problem("firewalld cannot be installed: no known package manager")
        return _firewalld("no firewall: exposed_ports_firewall_install is true",
                          start=True, install=True)  # fmt: skip
    return _own_table(host, "no firewall runs: closed in table inet portguard")


def _problem(text):
    return {"name": None, "why": text, "start": False, "install": False, "problem": text}


def _firewalld_refusal(state, others, install, enable):
    if others:
        return (
            "would be a second firewall beside {} (starting it stops or flushes theirs); "
            "choose auto or nftables".format(", ".join(others))
        )
    if state == "masked":
        return "is masked on this host: the admin switched it off; choose auto or nftables"
    if state == "inactive" and not enable:
        return "is stopped and exposed_ports_firewall_enable is false"
    if state == "absent" and not install:
        return "is not installed and exposed_ports_firewall_install is false"
    return None
