# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host_state filters: names, wiring to module_utils, and the two wrappers."""

import json
import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.filter.exposed_ports import (
    FilterModule as PolicyFilters,
)
from ansible_collections.portguard.hardening.plugins.filter.host_state import FilterModule
from ansible_collections.portguard.hardening.plugins.module_utils import (
    _firewalld,
    _hoststate,
    _report,
)

FIREWALLD = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "module_utils",
    "fixtures",
    "firewalld",
)
FILTERS = FilterModule().filters()


def capture(name):
    with open(os.path.join(FIREWALLD, name)) as f:
        return f.read()


def resolved(*names):
    """firewalld_services' `services` for these services, read from the captures."""
    return _firewalld.resolve_services(names, lambda n: capture("info-service-%s.txt" % n))[0]


@pytest.mark.parametrize(
    "name,function",
    [
        ("exposed_ports_firewall_view", _firewalld.firewall_view),
        ("exposed_ports_nfs_usage", _hoststate.nfs_usage),
        ("exposed_ports_summary", _report.summarize),
        ("exposed_ports_lines", _report.finding_lines),
        ("exposed_ports_unremediated", _report.unremediated),
    ],
)
def test_filters_wired_directly(name, function):
    assert FILTERS[name] is function


def test_filter_names():
    assert sorted(FILTERS) == [
        "exposed_ports_firewall_view",
        "exposed_ports_lines",
        "exposed_ports_management_ports",
        "exposed_ports_nfs_usage",
        "exposed_ports_service_ports",
        "exposed_ports_summary",
        "exposed_ports_unremediated",
    ]
    # Both files are loaded into one namespace: a shared name would shadow a filter.
    assert set(FILTERS) & set(PolicyFilters().filters()) == set()


@pytest.mark.parametrize(
    "services,expected",
    [
        pytest.param(None, {}, id="none"),
        pytest.param({}, {}, id="no-services"),
        pytest.param(
            resolved("dhcpv6-client", "mdns", "samba", "ssh"),
            {
                "dhcpv6-client": ["546/udp"],
                "mdns": ["5353/udp"],
                "netbios-ns": ["137/udp"],
                # samba opens the ports of samba-client and of netbios-ns, which it includes.
                "samba": ["137/udp", "138/udp", "139/tcp", "445/tcp"],
                "samba-client": ["137/udp", "138/udp"],
                "ssh": ["22/tcp"],
            },
            id="captures",
        ),
    ],
)
def test_service_ports(services, expected):
    assert FILTERS["exposed_ports_service_ports"](services) == expected


def test_service_ports_feed_firewall_view():
    """As gather.yml chains them: firewalld_info and firewalld_services into one view."""
    info = json.loads(capture("firewalld_info_lab_bookworm.json"))["firewalld_info"]
    services = FILTERS["exposed_ports_service_ports"](resolved("dhcpv6-client", "ssh"))
    view = FILTERS["exposed_ports_firewall_view"]("running", info, services)
    public = [z for z in view["zones"] if z["name"] == "public"]
    assert [(z["active"], z["ports"], z["services_ports"]) for z in public] == [
        (True, ["22/tcp", "80/tcp"], ["22/tcp", "546/udp"])
    ]
    assert view["services"] == {"dhcpv6-client": ["546/udp"], "ssh": ["22/tcp"]}


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ("ssh", "10.88.0.1 51234 10.88.0.28 2222", 2200, ["53/udp"]),
            [{"port": 2222, "protocol": "tcp"}, {"port": 53, "protocol": "udp"}],
        ),
        (("ssh", "", 2200), [{"port": 2200, "protocol": "tcp"}]),
        (("podman",), []),
        (("local", "", None, [8443]), [{"port": 8443, "protocol": "tcp"}]),
    ],
)
def test_management_ports_passes_arguments_in_order(args, expected):
    assert FILTERS["exposed_ports_management_ports"](*args) == expected


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ("ssh", "", None, [22, "22/sctp"]),
            "exposed_ports_management_ports[1]: '22/sctp' has an unknown protocol (tcp or udp)",
        ),
        (
            ("podman", "", None, ["abc"]),
            "exposed_ports_management_ports[0]: 'abc' is not a port "
            "(1-65535, optionally /tcp or /udp)",
        ),
        (
            ("ssh", "", "two"),
            "ansible_port: 'two' is not a port (1-65535, optionally /tcp or /udp)",
        ),
    ],
)
def test_management_ports_raises_filter_errors(args, message):
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS["exposed_ports_management_ports"](*args)
    assert raised.value.message == message
