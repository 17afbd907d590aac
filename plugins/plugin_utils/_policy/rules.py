# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policy's vocabulary: actions, the built-in rules, validation of the user's rules, the rules
in effect and how one matches a socket, and the shapes of the inputs (sockets, context)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import fnmatch
import ipaddress
import re
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._sources import (
    canonical_source,
)
from ansible_collections.portguard.hardening.plugins.module_utils._unit_names import (
    unit_name_problem,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import (
    PolicyError,
    is_list,
    is_name,
    port_label,
    show,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    _network,
    _sorted_sources,
    _unique,
    exposure,
    parse_firewall,
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
    return port_label(port, protocol)


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
