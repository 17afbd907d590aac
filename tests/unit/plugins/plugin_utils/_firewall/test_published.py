# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published container ports and port forwards as entries the policy judges, and the closures
of the collection's forward chain read back from the kernel.

fixtures/forward.nft is render_table() of a block of 9090/tcp and a restrict of 11211/udp;
forward.bookworm.json is `nft -j list table inet portguard` of it, loaded with nft 1.0.6 in a
Debian 12 lab host.
"""

import copy
import json
import os

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.detect import seen
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.kernel import (
    forward_closures,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._firewall.published import (
    containers_of,
    published_sockets,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._ruleset.model import (
    parse_ruleset,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
WEB_ID = "4f1c" + "a" * 60


def web(**ports):
    return {
        "engine": "docker",
        "id": WEB_ID,
        "name": "web",
        "image": "lab/busybox:latest",
        "project": "shop",
        "network_mode": "bridge",
        "ports": ports.get(
            "ports",
            [
                {"host_ip": "0.0.0.0", "host_port": 9090, "protocol": "tcp", "container_port": 80},
                {"host_ip": "::", "host_port": 9090, "protocol": "tcp", "container_port": 80},
            ],
        ),
    }


def host(*containers, state="read"):
    return {
        "containers": {
            "engines": {"docker": {"state": state, "source": "/run/docker.sock", "error": None}},
            "containers": list(containers),
        }
    }


def sock(port, address="0.0.0.0", family="ipv4", protocol="tcp", **extra):
    entry = {
        "protocol": protocol,
        "family": family,
        "address": address,
        "port": port,
        "processes": [{"name": "docker-proxy", "pid": 700}],
        "holders": "process",
        "unit": "docker.service",
        "unit_verified": True,
    }
    entry.update(extra)
    return entry


def by_port(entries):
    return {(e["protocol"], e["family"], e["address"], e["port"]): e for e in entries}


def test_the_proxy_socket_carries_the_container():
    out, notes = published_sockets(
        host(web()), [sock(9090), sock(9090, "::", "ipv6"), sock(22)], {("tcp", 9090): "ip nat"}
    )
    assert notes == []
    found = by_port(out)
    assert len(out) == 3
    for key in (("tcp", "ipv4", "0.0.0.0", 9090), ("tcp", "ipv6", "::", 9090)):
        assert found[key]["engine_container"] == {
            "engine": "docker",
            "id": WEB_ID,
            "name": "web",
            "image": "lab/busybox:latest",
            "project": "shop",
        }
        assert found[key]["published"] == {
            "container_port": 80,
            "forward": "ip nat",
            "listener": True,
        }
        assert found[key]["processes"] == [{"name": "docker-proxy", "pid": 700}]
    assert "published" not in found[("tcp", "ipv4", "0.0.0.0", 22)]


def test_a_publication_without_a_listener_gets_an_entry_of_its_own():
    """Docker without its userland proxy, rootful podman: nothing listens on the port."""
    out, _notes = published_sockets(host(web()), [sock(22)], {("tcp", 9090): "ip nat DOCKER"})
    entry = by_port(out)[("tcp", "ipv4", "0.0.0.0", 9090)]
    assert entry["processes"] == [] and entry["unit"] is None and entry["holders"] == "kernel"
    assert entry["scope"] == "any"
    assert entry["published"]["listener"] is False
    assert entry["engine_container"]["name"] == "web"
    assert ("tcp", "ipv6", "::", 9090) in by_port(out)


@pytest.mark.parametrize(
    "host_ip, expected",
    [
        ("127.0.0.1", [("ipv4", "127.0.0.1", "loopback")]),
        ("", [("ipv4", "0.0.0.0", "any")]),
        ("192.0.2.7", [("ipv4", "192.0.2.7", "private")]),
        ("not-an-address", []),
    ],
)
def test_where_a_port_is_published(host_ip, expected):
    ports = [{"host_ip": host_ip, "host_port": 8443, "protocol": "tcp", "container_port": 443}]
    out, _notes = published_sockets(host(web(ports=ports)), [], {})
    assert [(e["family"], e["address"], e["scope"]) for e in out] == expected


def test_a_forward_no_engine_explains_is_listed():
    """firewalld's forward-ports, libvirt's or a hand-written DNAT rule."""
    out, _notes = published_sockets({}, [sock(22)], {("tcp", 2222): "ip nat PREROUTING"})
    entry = by_port(out)[("tcp", "ipv4", "0.0.0.0", 2222)]
    assert entry["published"] == {
        "container_port": None,
        "forward": "ip nat PREROUTING",
        "listener": False,
    }
    assert "engine_container" not in entry


def test_a_container_in_the_hosts_network_owns_its_listeners():
    ports = []
    listener = sock(6379, unit="docker-%s.scope" % WEB_ID, container=WEB_ID[:12], processes=[])
    out, _notes = published_sockets(host(web(ports=ports)), [listener], {})
    assert out[0]["engine_container"]["name"] == "web"
    assert "published" not in out[0]


@pytest.mark.parametrize(
    "item, note",
    [
        ("web", "host.containers.containers[0]: expected a mapping, got 'web'; left out"),
        (
            dict(web(), engine="lxc"),
            "host.containers.containers[0]: engine 'lxc' or id '4f1caaa",
        ),
        (
            dict(web(), ports=[{"host_ip": "0.0.0.0", "host_port": 0, "protocol": "tcp"}]),
            "host.containers.containers[0].ports[0]: not a published port",
        ),
    ],
)
def test_malformed_containers_are_notes_and_left_out(item, note):
    found, notes = containers_of(host(item))
    assert [n[: len(note)] for n in notes] == [note]
    assert all(ports == [] for _c, ports in found)


def test_a_hostile_name_stays_data_and_is_bounded():
    name = "\x1b[31mweb\n" + "x" * 400
    found, _notes = containers_of(host(dict(web(), name=name)))
    container = found[0][0]
    assert container["name"] == name[:255]


def test_an_engine_that_failed_is_a_note():
    found, notes = containers_of(
        {"containers": {"engines": {"docker": {"state": "failed", "error": "timed out"}}}}
    )
    assert found == []
    assert notes == [
        "docker was not read (timed out): its published ports are known only from the "
        "kernel's port forwards"
    ]


def forward_ruleset():
    with open(os.path.join(FIXTURES, "forward.bookworm.json")) as f:
        return json.load(f)


def test_the_forward_chain_read_back_closes_what_it_was_written_to():
    closures = forward_closures(parse_ruleset(json.dumps(forward_ruleset())))
    assert closures == {
        ("tcp", 9090): {"exposure": "closed", "sources": []},
        ("udp", 11211): {"exposure": "restricted", "sources": ["10.0.0.0/8", "fd00::/8"]},
    }


def test_a_forward_chain_holding_something_else_closes_nothing():
    document = forward_ruleset()
    tampered = copy.deepcopy(document)
    for item in tampered["nftables"]:
        rule = item.get("rule")
        if rule and rule["chain"] == "forward" and len(rule["expr"]) == 4:
            # meta mark 0x1 instead of the l4proto match: not a rule the collection writes.
            rule["expr"][0] = {"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 1}}
    assert forward_closures(parse_ruleset(json.dumps(tampered))) == {}
    assert forward_closures(None) == {}


NETAVARK = {
    "nftables": [
        {"table": {"family": "inet", "name": "netavark", "handle": 3}},
        {"chain": {"family": "inet", "table": "netavark", "name": "NETAVARK-HOSTPORT-DNAT",
                   "handle": 1}},
    ]
}  # fmt: skip


@pytest.mark.parametrize(
    "read, ruleset, expected",
    [
        (host(web()), None, [("docker", "docker.service runs")]),
        (host(web(), state="not running"), None, []),
        (
            {},
            parse_ruleset(json.dumps(NETAVARK)),
            [("podman", "podman's (netavark's) rules are loaded")],
        ),
    ],
)
def test_container_engines_count_as_firewalls(read, ruleset, expected):
    """A host with an engine has rules of someone else's: never a reason to start firewalld."""
    units = {"firewalld.service": {"load_state": "not-found"}}
    found = seen(dict(read, units=units), ruleset)
    assert [(f["name"], f["why"]) for f in found if f["name"] in ("docker", "podman")] == expected


def test_the_proxy_in_a_family_the_engine_does_not_publish_is_the_containers_too():
    """Docker 20.10 publishes 0.0.0.0:9090 only, and docker-proxy still listens on [::]:9090."""
    ports = [{"host_ip": "0.0.0.0", "host_port": 9090, "protocol": "tcp", "container_port": 80}]
    out, _notes = published_sockets(
        host(web(ports=ports)), [sock(9090), sock(9090, "::", "ipv6")], {("tcp", 9090): "ip nat"}
    )
    assert [(e["family"], e["engine_container"]["name"], e["published"]["listener"])
            for e in out] == [("ipv4", "web", True), ("ipv6", "web", True)]  # fmt: skip


def test_another_program_on_a_published_port_is_not_the_containers():
    """The host's own postgres on [::]:5432 while a container publishes 127.0.0.1:5432: a rule
    for the container's image must never allow (or skip closing) postgres."""
    ports = [{"host_ip": "127.0.0.1", "host_port": 5432, "protocol": "tcp", "container_port": 5432}]
    postgres = sock(5432, "::", "ipv6", unit="postgresql@15-main.service",
                    processes=[{"name": "postgres", "pid": 900}])  # fmt: skip
    out, notes = published_sockets(host(web(ports=ports)), [postgres], {})
    found = by_port(out)
    assert "engine_container" not in found[("tcp", "ipv6", "::", 5432)]
    assert found[("tcp", "ipv4", "127.0.0.1", 5432)]["engine_container"]["name"] == "web"
    # The same address and port held by something else: judged as that program's listener.
    squatter = sock(9090, processes=[{"name": "nc", "pid": 901}], unit="user@1000.service")
    out, notes = published_sockets(host(web()), [squatter], {})
    assert "engine_container" not in by_port(out)[("tcp", "ipv4", "0.0.0.0", 9090)]
    assert notes == [
        "9090/tcp on 0.0.0.0: published by web, but held by another program; judged as its listener"
    ]


def test_an_accept_for_everyone_before_the_reject_leaves_the_port_open():
    document = forward_ruleset()
    for item in document["nftables"]:
        rule = item.get("rule")
        if (
            rule
            and rule["chain"] == "forward"
            and rule["expr"][-1] == {"reject": {"type": "tcp reset"}}
        ):
            accept = dict(rule, expr=rule["expr"][:-1] + [{"accept": None}])
    index = next(i for i, item in enumerate(document["nftables"])
                 if item.get("rule", {}).get("expr") and item["rule"]["chain"] == "forward"
                 and item["rule"]["expr"][-1] == {"reject": {"type": "tcp reset"}})  # fmt: skip
    document["nftables"].insert(index, {"rule": accept})
    closures = forward_closures(parse_ruleset(json.dumps(document)))
    assert ("tcp", 9090) not in closures
    assert closures[("udp", 11211)]["exposure"] == "restricted"
