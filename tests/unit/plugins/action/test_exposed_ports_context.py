# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_context action: the context it builds from a host's reads, its errors and
its documentation."""

import copy
import json
import os

import pytest
import support
import yaml
from ansible.errors import AnsibleActionFail
from ansible_collections.portguard.hardening.plugins.modules import exposed_ports_context
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.hoststate import (
    FIREWALLD_STATES,
    READS,
    REQUIRED,
)

FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "fixtures"
)
SSH_CONNECTION = "10.88.0.1 51234 10.88.0.28 2222"
SSH_UNITS = ["ssh.service", "sshd.service", "ssh.socket", "sshd.socket"]
RPCBIND_SOCKET = {
    "unit": "rpcbind.socket",
    "active": "active",
    "enabled": "enabled",
    "triggers": ["rpcbind.service"],
    "listens": ["111/tcp", "111/udp"],
}


def service(name, state):
    return {name: {"name": name, "state": state, "status": "enabled", "source": "systemd"}}


def lab_info():
    with open(os.path.join(FIXTURES, "firewalld", "firewalld_info_lab_bookworm.json")) as f:
        return json.load(f)["firewalld_info"]


def zone(name, **fields):
    entry = {
        "name": name,
        "active": False,
        "default": False,
        "target": "default",
        "ports": [],
        "services": [],
        "services_ports": [],
        "rich_rules": [],
        "sources": [],
        "interfaces": [],
    }
    entry.update(fields)
    return entry


def context(**fields):
    """The context of an SSH host on port 22 without firewalld or NFS; fields change it."""
    entry = {
        "management_ports": [{"port": 22, "protocol": "tcp"}],
        "management_units": [],
        "nfs_in_use": False,
        "nfs_reason": None,
        "firewall": {"state": "absent", "default_zone": None, "zones": []},
        "socket_units": [],
    }
    entry.update(fields)
    return entry


BASE = {"connection": "ssh", "firewalld_state": "absent"}
SMALL_INFO = {
    "default_zone": "public",
    "zones": {
        "public": {
            "target": "default",
            "ports": [["80", "tcp"], "8443/tcp"],
            "services": ["ssh", "mdns"],
            "rich_rules": ['rule priority="-10" port port="8080" protocol="tcp" reject'],
            "sources": [],
            "interfaces": [],
        },
        "internal": {"target": "default", "services": ["ssh"], "sources": ["10.0.0.0/8"]},
        "trusted": {"target": "ACCEPT"},
    },
}
SMALL_SERVICES = {
    "ssh": {"ports": ["22/tcp"], "includes": [], "all_ports": ["22/tcp"]},
    "mdns": {"ports": ["5353/udp"], "includes": [], "all_ports": ["5353/udp"]},
}


@pytest.mark.parametrize(
    "args,expected",
    [
        pytest.param(BASE, context(), id="only-the-required"),
        pytest.param(
            dict(
                BASE,
                ssh_connection=None,
                ansible_port=None,
                management_ports=None,
                management_units=None,
                firewalld_info=None,
                firewalld_services=None,
                services=None,
                exports=None,
                mounts=None,
                socket_units=None,
            ),
            context(),
            id="null-is-the-default",
        ),
        pytest.param(
            dict(
                BASE,
                ssh_connection=SSH_CONNECTION,
                ansible_port=2200,
                management_ports=[8443, "53/udp", "2222/tcp"],
                management_units=SSH_UNITS,
                socket_units=[RPCBIND_SOCKET],
            ),
            context(
                management_ports=[
                    {"port": 2222, "protocol": "tcp"},
                    {"port": 8443, "protocol": "tcp"},
                    {"port": 53, "protocol": "udp"},
                ],
                management_units=SSH_UNITS,
                socket_units=[RPCBIND_SOCKET],
            ),
            id="the-port-ssh-reached-wins",
        ),
        pytest.param(
            dict(BASE, ssh_connection="", ansible_port="2200"),
            context(management_ports=[{"port": 2200, "protocol": "tcp"}]),
            id="ansible-port",
        ),
        pytest.param(
            dict(BASE, connection="containers.podman.podman", management_ports=["22"]),
            context(),
            id="podman-only-what-the-user-names",
        ),
        pytest.param(
            dict(BASE, connection="local"), context(management_ports=[]), id="local-connection"
        ),
        pytest.param(
            dict(
                BASE,
                services=dict(
                    service("nfs-server.service", "running"), **service("ssh.service", "running")
                ),
                exports="# /etc/exports\n/srv/nfs 10.0.0.0/8(rw)\n",
                mounts="proc /proc proc rw 0 0\nnas:/data /mnt/data nfs4 rw 0 0\n",
            ),
            context(
                nfs_in_use=True,
                nfs_reason="nfs-server.service is running; /etc/exports exports /srv/nfs; "
                "NFS mounts: /mnt/data",
            ),
            id="nfs-in-use",
        ),
        pytest.param(
            dict(BASE, services=service("nfs-server.service", "stopped"), exports="# none\n"),
            context(),
            id="nfs-not-in-use",
        ),
        pytest.param(
            # A stopped firewalld filters nothing; what firewalld_info says then does not count.
            dict(BASE, firewalld_state="stopped", firewalld_info=SMALL_INFO),
            context(firewall={"state": "stopped", "default_zone": None, "zones": []}),
            id="firewalld-stopped",
        ),
        pytest.param(
            dict(
                BASE,
                firewalld_state="running",
                firewalld_info=SMALL_INFO,
                firewalld_services=SMALL_SERVICES,
            ),
            context(
                firewall={
                    "state": "running",
                    "default_zone": "public",
                    "zones": [
                        zone(
                            "internal",
                            active=True,
                            services=["ssh"],
                            services_ports=["22/tcp"],
                            sources=["10.0.0.0/8"],
                        ),
                        zone(
                            "public",
                            active=True,
                            default=True,
                            ports=["80/tcp", "8443/tcp"],
                            services=["ssh", "mdns"],
                            services_ports=["22/tcp", "5353/udp"],
                            rich_rules=[
                                'rule priority="-10" port port="8080" protocol="tcp" reject'
                            ],
                        ),
                        zone("trusted", target="ACCEPT"),
                    ],
                    "services": {"ssh": ["22/tcp"], "mdns": ["5353/udp"]},
                }
            ),
            id="firewalld-running",
        ),
    ],
)
def test_context(args, expected):
    result = support.run_action("exposed_ports_context", copy.deepcopy(args))
    assert result == {"changed": False, "context": expected}


def test_lab_capture_public_zone():
    args = dict(
        BASE,
        firewalld_state="running",
        firewalld_info=lab_info(),
        firewalld_services={"ssh": {"all_ports": ["22/tcp"]}},
    )
    firewall = support.run_action("exposed_ports_context", args)["context"]["firewall"]
    assert [(z["name"], z["active"]) for z in firewall["zones"] if z["active"]] == [
        ("public", True)
    ]
    public = [z for z in firewall["zones"] if z["name"] == "public"][0]
    # dhcpv6-client was not resolved, so only ssh's port counts for the zone's services.
    assert (public["ports"], public["services_ports"]) == (["22/tcp", "80/tcp"], ["22/tcp"])
    assert firewall["services"] == {"ssh": ["22/tcp"]}


@pytest.mark.parametrize("check_mode", [False, True])
def test_same_in_check_mode_and_inputs_unchanged(check_mode):
    args = dict(
        BASE,
        firewalld_state="running",
        firewalld_info=SMALL_INFO,
        firewalld_services=SMALL_SERVICES,
        management_units=SSH_UNITS,
        socket_units=[RPCBIND_SOCKET],
    )
    before = copy.deepcopy(args)
    result = support.run_action("exposed_ports_context", args, check_mode=check_mode)
    assert args == before
    assert result["changed"] is False
    assert result["context"]["firewall"]["zones"][1]["services_ports"] == ["22/tcp", "5353/udp"]
    # The result shares no list with the input: later changes to one leave the other alone.
    result["context"]["management_units"].append("x.service")
    result["context"]["socket_units"].append({"unit": "x.socket"})
    assert (args["management_units"], args["socket_units"]) == (SSH_UNITS, [RPCBIND_SOCKET])


@pytest.mark.parametrize(
    "args,message",
    [
        pytest.param(
            dict(BASE, management_ports=[22, "22/sctp"]),
            "1 problem: management_ports[1]: '22/sctp' has an unknown protocol (tcp or udp)",
            id="management-port-protocol",
        ),
        pytest.param(
            dict(BASE, management_ports=["abc", 70000]),
            "2 problems: management_ports[0]: 'abc' is not a port (1-65535, optionally /tcp or "
            "/udp); management_ports[1]: 70000 is not a port (1-65535, optionally /tcp or /udp)",
            id="management-ports",
        ),
        pytest.param(
            dict(BASE, ansible_port="two"),
            "1 problem: ansible_port: 'two' is not a port (1-65535, optionally /tcp or /udp)",
            id="ansible-port",
        ),
        pytest.param(
            dict(BASE, management_ports="22"),
            "1 problem: management_ports: expected a list, got '22'",
            id="management-ports-not-a-list",
        ),
        pytest.param(
            dict(BASE, management_units=["ssh.service", ""]),
            "1 problem: management_units[1]: expected a unit name, got ''",
            id="management-unit",
        ),
        pytest.param(
            dict(BASE, management_units=["ssh", "x' 'sshd.service"]),
            "2 problems: management_units[0]: 'ssh' is not a systemd unit name: it has no unit "
            "type suffix (such as .service or .socket) (write the system unit, such as "
            "ssh.service); management_units[1]: \"x' 'sshd.service\" is not a systemd unit "
            "name: it has characters systemd does not allow in a unit name (only ASCII letters, "
            "digits and : - _ . \\ @) (write the system unit, such as ssh.service)",
            id="management-unit-not-a-unit-name",
        ),
        pytest.param(
            {},
            "2 problems: connection is required (the name of the connection plugin, "
            "ansible_connection); firewalld_state is required (absent, running or stopped)",
            id="nothing",
        ),
        pytest.param(
            dict(BASE, connection=["ssh"]),
            "1 problem: connection: expected the name of the connection plugin "
            "(ansible_connection), got a list",
            id="connection",
        ),
        pytest.param(
            dict(BASE, ssh_connection=2222),
            "1 problem: ssh_connection: expected a string, got 2222",
            id="ssh-connection",
        ),
        pytest.param(
            dict(BASE, firewalld_state="up"),
            "1 problem: firewalld_state: expected one of absent, running, stopped, got 'up'",
            id="firewalld-state",
        ),
        pytest.param(
            dict(BASE, firewalld_state="running"),
            "1 problem: firewalld_info is required when firewalld_state is running "
            "(firewalld_info of ansible.posix.firewalld_info)",
            id="running-without-zones",
        ),
        pytest.param(
            dict(BASE, firewalld_state="running", firewalld_info=["public"]),
            "1 problem: firewalld_info: expected a mapping, got a list",
            id="firewalld-info",
        ),
        pytest.param(
            dict(BASE, firewalld_state="running", firewalld_info={"zones": ["public"]}),
            "1 problem: firewalld_info.zones: expected a mapping of zone names to zones, "
            "got a list",
            id="zones",
        ),
        pytest.param(
            dict(BASE, firewalld_state="running", firewalld_info={"zones": {"public": "on"}}),
            "1 problem: firewalld_info.zones['public']: expected a mapping, got 'on'",
            id="zone",
        ),
        pytest.param(
            dict(
                BASE,
                firewalld_state="running",
                firewalld_info={"zones": {"public": {"ports": "80/tcp", "services": "ssh"}}},
            ),
            "2 problems: firewalld_info.zones['public'].ports: expected a list, got '80/tcp'; "
            "firewalld_info.zones['public'].services: expected a list, got 'ssh'",
            id="zone-lists",
        ),
        pytest.param(
            dict(BASE, firewalld_services={"ssh": {"ports": ["22/tcp"]}}),
            "1 problem: firewalld_services['ssh'].all_ports: expected a list, got None",
            id="firewalld-service",
        ),
        pytest.param(
            dict(BASE, firewalld_services=["ssh"]),
            "1 problem: firewalld_services: expected services of "
            "portguard.hardening.firewalld_services, got a list",
            id="firewalld-services",
        ),
        pytest.param(
            dict(BASE, services=["ssh.service"]),
            "1 problem: services: expected ansible_facts.services, got a list",
            id="services",
        ),
        pytest.param(
            # Unit names come from the host: quoted, so nothing in them reads as a message.
            dict(BASE, services={"evil\n.service": "running"}),
            "1 problem: services['evil\\n.service']: expected a mapping, got 'running'",
            id="service-quoted",
        ),
        pytest.param(
            dict(BASE, exports=["/srv"], mounts=b"proc"),
            "2 problems: exports: expected a string, got a list; mounts: expected a string, "
            "got a bytes",
            id="texts",
        ),
        pytest.param(
            dict(BASE, socket_units=["rpcbind.socket", {"unit": ""}]),
            "2 problems: socket_units[0]: expected a mapping with a unit name "
            "(listening_sockets_meta.systemd.socket_units), got 'rpcbind.socket'; "
            "socket_units[1]: expected a mapping with a unit name "
            "(listening_sockets_meta.systemd.socket_units), got a mapping",
            id="socket-units",
        ),
    ],
)
def test_bad_input_names_the_option(args, message):
    with pytest.raises(AnsibleActionFail) as raised:
        support.run_action("exposed_ports_context", copy.deepcopy(args))
    assert raised.value.message == message


def test_unknown_option_is_named():
    with pytest.raises(AnsibleActionFail) as raised:
        support.run_action("exposed_ports_context", dict(BASE, firewalld_zones={}))
    assert raised.value.message == (
        "Invalid options for portguard.hardening.exposed_ports_context: firewalld_zones"
    )


def test_documentation_matches_the_action():
    doc = yaml.safe_load(exposed_ports_context.DOCUMENTATION)
    options = doc["options"]
    assert sorted(options) == sorted(READS)
    assert sorted(k for k, v in options.items() if v.get("required")) == sorted(REQUIRED)
    assert dict((k, v.get("default")) for k, v in options.items() if k not in REQUIRED) == dict(
        (k, v) for k, v in READS.items() if k not in REQUIRED
    )
    assert options["firewalld_state"]["choices"] == list(FIREWALLD_STATES)
    assert sorted(yaml.safe_load(exposed_ports_context.RETURN)["context"]["contains"]) == sorted(
        context()
    )
    for task in yaml.safe_load(exposed_ports_context.EXAMPLES):
        if "portguard.hardening.exposed_ports_context" in task:
            assert set(task["portguard.hardening.exposed_ports_context"]) <= set(READS)
