# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans of captured lab hosts: findings from what the kernel filters, operations per backend."""

import json

import pytest
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError
from ansible_collections.portguard.hardening.plugins.plugin_utils._plan.build import (
    build,
    verify,
)
from hostreads import host_read

BLOCK_8080 = {"port": 8080, "protocol": "tcp", "action": "block", "sources": [],
              "ids": ["builtin-admin"], "forwarded": False}  # fmt: skip


def own_table(*ports):
    """nft JSON objects of table inet portguard rejecting each (port, protocol)."""
    items = [
        {"table": {"family": "inet", "name": "portguard", "handle": 90}},
        {"chain": {"family": "inet", "table": "portguard", "name": "input", "handle": 1,
                   "type": "filter", "hook": "input", "prio": -10, "policy": "accept"}},
        {"rule": {"family": "inet", "table": "portguard", "chain": "input", "handle": 2,
                  "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}},
                                      "right": "lo"}}, {"accept": None}]}},
    ]  # fmt: skip
    for handle, (port, protocol) in enumerate(ports, 3):
        reject = {"type": "tcp reset"} if protocol == "tcp" else None
        l4proto = {"meta": {"key": "l4proto"}}
        dport = {"payload": {"protocol": "th", "field": "dport"}}
        expr = [
            {"match": {"op": "==", "left": l4proto, "right": protocol}},
            {"match": {"op": "==", "left": dport, "right": port}},
            {"reject": reject},
        ]
        rule = {"family": "inet", "table": "portguard", "chain": "input", "handle": handle}
        items.append({"rule": dict(rule, expr=expr)})
    return items


def with_own_table(read, *ports, loaded=True):
    """The read of a host whose table inet portguard was written to block these ports (and is
    loaded in the kernel, unless ``loaded`` is false)."""
    if loaded:
        data = json.loads(read["host"]["ruleset"]["nft"])
        data["nftables"].extend(own_table(*ports))
        read["host"]["ruleset"]["nft"] = json.dumps(data)
    read["host"]["portguard_rules"] = [
        {"port": port, "protocol": protocol, "action": "block", "sources": [],
         "ids": ["builtin-admin"]}
        for port, protocol in ports
    ]  # fmt: skip
    return read


def plan_of(read, **options):
    return build(read, dict({"rules": []}, **options), "ssh", 22, diff=True)


def test_ufw_host_closes_in_the_own_table_beside_ufw():
    plan = plan_of(host_read("ufw"))
    assert plan["firewall"]["backend"]["name"] == "nftables"
    assert [f["name"] for f in plan["firewall"]["seen"] if f["state"] == "active"] == ["ufw"]
    closing = [f for f in plan["findings"] if f["action"] == "block"]
    assert [(f["port"], f["status"], f["backend"]) for f in closing] == [
        (8080, "open", "table inet portguard")
    ]
    assert closing[0]["exposed_via"] == [
        "kernel: accept by ip filter ufw-user-input rule 2 (handle 104): tcp dport 8080 accept"
    ]
    assert plan["operations"]["nftables"] == {
        "rules": [BLOCK_8080],
        "keep": [{"port": 22, "protocol": "tcp"}],
        "changes": True,
    }
    assert plan["operations"]["firewalld"] is None
    assert plan["changes"] is True
    assert (
        "tcp 0.0.0.0:8080 (?) closed to every outside source by table inet portguard\n"
        in (plan["diff"]["after"])
    )


def test_a_closed_port_stays_in_the_own_table_and_nothing_changes():
    plan = plan_of(with_own_table(host_read("ufw"), (8080, "tcp")))
    assert [f["port"] for f in plan["findings"] if f["action"] == "block"] == []
    firewalled = [c for c in plan["compliant"] if c["port"] == 8080]
    assert [(c["why"], c["policy_action"], c["policy_rule"]) for c in firewalled] == [
        ("firewalled", "block", "builtin-admin")
    ]
    assert plan["operations"]["nftables"]["rules"] == [BLOCK_8080]
    assert plan["operations"]["nftables"]["changes"] is False
    assert plan["changes"] is False


def test_a_port_the_policy_now_allows_is_released():
    rules = [{"id": "admin-ok", "match": {"ports": [8080]}, "action": "allow"}]
    plan = plan_of(with_own_table(host_read("ufw"), (8080, "tcp"), (9999, "tcp")), rules=rules)
    ops = plan["operations"]["nftables"]
    # 9999 has no listener now: its closure stays for the day one comes back.
    assert ops["rules"] == [dict(BLOCK_8080, port=9999)]
    assert ops["changes"] is True and plan["changes"] is True


def test_a_table_flushed_by_hand_is_loaded_again():
    plan = plan_of(with_own_table(host_read("ufw"), (8080, "tcp"), loaded=False))
    # The kernel no longer holds the table: 8080 is exposed again and the table goes back.
    assert [f["port"] for f in plan["findings"] if f["action"] == "block"] == [8080]
    assert plan["operations"]["nftables"]["rules"] == [BLOCK_8080]
    assert plan["operations"]["nftables"]["changes"] is True


def test_recorded_rules_that_are_not_rules_are_ignored():
    read = with_own_table(host_read("ufw"), (8080, "tcp"))
    read["host"]["portguard_rules"] += ["x", {"port": "y", "protocol": "tcp", "action": "block"},
                                        {"port": 1, "action": "allow"}]  # fmt: skip
    plan = plan_of(read)
    assert plan["operations"]["nftables"]["rules"] == [BLOCK_8080]


def test_no_nft_leaves_findings_open_and_says_what_to_do():
    read = host_read("ufw")
    read["host"]["tools"]["nft"] = None
    plan = plan_of(read)
    backend = plan["firewall"]["backend"]
    assert backend["name"] is None
    blocked = [f for f in plan["findings"] if f["port"] == 8080]
    assert blocked[0]["backend"] is None
    assert blocked[0]["note"] == backend["problem"]
    assert plan["changes"] is False


FIREWALLD_INFO = {
    "default_zone": "public",
    "zones": {
        "public": {"interfaces": ["eth0"], "sources": [], "services": ["ssh"], "ports": [],
                   "rich_rules": [], "target": "default"},
        "internal": {"interfaces": [], "sources": ["10.97.14.0/24"], "services": [],
                     "ports": [["3306", "tcp"]], "target": "default",
                     "rich_rules": ['rule family="ipv4" priority="-20" source '
                                    'address="192.0.2.0/24" port port="3306" protocol="tcp" '
                                    'accept']},
    },
}  # fmt: skip


def firewalld_read():
    read = host_read("firewalld", firewalld_info=FIREWALLD_INFO)
    read["host"]["firewalld"]["services"] = {
        "ssh": {"ports": ["22/tcp"], "includes": [], "all_ports": ["22/tcp"]}
    }
    return read


def test_firewalld_rules_go_to_each_zone_that_admits_the_port_once():
    rules = [{"id": "db", "match": {"ports": [3306]}, "action": "restrict",
              "sources": ["192.0.2.0/24"]}]  # fmt: skip
    plan = plan_of(firewalld_read(), rules=rules)
    assert plan["firewall"]["backend"]["name"] == "firewalld"
    ops = plan["operations"]["firewalld"]
    # The accept for the source is in place in internal already; only the reject is new.
    assert ops["rules"] == [
        {"zone": "internal", "port": "3306/tcp",
         "rule": 'rule priority="-10" port port="3306" protocol="tcp" reject'},
    ]  # fmt: skip
    assert (ops["start"], ops["install"], ops["changes"]) == (False, False, True)


def test_firewalld_configuration_and_kernel_disagreeing_is_a_note():
    info = json.loads(json.dumps(FIREWALLD_INFO))
    info["zones"]["public"]["ports"] = [["8080", "tcp"]]  # configured, not in the kernel
    read = host_read("firewalld", firewalld_info=info)
    plan = plan_of(read)
    assert any(n.startswith("8080/tcp on 0.0.0.0: firewalld's configuration says everyone, the "
                            "kernel's ruleset says closed") for n in plan["notes"])  # fmt: skip


@pytest.mark.parametrize(
    "change, errors",
    [
        (lambda r: r.pop("host"), ["read.host: expected a mapping, got None"]),
        (lambda r: r["host"].update(version=2),
         ["read.host.version: expected 1, got 2 (the module and the action plugin come from "
          "different releases)"]),
        (lambda r: r.update(listening_sockets="x"),
         ["read.listening_sockets: expected a list, got 'x'"]),
    ],
)  # fmt: skip
def test_bad_read_names_the_field(change, errors):
    read = host_read("ufw")
    change(read)
    with pytest.raises(PolicyError) as raised:
        plan_of(read)
    assert raised.value.errors == errors


def test_verify_counts_a_port_the_kernel_now_rejects_as_remediated():
    plan = plan_of(host_read("ufw"))
    after = with_own_table(host_read("ufw"), (8080, "tcp"))
    findings, _notes, firewall = verify(plan["findings"], after, {})
    assert [f["name"] for f in firewall["seen"] if f["state"] == "active"] == ["ufw", "portguard"]
    assert [(f["port"], f["status"]) for f in findings if f["action"] == "block"] == [
        (8080, "remediated")
    ]
    still, _notes, _firewall = verify(plan["findings"], host_read("ufw"), {})
    failed = [f for f in still if f["action"] == "block"]
    assert [(f["port"], f["status"]) for f in failed] == [(8080, "failed")]
    assert (
        "8080/tcp is still admitted from everyone: kernel: accept by ip filter" in failed[0]["note"]
    )


def test_firewalld_with_docker_has_no_false_exposure():
    """The docker zone (target ACCEPT, docker0 only) admits the host's own containers, no one
    else: as the probes from the controller saw, nothing but SSH gets in by the input path, and
    the port Docker publishes (9090) gets in by its port forward."""
    info = {
        "default_zone": "public",
        "zones": {
            "public": {"interfaces": ["eth0", "eth1"], "sources": [], "ports": [],
                       "services": ["ssh"], "rich_rules": [], "target": "default"},
            "docker": {"interfaces": ["docker0"], "sources": [], "ports": [], "services": [],
                       "rich_rules": [], "target": "ACCEPT"},
        },
    }  # fmt: skip
    read = host_read("firewalld-docker", firewalld_info=info)
    read["host"]["firewalld"]["services"] = {
        "ssh": {"ports": ["22/tcp"], "includes": [], "all_ports": ["22/tcp"]}
    }
    plan = plan_of(read)
    assert [(f["port"], f["family"], f["action"]) for f in plan["findings"]] == [
        (9090, "ipv4", "report"),
        (9090, "ipv6", "report"),
    ]
    assert "port forward (DNAT in ip nat DOCKER)" in plan["findings"][0]["exposed_via"][0]
    assert [f["name"] for f in plan["firewall"]["seen"] if f["state"] == "active"] == [
        "firewalld",
        "docker",
    ]
    # The one disagreement is true: firewalld's zones close 9090, Docker's forward opens it.
    disagree = [n for n in plan["notes"] if "firewalld's configuration says" in n]
    assert [n.split(": firewalld")[0] for n in disagree] == [
        "9090/tcp on 0.0.0.0",
        "9090/tcp on ::",
    ]


def test_a_table_that_lost_a_rule_is_written_again():
    """The rules file records 8080 but the loaded table lacks it: 8080 is exposed, so the module
    runs again."""
    read = with_own_table(host_read("ufw"), (9999, "tcp"))
    read["host"]["portguard_rules"].append(BLOCK_8080)
    plan = plan_of(read)
    ops = plan["operations"]["nftables"]
    assert ops["rules"] == [BLOCK_8080, dict(BLOCK_8080, port=9999)]
    assert ops["changes"] is True


def test_the_table_follows_todays_policy_for_a_port_it_closes():
    read = with_own_table(host_read("ufw"), (8080, "tcp"))
    rules = [{"id": "admins", "match": {"ports": [8080]}, "action": "restrict",
              "sources": ["198.51.100.0/24"]}]  # fmt: skip
    plan = plan_of(read, rules=rules)
    assert plan["operations"]["nftables"]["rules"] == [
        {"port": 8080, "protocol": "tcp", "action": "restrict", "sources": ["198.51.100.0/24"],
         "ids": ["admins"], "forwarded": False}
    ]  # fmt: skip
    assert plan["operations"]["nftables"]["changes"] is True


def test_recorded_rules_that_would_close_the_management_port_are_left_out():
    read = with_own_table(host_read("ufw"), (8080, "tcp"))
    read["host"]["portguard_rules"].append(dict(BLOCK_8080, port=22))
    read["host"]["portguard_rules"].append({"port": 70000, "protocol": "tcp", "action": "block"})
    plan = plan_of(read)
    assert plan["operations"]["nftables"]["rules"] == [BLOCK_8080]
    left_out = [n for n in plan["notes"] if n.startswith("/etc/portguard/nftables.nft: recorded")]
    assert len(left_out) == 2
    assert "refusing to close 22/tcp" in left_out[0]
    assert "70000" in left_out[1]


def test_firewalld_whose_zones_could_not_be_read_writes_to_its_default_zone():
    running = {"load_state": "loaded", "active_state": "active"}
    read = host_read("ufw", units={"firewalld.service": running})
    read["host"]["firewalld"] = {"default_zone": None, "info": None, "services": None,
                                 "error": "no D-Bus"}  # fmt: skip
    plan = plan_of(read)
    assert plan["firewall"]["backend"]["name"] == "firewalld"
    rules = plan["operations"]["firewalld"]["rules"]
    assert rules and {r["zone"] for r in rules} == {""}
    assert plan["operations"]["firewalld"]["changes"] is True
    assert any(
        n.startswith("firewalld runs but its zones could not be read") for n in plan["notes"]
    )
