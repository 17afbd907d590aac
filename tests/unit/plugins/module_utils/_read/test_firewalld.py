# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""host.firewalld: zones as ansible.posix.firewalld_info gives them, services as
firewalld_services resolves them, over D-Bus or through firewall-cmd."""

import copy
import json
import os

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._read.firewalld import (
    parse_zones,
    read_firewalld,
    used_services,
    version_tuple,
    zones_from_client,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
SERVICES = ("dhcpv6-client", "mdns", "netbios-ns", "samba", "samba-client", "ssh")
# What firewalld said over D-Bus about a service it does not know (captured).
UNKNOWN_SERVICE = "org.fedoraproject.FirewallD1.Exception: INVALID_SERVICE: nope"


def _fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read()


FIREWALLD_INFO = json.loads(_fixture("firewalld_info.json"))
FIREWALLD_SERVICES = json.loads(_fixture("firewalld_services.json"))
INFO_SERVICE = dict((name, _fixture("info_service_%s.txt" % name)) for name in SERVICES)


class FakeDBusError(Exception):
    pass


class Settings:
    """FirewallClientZoneSettings / FirewallClientServiceSettings: getters over a dict."""

    def __init__(self, values):
        self.values = values

    def __getattr__(self, name):
        if not name.startswith("get"):
            raise AttributeError(name)
        key = "".join("_" + c.lower() if c.isupper() else c for c in name[3:]).lstrip("_")
        if key not in self.values:
            raise AttributeError(name)
        return lambda: self.values[key]


def _service_values(text):
    """ports as (port, protocol) tuples and includes, read from --info-service text."""
    lines = dict(line.strip().partition(":")[::2] for line in text.splitlines()[1:])
    return {
        "ports": [tuple(p.split("/")) for p in lines["ports"].split()],
        "includes": lines["includes"].split(),
    }


class Client:
    """firewall.client.FirewallClient as the captured host answered it."""

    def __init__(self, info=FIREWALLD_INFO, services=None, fail=None):
        self.info = info
        self.services = INFO_SERVICE if services is None else services
        self.fail = fail or {}
        self.asked = []

    def _call(self, name):
        self.asked.append(name)
        if name in self.fail:
            raise self.fail[name]

    def getDefaultZone(self):
        self._call("getDefaultZone")
        return self.info["default_zone"]

    def getZones(self):
        self._call("getZones")
        return list(self.info["zones"])

    def getZoneSettings(self, zone):
        self._call("getZoneSettings")
        values = copy.deepcopy(self.info["zones"][zone])
        # D-Bus gives ports as tuples.
        for key in ("ports", "source_ports", "forward_ports"):
            values[key] = [tuple(p) for p in values[key]]
        return Settings(values)

    def getServiceSettings(self, name):
        self._call("getServiceSettings:" + name)
        if name not in self.services:
            raise FakeDBusError(UNKNOWN_SERVICE.replace("nope", name))
        return Settings(_service_values(self.services[name]))


def _factory(client, version="1.3.3"):
    def make():
        return client, version

    return make


def _no_bindings():
    raise ImportError("No module named 'firewall'")


class FirewallCmd:
    """run(argv) for firewall-cmd, answering from the captured output."""

    def __init__(self, fail=None, services=None):
        self.calls = []
        self.fail = fail or {}
        self.services = INFO_SERVICE if services is None else services

    def __call__(self, argv):
        assert argv[0] == "/usr/bin/firewall-cmd"
        self.calls.append(argv[1:])
        arg = argv[1]
        if arg in self.fail:
            return self.fail[arg]
        if arg.startswith("--info-service="):
            name = arg.split("=", 1)[1]
            if name not in self.services:
                return 101, "", "Error: INVALID_SERVICE: %s\n" % name
            return 0, self.services[name], ""
        files = {
            "--version": "firewall_cmd_version.txt",
            "--get-default-zone": "firewall_cmd_default_zone.txt",
            "--list-all-zones": "firewall_cmd_list_all_zones.txt",
        }
        return 0, _fixture(files[arg]), ""


def _sorted_lists(info):
    """firewall-cmd sorts services and protocols and orders rich rules by priority."""
    info = copy.deepcopy(info)
    for zone in info["zones"].values():
        for key in ("services", "protocols", "rich_rules"):
            zone[key] = sorted(zone[key])
    return info


def test_dbus_gives_firewalld_info_exactly():
    client = Client()
    result = read_firewalld(None, "/usr/bin/firewall-cmd", _factory(client))
    assert result == {
        "default_zone": "public",
        "info": FIREWALLD_INFO,
        "services": FIREWALLD_SERVICES,
        "unknown_services": [],
        "source": "dbus",
        "error": None,
    }
    # Each service once, those the zones name and those they include.
    asked = sorted(a.split(":")[1] for a in client.asked if a.startswith("getServiceSettings"))
    assert asked == sorted(SERVICES)
    assert used_services(FIREWALLD_INFO) == [
        "dhcpv6-client",
        "mdns",
        "samba",
        "samba-client",
        "ssh",
    ]


def test_dbus_values_are_plain_json():
    info = zones_from_client(Client(), "1.3.3")
    assert json.loads(json.dumps(info)) == info
    lab = info["zones"]["lab"]
    assert lab["ports"] == [["8080", "tcp"]]
    assert lab["forward_ports"] == [["2222", "tcp", "22", ""]]
    assert lab["sources"] == ["10.99.0.0/24"]
    assert lab["forward"] is False and info["zones"]["public"]["forward"] is True


def test_forward_only_from_firewalld_0_9():
    info = zones_from_client(Client(), "0.8.6")
    assert all("forward" not in zone for zone in info["zones"].values())
    assert info["version"] == "0.8.6"


@pytest.mark.parametrize(
    "text, numbers", [("1.3.3", (1, 3, 3)), ("0.9.0", (0, 9, 0)), ("2.0rc1", (2, 0)), ("x", ())]
)
def test_version_tuple(text, numbers):
    assert version_tuple(text) == numbers


def test_list_all_zones_text_parses_to_the_same_zones():
    zones = parse_zones(_fixture("firewall_cmd_list_all_zones.txt"))
    assert zones == _sorted_lists(FIREWALLD_INFO)["zones"]
    assert zones["block"]["target"] == "%%REJECT%%"
    assert zones["lab"]["rich_rules"] == [
        'rule family="ipv4" source address="10.1.2.3" port port="9090" protocol="tcp" accept'
    ]


OLD_FORMAT = """public (default, active)
  target: default
  icmp-block-inversion: no
  interfaces: eth0 eth1
  sources:
  services: ssh
  ports: 1000-2000/udp 80/tcp
  protocols: igmp
  masquerade: yes
  forward-ports: port=80:proto=tcp:toport=8080:toaddr=2001:db8::5
\tport=443:proto=tcp:toport=:toaddr=10.0.0.5
  source-ports: 53/udp
  icmp-blocks: echo-request
  rich rules: rule service name="ftp" log limit value="1/m" audit accept
\trule priority="-1" family="ipv6" source address="fd00::/8" reject

"""


def test_older_firewall_cmd_text():
    """firewalld before 0.9 prints no forward line and puts the first forward port and rich rule
    on the key's own line."""
    assert parse_zones(OLD_FORMAT) == {
        "public": {
            "target": "default",
            "icmp_block_inversion": False,
            "interfaces": ["eth0", "eth1"],
            "sources": [],
            "services": ["ssh"],
            "ports": [["1000-2000", "udp"], ["80", "tcp"]],
            "protocols": ["igmp"],
            "masquerade": True,
            "forward_ports": [
                ["80", "tcp", "8080", "2001:db8::5"],
                ["443", "tcp", "", "10.0.0.5"],
            ],
            "source_ports": [["53", "udp"]],
            "icmp_blocks": ["echo-request"],
            "rich_rules": [
                'rule service name="ftp" log limit value="1/m" audit accept',
                'rule priority="-1" family="ipv6" source address="fd00::/8" reject',
            ],
        }
    }


def test_firewall_cmd_when_python_has_no_bindings():
    run = FirewallCmd()
    result = read_firewalld(run, "/usr/bin/firewall-cmd", _no_bindings)
    assert result == {
        "default_zone": "public",
        "info": _sorted_lists(FIREWALLD_INFO),
        "services": FIREWALLD_SERVICES,
        "unknown_services": [],
        "source": "firewall-cmd",
        "error": None,
    }
    assert run.calls[:3] == [["--version"], ["--get-default-zone"], ["--list-all-zones"]]
    assert sorted(c[0] for c in run.calls[3:]) == sorted("--info-service=%s" % s for s in SERVICES)


@pytest.mark.parametrize("source", ["dbus", "firewall-cmd"])
def test_unknown_services_are_listed(source):
    services = dict(INFO_SERVICE)
    del services["netbios-ns"]  # samba-client includes it
    if source == "dbus":
        result = read_firewalld(None, None, _factory(Client(services=services)))
    else:
        run = FirewallCmd(services=services)
        result = read_firewalld(run, "/usr/bin/firewall-cmd", _no_bindings)
    assert result["source"] == source
    assert result["error"] is None
    assert result["unknown_services"] == ["netbios-ns"]
    assert result["services"]["samba-client"]["all_ports"] == ["138/udp"]
    assert result["services"]["samba"]["all_ports"] == ["138/udp", "139/tcp", "445/tcp"]
    assert "netbios-ns" not in result["services"]


@pytest.mark.parametrize(
    "factory, run, firewall_cmd, error",
    [
        (
            _no_bindings,
            None,
            None,
            "this Python cannot import firewalld's client (No module named 'firewall') and "
            "firewall-cmd is not installed",
        ),
        (
            _factory(Client(fail={"getZones": FakeDBusError("Not Authorized(polkit)")})),
            None,
            None,
            "reading firewalld failed: Not Authorized(polkit)",
        ),
        (
            _factory(Client(fail={"getServiceSettings:ssh": FakeDBusError("timeout")})),
            None,
            None,
            "reading firewalld failed: timeout",
        ),
        (
            _no_bindings,
            FirewallCmd(fail={"--list-all-zones": (252, "", "FirewallD is not running\n")}),
            "/usr/bin/firewall-cmd",
            "firewall-cmd --list-all-zones failed (rc 252): FirewallD is not running",
        ),
        (
            _no_bindings,
            FirewallCmd(fail={"--info-service=ssh": (2, "", "Error: ACCESS_DENIED\n")}),
            "/usr/bin/firewall-cmd",
            "reading firewalld failed: firewall-cmd --info-service=ssh failed (rc 2): "
            "Error: ACCESS_DENIED",
        ),
    ],
)
def test_failures(factory, run, firewall_cmd, error):
    result = read_firewalld(run, firewall_cmd, factory)
    assert result["error"] == error
    assert result["services"] == {}


def test_unreachable_bus():
    def unreachable():
        raise FakeDBusError("DBUS_ERROR: Failed to connect to socket /run/dbus/system_bus_socket")

    result = read_firewalld(None, "/usr/bin/firewall-cmd", unreachable)
    assert result == {
        "default_zone": None,
        "info": None,
        "services": {},
        "unknown_services": [],
        "source": "dbus",
        "error": "cannot reach firewalld over D-Bus: DBUS_ERROR: Failed to connect to socket "
        "/run/dbus/system_bus_socket",
    }
