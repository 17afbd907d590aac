# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_scan action on the controller: the targets built from each host's plan and
inventory address, hosts without a plan or with the probe off left out, bad arguments named
before the scanner is reached."""

import pytest
import support
from ansible.errors import AnsibleActionFail
from ansible_collections.portguard.hardening.plugins.action import exposed_ports_scan
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError


def planned(*entries):
    findings = [
        {"protocol": protocol, "port": port, "address": "0.0.0.0", "scope": scope}
        for protocol, port, scope in entries
    ]
    return {"__exposed_ports_planned": {"plan": {"findings": findings, "allowed": [],
                                                 "compliant": []}}}  # fmt: skip


HOSTVARS = {
    "web1": dict(
        planned(("tcp", 80, "any"), ("udp", 111, "any"), ("tcp", 25, "loopback")),
        ansible_host="192.0.2.10",
    ),  # fmt: skip
    "web2": dict(
        planned(("tcp", 22, "any")),
        exposed_ports_probe_address="198.51.100.7",
        ansible_host="192.0.2.11",
    ),  # fmt: skip
    "web3": planned(("tcp", 443, "any")),
    "off": dict(planned(("tcp", 22, "any")), exposed_ports_probe=False),
    "failed": {"ansible_host": "192.0.2.99"},
}


def test_targets_come_from_each_hosts_plan_and_address():
    targets = exposed_ports_scan.targets_of(
        ["web1", "web2", "web3", "off", "failed", "unknown"], HOSTVARS, "listeners"
    )
    assert targets == [
        {"host": "web1", "address": "192.0.2.10", "tcp_ports": [80], "udp_ports": [111]},
        {"host": "web2", "address": "198.51.100.7", "tcp_ports": [22], "udp_ports": []},
        {"host": "web3", "address": "web3", "tcp_ports": [443], "udp_ports": []},
    ]
    more = exposed_ports_scan.targets_of(["web3"], HOSTVARS, ["53/udp", 8443])
    assert more == [
        {"host": "web3", "address": "web3", "tcp_ports": [443, 8443], "udp_ports": [53, 8443]}
    ]


def test_bad_ports_name_the_role_variable():
    with pytest.raises(PolicyError) as raised:
        exposed_ports_scan.targets_of(["web1"], HOSTVARS, "some")
    assert raised.value.errors == [
        "exposed_ports_probe_ports: 'some' is not listeners, all or a list of ports"
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        ({"hosts": ["web1"], "targets": []}, "hosts and targets: give one of them, not both"),
        ({"hosts": "web1"}, "hosts: expected a list of inventory names, got 'web1'"),
        ({}, "one of targets and hosts is required"),
        (
            {"hosts": ["web1"], "ports": "some"},
            "exposed_ports_probe_ports: 'some' is not listeners, all or a list of ports",
        ),
    ],
)
def test_bad_arguments_fail_before_the_scanner_is_reached(args, message):
    with pytest.raises(AnsibleActionFail) as raised:
        support.run_action("exposed_ports_scan", args, task_vars={"hostvars": HOSTVARS})
    assert message in str(raised.value)


def test_no_target_means_no_round_trip():
    result = support.run_action(
        "exposed_ports_scan", {"hosts": ["off", "failed"]}, task_vars={"hostvars": HOSTVARS}
    )
    assert (result["changed"], result["probes"], result["unprobed"]) == (False, [], [])
