# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything the controller's plan needs to know about a host besides its sockets, in one read.

read_host() returns the ``host`` mapping of exposed_ports_read.  It runs commands only through
the caller's run(argv) and systemctl(args), finds programs through which(name), and reads files
and asks Docker's API socket at the paths it is given, so tests feed it fixtures.  A problem that
leaves one part unread is a line in ``errors``; the rest is still read.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import json
import os

from ansible_collections.portguard.hardening.plugins.module_utils._apply.nftables import (
    RULES_LINE,
    RULES_PATH,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.ancestry import (
    find_ssh_connection,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.commands import (
    command_text,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.containers import (
    DOCKER_SOCKETS,
    PODMAN_RUNROOT,
    PODMAN_STORE,
    read_containers,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.firewalld import (
    read_firewalld,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.ruleset import (
    read_ruleset,
)
from ansible_collections.portguard.hardening.plugins.module_utils._read.units import read_units

VERSION = 1
TOOLS = (
    "nft",
    "iptables-nft-save",
    "ip6tables-nft-save",
    "iptables-legacy-save",
    "ip6tables-legacy-save",
    "ufw",
    "firewall-cmd",
    "ip",
    "podman",
)
# The package manager and the program that tells it is there, in the order they are tried.
PACKAGE_MANAGERS = (("apt", "apt-get"), ("dnf", "dnf"), ("yum", "yum"), ("zypper", "zypper"))
PATHS = {
    "exports": "/etc/exports",
    "portguard_rules": RULES_PATH,
    "ufw_conf": "/etc/ufw/ufw.conf",
    "ufw_defaults": "/etc/default/ufw",
    "debian_version": "/etc/debian_version",
}
FIREWALLD_UNIT = "firewalld.service"
_FLAGS = {"yes": True, "no": False}


def read_text(path, errors, absent=""):
    """The text of a file, ``absent`` when it does not exist; on another failure ``absent`` and a
    line in errors.  Bytes that are not UTF-8 become U+FFFD."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return absent
    except OSError as exc:
        errors.append("cannot read %s: %s" % (path, exc.strerror or exc))
        return absent


def shell_setting(text, name):
    """The value of ``NAME=value`` in a shell-style settings file (the last one counts), quotes
    removed; None when it is not set."""
    value = None
    for line in (text or "").splitlines():
        key, sep, rest = line.strip().partition("=")
        if sep and key == name:
            rest = rest.split("#", 1)[0].strip()
            if len(rest) >= 2 and rest[0] == rest[-1] and rest[0] in "'\"":
                rest = rest[1:-1]
            value = rest
    return value


def _flag(text, name):
    value = shell_setting(text, name)
    return _FLAGS.get(value.lower()) if value is not None else None


def read_ufw(installed, conf_path, defaults_path, errors):
    """{"installed", "enabled" (ENABLED= of ufw.conf), "ipv6" (IPV6= of /etc/default/ufw)}; each
    of the last two None when the file or setting is missing or is neither yes nor no."""
    conf = read_text(conf_path, errors, absent=None)
    defaults = read_text(defaults_path, errors, absent=None)
    return {
        "installed": bool(installed),
        "enabled": _flag(conf, "ENABLED"),
        "ipv6": _flag(defaults, "IPV6"),
    }


def package_manager(which, debian_like):
    """apt, dnf, yum, zypper or unknown: the first whose program exists; apt is tried first on a
    Debian-like host, last elsewhere."""
    order = list(PACKAGE_MANAGERS)
    if not debian_like:
        order = order[1:] + order[:1]
    for name, program in order:
        if which(program):
            return name
    return "unknown"


def read_interfaces(run, ip, errors):
    """``ip -j addr`` parsed: one mapping per interface; [] with a line in errors on failure."""
    if not ip:
        errors.append("interfaces not read: ip is not installed")
        return []
    text = command_text(run, [ip, "-j", "addr"], errors)
    if text is None:
        return []
    try:
        interfaces = json.loads(text)
    except ValueError as exc:
        errors.append("ip -j addr: not JSON: %s" % exc)
        return []
    if not isinstance(interfaces, list) or not all(isinstance(i, dict) for i in interfaces):
        errors.append("ip -j addr: expected a list of interfaces")
        return []
    return interfaces


def read_own_rules(path, errors):
    """The rules the collection's nftables table was last written with (the rules file's
    recorded line), or None when there is no such file."""
    text = read_text(path, errors, absent=None)
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith(RULES_LINE):
            try:
                rules = json.loads(line[len(RULES_LINE) :])
            except ValueError as exc:
                errors.append("%s: the recorded rules are not JSON: %s" % (path, exc))
                return None
            if isinstance(rules, list):
                return rules
            break
    errors.append("%s records no rules (written by an older release?)" % path)
    return None


def read_host(
    run,
    which,
    systemctl=None,
    systemd_unavailable=None,
    proc_path="/proc",
    environ=None,
    ruleset=True,
    firewalld=True,
    paths=None,
    firewalld_client=None,
    docker_sockets=DOCKER_SOCKETS,
    podman_store=PODMAN_STORE,
    podman_runroot=PODMAN_RUNROOT,
):
    """The ``host`` mapping of exposed_ports_read (version 1).

    ``run(argv)`` runs a program (absolute path first) and returns (rc, stdout, stderr);
    ``systemctl(args)`` likewise for systemctl, or None with ``systemd_unavailable`` saying why;
    ``which(name)`` gives a program's absolute path or None; ``environ`` is the module's own
    environment; ``paths`` overrides PATHS; ``firewalld_client`` stands in for firewalld's
    dbus_client(); ``docker_sockets`` are where Docker's API is tried and ``podman_store``
    is rootful podman's store (containers.read_containers()).
    ``ruleset`` and ``firewalld`` false leave those None.
    """
    paths = dict(PATHS, **(paths or {}))
    errors = []
    units, unit_errors = read_units(systemctl, systemd_unavailable)
    errors.extend(unit_errors)
    tools = dict((name, which(name)) for name in TOOLS)
    rules = None
    if ruleset:
        rules, rule_errors = read_ruleset(run, tools, proc_path)
        errors.extend(rule_errors)
    ssh_connection, ssh_errors = find_ssh_connection(
        os.environ if environ is None else environ, proc_path
    )
    errors.extend(ssh_errors)
    host = {
        "version": VERSION,
        "units": units,
        "ufw": read_ufw(tools["ufw"], paths["ufw_conf"], paths["ufw_defaults"], errors),
        "tools": tools,
        "ruleset": rules,
        "interfaces": read_interfaces(run, tools["ip"], errors),
        "exports": read_text(paths["exports"], errors),
        "mounts": read_text(os.path.join(proc_path, "mounts"), errors),
        "ssh_connection": ssh_connection,
        "pkg_mgr": package_manager(which, os.path.exists(paths["debian_version"])),
        "firewalld": None,
        # What the collection's own nftables table holds by its rules file (None: no file).
        "portguard_rules": read_own_rules(paths["portguard_rules"], errors),
        "containers": None,
        "errors": errors,
    }
    if firewalld and (units.get(FIREWALLD_UNIT) or {}).get("active_state") == "active":
        host["firewalld"] = read_firewalld(run, tools["firewall-cmd"], firewalld_client)
        if host["firewalld"]["error"]:
            errors.append("firewalld: %s" % host["firewalld"]["error"])
    host["containers"], container_errors = read_containers(
        units,
        run,
        tools["podman"],
        docker_sockets,
        podman_store,
        podman_runroot=podman_runroot,
        timeout_program=which("timeout"),
    )
    errors.extend(container_errors)
    return host
