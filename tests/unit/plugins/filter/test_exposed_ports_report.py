# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters over a report's findings: what they return and how they reject bad input."""

import copy

import pytest
import support
from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.filter.exposed_ports_report import (
    FilterModule,
)

FILTERS = FilterModule().filters()

ADMIN = support.finding(
    rule="builtin-admin",
    reason="Admin consoles are not meant to face the internet.",
    port=8080,
    action="block",
    unit="lab-admin.service",
    processes=["python3"],
)
RPCBIND = support.finding(
    rule="builtin-rpcbind",
    reason="rpcbind maps RPC services.",
    family="ipv6",
    address="::",
    port=111,
    protocol="udp",
    action="disable",
    unit="rpcbind.service",
    status="remediated",
)
SSH = support.finding(
    rule="no-ssh",
    reason="SSH only over the VPN",
    port=22,
    policy_action="block",
    action="report",
    status="kept",
    unit="ssh.service",
    note="serves the connection Ansible is using (22/tcp)",
)
FAILED = dict(ADMIN, status="failed", note="8080/tcp is still admitted from everyone")


def test_filter_names():
    assert sorted(FILTERS) == [
        "exposed_ports_fleet_entry",
        "exposed_ports_host_report",
        "exposed_ports_lines",
        "exposed_ports_summary",
        "exposed_ports_unremediated",
    ]


@pytest.mark.parametrize(
    "name,findings,expected",
    [
        pytest.param(
            "exposed_ports_summary",
            [],
            {"open": 0, "remediated": 0, "kept": 0, "failed": 0, "total": 0, "by_action": {}},
            id="summary-empty",
        ),
        pytest.param(
            "exposed_ports_summary",
            [ADMIN, RPCBIND, SSH, FAILED],
            {
                "open": 1,
                "remediated": 1,
                "kept": 1,
                "failed": 1,
                "total": 4,
                "by_action": {"block": 2, "disable": 1, "report": 1},
            },
            id="summary",
        ),
        pytest.param("exposed_ports_lines", [], ["no findings"], id="lines-empty"),
        pytest.param(
            "exposed_ports_lines",
            [RPCBIND, SSH],
            [
                "remediated disable  udp [::]:111 (rpcbind.service) rule builtin-rpcbind: "
                "rpcbind maps RPC services.",
                "kept       report   tcp 0.0.0.0:22 (ssh.service) rule no-ssh: SSH only over the "
                "VPN [serves the connection Ansible is using (22/tcp)]",
            ],
            id="lines",
        ),
        pytest.param("exposed_ports_unremediated", [RPCBIND, SSH], [], id="unremediated-none"),
        pytest.param(
            "exposed_ports_unremediated",
            [ADMIN, RPCBIND, SSH, FAILED, dict(ADMIN, action="report")],
            [
                "8080/tcp block (open)",
                "8080/tcp block (8080/tcp is still admitted from everyone)",
            ],
            id="unremediated",
        ),
    ],
)
def test_filter_values(name, findings, expected):
    before = copy.deepcopy(findings)
    assert FILTERS[name](findings) == expected
    assert findings == before


@pytest.mark.parametrize(
    "name", sorted(set(FILTERS) - {"exposed_ports_host_report", "exposed_ports_fleet_entry"})
)
@pytest.mark.parametrize(
    "findings,problems",
    [
        pytest.param(
            {"findings": []},
            "1 problem: findings: expected a list, got a mapping",
            id="not-a-list",
        ),
        pytest.param(
            [ADMIN, "8080/tcp"],
            "1 problem: findings[1]: expected a mapping, got '8080/tcp'",
            id="not-a-finding",
        ),
        pytest.param(
            [{"port": 22, "protocol": "tcp", "status": "open"}],
            "1 problem: findings[0]: missing rule, address, action",
            id="missing-keys",
        ),
        pytest.param(
            [{}],
            "1 problem: findings[0]: missing rule, protocol, address, port, action, status",
            id="empty-finding",
        ),
        pytest.param(
            [ADMIN, dict(ADMIN, port="80", status="closed", processes="nginx")],
            "3 problems: findings[1].port: expected a port (1-65535), got '80'; "
            "findings[1].status: expected one of open, remediated, kept, failed, got 'closed'; "
            "findings[1].processes: expected a list of strings, got 'nginx'",
            id="bad-values",
        ),
    ],
)
def test_bad_findings_are_named(name, findings, problems):
    with pytest.raises(AnsibleFilterError) as raised:
        FILTERS[name](findings)
    assert raised.value.message == name + ": " + problems
