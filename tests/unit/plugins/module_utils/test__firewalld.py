# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewalld as the role reads it: service ports, the zones the policy engine sees, rich rules."""

import json
import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._firewalld import (
    firewall_view,
    parse_service,
    resolve_services,
    rich_rules,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import evaluate
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.firewall_model import (
    exposure,
    parse_firewall,
    parse_rich_rule,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "firewalld")


def read(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


def lab_info():
    """ansible.posix.firewalld_info's firewalld_info on the Debian 12 lab host."""
    return json.loads(read("firewalld_info_lab_bookworm.json"))["firewalld_info"]


SERVICES = ("ssh", "dhcpv6-client", "mdns", "samba")


def read_service(name):
    """A captured `firewall-cmd --info-service` output, None for services firewalld lacks."""
    path = os.path.join(FIXTURES, "info-service-%s.txt" % name)
    return read(os.path.basename(path)) if os.path.exists(path) else None


LAB_SERVICE_PORTS = dict(
    (name, service["all_ports"])
    for name, service in resolve_services(SERVICES, read_service)[0].items()
)
LAB_RICH_RULES = [
    'rule priority="-20" family="ipv4" source address="10.0.0.0/8" port port="11211" '
    'protocol="tcp" accept',
    'rule priority="-10" port port="11211" protocol="tcp" reject',
    'rule priority="-10" port port="8080" protocol="tcp" reject',
]


# ---------------------------------------------------------------------------
# parse_service, resolve_services


@pytest.mark.parametrize(
    "name,ports,includes",
    [
        ("ssh", ["22/tcp"], []),
        ("dhcpv6-client", ["546/udp"], []),
        ("mdns", ["5353/udp"], []),
        ("samba", ["139/tcp", "445/tcp"], ["samba-client"]),
        ("samba-client", ["138/udp"], ["netbios-ns"]),
        ("netbios-ns", ["137/udp"], []),
    ],
)
def test_parse_service_captures(name, ports, includes):
    assert parse_service(read("info-service-%s.txt" % name)) == {
        "ports": ports,
        "includes": includes,
    }


@pytest.mark.parametrize(
    "text,ports",
    [
        pytest.param("", [], id="empty"),
        pytest.param("ssh\n", [], id="name-only"),
        pytest.param("gre\n  protocols: gre\n  destination: \n", [], id="no-ports-line"),
        pytest.param("empty\n  ports: \n  protocols: \n", [], id="no-ports"),
        pytest.param(
            "dhcp\n  protocols: \n  source-ports: 68/udp\n", [], id="source-ports-are-not-ports"
        ),
        pytest.param(
            "x11\n  ports: 6010/tcp 6000-6010/tcp 80/tcp\n",
            ["80/tcp", "6000-6010/tcp", "6010/tcp"],
            id="range-sorted-by-first-port",
        ),
        pytest.param(
            "dns\n  ports: 53/udp 853/tcp 53/tcp\n",
            ["53/tcp", "53/udp", "853/tcp"],
            id="numeric-then-protocol-order",
        ),
    ],
)
def test_parse_service_odd_input(text, ports):
    assert parse_service(text) == {"ports": ports, "includes": []}


def test_resolve_services_follows_captured_includes():
    """Debian's samba includes samba-client, which includes netbios-ns: two levels deep."""
    calls = []

    def reader(name):
        calls.append(name)
        return read_service(name)

    services, unknown = resolve_services(["samba", "ssh", "samba"], reader)
    assert unknown == []
    assert sorted(calls) == ["netbios-ns", "samba", "samba-client", "ssh"]  # each read once
    assert services["samba"] == {
        "ports": ["139/tcp", "445/tcp"],
        "includes": ["samba-client"],
        "all_ports": ["137/udp", "138/udp", "139/tcp", "445/tcp"],
    }
    assert services["samba-client"]["all_ports"] == ["137/udp", "138/udp"]
    assert services["netbios-ns"]["all_ports"] == ["137/udp"]
    assert services["ssh"]["all_ports"] == ["22/tcp"]


def test_resolve_services_nested_cycles_and_unknown():
    texts = {
        "a": "a\n  ports: 1/tcp\n  includes: b ghost\n",
        "b": "b\n  ports: 2/udp 1/tcp\n  includes: c\n",
        "c": "c\n  ports: 3-5/tcp\n  includes: a\n",
        "d": "d\n  ports: \n",
    }
    services, unknown = resolve_services(["a", "d", "nope"], texts.get)
    assert unknown == ["ghost", "nope"]
    # Three levels deep and back round to a: every port once, nothing lost to the cycle.
    for name in ("a", "b", "c"):
        assert services[name]["all_ports"] == ["1/tcp", "2/udp", "3-5/tcp"]
    assert services["b"]["ports"] == ["1/tcp", "2/udp"]
    assert services["d"] == {"ports": [], "includes": [], "all_ports": []}
    assert resolve_services([], texts.get) == ({}, [])


# ---------------------------------------------------------------------------
# firewall_view


@pytest.mark.parametrize("state", ["stopped", "absent"])
def test_firewall_view_not_running_has_no_zones(state):
    # Whatever was read before, a firewalld that is not running filters nothing.
    assert firewall_view(state, lab_info(), LAB_SERVICE_PORTS) == {
        "state": state,
        "default_zone": None,
        "zones": [],
    }


def view_zone(name, target="default", services=(), services_ports=(), **fields):
    zone = {
        "name": name,
        "active": False,
        "default": False,
        "target": target,
        "ports": [],
        "services": list(services),
        "services_ports": list(services_ports),
        "rich_rules": [],
        "sources": [],
        "interfaces": [],
    }
    zone.update(fields)
    return zone


def test_firewall_view_of_the_lab_capture():
    workstation = ["ssh", "mdns", "samba-client", "dhcpv6-client"]
    # samba-client is known through samba's include.
    workstation_ports = ["22/tcp", "137/udp", "138/udp", "546/udp", "5353/udp"]
    assert firewall_view("running", lab_info(), LAB_SERVICE_PORTS) == {
        "state": "running",
        "default_zone": "public",
        "zones": [
            view_zone("block", "%%REJECT%%"),
            view_zone("dmz", services=["ssh"], services_ports=["22/tcp"]),
            view_zone("drop", "DROP"),
            view_zone("external", services=["ssh"], services_ports=["22/tcp"]),
            view_zone("home", services=workstation, services_ports=workstation_ports),
            view_zone("internal", services=workstation, services_ports=workstation_ports),
            view_zone(
                "public",
                active=True,
                default=True,
                ports=["22/tcp", "80/tcp"],
                services=["ssh", "dhcpv6-client"],
                services_ports=["22/tcp", "546/udp"],
                rich_rules=LAB_RICH_RULES,
            ),
            view_zone("trusted", "ACCEPT"),
            view_zone(
                "work", services=["ssh", "dhcpv6-client"], services_ports=["22/tcp", "546/udp"]
            ),
        ],
        "services": LAB_SERVICE_PORTS,
    }


@pytest.mark.parametrize(
    "changes,active",
    [
        pytest.param({}, ["public"], id="default-zone-only"),
        pytest.param(
            {"internal": {"interfaces": ["eth1"]}}, ["internal", "public"], id="interface"
        ),
        pytest.param({"work": {"sources": ["192.0.2.0/24"]}}, ["public", "work"], id="source"),
        pytest.param(
            {"public": {"interfaces": []}, "default_zone": "trusted"},
            ["trusted"],
            id="other-default-zone",
        ),
    ],
)
def test_firewall_view_active_zones(changes, active):
    info = lab_info()
    for name, fields in changes.items():
        if name == "default_zone":
            info["default_zone"] = fields
        else:
            info["zones"][name].update(fields)
    view = firewall_view("running", info, LAB_SERVICE_PORTS)
    assert [z["name"] for z in view["zones"] if z["active"]] == active


def test_firewall_view_without_info_or_service_ports():
    info = {
        "default_zone": "public",
        "zones": {"public": {"services": ["http"], "ports": ["8080/tcp", ["53", "udp"]]}},
    }
    assert firewall_view("running", info) == {
        "state": "running",
        "default_zone": "public",
        "zones": [
            view_zone(
                "public",
                active=True,
                default=True,
                services=["http"],
                ports=["8080/tcp", "53/udp"],
            )
        ],
        "services": {},
    }
    assert firewall_view("running") == {
        "state": "running",
        "default_zone": None,
        "zones": [],
        "services": {},
    }


# ---------------------------------------------------------------------------
# firewall_view feeds the policy engine

SSH = {"unit": "ssh.service", "processes": [{"pid": 60, "name": "sshd"}]}
NGINX = {"unit": "nginx.service", "processes": [{"pid": 72, "name": "nginx"}]}


def sock(protocol, address, port, unit=None, processes=()):
    return {
        "protocol": protocol,
        "family": "ipv6" if ":" in address else "ipv4",
        "address": address,
        "port": port,
        "interface": None,
        "scope": "any",
        "unit": unit,
        "processes": list(processes),
        "activated_by": [],
    }


LAB_SOCKETS = [
    sock("tcp", "0.0.0.0", 22, **SSH),
    sock("tcp", "::", 22, **SSH),
    sock("tcp", "0.0.0.0", 80, **NGINX),
    sock("tcp", "::", 80, **NGINX),
    sock("tcp", "0.0.0.0", 8080, "lab-admin.service", [{"pid": 90, "name": "python3"}]),
    sock("tcp", "0.0.0.0", 11211, "memcached.service", [{"pid": 81, "name": "memcached"}]),
    sock("tcp", "0.0.0.0", 111, "rpcbind.service", [{"pid": 49, "name": "rpcbind"}]),
    sock("udp", "0.0.0.0", 5353, "avahi-daemon.service", [{"pid": 55, "name": "avahi-daemon"}]),
    sock("udp", "::", 546, "ifup@eth0.service", [{"pid": 70, "name": "dhclient"}]),
]


def test_policy_reads_the_lab_firewall_view():
    context = {
        "management_ports": [{"port": 22, "protocol": "tcp"}],
        "firewall": firewall_view("running", lab_info(), LAB_SERVICE_PORTS),
    }
    result = evaluate(LAB_SOCKETS, [], "report", True, context)
    # Reachable: 22/tcp and 80/tcp (public's ports), 546/udp (its dhcpv6-client service).
    assert [(a["port"], a["family"], a["exposure"]) for a in result["allowed"]] == [
        (22, "ipv4", "everyone"),
        (22, "ipv6", "everyone"),
    ]
    assert [
        (f["port"], f["protocol"], f["family"], f["action"], f["exposure"])
        for f in result["findings"]
    ] == [
        (80, "tcp", "ipv4", "report", "everyone"),
        (80, "tcp", "ipv6", "report", "everyone"),
        (546, "udp", "ipv6", "report", "everyone"),
    ]
    # Closed: 8080/tcp by the reject rule, 111/tcp and mdns (only in inactive zones) by the
    # default zone; 11211/tcp is left to 10.0.0.0/8 by the accept that runs before its reject.
    assert [(c["port"], c["why"], c["exposed_to"]) for c in result["compliant"]] == [
        (111, "firewalled", []),
        (5353, "firewalled", []),
        (8080, "firewalled", []),
        (11211, "restricted", ["10.0.0.0/8"]),
    ]
    assert result["notes"] == []


def test_lab_rich_rules_are_what_rich_rules_writes():
    """The capture's rules are the role's own, as firewalld rewrites them (priority first)."""
    plan = {
        "firewall_block": [{"port": 8080, "protocol": "tcp", "rules": ["builtin-admin"]}],
        "firewall_restrict": [
            {"port": 11211, "protocol": "tcp", "sources": ["10.0.0.0/8"], "rules": ["mc"]}
        ],
    }

    def meaning(text):
        parsed = parse_rich_rule(text)
        del parsed["text"]
        return sorted(parsed.items())

    written = sorted(meaning(r) for r in rich_rules(plan))
    assert written == sorted(meaning(r) for r in lab_info()["zones"]["public"]["rich_rules"])


def test_policy_resolves_service_rich_rules_with_the_captured_ports():
    # public admits ssh only from 192.0.2.0/24 through a rich rule naming the service.
    info = lab_info()
    info["zones"]["public"].update(
        ports=[],
        services=[],
        rich_rules=['rule family="ipv4" source address="192.0.2.0/24" service name="ssh" accept'],
    )
    model = parse_firewall(firewall_view("running", info, LAB_SERVICE_PORTS))
    assert model["notes"] == []
    assert exposure(LAB_SOCKETS[0], model) == {
        "exposure": "restricted",
        "sources": ["192.0.2.0/24"],
        "via": [],
    }


def test_default_zone_with_sources_still_admits_everyone():
    """The default zone takes every interface no zone claims, whatever sources it also lists."""
    info = lab_info()
    info["zones"]["public"]["sources"] = ["192.0.2.0/24"]
    view = firewall_view("running", info, LAB_SERVICE_PORTS)
    assert [z["name"] for z in view["zones"] if z["default"]] == ["public"]
    model = parse_firewall(view)
    assert exposure(LAB_SOCKETS[2], model)["exposure"] == "everyone"
    # The same zone, no longer the default, admits its sources only.
    info["default_zone"] = "drop"
    model = parse_firewall(firewall_view("running", info, LAB_SERVICE_PORTS))
    assert exposure(LAB_SOCKETS[2], model) == {
        "exposure": "restricted",
        "sources": ["192.0.2.0/24"],
        "via": [],
    }


# ---------------------------------------------------------------------------
# rich_rules

BLOCK_ADMIN = {"port": 8080, "protocol": "tcp", "rules": ["builtin-admin"]}
BLOCK_MDNS = {"port": 5353, "protocol": "udp", "rules": ["builtin-mdns"]}
RESTRICT_MC = {
    "port": 11211,
    "protocol": "tcp",
    "sources": ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"],
    "rules": ["mc"],
}
RESTRICT_DNS = {"port": 53, "protocol": "udp", "sources": ["fd00::1"], "rules": ["dns"]}


@pytest.mark.parametrize(
    "plan,rules",
    [
        pytest.param({}, [], id="empty-plan"),
        pytest.param(
            {"disable_units": [], "firewall_block": [], "firewall_restrict": []},
            [],
            id="nothing-to-do",
        ),
        pytest.param(
            {"firewall_block": [BLOCK_ADMIN, BLOCK_MDNS]},
            [
                'rule priority="-10" port port="8080" protocol="tcp" reject',
                'rule priority="-10" port port="5353" protocol="udp" reject',
            ],
            id="block-only",
        ),
        pytest.param(
            {"firewall_block": [], "firewall_restrict": [RESTRICT_MC]},
            [
                'rule family="ipv4" priority="-20" source address="10.0.0.0/8" '
                'port port="11211" protocol="tcp" accept',
                'rule family="ipv4" priority="-20" source address="192.0.2.7" '
                'port port="11211" protocol="tcp" accept',
                'rule family="ipv6" priority="-20" source address="2001:db8::/32" '
                'port port="11211" protocol="tcp" accept',
                'rule priority="-10" port port="11211" protocol="tcp" reject',
            ],
            id="restrict-ipv4-and-ipv6",
        ),
        pytest.param(
            {"firewall_block": [BLOCK_ADMIN], "firewall_restrict": [RESTRICT_MC, RESTRICT_DNS]},
            [
                'rule family="ipv4" priority="-20" source address="10.0.0.0/8" '
                'port port="11211" protocol="tcp" accept',
                'rule family="ipv4" priority="-20" source address="192.0.2.7" '
                'port port="11211" protocol="tcp" accept',
                'rule family="ipv6" priority="-20" source address="2001:db8::/32" '
                'port port="11211" protocol="tcp" accept',
                'rule family="ipv6" priority="-20" source address="fd00::1" '
                'port port="53" protocol="udp" accept',
                'rule priority="-10" port port="8080" protocol="tcp" reject',
                'rule priority="-10" port port="11211" protocol="tcp" reject',
                'rule priority="-10" port port="53" protocol="udp" reject',
            ],
            id="block-and-restrict",
        ),
    ],
)
def test_rich_rules(plan, rules):
    assert rich_rules(plan) == rules


@pytest.mark.parametrize(
    "sock_args,expected",
    [
        pytest.param(("tcp", "0.0.0.0", 8080), ("closed", []), id="blocked"),
        pytest.param(("udp", "::", 5353), ("closed", []), id="blocked-udp"),
        pytest.param(
            ("tcp", "0.0.0.0", 11211), ("restricted", ["10.0.0.0/8", "192.0.2.7"]), id="v4"
        ),
        pytest.param(("tcp", "::", 11211), ("restricted", ["2001:db8::/32"]), id="v6"),
        pytest.param(("tcp", "0.0.0.0", 80), ("everyone", []), id="untouched"),
    ],
)
def test_rich_rules_do_what_the_plan_says(sock_args, expected):
    """Even in a zone whose target is ACCEPT and that opens the ports, the rules win."""
    plan = {"firewall_block": [BLOCK_ADMIN, BLOCK_MDNS], "firewall_restrict": [RESTRICT_MC]}
    info = {
        "default_zone": "trusted",
        "zones": {
            "trusted": {
                "target": "ACCEPT",
                "ports": [["8080", "tcp"], ["11211", "tcp"], ["5353", "udp"]],
                "rich_rules": rich_rules(plan),
            }
        },
    }
    model = parse_firewall(firewall_view("running", info))
    assert model["notes"] == []
    reach = exposure(sock(*sock_args), model)
    assert (reach["exposure"], reach["sources"]) == expected
