# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for hosts whose containers publish ports: the Docker lab hosts captured in
_ruleset/fixtures (container "web" published on 9090 -> 8080, docker-proxy listening), with
the engine's state as exposed_ports_read returns it."""

import json

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.build import (
    build,
    verify,
)
from hostreads import host_read
from test_build import own_table

WEB_ID = "9d2e" + "b" * 60
BLOCK_WEB = {"id": "no-web", "match": {"containers": ["web"]}, "action": "block"}


def containers(*extra):
    items = [
        {
            "engine": "docker",
            "id": WEB_ID,
            "name": "web",
            "image": "lab/busybox:latest",
            "project": None,
            "network_mode": "bridge",
            "ports": [
                {
                    "host_ip": "0.0.0.0",
                    "host_port": 9090,
                    "protocol": "tcp",
                    "container_port": 8080,
                },
                {"host_ip": "::", "host_port": 9090, "protocol": "tcp", "container_port": 8080},
            ],
        }
    ]
    return {
        "engines": {"docker": {"state": "read", "source": "/run/docker.sock", "error": None}},
        "containers": items + list(extra),
    }


def docker_read(scenario="docker", proxy=True, **host):
    read = host_read(scenario, containers=containers(), **host)
    for sock in read["listening_sockets"]:
        if sock["port"] == 9090:
            # The capture's ss line: cgroup:/system.slice/docker.service (docker-proxy).
            sock.update(unit="docker.service", processes=[{"name": "docker-proxy", "pid": 812}])
    if not proxy:
        # Docker without its userland proxy: nothing listens on the published port.
        read["listening_sockets"] = [s for s in read["listening_sockets"] if s["port"] != 9090]
    return read


def plan_of(read, *rules):
    return build(read, {"rules": list(rules)}, "ssh", 22, diff=True)


def at(plan, port):
    return [f for f in plan["findings"] if f["port"] == port]


@pytest.mark.parametrize("proxy", [True, False], ids=["proxy", "no-proxy"])
def test_the_audit_names_the_container_of_a_published_port(proxy):
    plan = plan_of(docker_read(proxy=proxy))
    found = at(plan, 9090)
    assert [(f["family"], f["address"], f["action"]) for f in found] == [
        ("ipv4", "0.0.0.0", "report"),
        ("ipv6", "::", "report"),
    ]
    for finding in found:
        assert finding["container"] == {
            "engine": "docker",
            "id": WEB_ID,
            "name": "web",
            "image": "lab/busybox:latest",
            "project": None,
        }
        assert finding["published"]["container_port"] == 8080
        assert finding["published"]["listener"] is proxy
        assert "port forward (DNAT in ip nat DOCKER)" in finding["exposed_via"][0]
    assert "container web (docker, lab/busybox:latest)" in plan["diff"]["before"]


@pytest.mark.parametrize("proxy", [True, False], ids=["proxy", "no-proxy"])
def test_a_blocked_container_port_is_closed_in_the_own_table(proxy):
    plan = plan_of(docker_read(proxy=proxy), BLOCK_WEB)
    assert [(f["action"], f["status"], f["backend"]) for f in at(plan, 9090)] == [
        ("block", "open", "table inet portguard")
    ] * 2
    rules = plan["operations"]["nftables"]["rules"]
    assert {
        "port": 9090,
        "protocol": "tcp",
        "action": "block",
        "sources": [],
        "ids": ["no-web"],
        "forwarded": True,
    } in rules
    # Only the published port closes DNAT'd traffic; the lab's other closures do not.
    assert [r["port"] for r in rules if r["forwarded"]] == [9090]
    assert plan["operations"]["units"] == []
    assert plan["changes"] is True


def test_disable_never_stops_the_engine():
    rule = {"id": "no-busybox", "match": {"images": ["lab/busybox*"]}, "action": "disable"}
    plan = plan_of(docker_read(), rule)
    found = at(plan, 9090)
    assert [(f["policy_action"], f["action"]) for f in found] == [("disable", "block")] * 2
    assert found[0]["note"] == (
        "a port container 'web' (docker) publishes: its engine is never stopped for one "
        "container's port, so it cannot be disabled; port 9090/tcp blocked in table inet "
        "portguard instead"
    )
    assert plan["operations"]["units"] == []


def test_a_rule_for_another_container_or_image_does_not_match():
    rules = [
        {"id": "db", "match": {"containers": ["db-*"]}, "action": "block"},
        {"id": "img", "match": {"images": ["nginx:*"]}, "action": "block"},
        # Matches no listener of the host: only containers have images.
        {"id": "any-image", "match": {"ports": [80], "images": ["*"]}, "action": "block"},
    ]
    plan = plan_of(docker_read(), *rules)
    assert set(f["rule"] for f in at(plan, 9090)) == {"default"}
    assert [f["action"] for f in at(plan, 80)] == ["report", "report"]


def forward_chain(port, protocol):
    """nft JSON objects of the collection's forward chain rejecting DNAT'd packets of a port,
    in the shape nft 1.0.6 lists them (fixtures/forward.bookworm.json of _firewall)."""
    chain = {"family": "inet", "table": "portguard", "name": "forward", "handle": 2,
             "type": "filter", "hook": "forward", "prio": -10, "policy": "accept"}  # fmt: skip
    expr = [
        {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": protocol}},
        {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}},
        {"match": {"op": "==", "left": {"ct": {"key": "proto-dst", "dir": "original"}},
                   "right": port}},
        {"reject": {"type": "tcp reset"}},
    ]  # fmt: skip
    rule = {"family": "inet", "table": "portguard", "chain": "forward", "handle": 9, "expr": expr}
    return [{"chain": chain}, {"rule": rule}]


def with_table(read, forward=True):
    data = json.loads(read["host"]["ruleset"]["nft"])
    data["nftables"].extend(own_table((9090, "tcp")))
    if forward:
        data["nftables"].extend(forward_chain(9090, "tcp"))
    read["host"]["ruleset"]["nft"] = json.dumps(data)
    read["host"]["portguard_rules"] = [
        {
            "port": 9090,
            "protocol": "tcp",
            "action": "block",
            "sources": [],
            "ids": ["no-web"],
            "forwarded": True,
        }
    ]
    return read


@pytest.mark.parametrize("proxy", [True, False], ids=["proxy", "no-proxy"])
def test_verify_counts_the_port_closed_only_when_its_forward_is_rejected(proxy):
    plan = plan_of(docker_read(proxy=proxy), BLOCK_WEB)
    options = {"rules": [BLOCK_WEB]}
    done, _notes, _fw = verify(plan["findings"], with_table(docker_read(proxy=proxy)), options)
    assert [f["status"] for f in at({"findings": done}, 9090)] == ["remediated"] * 2
    # An input rule alone (firewalld's, ufw's, the table's before it had a forward chain)
    # leaves the forwarded packets admitted.
    after = with_table(docker_read(proxy=proxy), forward=False)
    still, _notes, _fw = verify(plan["findings"], after, options)
    failed = at({"findings": still}, 9090)
    assert [f["status"] for f in failed] == ["failed"] * 2
    assert "is still admitted from everyone: kernel: a port forward" in failed[0]["note"]


def test_a_closed_container_port_is_compliant_and_stays_closed():
    plan = plan_of(with_table(docker_read()), BLOCK_WEB)
    assert at(plan, 9090) == []
    # The table keeps the closure (the other ports are the built-in rules' to close).
    rules = plan["operations"]["nftables"]["rules"]
    assert [r["ids"] for r in rules if r["port"] == 9090] == [["no-web"]]
    kept = [c for c in plan["compliant"] if c["port"] == 9090]
    assert [(c["why"], c["container"]["name"]) for c in kept] == [("firewalled", "web")] * 2


def test_firewalld_hosts_close_forwarded_ports_in_the_own_table():
    info = {
        "default_zone": "public",
        "zones": {
            "public": {"interfaces": ["eth0", "eth1"], "sources": [], "ports": [],
                       "services": ["ssh"], "rich_rules": [], "target": "default"},
            "docker": {"interfaces": ["docker0"], "sources": [], "ports": [], "services": [],
                       "rich_rules": [], "target": "ACCEPT"},
        },
    }  # fmt: skip
    read = docker_read("firewalld-docker", firewalld_info=info)
    read["host"]["firewalld"]["services"] = {
        "ssh": {"ports": ["22/tcp"], "includes": [], "all_ports": ["22/tcp"]}
    }
    plan = plan_of(read, BLOCK_WEB)
    assert plan["firewall"]["backend"]["name"] == "firewalld"
    assert plan["operations"]["firewalld"]["rules"] == []
    assert [r["port"] for r in plan["operations"]["nftables"]["rules"]] == [9090]
    assert [f["backend"] for f in at(plan, 9090)] == ["table inet portguard"] * 2
