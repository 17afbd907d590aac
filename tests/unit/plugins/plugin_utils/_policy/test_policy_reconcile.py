# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""reconcile(): the findings checked against a read taken after remediation."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    PolicyError,
    evaluate,
    reconcile,
)
from policy_cases import (
    LAB,
    LAB_SOCKET_UNITS,
    REMEDIATED_RESTRICT,
    RICH_MC,
    lab_context,
    rule,
    running,
    zone,
)

# ---------------------------------------------------------------------------
# Reconcile


def lab_findings(rules=None, **context):
    return evaluate(LAB, rules, "report", True, lab_context(**context))["findings"]


REMEDIATED_UNITS = [
    dict(LAB_SOCKET_UNITS[0], active_state="inactive", unit_file_state="masked"),
    LAB_SOCKET_UNITS[1],
]
PUBLIC_AFTER = running(zone(services_ports=["22/tcp", "80/tcp"]))
WITHOUT_RPCBIND = [s for s in LAB if s["port"] != 111]


def statuses(findings):
    return [(f["protocol"], f["family"], f["port"], f["status"], f["note"]) for f in findings]


def test_reconcile_everything_remediated():
    findings = lab_findings()
    after = reconcile(findings, WITHOUT_RPCBIND, PUBLIC_AFTER, {"socket_units": REMEDIATED_UNITS})
    assert statuses(after) == [
        ("tcp", "ipv4", 80, "open", None),
        ("tcp", "ipv6", 80, "open", None),
        ("tcp", "ipv4", 111, "remediated", None),
        ("tcp", "ipv6", 111, "remediated", None),
        ("udp", "ipv4", 111, "remediated", None),
        ("udp", "ipv6", 111, "remediated", None),
        ("tcp", "ipv4", 8080, "remediated", None),
        ("tcp", "ipv4", 11211, "remediated", None),
    ]
    # Only status and note change.
    assert [dict(f, status=None, note=None) for f in after] == [
        dict(f, status=None, note=None) for f in findings
    ]


def test_reconcile_failures_say_what_is_still_exposed():
    findings = lab_findings()
    sockets_after = [s for s in LAB if not (s["port"] == 111 and s["protocol"] == "udp")]
    units_after = [dict(LAB_SOCKET_UNITS[0], active_state="inactive")]
    firewall_after = running(zone(ports=["8080/tcp"], services_ports=["22/tcp", "80/tcp"]))
    after = reconcile(findings, sockets_after, firewall_after, {"socket_units": units_after})
    assert statuses(after)[2:] == [
        (
            "tcp",
            "ipv4",
            111,
            "failed",
            "still listening on 0.0.0.0:111/tcp (unit rpcbind.service, held by systemd, rpcbind)",
        ),
        (
            "tcp",
            "ipv6",
            111,
            "failed",
            "still listening on [::]:111/tcp (unit rpcbind.service, held by systemd, rpcbind)",
        ),
        (
            "udp",
            "ipv4",
            111,
            "failed",
            "socket units would reopen 111/udp: rpcbind.socket (inactive, enabled)",
        ),
        (
            "udp",
            "ipv6",
            111,
            "failed",
            "socket units would reopen 111/udp: rpcbind.socket (inactive, enabled)",
        ),
        (
            "tcp",
            "ipv4",
            8080,
            "failed",
            "8080/tcp is still admitted from everyone: zone 'public' opens 8080/tcp",
        ),
        ("tcp", "ipv4", 11211, "remediated", None),
    ]


def test_reconcile_firewalld_still_stopped():
    after = reconcile(lab_findings(), WITHOUT_RPCBIND, {"state": "stopped"})
    assert statuses(after)[6:] == [
        (
            "tcp",
            "ipv4",
            8080,
            "failed",
            "8080/tcp is still admitted from everyone: firewalld is stopped",
        ),
        (
            "tcp",
            "ipv4",
            11211,
            "failed",
            "11211/tcp is still admitted from everyone: firewalld is stopped",
        ),
    ]


def test_reconcile_keeps_the_fallback_note():
    findings = lab_findings(nfs_in_use=True, nfs_reason="NFS mounts: /mnt/data")
    after = reconcile(findings, LAB, {"state": "stopped"})
    assert statuses(after)[2] == (
        "tcp",
        "ipv4",
        111,
        "failed",
        "rpcbind kept running: NFS is in use (NFS mounts: /mnt/data); port 111 blocked in "
        "firewalld instead; 111/tcp is still admitted from everyone: firewalld is stopped",
    )
    after = reconcile(findings, LAB, PUBLIC_AFTER)
    assert [f["status"] for f in after if f["port"] == 111] == ["remediated"] * 4


@pytest.mark.parametrize(
    "rich,status,note",
    [
        pytest.param([RICH_MC], "remediated", None, id="restricted"),
        pytest.param(REMEDIATED_RESTRICT, "remediated", None, id="role-rich-rules"),
        pytest.param(
            [
                RICH_MC,
                'rule source address="198.51.100.0/24" port port="11211" protocol="tcp" accept',
            ],
            "failed",
            "11211/tcp is also admitted from 198.51.100.0/24 (allowed: 10.0.0.0/8)",
            id="extra-source",
        ),
        pytest.param(
            [], "remediated", "11211/tcp is closed to everyone, its sources included", id="closed"
        ),
        pytest.param(
            ['rule port port="11211" protocol="tcp" accept'],
            "failed",
            "11211/tcp is still admitted from everyone: zone 'public' rich rule: "
            'rule port port="11211" protocol="tcp" accept',
            id="everyone",
        ),
    ],
)
def test_reconcile_restrict(rich, status, note):
    rules = [dict(rule("mc", "restrict", ports=[11211]), sources=["10.0.0.0/8"])]
    findings = [f for f in lab_findings(rules) if f["port"] == 11211]
    after = reconcile(findings, LAB, running(zone(rich_rules=rich)))
    assert [(f["status"], f["note"]) for f in after] == [(status, note)]


def test_reconcile_leaves_report_kept_and_finished_findings_alone():
    findings = lab_findings([rule("no-ssh", ports=[22])])
    findings[-1] = dict(findings[-1], status="remediated")
    after = reconcile(findings, LAB, None)
    assert [(f["port"], f["status"]) for f in after] == [
        (22, "kept"),
        (22, "kept"),
        (80, "open"),
        (80, "open"),
        (111, "failed"),
        (111, "failed"),
        (111, "failed"),
        (111, "failed"),
        (8080, "failed"),
        (11211, "remediated"),
    ]


@pytest.mark.parametrize(
    "findings,sockets_after,firewall_after,errors",
    [
        (None, [], None, ["findings: expected the findings list of evaluate, got None"]),
        (
            [{"rule": "x"}, "y"],
            [],
            None,
            [
                "findings[0]: missing protocol, family, address, port, action, status",
                "findings[1]: expected a mapping, got 'y'",
            ],
        ),
        ([], "none", None, ["sockets_after: expected a list of listening sockets, got 'none'"]),
        (
            [],
            [],
            {"state": None},
            ["firewall_after.state None is not one of absent, running, stopped"],
        ),
    ],
)
def test_reconcile_rejects_bad_input(findings, sockets_after, firewall_after, errors):
    with pytest.raises(PolicyError) as raised:
        reconcile(findings, sockets_after, firewall_after)
    assert raised.value.errors == errors
