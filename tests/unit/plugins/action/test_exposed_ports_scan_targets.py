# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_scan action on the controller: the targets built from each host's plan and
the probe settings it carries, hosts without a plan, with the probe off, that do not name the
scanner or whose facts set role variables left out, bad arguments named before the scanner is
reached."""

import pytest
import support
from ansible.errors import AnsibleActionFail
from ansible_collections.portguard.hardening.plugins.action import exposed_ports_scan
from ansible_collections.portguard.hardening.plugins.module_utils._values import PolicyError


def planned(*entries, **probe):
    findings = [
        {"protocol": protocol, "port": port, "address": "0.0.0.0", "scope": scope}
        for protocol, port, scope in entries
    ]
    plan = {"findings": findings, "allowed": [], "compliant": []}
    if probe:
        plan["probe"] = dict(
            {"enabled": True, "here": True, "scanners": ["scan1"], "address": "",
             "ports": "listeners"}, **probe)  # fmt: skip
    return {"__exposed_ports_planned": {"plan": plan}}


HOSTVARS = {
    "web1": dict(
        planned(("tcp", 80, "any"), ("udp", 111, "any"), ("tcp", 25, "loopback"), address=""),
        ansible_host="192.0.2.10",
    ),  # fmt: skip
    "web2": dict(
        planned(("tcp", 22, "any"), address="198.51.100.7"),
        # What the plan checked counts, not a variable read again.
        exposed_ports_probe_address="203.0.113.1",
        ansible_host="192.0.2.11",
    ),  # fmt: skip
    "web3": planned(("tcp", 443, "any"), ports=["53/udp", 8443]),
    "off": dict(planned(("tcp", 22, "any"), enabled=False), ansible_host="192.0.2.12"),
    "elsewhere": dict(planned(("tcp", 22, "any"), scanners=["scan2"]), ansible_host="192.0.2.13"),
    "failed": {"ansible_host": "192.0.2.99"},
    "liar": dict(
        planned(("tcp", 22, "any")),
        ansible_host="192.0.2.14",
        exposed_ports_probe_address="198.51.100.99",
        ansible_facts={"exposed_ports_probe_address": "198.51.100.99"},
    ),  # fmt: skip
    # A plan of an earlier release, without its probe settings: probed as before.
    "older": dict(planned(("tcp", 22, "any")), ansible_host="192.0.2.15"),
}
EVERY = list(HOSTVARS) + ["unknown"]


def test_targets_come_from_each_hosts_plan_and_its_probe_settings():
    assert exposed_ports_scan.targets_of(EVERY, HOSTVARS, "listeners", "scan1") == [
        {"host": "web1", "address": "192.0.2.10", "tcp_ports": [80], "udp_ports": [111]},
        {"host": "web2", "address": "198.51.100.7", "tcp_ports": [22], "udp_ports": []},
        {"host": "web3", "address": "web3", "tcp_ports": [443, 8443], "udp_ports": [53, 8443]},
        {"host": "older", "address": "192.0.2.15", "tcp_ports": [22], "udp_ports": []},
    ]
    assert [t["host"] for t in exposed_ports_scan.targets_of(EVERY, HOSTVARS, [], "scan2")] == [
        "elsewhere",
        "older",
    ]


def test_bad_ports_name_the_role_variable():
    with pytest.raises(PolicyError) as raised:
        exposed_ports_scan.targets_of(["older"], HOSTVARS, "some")
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
            {"hosts": ["older"], "ports": "some"},
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
        "exposed_ports_scan",
        {"hosts": ["off", "failed", "liar", "elsewhere"], "scanner": "scan1"},
        task_vars={"hostvars": HOSTVARS},
    )
    assert (result["changed"], result["probes"], result["unprobed"]) == (False, [], [])


def test_the_scanners_answer_brings_no_facts(monkeypatch):
    """A run_once task's facts would go to every host of the batch: none are taken."""
    answer = {
        "changed": False,
        "probes": [{"host": "older"}],
        "unprobed": [],
        "ansible_facts": {"exposed_ports_probe_address": "198.51.100.99"},
        "_ansible_facts_gathered": True,
        "invocation": {"module_args": {}},
    }
    monkeypatch.setattr(
        exposed_ports_scan.ActionModule, "_execute_module", lambda self, **kwargs: dict(answer)
    )
    result = support.run_action(
        "exposed_ports_scan",
        {"hosts": ["older"], "scanner": "scan1"},
        task_vars={"hostvars": HOSTVARS},
    )
    assert "ansible_facts" not in result and "_ansible_facts_gathered" not in result
    assert (result["probes"], result["unprobed"]) == ([{"host": "older"}], [])
