# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's own nftables table: closes the ports the policy forbids, beside whatever
firewall the admin runs (nftables.service, netfilter-persistent, ufw, firewalld, or none).

What goes on disk is rendered by pure functions: the rules file (replaces ``table inet
portguard`` in one transaction, touches no other table), a oneshot unit that loads it at boot,
and drop-ins that load it again after the admin's firewall units start, reload or stop.
table_shape() reads what the kernel holds.  apply() is the only function that acts, through a
host object (see _apply/host.py: which, run, read, write, remove, ...).

Public: render_table, render_unit, render_dropin, desired_files, table_shape,
expected_shape, apply, ApplyError, and the fixed paths below.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import hashlib
import json
import re
from collections import namedtuple
from collections.abc import Mapping

from ansible_collections.portguard.hardening.plugins.module_utils._apply.host import (
    ApplyError,
    FileState,
)
from ansible_collections.portguard.hardening.plugins.module_utils._apply.rules import validate
from ansible_collections.portguard.hardening.plugins.module_utils._values import show

FAMILY = "inet"
TABLE = "portguard"
CHAIN = "input"
# Published container ports and other port forwards are rewritten (DNAT) before the input
# hook: their packets come by the forward hook, where the original port still names them.
FORWARD_CHAIN = "forward"
# Before the filter chains of nftables.service, ufw and iptables-nft (0) and firewalld (+10):
# a reject here ends the packet, an accept only ends this chain.
PRIORITY = -10
RULES_PATH = "/etc/portguard/nftables.nft"
RULES_DIR = "/etc/portguard"
UNIT = "portguard-nftables.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT
WANTS_LINK = "/etc/systemd/system/sysinit.target.wants/" + UNIT
DROPIN_NAME = "50-portguard.conf"
# The admin's firewall units, and whether the unit has an ExecReload of its own: a drop-in
# adds one only there, since giving a unit a reload it never had changes what it does.
HOOKED_UNITS = (
    ("nftables.service", True),  # reload runs /etc/nftables.conf: `flush ruleset` first
    ("netfilter-persistent.service", False),
    ("ufw.service", False),
    ("firewalld.service", True),  # reload is kill -HUP; harmless, firewalld keeps other tables
)
FILE_MODE = 0o644
# nft refuses longer comments.
COMMENT_MAX = 128
MARKER = "portguard sha256:"
_DIGEST_LEN = 16
SYSTEMD_BOOTED = "/run/systemd/system"
NOT_INSTALLED = (
    "nftables (the nft command) is not installed on this host: install the nftables package "
    "(the collection never installs a firewall), or close the ports another way; nothing was "
    "changed"
)
NO_SYSTEMD = (
    "systemd is not the init system (PID 1) of this host: the collection's nftables table is "
    "loaded at boot by a systemd unit, so it cannot be kept in place here; nothing was changed"
)

Table = namedtuple("Table", "text rules digest")


def dropin_path(unit):
    return f"/etc/systemd/system/{unit}.d/{DROPIN_NAME}"


MANAGED_PATHS = (RULES_PATH, UNIT_PATH) + tuple(dropin_path(u) for u, _r in HOOKED_UNITS)


# ---------------------------------------------------------------------------
# Rendering


def _comment(text):
    return f'comment "{text}"'


def _with_ids(text, ids):
    """text plus as many ids as fit in a comment, then how many were left out."""
    if not ids:
        return text
    shown = []
    for index, rule_id in enumerate(ids):
        rest = len(ids) - index - 1
        more = f" +{rest} more" if rest else ""
        candidate = "{}; ids {}{}".format(text, ", ".join(shown + [rule_id]), more)
        if len(candidate) > COMMENT_MAX:
            break
        shown.append(rule_id)
    if not shown:
        return f"{text}; {len(ids)} ids"
    left = len(ids) - len(shown)
    return "{}; ids {}{}".format(text, ", ".join(shown), f" +{left} more" if left else "")


def _rule_lines(rule, forwarded=False):
    """[(statement, comment, verdict)] for one normalized rule, in the input chain or, with
    ``forwarded``, in the forward chain (packets DNAT'd from the port)."""
    label = "{port}/{protocol}".format(**rule)
    match = "{protocol} dport {port}".format(**rule)
    if forwarded:
        label += " forwarded"
        match = "meta l4proto {protocol} ct status dnat ct original proto-dst {port}".format(**rule)
    reject = "reject with tcp reset" if rule["protocol"] == "tcp" else "reject"
    if rule["action"] == "block":
        return [(f"{match} {reject}", _with_ids(label + " block", rule["ids"]), "reject")]
    lines = []
    for family, nets in (("ip", rule["ipv4"]), ("ip6", rule["ipv6"])):
        if nets:
            admitted = nets[0] if len(nets) == 1 else "{{ {} }}".format(", ".join(nets))
            lines.append(
                (
                    f"{match} {family} saddr {admitted} accept",
                    f"{label} restrict: {family} sources admitted",
                    "accept",
                )
            )
    comment = _with_ids(label + " restrict: everyone else", rule["ids"])
    lines.append((f"{match} {reject}", comment, "reject"))
    return lines


# The line of the rules file that records its rules, for the next host read and plan.
RULES_LINE = "# rules: "
RECORDED = ("port", "protocol", "action", "sources", "ids", "forwarded")

_HEADER = """\
# portguard.hardening: the ports its policy closes (module exposed_ports_nftables).
# Loading this file replaces the table {family} {table} in one transaction and touches no
# other table. The next run of the module puts back whatever is changed here.
{recorded}
table {family} {table}
delete table {family} {table}
table {family} {table} {{
\tchain {chain} {{
\t\ttype filter hook input priority {priority}; policy accept;
"""
_FORWARD = """\t}}
\tchain {chain} {{
\t\ttype filter hook forward priority {priority}; policy accept;
"""


def render_table(rules):
    """Table(text, rules, digest) for normalized rules (validate()).

    ``rules`` lists (chain, comment, verdict) of every rule, chain by chain, in order, as the
    kernel lists them back; the first rule's comment carries the digest of the whole text.
    """
    running = ("ct state established,related accept", "running connections", "accept")
    statements = [('iif "lo" accept', MARKER + "0" * _DIGEST_LEN, "accept"), running]
    forward = [running]
    for rule in rules:
        statements.extend(_rule_lines(rule))
        # Only a port the plan knows as forwarded: DNAT'd traffic nothing judged (a router's
        # port forwards, a Kubernetes service) is left alone.
        if rule.get("forwarded"):
            forward.extend(_rule_lines(rule, forwarded=True))

    def lines(items):
        return "".join(f"\t\t{stmt} {_comment(comment)}\n" for stmt, comment, _v in items)

    recorded = RULES_LINE + json.dumps(
        [dict((k, r[k]) for k in RECORDED) for r in rules], sort_keys=True, separators=(",", ":")
    )
    text = (
        _HEADER.format(
            family=FAMILY, table=TABLE, chain=CHAIN, priority=PRIORITY, recorded=recorded
        )
        + lines(statements)
        + _FORWARD.format(chain=FORWARD_CHAIN, priority=PRIORITY)
        + lines(forward)
        + "\t}\n}\n"
    )
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST_LEN]
    text = text.replace(MARKER + "0" * _DIGEST_LEN, MARKER + digest, 1)
    listed = [(CHAIN, MARKER + digest, "accept")]
    listed += [(CHAIN, c, v) for _s, c, v in statements[1:]]
    listed += [(FORWARD_CHAIN, c, v) for _s, c, v in forward]
    return Table(text, listed, digest)


def render_unit(nft):
    """The unit that loads the rules file at boot, before the network comes up."""
    return (
        "# portguard.hardening: loads the collection's nftables table at boot, before the\n"
        "# network. exposed_ports_nftables with state=absent removes it.\n"
        "[Unit]\n"
        "Description=portguard: nftables table of the ports the policy closes\n"
        f"Documentation=file:{RULES_PATH}\n"
        "DefaultDependencies=no\n"
        "After=local-fs.target\n"
        "Before=network-pre.target\n"
        "Wants=network-pre.target\n"
        "\n"
        "[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        "StandardInput=null\n"
        f"ExecStart={nft} -f {RULES_PATH}\n"
        f"ExecReload={nft} -f {RULES_PATH}\n"
        "\n"
        "[Install]\n"
        "WantedBy=sysinit.target\n"
    )


def render_dropin(unit, nft, reload):
    """The drop-in that puts the table back after ``unit`` starts, stops (and reloads)."""
    load = f"-{nft} -f {RULES_PATH}"
    lines = [
        f"# portguard.hardening: loads the collection's nftables table again after {unit}",
        "# starts, stops or reloads, any of which may flush the whole ruleset. Never fails",
        "# the unit (the leading -). exposed_ports_nftables with state=absent removes it.",
        "[Service]",
        f"ExecStartPost={load}",
    ]
    if reload:
        lines.append(f"ExecReload={load}")
    lines.append(f"ExecStopPost={load}")
    return "\n".join(lines) + "\n"


_SAFE_PATH = re.compile(r"/[A-Za-z0-9/._+-]+")


def desired_files(table, nft):
    """{path: text} of every file the collection keeps, for the table and nft's path."""
    if not _SAFE_PATH.fullmatch(nft):
        raise ApplyError(f"refusing to write nft's path {show(nft)} into unit files")
    files = {RULES_PATH: table.text, UNIT_PATH: render_unit(nft)}
    for unit, reload in HOOKED_UNITS:
        files[dropin_path(unit)] = render_dropin(unit, nft, reload)
    return files


# ---------------------------------------------------------------------------
# The kernel's side


def _objects(text):
    try:
        document = json.loads(text)
        return [o for o in document["nftables"] if isinstance(o, Mapping)]
    except (ValueError, TypeError, KeyError) as e:
        raise ApplyError(f"nft printed no JSON ruleset: {e}") from None


def has_table(text):
    """Whether ``nft -j list tables`` output lists the collection's table."""
    for obj in _objects(text):
        table = obj.get("table")
        if isinstance(table, Mapping) and (table.get("family"), table.get("name")) == (
            FAMILY,
            TABLE,
        ):
            return True
    return False


def _flags(value):
    if value is None:
        return []
    return sorted([value] if isinstance(value, str) else value)


def _verdict(expr):
    last = expr[-1] if isinstance(expr, list) and expr else None
    return next(iter(last)) if isinstance(last, Mapping) and last else None


def table_shape(text):
    """What decides whether the kernel's table is the one the file loads, from ``nft -j list
    table inet portguard``: table flags, chains (name, type, hook, prio, policy), rules
    (chain, comment, verdict) in order, and the kinds of any other object (sets, maps, ...).

    Comments are kept verbatim by every nft release, unlike the text of expressions, so the
    digest in the first rule's comment stands for the content and the rest for the layout.
    """
    shape = {"flags": [], "chains": [], "rules": [], "other": []}
    for obj in _objects(text):
        kind = next(iter(obj), None)
        body = obj.get(kind)
        if kind == "metainfo" or not isinstance(body, Mapping):
            continue
        if kind == "table":
            shape["flags"] = _flags(body.get("flags"))
        elif kind == "chain":
            shape["chains"].append(
                [body.get(k) for k in ("name", "type", "hook", "prio", "policy")]
            )
        elif kind == "rule":
            shape["rules"].append(
                [body.get("chain"), body.get("comment"), _verdict(body.get("expr"))]
            )
        else:
            shape["other"].append(kind)
    shape["other"].sort()
    # nft lists chains and rules chain by chain; only the order within a chain is the rules'.
    shape["chains"].sort(key=lambda chain: str(chain[0]))
    shape["rules"].sort(key=lambda rule: str(rule[0]))
    return shape


def expected_shape(table):
    """table_shape() of the kernel's table once table (render_table) is loaded."""
    return {
        "flags": [],
        "chains": [
            [FORWARD_CHAIN, "filter", "forward", PRIORITY, "accept"],
            [CHAIN, "filter", "input", PRIORITY, "accept"],
        ],
        "rules": sorted(
            ([chain, comment, verdict] for chain, comment, verdict in table.rules),
            key=lambda rule: rule[0],
        ),
        "other": [],
    }


# ---------------------------------------------------------------------------
# Acting on the host


def _checked(host, argv, what, data=None):
    rc, out, err = host.run(argv, data=data)
    if rc != 0:
        hint = ""
        if "Operation not permitted" in (err or ""):
            hint = " (run as root: become: true)"
        raise ApplyError(f"{what} failed (rc {rc}){hint}: {(err or out).strip()}")
    return out


def kernel_shape(host, nft):
    """table_shape() of the kernel's table, or None when there is none."""
    if not has_table(_checked(host, [nft, "-j", "list", "tables"], "nft list tables")):
        return None
    listing = [nft, "-j", "list", "table", FAMILY, TABLE]
    return table_shape(_checked(host, listing, "nft list table"))


def unit_state(host, systemctl):
    """{LoadState, ActiveState, UnitFileState, NeedDaemonReload} of the collection's unit."""
    keys = ("LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload")
    argv = [systemctl, "show"]
    for key in keys:
        argv += ["-p", key]
    out = _checked(host, argv + ["--", UNIT], "systemctl show " + UNIT)
    state = dict.fromkeys(keys, "")
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep and key in state:
            state[key] = value.strip()
    return state


def _commands(host):
    nft = host.which("nft")
    systemd = host.is_dir(SYSTEMD_BOOTED)
    systemctl = host.which("systemctl") if systemd else None
    return nft, systemctl


def apply(host, rules, keep=(), state="present", check_mode=False):
    """Bring the host to ``state``; returns the module's result (without warnings) and the
    warnings.  Raises PolicyError for bad input and ApplyError when the host cannot be brought
    there; both before anything is changed, except for a failing command midway.
    """
    rules, warnings = validate(rules, keep)
    owner = host.owner()
    found = {path: host.read(path) for path in MANAGED_PATHS}
    nft, systemctl = _commands(host)
    if state == "absent":
        result = _absent(host, found, nft, systemctl, check_mode)
        result["rules"] = 0
    else:
        result = _present(host, rules, found, owner, nft, systemctl, check_mode)
        result["rules"] = len(rules)
    before = found[RULES_PATH]
    result["diff"] = {
        "before": before.text if before else "",
        "after": result.pop("rules_text"),
        "before_header": RULES_PATH,
        "after_header": RULES_PATH,
    }
    result["path"] = RULES_PATH
    return result, warnings


def _present(host, rules, found, owner, nft, systemctl, check_mode):
    if not nft:
        raise ApplyError(NOT_INSTALLED)
    if not systemctl:
        raise ApplyError(NO_SYSTEMD)
    table = render_table(rules)
    wanted = desired_files(table, nft)
    differ = [
        path
        for path in MANAGED_PATHS
        if found[path] != FileState(wanted[path], FILE_MODE, owner[0], owner[1])
    ]
    if RULES_PATH in differ:
        _checked(host, [nft, "-c", "-f", "-"], "nft -c (checking the rendered table)", table.text)
    unit = unit_state(host, systemctl)
    expected = expected_shape(table)
    in_sync = kernel_shape(host, nft) == expected
    enabled = unit["UnitFileState"] == "enabled"
    active = unit["ActiveState"] == "active"
    load = not in_sync or RULES_PATH in differ
    stale = unit["NeedDaemonReload"] == "yes"
    changed = bool(differ) or not enabled or not active or load or stale
    if changed and not check_mode:
        for path in differ:
            host.write(path, wanted[path], FILE_MODE)
        relink = not enabled or UNIT_PATH in differ
        if relink:
            # reenable: the links of an earlier [Install] section go, the current ones come.
            # --no-reload: one daemon-reload below serves for the links and the files.
            argv = [systemctl, "reenable", "--no-reload", "--", UNIT]
            _checked(host, argv, "systemctl reenable " + UNIT)
        units_changed = [p for p in differ if p != RULES_PATH]
        if units_changed or relink or stale:
            _checked(host, [systemctl, "daemon-reload"], "systemctl daemon-reload")
        if not active:
            _checked(host, [systemctl, "start", "--", UNIT], "systemctl start " + UNIT)
        elif load:
            _checked(host, [systemctl, "reload", "--", UNIT], "systemctl reload " + UNIT)
        if kernel_shape(host, nft) != expected:
            raise ApplyError(
                f"after loading {RULES_PATH}, the kernel's table {FAMILY} {TABLE} is not the one "
                "the file describes"
            )
        in_sync, enabled = True, True
    return {
        "changed": changed,
        "loaded": in_sync,
        "unit_enabled": enabled,
        "files_changed": sorted(differ),
        "rules_text": table.text,
    }


def _absent(host, found, nft, systemctl, check_mode):
    present = [path for path in MANAGED_PATHS if found[path] is not None]
    link = host.lexists(WANTS_LINK)
    if not present and not link and (not nft or not systemctl):
        # Never installed here; nothing to ask the kernel or systemd about.
        return _unchanged_absent()
    if not nft:
        raise ApplyError(NOT_INSTALLED)
    if not systemctl:
        raise ApplyError(NO_SYSTEMD)
    unit = unit_state(host, systemctl)
    loaded = kernel_shape(host, nft) is not None
    active = unit["ActiveState"] == "active"
    enabled = unit["UnitFileState"] == "enabled"
    changed = bool(present) or link or loaded or active or enabled
    if changed and not check_mode:
        if active:
            _checked(host, [systemctl, "stop", "--", UNIT], "systemctl stop " + UNIT)
        if enabled and found[UNIT_PATH] is not None:
            argv = [systemctl, "disable", "--no-reload", "--", UNIT]
            _checked(host, argv, "systemctl disable " + UNIT)
        units = [p for p in present if p != RULES_PATH] + ([WANTS_LINK] if link else [])
        for path in units:
            host.remove(path)
        if units or enabled:
            _checked(host, [systemctl, "daemon-reload"], "systemctl daemon-reload")
        if loaded:
            _checked(host, [nft, "delete", "table", FAMILY, TABLE], "nft delete table")
        if RULES_PATH in present:
            host.remove(RULES_PATH)
        for unit_name, _reload in HOOKED_UNITS:
            host.remove_empty_dir(dropin_path(unit_name).rsplit("/", 1)[0])
        host.remove_empty_dir(RULES_DIR)
    result = _unchanged_absent()
    result.update(
        changed=changed,
        loaded=loaded and check_mode,
        unit_enabled=enabled and check_mode,
        files_changed=sorted(present + ([WANTS_LINK] if link else [])),
    )
    return result


def _unchanged_absent():
    return {
        "changed": False,
        "loaded": False,
        "unit_enabled": False,
        "files_changed": [],
        "rules_text": "",
    }
