# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A disable never takes down a listener the policy keeps: a unit (or socket unit) that also
serves a kept listener is not disabled; its forbidden ports are blocked instead."""

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
    evaluate,
    reconcile,
)

SSH = {"management_ports": [{"port": 22, "protocol": "tcp"}]}
INSTEAD = "port 23/tcp blocked in firewalld instead"


def sock(protocol, address, port, unit, activated_by=(), pid=5):
    family = "ipv6" if ":" in address else "ipv4"
    scope = "any" if address in ("0.0.0.0", "::") else "private"
    if address.startswith("127.") or address == "::1":
        scope = "loopback"
    return {
        "protocol": protocol,
        "family": family,
        "address": address,
        "port": port,
        "interface": None,
        "scope": scope,
        "v6only": True if family == "ipv6" else None,
        "inode": 1000 + port,
        "uid": 0,
        "holders": "process",
        "processes": [{"pid": pid, "name": unit.split(".")[0], "user": "root", "uid": 0}],
        "unit": unit,
        # As listening_facts reports a unit systemd (PID 1) confirmed.
        "unit_verified": True,
        "unit_problem": None,
        "activated_by": list(activated_by),
    }


def rule(rule_id, action, ports, protocols=("tcp", "udp"), **extra):
    entry = {
        "id": rule_id,
        "match": {"ports": ports, "protocols": list(protocols)},
        "action": action,
    }
    entry.update(extra)
    return entry


def inetd(port, protocol="tcp", address="0.0.0.0"):
    return sock(protocol, address, port, "inetd.service")


def two_ports(port, unit="two.service"):
    # Both listeners come from one .socket unit with two ListenStream= lines, held by systemd.
    return sock("tcp", "0.0.0.0", port, unit, ["two.socket"], pid=1)


TWO_SOCKET = [{"unit": "two.socket", "triggers": ["two.service"], "listen": []}]
PUBLIC_23 = {"state": "running", "zones": [{"name": "public", "ports": ["23/tcp"]}]}


def judged(sockets, rules, context):
    result = evaluate(sockets, rules, "report", True, dict(SSH, **context))
    return result


@pytest.mark.parametrize(
    "sockets,rules,context,expected,disabled",
    [
        pytest.param(
            [inetd(23), inetd(13)],
            [rule("daytime", "allow", [13])],
            {},
            {
                (23, "tcp"): "inetd.service also serves listeners the policy keeps (13/tcp: "
                f"allowed), so it is not disabled; {INSTEAD}"
            },
            [],
            id="inetd-daytime-allowed",
        ),
        pytest.param(
            [inetd(23), inetd(13)],
            [],
            {},
            {
                (23, "tcp"): "inetd.service also serves listeners the policy keeps (13/tcp: "
                f"reported), so it is not disabled; {INSTEAD}"
            },
            [],
            id="inetd-daytime-reported",
        ),
        pytest.param(
            [inetd(23), inetd(13, "udp", "127.0.0.1")],
            [],
            {},
            {
                (23, "tcp"): "inetd.service also serves listeners the policy keeps (13/udp: "
                f"loopback), so it is not disabled; {INSTEAD}"
            },
            [],
            id="inetd-daytime-on-loopback",
        ),
        pytest.param(
            [inetd(23), inetd(13)],
            [],
            {"firewall": PUBLIC_23},
            {
                (23, "tcp"): "inetd.service also serves listeners the policy keeps (13/tcp: "
                f"firewalled), so it is not disabled; {INSTEAD}"
            },
            [],
            id="inetd-daytime-firewalled",
        ),
        pytest.param(
            [inetd(23), inetd(3306)],
            [],
            {},
            {
                (23, "tcp"): "inetd.service also serves listeners the policy keeps (3306/tcp: "
                f"blocked), so it is not disabled; {INSTEAD}"
            },
            [],
            id="a-blocked-listener-keeps-running",
        ),
        pytest.param(
            [inetd(23), inetd(7000)],
            [rule("app", "restrict", [7000], sources=["10.0.0.0/8"])],
            {},
            {
                (23, "tcp"): "inetd.service also serves listeners the policy keeps (7000/tcp: "
                f"restricted), so it is not disabled; {INSTEAD}"
            },
            [],
            id="a-restricted-listener-keeps-running",
        ),
        pytest.param(
            [inetd(23), inetd(22)],
            [],
            {},
            {
                (23, "tcp"): "inetd.service also serves the connection Ansible is using, so it "
                f"is not disabled; {INSTEAD}"
            },
            [],
            id="kept-for-the-connection",
        ),
        pytest.param(
            [inetd(23), inetd(13), inetd(13, "udp")],
            [rule("daytime", "disable", [13])],
            {},
            {},
            [("inetd.service", [], ["13/tcp", "13/udp", "23/tcp"])],
            id="every-listener-disabled",
        ),
        pytest.param(
            [inetd(23), sock("tcp", "0.0.0.0", 13, "daytime.service")],
            [rule("daytime", "allow", [13])],
            {},
            {},
            [("inetd.service", [], ["23/tcp"])],
            id="kept-listener-of-another-unit",
        ),
        pytest.param(
            [
                sock("tcp", "0.0.0.0", 80, "nginx.service"),
                sock("tcp", "::", 80, "nginx.service"),
                sock("tcp", "0.0.0.0", 8080, "nginx.service"),
            ],
            [rule("web", "allow", [80]), rule("alt", "disable", [8080])],
            {},
            {
                (8080, "tcp"): "nginx.service also serves listeners the policy keeps (80/tcp: "
                "allowed), so it is not disabled; port 8080/tcp blocked in firewalld instead"
            },
            [],
            id="nginx-80-kept-8080-forbidden",
        ),
        pytest.param(
            [
                sock("tcp", "0.0.0.0", 11211, "memcached.service"),
                sock("udp", "0.0.0.0", 11211, "memcached.service"),
            ],
            [
                rule("cache", "allow", [11211], ["tcp"]),
                rule("no-udp", "disable", [11211], ["udp"]),
            ],
            {},
            {
                (11211, "udp"): "memcached.service also serves listeners the policy keeps "
                "(11211/tcp: allowed), so it is not disabled; port 11211/udp blocked in "
                "firewalld instead"
            },
            [],
            id="memcached-tcp-kept-udp-forbidden",
        ),
        pytest.param(
            [
                sock("tcp", "0.0.0.0", 111, "rpcbind.service", ["rpcbind.socket"]),
                sock("udp", "0.0.0.0", 111, "rpcbind.service", ["rpcbind.socket"]),
                sock("udp", "0.0.0.0", 784, "rpcbind.service"),
            ],
            [],
            {"socket_units": [{"unit": "rpcbind.socket", "triggers": ["rpcbind.service"]}]},
            dict(
                (
                    (111, protocol),
                    "rpcbind.service also serves listeners the policy keeps (784/udp: reported), "
                    f"so it is not disabled; port 111/{protocol} blocked in firewalld instead",
                )
                for protocol in ("tcp", "udp")
            ),
            [],
            id="rpcbind-with-a-reported-port",
        ),
        pytest.param(
            [two_ports(23), two_ports(13)],
            [rule("daytime", "allow", [13])],
            {"socket_units": TWO_SOCKET},
            {
                (23, "tcp"): "two.service, two.socket also serve listeners the policy keeps "
                f"(13/tcp: allowed), so they are not disabled; {INSTEAD}"
            },
            [],
            id="socket-unit-with-two-listen-lines",
        ),
        pytest.param(
            # telnetd was started by its socket; daytime still waits in systemd's hands.
            [
                sock("tcp", "0.0.0.0", 23, "telnetd.service", ["multi.socket"]),
                sock("tcp", "0.0.0.0", 13, "daytime.service", ["multi.socket"], pid=1),
            ],
            [rule("daytime", "allow", [13])],
            {},
            {
                (23, "tcp"): "multi.socket also serves listeners the policy keeps (13/tcp: "
                f"allowed), so it is not disabled; {INSTEAD}"
            },
            [],
            id="socket-unit-shared-by-two-services",
        ),
        pytest.param(
            # The socket unit that triggers the service listens on a kept port.
            [
                sock("tcp", "0.0.0.0", 23, "telnetd.service"),
                sock("tcp", "0.0.0.0", 13, "telnetd.service", ["telnetd.socket"], pid=1),
            ],
            [rule("daytime", "allow", [13])],
            {"socket_units": [{"unit": "telnetd.socket", "triggers": ["telnetd.service"]}]},
            {
                (23, "tcp"): "telnetd.service, telnetd.socket also serve listeners the policy "
                f"keeps (13/tcp: allowed), so they are not disabled; {INSTEAD}"
            },
            [],
            id="triggering-socket-unit",
        ),
        pytest.param(
            # a.service keeps 13, b.service shares a.socket with a: neither may go.
            [
                sock("tcp", "0.0.0.0", 13, "a.service"),
                sock("tcp", "0.0.0.0", 23, "a.service", ["ab.socket"]),
                sock("tcp", "0.0.0.0", 2323, "b.service", ["ab.socket"]),
            ],
            [rule("daytime", "allow", [13]), rule("alt-telnet", "disable", [2323])],
            {},
            {
                (23, "tcp"): "a.service also serves listeners the policy keeps (13/tcp: "
                f"allowed), so it is not disabled; {INSTEAD}",
                (2323, "tcp"): "b.service shares socket units with units that serve listeners "
                "the policy keeps (13/tcp: allowed), so it is not disabled; port 2323/tcp "
                "blocked in firewalld instead",
            },
            [],
            id="through-a-shared-socket-unit",
        ),
        pytest.param(
            [inetd(23)] + [inetd(port) for port in (1, 2, 3, 4, 5, 6, 7)],
            [],
            {},
            {
                (23, "tcp"): "inetd.service also serves listeners the policy keeps (1/tcp: "
                "reported; 2/tcp: reported; 3/tcp: reported; 4/tcp: reported; 5/tcp: reported; "
                f"2 more), so it is not disabled; {INSTEAD}"
            },
            [],
            id="long-lists-are-cut",
        ),
    ],
)
def test_a_disable_spares_the_listeners_the_policy_keeps(
    sockets, rules, context, expected, disabled
):
    result = judged(sockets, rules, context)
    notes = dict(
        ((f["port"], f["protocol"]), f["note"])
        for f in result["findings"]
        if f["policy_action"] == "disable" and f["action"] == "block"
    )
    assert notes == expected
    assert [
        (u["unit"], u["socket_units"], u["ports"]) for u in result["plan"]["disable_units"]
    ] == disabled
    blocked = set((b["port"], b["protocol"]) for b in result["plan"]["firewall_block"])
    assert set(expected) <= blocked
    assert result["summary"]["by_action"]["disable"] == sum(
        len(u["ports"]) for u in result["plan"]["disable_units"]
    )


def test_after_remediation_the_kept_listener_is_still_there_and_the_port_is_blocked():
    sockets = [inetd(23), inetd(13)]
    result = judged(sockets, [rule("daytime", "allow", [13])], {})
    assert result["allowed"][0]["port"] == 13
    blocked = {"state": "running", "zones": [{"name": "public", "ports": ["13/tcp"]}]}
    after = reconcile(result["findings"], sockets, blocked, {})
    assert [(f["port"], f["action"], f["status"]) for f in after] == [(23, "block", "remediated")]
    assert after[0]["note"].startswith("inetd.service also serves listeners the policy keeps")
