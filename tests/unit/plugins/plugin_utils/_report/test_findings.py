# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's report of a host: counts, one line per finding, and what was not remediated."""

import pytest
import support
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.findings import (
    exposure_diff,
    finding_lines,
    summarize,
    unremediated,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import (
    fleet_data,
    render_html,
    render_markdown,
)

ADMIN_REASON = "Admin consoles and dev servers on 8080/8081/8888 are rarely meant to be public."


def finding(**changes):
    """A finding as evaluate/reconcile return it (the lab's admin console on 8080/tcp)."""
    base = dict(
        rule="builtin-admin",
        reason=ADMIN_REASON,
        port=8080,
        policy_action="block",
        action="block",
        processes=["python3"],
        pids=[90],
        unit="lab-admin.service",
    )
    base.update(changes)
    return support.finding(**base)


RPCBIND = dict(
    rule="builtin-rpcbind",
    reason="rpcbind maps RPC services.",
    port=111,
    processes=["systemd", "rpcbind"],
    unit="rpcbind.service",
    policy_action="disable",
    action="disable",
)
NGINX_V6 = dict(
    rule="default",
    reason="no rule matches; default_action is 'report'",
    family="ipv6",
    address="::",
    port=80,
    processes=["nginx"],
    unit="nginx.service",
    policy_action="report",
    action="report",
)


# ---------------------------------------------------------------------------
# summarize


@pytest.mark.parametrize(
    "findings,expected",
    [
        pytest.param(
            [],
            {"open": 0, "remediated": 0, "kept": 0, "failed": 0, "total": 0, "by_action": {}},
            id="empty",
        ),
        pytest.param(
            [finding(status="failed")],
            {
                "open": 0,
                "remediated": 0,
                "kept": 0,
                "failed": 1,
                "total": 1,
                "by_action": {"block": 1},
            },
            id="zeros-kept",
        ),
        pytest.param(
            [
                finding(),
                finding(**NGINX_V6),
                finding(status="remediated", **RPCBIND),
                finding(status="remediated", protocol="udp", **RPCBIND),
                # A disable that fell back to block counts as the block it became.
                finding(
                    rule="builtin-telnet",
                    port=23,
                    policy_action="disable",
                    status="failed",
                    note="held by inetd outside any systemd unit",
                ),
                finding(rule="no-ssh", port=22, action="report", status="kept"),
                finding(action="restrict", sources=["10.0.0.0/8"], port=11211, status="failed"),
            ],
            {
                "open": 2,
                "remediated": 2,
                "kept": 1,
                "failed": 2,
                "total": 7,
                "by_action": {"block": 2, "report": 2, "disable": 2, "restrict": 1},
            },
            id="every-status",
        ),
    ],
)
def test_summarize(findings, expected):
    assert summarize(findings) == expected


# ---------------------------------------------------------------------------
# finding_lines


@pytest.mark.parametrize(
    "changes,line",
    [
        pytest.param(
            {},
            "open       block    tcp 0.0.0.0:8080 (lab-admin.service) rule builtin-admin: "
            + ADMIN_REASON,
            id="ipv4",
        ),
        pytest.param(
            NGINX_V6,
            "open       report   tcp [::]:80 (nginx.service) rule default: "
            "no rule matches; default_action is 'report'",
            id="ipv6-in-brackets",
        ),
        pytest.param(
            dict(
                family="ipv6",
                address="2001:db8:0:1:5054:ff:fe12:3456",
                port=8443,
                protocol="udp",
                status="remediated",
                unit=None,
                processes=["caddy"],
            ),
            "remediated block    udp [2001:db8:0:1:5054:ff:fe12:3456]:8443 (caddy) "
            "rule builtin-admin: " + ADMIN_REASON,
            id="ipv6-long-status",
        ),
        pytest.param(
            dict(unit=None, processes=["systemd", "rpcbind"]),
            "open       block    tcp 0.0.0.0:8080 (systemd,rpcbind) rule builtin-admin: "
            + ADMIN_REASON,
            id="processes-without-unit",
        ),
        pytest.param(
            dict(unit=None, processes=[]),
            "open       block    tcp 0.0.0.0:8080 (no visible process) rule builtin-admin: "
            + ADMIN_REASON,
            id="no-visible-process",
        ),
        pytest.param(
            dict(
                status="failed",
                note="8080/tcp is still admitted from everyone: firewalld is stopped",
            ),
            "failed     block    tcp 0.0.0.0:8080 (lab-admin.service) rule builtin-admin: "
            + ADMIN_REASON
            + " [8080/tcp is still admitted from everyone: firewalld is stopped]",
            id="note-appended",
        ),
    ],
)
def test_finding_lines(changes, line):
    assert finding_lines([finding(**changes)]) == [line]


def test_finding_lines_one_per_finding_in_order():
    lines = finding_lines([finding(**NGINX_V6), finding(), finding(status="kept", port=22)])
    assert [line.split(" rule ", maxsplit=1)[0] for line in lines] == [
        "open       report   tcp [::]:80 (nginx.service)",
        "open       block    tcp 0.0.0.0:8080 (lab-admin.service)",
        "kept       block    tcp 0.0.0.0:22 (lab-admin.service)",
    ]


def test_finding_lines_empty():
    assert finding_lines([]) == ["no findings"]


# ---------------------------------------------------------------------------
# unremediated


@pytest.mark.parametrize(
    "findings,expected",
    [
        pytest.param([], [], id="empty"),
        pytest.param(
            [
                finding(status="failed", note="8080/tcp is still admitted from everyone"),
                finding(status="failed", port=11211, action="restrict", note=None),
            ],
            [
                "8080/tcp block (8080/tcp is still admitted from everyone)",
                "11211/tcp restrict (failed)",
            ],
            id="failed",
        ),
        pytest.param(
            [
                finding(),
                finding(status="open", protocol="udp", note="fell back to block", **RPCBIND),
                finding(status="open", port=11211, action="restrict", sources=["10.0.0.0/8"]),
                finding(status="open", action="disable", port=23, rule="builtin-telnet"),
            ],
            [
                "8080/tcp block (open)",
                "111/udp disable (fell back to block)",
                "11211/tcp restrict (open)",
                "23/tcp disable (open)",
            ],
            id="open-changes",
        ),
        pytest.param(
            [
                finding(status="open", **NGINX_V6),
                finding(status="kept", action="report", note="serves the connection"),
                finding(status="remediated"),
                finding(status="remediated", **RPCBIND),
            ],
            [],
            id="report-kept-remediated-excluded",
        ),
        pytest.param(
            [
                finding(status="remediated"),
                finding(status="failed", note="rpcbind.socket would start it again", **RPCBIND),
                finding(status="open", **NGINX_V6),
                finding(status="open", port=8081),
            ],
            ["111/tcp disable (rpcbind.socket would start it again)", "8081/tcp block (open)"],
            id="mixed",
        ),
    ],
)
def test_unremediated(findings, expected):
    assert unremediated(findings) == expected


def _diff_finding(port, action, status="open", **extra):
    finding = {
        "protocol": "tcp",
        "address": "0.0.0.0",
        "port": port,
        "unit": extra.pop("unit", "x.service"),
        "processes": [],
        "activated_by": extra.pop("activated_by", []),
        "action": action,
        "status": status,
        "sources": extra.pop("sources", []),
        "exposure": extra.pop("exposure", "everyone"),
        "exposed_to": extra.pop("exposed_to", []),
    }
    finding.update(extra)
    return finding


@pytest.mark.parametrize(
    ("finding", "before", "after", "changed"),
    [
        (
            _diff_finding(111, "disable", unit="rpcbind.service", activated_by=["rpcbind.socket"]),
            "tcp 0.0.0.0:111 (rpcbind.service) reachable from everyone\n",
            "tcp 0.0.0.0:111 (rpcbind.service) closed: rpcbind.service, rpcbind.socket stopped, "
            "disabled and masked\n",
            True,
        ),
        (
            _diff_finding(8080, "block"),
            "tcp 0.0.0.0:8080 (x.service) reachable from everyone\n",
            "tcp 0.0.0.0:8080 (x.service) closed to every outside source by firewalld\n",
            True,
        ),
        (
            _diff_finding(11211, "restrict", sources=["10.0.0.0/8", "fd00::/8"]),
            "tcp 0.0.0.0:11211 (x.service) reachable from everyone\n",
            "tcp 0.0.0.0:11211 (x.service) reachable only from 10.0.0.0/8, fd00::/8\n",
            True,
        ),
        (
            _diff_finding(80, "report"),
            "tcp 0.0.0.0:80 (x.service) reachable from everyone\n",
            "tcp 0.0.0.0:80 (x.service) reachable from everyone\n",
            False,
        ),
        (
            _diff_finding(
                22, "report", status="kept", exposure="restricted", exposed_to=["10.1.0.0/16"]
            ),
            "tcp 0.0.0.0:22 (x.service) reachable from 10.1.0.0/16\n",
            "tcp 0.0.0.0:22 (x.service) reachable from 10.1.0.0/16\n",
            False,
        ),
        (
            _diff_finding(8080, "block", status="remediated"),
            "tcp 0.0.0.0:8080 (x.service) reachable from everyone\n",
            "tcp 0.0.0.0:8080 (x.service) reachable from everyone\n",
            False,
        ),
    ],
)
def test_exposure_diff(finding, before, after, changed):
    assert exposure_diff([finding]) == {"changed": changed, "before": before, "after": after}


def test_exposure_diff_empty():
    assert exposure_diff([]) == {"changed": False, "before": "", "after": ""}


# ---------------------------------------------------------------------------
# Hostile names: every line that reaches the terminal is escaped

ESC = "\x1b"
# (unit, process names, note) as a process on the host could make them; the owner and the note
# as the terminal must show them.
HOSTILE = [
    pytest.param(
        "\x1b]0;title\x07x.service",
        ["sshd"],
        None,
        "\\x1b]0;title\\x07x.service",
        "failed",
        id="osc-title",
    ),
    pytest.param(
        "\x1b[2J.service", [], "gone \x1b[2J", "\\x1b[2J.service", "gone \\x1b[2J", id="csi-clear"
    ),
    pytest.param(None, ["\x9b2Jpy", "a\nb"], None, "\\x9b2Jpy,a\\x0ab", "failed", id="c1-in-comm"),
    pytest.param(
        "\u202eecivres.x", [], "\u2066x\u2069", "\\u202eecivres.x", "\\u2066x\\u2069", id="bidi"
    ),
    pytest.param("[a](//evil.io)", [], None, "[a](//evil.io)", "failed", id="markdown-as-is"),
    pytest.param("x' 'sshd.service", [], None, "x' 'sshd.service", "failed", id="quoted-split"),
]


def _raw_controls(text):
    return [c for c in text if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\u202e\u2066"]


@pytest.mark.parametrize("unit,processes,note,owner,shown_note", HOSTILE)
def test_finding_lines_and_failure_message_escape_host_names(
    unit, processes, note, owner, shown_note
):
    f = finding(unit=unit, processes=processes, note=note, status="failed")
    assert finding_lines([f]) == [
        "failed     block    tcp 0.0.0.0:8080 (%s) rule builtin-admin: %s%s"
        % (owner, ADMIN_REASON, " [%s]" % shown_note if note else "")
    ]
    assert unremediated([f]) == ["8080/tcp block (%s)" % shown_note]
    assert _raw_controls("".join(finding_lines([f]) + unremediated([f]))) == []


@pytest.mark.parametrize("unit,processes,note,owner,shown_note", HOSTILE)
def test_exposure_diff_escapes_host_names(unit, processes, note, owner, shown_note):
    f = _diff_finding(8080, "block", unit=unit, processes=processes, activated_by=[ESC + "c"])
    assert exposure_diff([f]) == {
        "changed": True,
        "before": "tcp 0.0.0.0:8080 (%s) reachable from everyone\n" % owner,
        "after": "tcp 0.0.0.0:8080 (%s) closed to every outside source by firewalld\n" % owner,
    }
    disable = exposure_diff([dict(f, action="disable", unit=unit or "\x1b[0m")])
    assert disable["after"].endswith(", \\x1bc stopped, disabled and masked\n")
    for text in disable["before"], disable["after"]:
        # One line per finding, and nothing in it a terminal would act on.
        assert text.count("\n") == 1
        assert _raw_controls(text[:-1]) == []


def test_a_hostile_container_name_is_data_in_every_view():
    """Whoever starts a container names it: escapes and newlines must not reach a terminal,
    a Markdown table or a page as markup."""
    name = "web\x1b[2J\n| <script>alert(1)</script>"
    finding = {"rule": "no-web", "protocol": "tcp", "family": "ipv4", "address": "0.0.0.0",
               "port": 9090, "action": "block", "status": "open", "unit": None, "processes": [],
               "container": {"engine": "docker", "id": "ab" * 32, "name": name,
                             "image": "lab/busybox", "project": None}}  # fmt: skip
    (line,) = finding_lines([finding])
    assert "\x1b" not in line and "\n" not in line
    assert "container web\\x1b[2J\\x0a| <script>" in line
    run = {"playbook": "audit", "started": "2026-12-02T00:00:00Z", "check_mode": True,
           "policy": {"default_action": "report", "rules": ["no-web"]}}  # fmt: skip
    doc = fleet_data({"h": {"state": "ok", "report": {"findings": [finding]}}}, run)
    page = render_html(doc)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    table = [row for row in render_markdown(doc).splitlines() if "9090" in row]
    assert len(table) == 1 and "\x1b" not in table[0] and "<script>" not in table[0]
