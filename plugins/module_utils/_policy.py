# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed-ports policy: validate rules, judge listening sockets, check remediation.

Pure functions over plain data: the ``listening_facts`` sockets, the user's
rules, and a description of firewalld that the role gathers.  The filters in
plugins/filter/exposed_ports.py run them on the controller.

Public: builtin_rules, validate_policy, evaluate, reconcile and PolicyError;
parse_firewall, exposure and parse_rich_rule come from _firewall_model.py.
Shapes of the inputs and outputs are documented on evaluate() and in the
filters' documentation.  The approved baseline evaluate() can take is in
_baseline.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import fnmatch
import ipaddress
import re
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._baseline import (
    baseline_index,
    in_baseline,
    missing_from,
    validate_listeners,
)
from ansible_collections.portguard.hardening.plugins.module_utils._firewall_model import (
    _network,
    _sorted_sources,
    _unique,
    exposure,
    parse_firewall,
)
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import rich_rules
from ansible_collections.portguard.hardening.plugins.module_utils._sources import (
    canonical_source,
)
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    disable_problem,
    is_user_manager,
    unit_name_problem,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    is_name,
    show,
)

ACTIONS = ("allow", "block", "disable", "report", "restrict")
DEFAULT_ACTIONS = ("allow", "block", "report")
PROTOCOLS = ("tcp", "udp")
FAMILIES = ("ipv4", "ipv6")
RULE_KEYS = ("action", "enabled", "id", "match", "reason", "sources")
MATCH_KEYS = ("containers", "images", "ports", "processes", "protocols", "units")
SELECTORS = ("ports", "units", "processes", "containers", "images")
CONTEXT_KEYS = (
    "firewall",
    "firewall_name",
    "reach",
    "management_ports",
    "management_units",
    "nfs_in_use",
    "nfs_reason",
    "socket_units",
)
DEFAULT_RULE_ID = "default"
BASELINE_RULE_ID = "baseline"
DRIFT_RULE_ID = "drift"

# Actions that change the host; the others only describe it.
_CHANGING = ("block", "disable", "restrict")
# Findings are counted by effective action; "allow" never is a finding.
_FINDING_ACTIONS = ("block", "disable", "report", "restrict")
# Why a port goes into plan.firewall_open, strongest first.
_OPEN_RANK = {"management": 0, "allow": 1, "report": 2}

_BOTH = ("tcp", "udp")
_TCP = ("tcp",)
_BUILTINS = (
    (
        "builtin-rpcbind",
        (111,),
        _BOTH,
        "disable",
        "The SunRPC portmapper is abused for reflection/amplification attacks and tells anyone "
        "which RPC services the host runs; only NFSv3 and NIS need it.",
    ),
    (
        "builtin-telnet",
        (23,),
        _TCP,
        "disable",
        "Telnet sends passwords and sessions in cleartext; use SSH.",
    ),
    (
        "builtin-nfs",
        (2049,),
        _BOTH,
        "block",
        "NFS trusts client addresses only and must not be reachable beyond its clients.",
    ),
    (
        "builtin-mysql",
        (3306,),
        _TCP,
        "block",
        "MySQL/MariaDB must only be reachable by its application hosts: a brute-force and "
        "exploit target.",
    ),
    (
        "builtin-postgresql",
        (5432,),
        _TCP,
        "block",
        "PostgreSQL must only be reachable by its application hosts: a brute-force and "
        "exploit target.",
    ),
    (
        "builtin-redis",
        (6379,),
        _TCP,
        "block",
        "Redis runs without authentication by default and can be made to write files, "
        "which leads to remote code execution.",
    ),
    (
        "builtin-elasticsearch",
        (9200, 9300),
        _TCP,
        "block",
        "Elasticsearch's HTTP and transport APIs are often unauthenticated; exposed clusters "
        "are dumped and wiped.",
    ),
    (
        "builtin-memcached",
        (11211,),
        _BOTH,
        "block",
        "memcached has no authentication and is used for UDP/TCP reflection attacks with "
        "huge amplification.",
    ),
    (
        "builtin-mongodb",
        (27017,),
        _TCP,
        "block",
        "MongoDB instances reachable from outside are routinely dumped and held to ransom.",
    ),
    (
        "builtin-smb",
        ("137-139", 445),
        _BOTH,
        "block",
        "NetBIOS and SMB expose file shares and host names and are a worm and ransomware vector.",
    ),
    (
        "builtin-mdns",
        (5353,),
        ("udp",),
        "block",
        "mDNS belongs on the local link; reachable from outside it discloses host and service "
        "names and can be used for reflection.",
    ),
    (
        "builtin-admin",
        (8080, 8081, 8888),
        _TCP,
        "block",
        "8080, 8081 and 8888 are where admin consoles, development servers and proxies listen; "
        "they are not meant to face the internet.",
    ),
)


def builtin_rules():
    """The built-in rules, in precedence order, as fresh dicts a caller may change."""
    return [
        {
            "id": rule_id,
            "match": {"ports": list(ports), "protocols": list(protocols)},
            "action": action,
            "reason": reason,
            "enabled": True,
        }
        for rule_id, ports, protocols, action, reason in _BUILTINS
    ]


# ---------------------------------------------------------------------------
# Small helpers


def _port_label(port, protocol):
    return f"{port}/{protocol}"


def _join_notes(*notes):
    return "; ".join(n for n in notes if n) or None


_PORT_SPEC_RE = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def _parse_port_spec(value):
    """(low, high) for 80, "80" or "1000-2000"; ValueError saying what is wrong otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        # bool is an int: `ports: [true]` must not become port 1.
        raise ValueError(f"{show(value)} is not a port (1-65535)")
    if isinstance(value, int):
        low = high = int(value)
        kind = "port"
    else:
        m = _PORT_SPEC_RE.fullmatch(value)
        if not m:
            raise ValueError(f"{show(value)} is not a port or port range (write 80 or '1000-2000')")
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        kind = "port range" if m.group(2) else "port"
    if low < 1 or high > 65535 or low > 65535:
        raise ValueError(f"{show(value)} is not a {kind} (1-65535)")
    if low > high:
        raise ValueError(f"{show(value)} is not a port range: {low} is above {high}")
    return (low, high)


def _within(source, allowed):
    """True when every address of ``source`` is inside one of the ``allowed`` networks."""
    net = _network(source)
    if net is None:
        return False
    for text in allowed:
        other = _network(text)
        if other is not None and other.version == net.version and net.subnet_of(other):
            return True
    return False


def _address_key(address):
    try:
        return (0, int(ipaddress.ip_address(address)), "")
    except ValueError:
        return (1, 0, address)


def _socket_key(sock):
    return (
        sock["port"],
        sock["protocol"],
        sock["family"],
        _address_key(sock["address"]),
        sock.get("interface") or "",
        sock.get("inode") or 0,
    )


def _endpoint(sock):
    address = sock["address"]
    if sock["family"] == "ipv6":
        address = f"[{address}]"
    return "{}:{}/{}".format(address, sock["port"], sock["protocol"])


def _processes(sock):
    return sock.get("processes") or []


def _process_names(sock):
    return _unique(p.get("name") for p in _processes(sock) if p.get("name"))


def _unit_names(sock):
    names = [sock.get("unit")] + list(sock.get("activated_by") or [])
    return [n for n in names if n]


# ---------------------------------------------------------------------------
# Validation


def validate_policy(rules, default_action="report"):
    """Every problem with the user's rules and default action, as messages; [] when valid.

    ``rules`` may be None (no user rules).  Messages name the rule by id, or
    by position ("rule #3") when it has no usable id, then the field, and
    quote the offending value.
    """
    errors = _default_action_problems(default_action)
    if rules is None:
        return errors
    if not is_list(rules):
        return errors + [f"rules: expected a list of rules, got {show(rules)}"]
    seen = {}
    for index, rule in enumerate(rules, 1):
        errors.extend(_rule_errors(rule, index, seen))
    return errors


def _default_action_problems(action):
    if action in ("disable", "restrict"):
        return [
            f"default_action {show(action)} cannot be a default: it would apply to every "
            "listener no rule names; use allow, block or report, and write rules for what to "
            "disable or restrict"
        ]
    if not isinstance(action, str) or action not in DEFAULT_ACTIONS:
        return [
            "default_action {} is not one of {}".format(show(action), ", ".join(DEFAULT_ACTIONS))
        ]
    return []


def _rule_errors(rule, index, seen):
    if not isinstance(rule, Mapping):
        return [f"rule #{index}: expected a mapping with id, match and action, got {show(rule)}"]
    rule_id = rule.get("id")
    label = f"rule {show(rule_id)}" if is_name(rule_id) else f"rule #{index}"
    if is_name(rule_id) and rule_id in seen:
        # Two rules share the id: the position says which one is meant.
        label += f" (#{index})"
    return [f"{label}: {problem}" for problem in _rule_problems(rule, index, seen)]


def _unknown_keys(mapping, known, prefix=""):
    return [
        "{}unknown key {} (known: {})".format(prefix, show(key), ", ".join(known))
        for key in sorted(mapping, key=str)
        if key not in known
    ]


def _rule_problems(rule, index, seen):
    problems = _unknown_keys(rule, RULE_KEYS)
    problems.extend(_id_problems(rule, index, seen))
    enabled = rule.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"enabled must be true or false, got {show(enabled)}")
    if enabled is False and "match" not in rule and "action" not in rule:
        # `{id: builtin-x, enabled: false}` switches a built-in off and needs nothing else.
        return problems + _switch_off_problems(rule)
    problems.extend(_match_problems(rule))
    problems.extend(_action_problems(rule))
    reason = rule.get("reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(f"reason must be a string, got {show(reason)}")
    return problems


def _id_problems(rule, index, seen):
    if "id" not in rule:
        return ["id is required"]
    rule_id = rule["id"]
    if not is_name(rule_id):
        return [f"id must be a non-empty string, got {show(rule_id)}"]
    if rule_id == DEFAULT_RULE_ID:
        return [f"id {show(rule_id)} is reserved for the default action"]
    if rule_id in seen:
        return [f"id {show(rule_id)} is already used by rule #{seen[rule_id]}"]
    seen[rule_id] = index
    return []


def _builtin_ids():
    return [entry[0] for entry in _BUILTINS]


def _switch_off_problems(rule):
    rule_id = rule.get("id")
    if not is_name(rule_id) or rule_id in _builtin_ids():
        return []
    return [
        "enabled: false without match and action switches off a built-in rule, but there is "
        "no built-in rule {} (built-in ids: {})".format(show(rule_id), ", ".join(_builtin_ids()))
    ]


def _builtin_hint(rule):
    if rule.get("id") in _builtin_ids():
        return " (a rule with a built-in id replaces that rule entirely)"
    return ""


def _list_problems(field, value, check):
    if not is_list(value) or not value:
        return [f"{field} must be a non-empty list, got {show(value)}"]
    return [f"{field}: {p}" for p in (check(item) for item in value) if p]


def _port_problem(item):
    try:
        _parse_port_spec(item)
    except ValueError as exc:
        return str(exc)
    return None


def _protocol_problem(item):
    if isinstance(item, str) and item in PROTOCOLS:
        return None
    return "{} is not a protocol ({})".format(show(item), ", ".join(PROTOCOLS))


def _glob_problem(item):
    return None if is_name(item) else f"{show(item)} is not a name or glob"


def _source_problem(item):
    try:
        canonical_source(item)
    except ValueError as exc:
        return str(exc)
    return None


def _match_problems(rule):
    if "match" not in rule:
        return ["match is required" + _builtin_hint(rule)]
    match = rule["match"]
    if not isinstance(match, Mapping):
        return [f"match must be a mapping, got {show(match)}"]
    problems = _unknown_keys(match, MATCH_KEYS, "match: ")
    if not any(key in match for key in SELECTORS):
        problems.append("match needs at least one of {}".format(", ".join(SELECTORS)))
    checks = (
        ("ports", _port_problem),
        ("protocols", _protocol_problem),
        ("units", _glob_problem),
        ("processes", _glob_problem),
        ("containers", _glob_problem),
        ("images", _glob_problem),
    )
    for key, check in checks:
        if key in match:
            problems.extend(_list_problems("match." + key, match[key], check))
    return problems


def _action_problems(rule):
    problems = []
    action = rule.get("action")
    if "action" not in rule:
        problems.append(
            "action is required (one of {}){}".format(", ".join(ACTIONS), _builtin_hint(rule))
        )
    elif not isinstance(action, str) or action not in ACTIONS:
        problems.append("action {} is not one of {}".format(show(action), ", ".join(ACTIONS)))
    sources = rule.get("sources")
    if action == "restrict":
        if sources is None or (is_list(sources) and not sources):
            problems.append("action 'restrict' needs sources")
        else:
            problems.extend(_list_problems("sources", sources, _source_problem))
    elif sources is not None and not (is_list(sources) and not sources):
        problems.append("sources are only allowed with action 'restrict'")
    return problems


# ---------------------------------------------------------------------------
# Rules in effect


def _normalize_rule(rule):
    match = rule["match"]

    def optional(key):
        return list(match[key]) if key in match else None

    rule_id = rule["id"]
    return {
        "id": rule_id,
        "action": rule["action"],
        "reason": rule.get("reason") or f"rule {show(rule_id)} (no reason given)",
        "sources": _sorted_sources([canonical_source(s) for s in rule.get("sources") or []]),
        "ports": [_parse_port_spec(p) for p in match["ports"]] if "ports" in match else None,
        "protocols": list(match.get("protocols") or PROTOCOLS),
        "units": optional("units"),
        "processes": optional("processes"),
        "containers": optional("containers"),
        "images": optional("images"),
    }


def _effective_rules(rules, use_builtin):
    """Enabled user rules in order, then the built-ins no user rule names (rules are valid)."""
    rules = list(rules or [])
    user_ids = set(rule["id"] for rule in rules)
    chosen = [_normalize_rule(rule) for rule in rules if rule.get("enabled", True)]
    if use_builtin:
        chosen.extend(
            _normalize_rule(rule) for rule in builtin_rules() if rule["id"] not in user_ids
        )
    return chosen


def _default_rule(action):
    return {
        "id": DEFAULT_RULE_ID,
        "action": action,
        "reason": f"no rule matches; default_action is {show(action)}",
        "sources": [],
    }


def _any_glob(names, patterns):
    return any(fnmatch.fnmatchcase(name, pattern) for name in names for pattern in patterns)


def _rule_matches(rule, sock):
    if sock["protocol"] not in rule["protocols"]:
        return False
    if rule["ports"] is not None and not any(
        low <= sock["port"] <= high for low, high in rule["ports"]
    ):
        return False
    if rule["units"] is not None and not _any_glob(_unit_names(sock), rule["units"]):
        return False
    container = sock.get("engine_container") or {}
    for key, field in (("containers", "name"), ("images", "image")):
        if rule.get(key) is not None and not _any_glob(
            [container[field]] if container.get(field) else [], rule[key]
        ):
            return False
    return rule["processes"] is None or _any_glob(_process_names(sock), rule["processes"])


def _first_match(rules, sock, default):
    for rule in rules:
        if _rule_matches(rule, sock):
            return rule
    return default


# ---------------------------------------------------------------------------
# Input shapes


def _check_sockets(sockets, where):
    """Raise PolicyError unless ``sockets`` looks like listening_facts' list."""
    if not is_list(sockets):
        raise PolicyError([f"{where}: expected a list of listening sockets, got {show(sockets)}"])
    errors = []
    for index, sock in enumerate(sockets):
        label = f"{where}[{index}]"
        if not isinstance(sock, Mapping):
            errors.append(f"{label}: expected a mapping, got {show(sock)}")
            continue
        for key, ok in (
            ("protocol", lambda v: v in PROTOCOLS),
            ("family", lambda v: v in FAMILIES),
            ("address", lambda v: isinstance(v, str)),
            ("port", lambda v: isinstance(v, int) and not isinstance(v, bool)),
        ):
            if key not in sock:
                errors.append(f"{label}: missing {show(key)}")
            elif not ok(sock[key]):
                errors.append(f"{label}: {key} {show(sock[key])} is not valid")
    if errors:
        raise PolicyError(errors)


def _single_port(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        value = int(value)
    if isinstance(value, int) and 1 <= value <= 65535:
        return int(value)
    return None


def _management_ports(value, errors):
    where = "context.management_ports"
    if value is None:
        return set()
    if not is_list(value):
        errors.append(f"{where} must be a list, got {show(value)}")
        return set()
    ports = set()
    for index, entry in enumerate(value):
        label = f"{where}[{index}]"
        if not isinstance(entry, Mapping):
            errors.append(
                f"{label}: expected a mapping like {{port: 22, protocol: tcp}}, got {show(entry)}"
            )
            continue
        port = _single_port(entry.get("port"))
        protocol = entry.get("protocol", "tcp")
        if port is None:
            errors.append("{}: {} is not a port (1-65535)".format(label, show(entry.get("port"))))
        if protocol not in PROTOCOLS:
            errors.append(f"{label}: {_protocol_problem(protocol)}")
        if port is not None and protocol in PROTOCOLS:
            ports.add((protocol, port))
    return ports


def _unit_list(value, where, errors):
    if value is None:
        return []
    if not is_list(value):
        errors.append(f"{where} must be a list of unit names, got {show(value)}")
        return []
    for index, name in enumerate(value):
        problem = unit_name_problem(name)
        if problem:
            errors.append(
                f"{where}[{index}]: {show(name)} is not a systemd unit name: it {problem}"
            )
    return list(value)


def _socket_units(value, errors):
    where = "context.socket_units"
    if value is None:
        return []
    if not is_list(value):
        errors.append(f"{where} must be a list, got {show(value)}")
        return []
    units = []
    for index, unit in enumerate(value):
        if not isinstance(unit, Mapping) or not is_name(unit.get("unit")):
            errors.append(
                f"{where}[{index}]: expected a mapping with a unit name "
                f"(listening_sockets_meta.systemd.socket_units), got {show(unit)}"
            )
            continue
        problem = unit_name_problem(unit["unit"])
        if problem:
            errors.append(
                f"{where}[{index}].unit: {show(unit['unit'])} is not a systemd unit name: it "
                f"{problem}"
            )
            continue
        units.append(unit)
    return units


def _read_context(context):
    """The context as plain values; PolicyError listing every problem."""
    if context is None:
        context = {}
    if not isinstance(context, Mapping):
        raise PolicyError([f"context must be a mapping, got {show(context)}"])
    errors = _unknown_keys(context, CONTEXT_KEYS, "context: ")
    nfs_in_use = context.get("nfs_in_use")
    if nfs_in_use is not None and not isinstance(nfs_in_use, bool):
        errors.append(f"context.nfs_in_use must be true or false, got {show(nfs_in_use)}")
    nfs_reason = context.get("nfs_reason")
    if nfs_reason is not None and not isinstance(nfs_reason, str):
        errors.append(f"context.nfs_reason must be a string, got {show(nfs_reason)}")
    result = {
        "management_ports": _management_ports(context.get("management_ports"), errors),
        "management_units": _unit_list(
            context.get("management_units"), "context.management_units", errors
        ),
        "nfs_in_use": nfs_in_use is True,
        "nfs_reason": nfs_reason or None,
        "socket_units": _socket_units(context.get("socket_units"), errors),
        "firewall": None,
        "firewall_name": context.get("firewall_name") or "firewalld",
        "reach": _reach_map(context.get("reach"), errors),
    }
    try:
        result["firewall"] = parse_firewall(context.get("firewall"), "context.firewall")
    except PolicyError as exc:
        errors.extend(exc.errors)
    if errors:
        raise PolicyError(errors)
    return result


def reach_key(sock):
    """What tells one listening socket from another when its reach is given."""
    return (sock["protocol"], sock["family"], sock["address"], sock["port"], sock.get("interface"))


def _reach_map(value, errors):
    """The reach of each socket judged elsewhere (the kernel's ruleset), keyed by reach_key()."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        errors.append(f"context.reach must be a mapping, got {show(value)}")
        return {}
    for key, reach in value.items():
        if not isinstance(reach, Mapping) or reach.get("exposure") not in _REACH_EXPOSURES:
            errors.append(f"context.reach[{show(key)}]: expected a reach, got {show(reach)}")
    return value


_REACH_EXPOSURES = ("everyone", "restricted", "closed")


def _reach(sock, ctx):
    """Who can reach the socket: the kernel's answer when given, else firewalld's configuration."""
    found = ctx["reach"].get(reach_key(sock)) if ctx["reach"] else None
    return found if found is not None else exposure(sock, ctx["firewall"])


# ---------------------------------------------------------------------------
# Evaluation


def _is_loopback(sock):
    return sock.get("scope") == "loopback" or sock.get("interface") == "lo"


def _management(sock, ctx):
    """What makes this socket serve Ansible's connection, or None."""
    if (sock["protocol"], sock["port"]) in ctx["management_ports"]:
        return "{}/{}".format(sock["protocol"], sock["port"])
    for name in _system_unit_names(sock):
        if name in ctx["management_units"]:
            return name
    return None


def _system_unit_names(sock):
    """The socket's units that PID 1 vouches for: its unit once verified, its .socket units.

    A cgroup name alone proves nothing (a user may call a unit of their own ssh.service), so
    only these are matched against the management units.
    """
    names = list(sock.get("activated_by") or [])
    if sock.get("unit") and sock.get("unit_verified") is True:
        names.insert(0, sock["unit"])
    return names


def _is_rpcbind(sock):
    units = _unit_names(sock)
    return sock["port"] == 111 or "rpcbind.service" in units or "rpcbind.socket" in units


def _why_not_disableable(sock):
    """Why no systemd unit can be disabled to close this socket, or None when one can."""
    container = sock.get("engine_container")
    if sock.get("published"):
        if container:
            name = _container_name(container)
            return f"a port {name} publishes: its engine is never stopped for one container's port"
        return "a port forward of the kernel's ruleset ({}), with no unit of its own".format(
            sock["published"].get("forward") or "DNAT"
        )
    if container:
        name = _container_name(container)
        return f"held by {name}: its engine is never stopped for one container"
    unit = sock.get("unit")
    if unit:
        return _why_not_stoppable(sock, unit)
    if sock.get("holders") == "kernel":
        return "a kernel socket with no systemd unit"
    names = _process_names(sock)
    if not names:
        return "no visible process holds it"
    return "held by {} outside any systemd unit".format(", ".join(names))


def _why_not_stoppable(sock, unit):
    """Why systemctl may not stop and mask this socket's unit, or None when it may."""
    problem = unit_name_problem(unit)
    if problem:
        return f"its unit {show(unit)} is not a systemd unit name: it {problem}"
    if is_user_manager(unit):
        inner = sock.get("user_unit")
        what = f"the user unit {show(inner)}" if inner else "a process"
        return (
            f"held by {what} of the user manager {unit}, which runs every service of that "
            "user and is not the system's to stop"
        )
    if sock.get("container"):
        return "held by container {} ({})".format(show(sock["container"]), unit)
    if not unit.endswith((".service", ".socket")):
        return f"held by {unit}, which is not a service"
    if sock.get("unit_verified") is not True:
        why = sock.get("unit_problem") or "the facts do not say it was checked"
        return f"systemd (PID 1) has not confirmed {unit} ({why})"
    for name in sock.get("activated_by") or []:
        problem = unit_name_problem(name)
        if problem:
            return f"its socket unit {show(name)} is not a systemd unit name: it {problem}"
    return None


def _container_name(container):
    return "container {} ({})".format(show(container.get("name")), container.get("engine"))


def _protected_units(sockets, ctx):
    """Units (and socket units) behind Ansible's connection: disabling one would cut it."""
    return set(name for sock in sockets if _management(sock, ctx) for name in _unit_names(sock))


def _fallback_note(sock, ctx):
    """Why a disable of this socket becomes a block, or None when it can be disabled."""
    label = _port_label(sock["port"], sock["protocol"])
    protected = [name for name in _unit_names(sock) if name in ctx["protected_units"]]
    if protected:
        return (
            f"{protected[0]} also serves the connection Ansible is using, so it is not "
            f"disabled; port {label} blocked in {ctx['firewall_name']} instead"
        )
    if ctx["nfs_in_use"] and _is_rpcbind(sock):
        in_use = "NFS is in use"
        if ctx["nfs_reason"]:
            in_use += " ({})".format(ctx["nfs_reason"])
        return "rpcbind kept running: {}; port {} blocked in {} instead".format(
            in_use, sock["port"], ctx["firewall_name"]
        )
    why = _why_not_disableable(sock)
    if why:
        # Forwarded packets pass no input rule: only the collection's table closes them.
        where = "table inet portguard" if sock.get("published") else ctx["firewall_name"]
        return f"{why}, so it cannot be disabled; port {label} blocked in {where} instead"
    return None


def _decide(sock, rule, ctx):
    """{"action", "status", "note", "management"} after the safety checks."""
    action = rule["action"]
    served = _management(sock, ctx)
    if served and action not in _CHANGING:
        return {"action": "allow", "status": None, "note": None, "management": True}
    if served:
        note = f"serves the connection Ansible is using ({served})"
        return {"action": "report", "status": "kept", "note": note, "management": True}
    note = _fallback_note(sock, ctx) if action == "disable" else None
    if note:
        action = "block"
    status = None if action == "allow" else "open"
    return {"action": action, "status": status, "note": note, "management": False}


def _satisfied(action, rule, reach):
    """Whether a restricted socket already meets the action, so nothing has to change."""
    if reach["exposure"] != "restricted":
        return False
    if action == "block":
        return True
    return action == "restrict" and all(_within(s, rule["sources"]) for s in reach["sources"])


def _base_entry(sock, rule_id):
    entry = {
        "rule": rule_id,
        "protocol": sock["protocol"],
        "family": sock["family"],
        "address": sock["address"],
        "port": sock["port"],
        "unit": sock.get("unit"),
    }
    # Only where there is one, so reports of hosts without containers keep their shape.
    if sock.get("engine_container"):
        entry["container"] = dict(sock["engine_container"])
    if sock.get("published"):
        entry["published"] = dict(sock["published"])
    return entry


def _compliant(sock, why, rule_id=None, sources=()):
    entry = _base_entry(sock, rule_id)
    entry.update({"why": why, "exposed_to": list(sources)})
    return entry


def _allowed(sock, rule, decision, reach):
    entry = _base_entry(sock, rule["id"])
    entry.update({"management": decision["management"], "exposure": reach["exposure"]})
    return entry


def _finding(sock, rule, decision, reach):
    entry = _base_entry(sock, rule["id"])
    entry.update(
        {
            "reason": rule["reason"],
            "scope": sock.get("scope"),
            "interface": sock.get("interface"),
            "processes": _process_names(sock),
            "pids": sorted(p["pid"] for p in _processes(sock) if "pid" in p),
            "activated_by": list(sock.get("activated_by") or []),
            "policy_action": rule["action"],
            "action": decision["action"],
            "status": decision["status"],
            "note": decision["note"],
            "sources": list(rule["sources"]) if decision["action"] == "restrict" else [],
            "exposure": reach["exposure"],
            "exposed_to": list(reach["sources"]),
        }
    )
    return entry


_BASELINE_RULE = {
    "id": BASELINE_RULE_ID,
    "action": "allow",
    "reason": "in the approved baseline",
    "sources": [],
}
_DRIFT_RULE = {
    "id": DRIFT_RULE_ID,
    "action": "report",
    "reason": "exposed listener not in the approved baseline",
    "sources": [],
}


def _baseline_rule(sock, rule, baseline):
    """The rule deciding an exposed socket once the approved baseline is known.

    A matching rule decides, allow included: an allow rule approves the
    listener on every host.  The baseline only replaces the default action.
    """
    if baseline is None or rule["id"] != DEFAULT_RULE_ID:
        return rule
    return _BASELINE_RULE if in_baseline(sock, baseline) else _DRIFT_RULE


def _judge(sock, rules, default, ctx):
    """("compliant"|"allowed"|"finding", entry) for one socket."""
    if _is_loopback(sock):
        return "compliant", _compliant(sock, "loopback")
    reach = _reach(sock, ctx)
    rule = _baseline_rule(sock, _first_match(rules, sock, default), ctx["baseline"])
    decision = _decide(sock, rule, ctx)
    if reach["exposure"] == "closed":
        return "compliant", _compliant_as(sock, "firewalled", rule, decision, ())
    if decision["action"] == "allow":
        return "allowed", _allowed(sock, rule, decision, reach)
    if decision["status"] == "open" and _satisfied(decision["action"], rule, reach):
        return "compliant", _compliant_as(sock, "restricted", rule, decision, reach["sources"])
    return "finding", _finding(sock, rule, decision, reach)


def _compliant_as(sock, why, rule, decision, sources):
    """A compliant entry that also says what its rule wants (so a closure is kept in place)."""
    entry = _compliant(sock, why, rule["id"] if why == "restricted" else None, sources)
    entry["policy_action"] = decision["action"]
    entry["policy_rule"] = rule["id"]
    entry["policy_sources"] = list(rule["sources"]) if decision["action"] == "restrict" else []
    return entry


def evaluate(
    sockets, rules, default_action="report", use_builtin=True, context=None, baseline=None
):
    """Judge listening sockets against the policy and plan the remediation.

    ``sockets`` is ansible_facts.listening_sockets; ``rules`` the user's rules
    (None for none).  ``context`` (every key optional):

    - management_ports: [{"port": 22, "protocol": "tcp"}], the connection
      Ansible uses; management_units: units serving it.  Such sockets are
      never disabled, blocked or restricted.
    - nfs_in_use (bool), nfs_reason (str): rpcbind is then blocked, not disabled.
    - socket_units: listening_sockets_meta.systemd.socket_units; socket units
      triggering a unit to disable are masked with it.
    - firewall: {"state": "running"|"stopped"|"absent", "zones": [zone, ...],
      "services": {"http": ["80/tcp"], ...}} where a zone is {"name",
      "active" (default true), "default" (firewalld's default zone, default
      false), "target", "ports": ["8080/tcp", "6000-6010/udp"],
      "services_ports": [...], "rich_rules": [...], "sources": [...],
      "interfaces": [...]}.  services resolves service names in rich rules.
      Without firewall, or when it is not running, every socket is reachable.

    ``baseline`` is the host's approved listeners, the ``listeners`` of a
    _baseline.baseline_document(), or None.  When given it takes the place of
    default_action: an exposed socket no rule matches is allowed (rule
    "baseline") when in the baseline, else a "drift" finding with action
    report.  A matching rule still decides, so a forbidding built-in rule (such
    as rpcbind's disable) wins over the baseline, and a user allow rule
    approves a listener the baseline lacks (it is allowed with the rule's id:
    the rule is the approval that applies to every host).  Safety overrides
    apply as to any rule, so a management socket is allowed even as drift.
    The user's rules may then not use the ids "baseline" and "drift".

    Raises PolicyError listing every problem with the rules or the inputs.
    Returns {"findings", "allowed", "compliant", "plan", "summary", "notes",
    "baseline"}; baseline is {"given": bool, "missing": entries no socket
    matches now} (information, not findings), and with a baseline the summary
    also counts "drift" findings.
    """
    if not isinstance(use_builtin, bool):
        raise PolicyError([f"use_builtin must be true or false, got {show(use_builtin)}"])
    errors = validate_policy(rules, default_action)
    if baseline is not None:
        errors.extend(_baseline_problems(rules, baseline))
    if errors:
        raise PolicyError(errors)
    _check_sockets(sockets, "sockets")
    ctx = _read_context(context)
    ctx["baseline"] = None if baseline is None else baseline_index(baseline)
    ctx["protected_units"] = _protected_units(sockets, ctx)
    policy = _effective_rules(rules, use_builtin)
    default = _default_rule(default_action)
    results = {"finding": [], "allowed": [], "compliant": []}
    judged = [(s,) + _judge(s, policy, default, ctx) for s in sorted(sockets, key=_socket_key)]
    _keep_shared_units(judged, ctx["socket_units"])
    for _sock, kind, entry in judged:
        results[kind].append(entry)
    findings = results["finding"]
    notes = list(ctx["firewall"]["notes"])
    plan = _plan(findings, results["allowed"], ctx, notes)
    summary = _summary(findings, results)
    if baseline is not None:
        summary["drift"] = sum(1 for f in findings if f["rule"] == DRIFT_RULE_ID)
    return {
        "findings": findings,
        "allowed": results["allowed"],
        "compliant": results["compliant"],
        "plan": plan,
        "summary": summary,
        "notes": notes,
        "baseline": {
            "given": baseline is not None,
            "missing": [] if baseline is None else missing_from(baseline, sockets),
        },
    }


def _baseline_problems(rules, baseline):
    problems = validate_listeners(baseline, "baseline")
    # A user rule named like them would make its findings read as the baseline's.
    for rule in rules if is_list(rules) else []:
        rule_id = rule.get("id") if isinstance(rule, Mapping) else None
        if rule_id in (BASELINE_RULE_ID, DRIFT_RULE_ID):
            problems.append(
                f"rule {show(rule_id)}: id {show(rule_id)} is reserved for the baseline when "
                "one is given; rename the rule"
            )
    return problems


def _summary(findings, results):
    by_action = dict((action, 0) for action in _FINDING_ACTIONS)
    for finding in findings:
        by_action[finding["action"]] += 1
    return {
        "open": sum(1 for f in findings if f["status"] == "open"),
        "kept": sum(1 for f in findings if f["status"] == "kept"),
        "allowed": len(results["allowed"]),
        "compliant": len(results["compliant"]),
        "by_action": by_action,
    }


# ---------------------------------------------------------------------------
# Plan


def _triggering_socket_units(unit, socket_units):
    return [u["unit"] for u in socket_units if unit in (u.get("triggers") or [])]


# How a listener the policy keeps is named in a note, by what keeps it.
_KEPT_AS = {"block": "blocked", "report": "reported", "restrict": "restricted"}
_KEPT_SHOWN = 5


def _units_taking_down(sock, triggered_by):
    """The units whose stop or mask takes this listener down: its own unit, the socket units
    that provide it and those that trigger its unit (a disable masks all of them)."""
    names = set(_unit_names(sock))
    names.update(triggered_by.get(sock.get("unit"), ()))
    return names


def _kept_label(sock, kind, entry):
    if kind == "allowed":
        why = "management" if entry["management"] else "allowed"
    elif kind == "compliant":
        why = entry["why"]
    elif entry["status"] == "kept":
        why = "management"
    else:
        why = _KEPT_AS.get(entry["action"], entry["action"])
    return (sock["port"], sock["protocol"], why)


def _shared_unit_note(sock, unit, mine, kept):
    """The note of a disable turned block: ``kept`` is (units, labels) of the listeners kept."""
    kept_units, labels = kept
    shown = ["{}/{}: {}".format(*label) for label in labels[:_KEPT_SHOWN]]
    if len(labels) > _KEPT_SHOWN:
        shown.append(f"{len(labels) - _KEPT_SHOWN} more")
    shared = sorted(mine & kept_units)
    if not shared:
        who = f"{unit} shares socket units with units that serve"
    elif len(shared) == 1:
        who = f"{shared[0]} also serves"
    else:
        who = "{} also serve".format(", ".join(shared))
    return (
        "{} listeners the policy keeps ({}), so {} not disabled; port {} blocked in firewalld "
        "instead".format(
            who,
            "; ".join(shown),
            "they are" if len(shared) > 1 else "it is",
            _port_label(sock["port"], sock["protocol"]),
        )
    )


def _keep_shared_units(judged, socket_units):
    """Turn into blocks the disables that would take down a listener the policy keeps.

    ``judged`` is [(socket, kind, entry)] for every socket, loopback and firewalled ones
    included.  Units are joined when one listener names several (its service, the socket units
    providing it, those triggering the service): a disable stops and masks all of them, so a
    group is disabled only when each of its listeners is an open disable finding.  Every other
    disable of the group becomes a block, with a note naming the listeners kept.  Changes the
    finding entries in place.
    """
    triggered_by = {}
    for unit in socket_units:
        for target in unit.get("triggers") or []:
            triggered_by.setdefault(target, []).append(unit["unit"])
    units = [_units_taking_down(sock, triggered_by) for sock, _kind, _entry in judged]
    parent = {}

    def root(name):
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for names in units:
        ordered = sorted(names)
        for name in ordered:
            parent.setdefault(name, name)
        for name in ordered[1:]:
            parent[root(name)] = root(ordered[0])

    def disabling(kind, entry):
        return kind == "finding" and entry["action"] == "disable" and entry["status"] == "open"

    # One listener's names all share a root: the group is that of its first name.
    kept = {}
    for (sock, kind, entry), names in zip(judged, units):
        if names and not disabling(kind, entry):
            group = kept.setdefault(root(min(names)), (set(), set()))
            # The note names the units that serve a kept listener, not those it depends on.
            group[0].update(_unit_names(sock))
            group[1].add(_kept_label(sock, kind, entry))
    kept = dict((key, (names, sorted(labels))) for key, (names, labels) in kept.items())
    for (sock, kind, entry), names in zip(judged, units):
        group = kept.get(root(min(names))) if names and disabling(kind, entry) else None
        if group:
            entry["action"] = "block"
            note = _shared_unit_note(sock, entry["unit"], names, group)
            entry["note"] = _join_notes(entry["note"], note)


def _disable_units(findings, socket_units):
    units = {}
    for finding in findings:
        entry = units.setdefault(
            finding["unit"], {"socket_units": set(), "rules": set(), "ports": set()}
        )
        entry["socket_units"].update(finding["activated_by"])
        entry["rules"].add(finding["rule"])
        entry["ports"].add((finding["port"], finding["protocol"]))
    plan = []
    for unit in sorted(units):
        entry = units[unit]
        socket_names = entry["socket_units"] | set(_triggering_socket_units(unit, socket_units))
        socket_names.discard(unit)
        _refuse_to_stop([unit] + sorted(socket_names))
        plan.append(
            {
                "unit": unit,
                "socket_units": sorted(socket_names),
                "rules": sorted(entry["rules"]),
                "ports": [_port_label(p, proto) for p, proto in sorted(entry["ports"])],
            }
        )
    return plan


def _refuse_to_stop(names):
    """PolicyError unless every name may go to systemctl.

    The findings only ever plan a disable of verified system units, so this never fires; it
    stands between host data and the host, where exposed_ports_units checks every name again.
    """
    problems = []
    for name in names:
        problem = disable_problem(name)
        if problem:
            problems.append(f"plan.disable_units: refusing to stop {show(name)}: it {problem}")
    if problems:
        raise PolicyError(problems)


def _firewall_changes(findings):
    """{(port, protocol): {"rules": set, "sources": set}} for block and for restrict."""
    changes = {"block": {}, "restrict": {}}
    for finding in findings:
        key = (finding["port"], finding["protocol"])
        entry = changes[finding["action"]].setdefault(key, {"rules": set(), "sources": set()})
        entry["rules"].add(finding["rule"])
        entry["sources"].update(finding["sources"])
    return changes


def _ports_to_open(findings, allowed, management_ports):
    why = {}

    def add(key, reason):
        if key not in why or _OPEN_RANK[reason] < _OPEN_RANK[why[key]]:
            why[key] = reason

    for protocol, port in management_ports:
        add((port, protocol), "management")
    for entry in allowed:
        if entry["exposure"] == "everyone":
            add(
                (entry["port"], entry["protocol"]), "management" if entry["management"] else "allow"
            )
    for finding in findings:
        if finding["exposure"] == "everyone" and finding["action"] == "report":
            reason = "management" if finding["status"] == "kept" else "report"
            add((finding["port"], finding["protocol"]), reason)
    return why


def _plan(findings, allowed, ctx, notes):
    open_findings = [f for f in findings if f["status"] == "open"]
    changes = _firewall_changes(f for f in open_findings if f["action"] in ("block", "restrict"))
    block, restrict = changes["block"], changes["restrict"]
    for key in sorted(set(block) & set(restrict)):
        notes.append(
            "{}: rules {} restrict it but rules {} block it; it is blocked".format(
                _port_label(*key),
                ", ".join(sorted(restrict[key]["rules"])),
                ", ".join(sorted(block[key]["rules"])),
            )
        )
        del restrict[key]
    to_open = _ports_to_open(findings, allowed, ctx["management_ports"])
    # A firewall closes a port, not a listener: closing it would cut the listeners the policy
    # keeps (a process may bind a kept port's other family just to get it closed), the
    # management connection among them. The port stays open and its findings say why.
    for key in sorted(set(to_open) & (set(block) | set(restrict))):
        label = _port_label(*key)
        why = (
            f"not closed: {label} also serves listeners the policy keeps ({to_open[key]}), and "
            "a firewall rule would cut them too; stop this listener or move it to another port"
        )
        notes.append(f"{label}: {why}")
        block.pop(key, None)
        restrict.pop(key, None)
        for finding in open_findings:
            if (finding["port"], finding["protocol"]) == key and finding["action"] in (
                "block",
                "restrict",
            ):
                finding["status"] = "kept"
                finding["note"] = _join_notes(finding.get("note"), why)
    disable_units = _disable_units(
        [f for f in open_findings if f["action"] == "disable"], ctx["socket_units"]
    )
    plan = {
        "disable_units": disable_units,
        "firewall_block": [
            {"port": port, "protocol": protocol, "rules": sorted(block[(port, protocol)]["rules"])}
            for port, protocol in sorted(block)
        ],
        "firewall_restrict": [
            {
                "port": port,
                "protocol": protocol,
                "sources": _sorted_sources(restrict[(port, protocol)]["sources"]),
                "rules": sorted(restrict[(port, protocol)]["rules"]),
            }
            for port, protocol in sorted(restrict)
        ],
        "firewall_open": [
            {"port": port, "protocol": protocol, "why": to_open[(port, protocol)]}
            for port, protocol in sorted(to_open)
        ],
    }
    # The firewall step applies these as they are, so the role writes no rule in Jinja.
    plan["rich_rules"] = rich_rules(plan)
    return plan


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
