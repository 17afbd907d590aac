# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The approved baseline: entries, the document, validation, matching, what went missing."""

import copy
import datetime

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._policy.baseline import (
    BaselineError,
    baseline_document,
    baseline_entries,
    baseline_index,
    in_baseline,
    missing_from,
    validate_baseline,
    validate_listeners,
)

ENTRY_KNOWN = "(known: port, protocol, scope, unit)"
DOC_KNOWN = "(known: host, listeners, recorded_at, version)"
NO_UNIT = "(write unit: null for a listener without a systemd unit)"
SCOPES = "any, loopback, link_local, private, public"


def sock(protocol, address, port, unit=None, scope=None):
    """A listening_facts socket, reduced to what the baseline reads (plus family and address)."""
    if scope is None:
        scope = "any" if address in ("0.0.0.0", "::") else "private"
        if address.startswith("127.") or address == "::1":
            scope = "loopback"
    return {
        "protocol": protocol,
        "family": "ipv6" if ":" in address else "ipv4",
        "address": address,
        "port": port,
        "scope": scope,
        "unit": unit,
        "interface": None,
        "processes": [],
        "activated_by": [],
    }


def entry(protocol, port, scope, unit):
    return {"protocol": protocol, "port": port, "scope": scope, "unit": unit}


HOST = [
    sock("tcp", "::", 80, "nginx.service"),
    sock("tcp", "0.0.0.0", 80, "nginx.service"),
    sock("tcp", "0.0.0.0", 22, "ssh.service"),
    sock("tcp", "::", 22, "ssh.service"),
    sock("udp", "127.0.0.53", 53, "systemd-resolved.service"),
    sock("tcp", "127.0.0.53", 53, "systemd-resolved.service"),
    sock("udp", "0.0.0.0", 68, None),
    sock("udp", "fe80::1", 546, "systemd-networkd.service", scope="link_local"),
    sock("tcp", "10.0.0.5", 80, "nginx.service"),
]

HOST_ENTRIES = [
    entry("tcp", 22, "any", "ssh.service"),
    entry("tcp", 53, "loopback", "systemd-resolved.service"),
    entry("udp", 53, "loopback", "systemd-resolved.service"),
    entry("udp", 68, "any", None),
    entry("tcp", 80, "any", "nginx.service"),
    entry("tcp", 80, "private", "nginx.service"),
    entry("udp", 546, "link_local", "systemd-networkd.service"),
]


# ---------------------------------------------------------------------------
# Entries and the document


def test_baseline_entries_collapse_families_and_keep_loopback():
    assert baseline_entries(HOST) == HOST_ENTRIES


@pytest.mark.parametrize(
    "sockets,expected",
    [
        pytest.param([], [], id="none"),
        pytest.param(
            [sock("tcp", "0.0.0.0", 9000, "b.service"), sock("tcp", "::", 9000, "a.service")],
            [entry("tcp", 9000, "any", "a.service"), entry("tcp", 9000, "any", "b.service")],
            id="units-kept-apart-and-sorted",
        ),
        pytest.param(
            [sock("tcp", "0.0.0.0", 9000, "a.service"), sock("tcp", "0.0.0.0", 9000)],
            [entry("tcp", 9000, "any", None), entry("tcp", 9000, "any", "a.service")],
            id="no-unit-first",
        ),
        pytest.param(
            [dict(sock("udp", "0.0.0.0", 5353), unit="avahi-daemon.service")] * 3,
            [entry("udp", 5353, "any", "avahi-daemon.service")],
            id="duplicates",
        ),
        pytest.param(
            [{"protocol": "tcp", "port": 7, "scope": "public"}],
            [entry("tcp", 7, "public", None)],
            id="unit-key-absent",
        ),
    ],
)
def test_baseline_entries(sockets, expected):
    assert baseline_entries(sockets) == expected


def test_baseline_entries_do_not_change_or_share_their_input():
    sockets = copy.deepcopy(HOST)
    entries = baseline_entries(sockets)
    entries[0]["port"] = 1
    assert sockets == HOST


@pytest.mark.parametrize(
    "sockets,errors",
    [
        pytest.param(
            {"port": 22}, ["sockets: expected a list of listening sockets, got a mapping"], id="map"
        ),
        pytest.param(
            [
                "22/tcp",
                {"protocol": "sctp", "port": 0, "scope": "global", "unit": ""},
                {"port": True},
            ],
            [
                "sockets[0]: expected a mapping, got '22/tcp'",
                "sockets[1].protocol 'sctp' is not one of tcp, udp",
                "sockets[1].port 0 is not a port (an integer 1-65535)",
                f"sockets[1].scope 'global' is not one of {SCOPES}",
                "sockets[1].unit must be a unit name or null, got ''",
                "sockets[2]: missing 'protocol'",
                "sockets[2]: missing 'scope'",
                "sockets[2].port True is not a port (an integer 1-65535)",
            ],
            id="entries",
        ),
    ],
)
def test_baseline_entries_reject_bad_sockets(sockets, errors):
    with pytest.raises(BaselineError) as raised:
        baseline_entries(sockets)
    assert raised.value.errors == errors


def test_baseline_document():
    doc = baseline_document("web1", HOST, "2024-05-01T10:00:00Z")
    assert doc == {
        "version": 1,
        "host": "web1",
        "recorded_at": "2024-05-01T10:00:00Z",
        "listeners": HOST_ENTRIES,
    }
    # What the baseline playbook writes must pass what the audit checks.
    assert validate_baseline(doc) == []
    assert list(doc) == ["version", "host", "recorded_at", "listeners"]


def test_baseline_document_reports_every_problem():
    with pytest.raises(BaselineError) as raised:
        baseline_document(" ", [{"protocol": "tcp", "port": 22}], None)
    assert raised.value.errors == [
        "sockets[0]: missing 'scope'",
        "host must be a non-empty string, got ' '",
        "recorded_at must be a non-empty string, got None",
    ]
    assert str(raised.value) == "; ".join(raised.value.errors)


# ---------------------------------------------------------------------------
# Validation


def doc(**changes):
    base = {
        "version": 1,
        "host": "web1",
        "recorded_at": "2024-05-01T10:00:00Z",
        "listeners": [entry("tcp", 22, "any", "ssh.service"), entry("udp", 68, "any", None)],
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doc(), id="full"),
        pytest.param(doc(listeners=[]), id="no-listeners"),
        pytest.param(doc(recorded_at=None), id="recorded-at-null"),
        pytest.param(
            doc(recorded_at=datetime.datetime(2024, 5, 1, 10, 0)), id="recorded-at-unquoted-yaml"
        ),
        pytest.param(
            dict((k, v) for k, v in doc().items() if k != "recorded_at"), id="no-recorded-at"
        ),
        pytest.param(
            doc(
                listeners=[
                    entry(p, 65535, s, None) for p in ("tcp", "udp") for s in SCOPES.split(", ")
                ]
            ),
            id="every-protocol-and-scope",
        ),
    ],
)
def test_validate_baseline_accepts(document):
    assert validate_baseline(document) == []


@pytest.mark.parametrize(
    "document,where,errors",
    [
        pytest.param(
            ["tcp/22"],
            "baseline",
            ["baseline must be a mapping with version, host and listeners, got a list"],
            id="not-a-mapping",
        ),
        pytest.param(
            {"hosts": "web1"},
            "baselines/web1.yml",
            [
                f"baselines/web1.yml: unknown key 'hosts' {DOC_KNOWN}",
                "baselines/web1.yml: missing 'version'",
                "baselines/web1.yml: missing 'host'",
                "baselines/web1.yml: missing 'listeners'",
            ],
            id="missing-and-unknown",
        ),
        pytest.param(
            doc(version=2, host="", recorded_at=5, listeners={"tcp": 22}),
            "baseline",
            [
                "baseline.version must be 1 (the only format this collection reads), got 2",
                "baseline.host must be a non-empty string, got ''",
                "baseline.recorded_at must be a time stamp or null, got 5",
                "baseline.listeners must be a list of listeners, got a mapping",
            ],
            id="top-level-values",
        ),
        pytest.param(
            doc(version="1"),
            "baseline",
            ["baseline.version must be 1 (the only format this collection reads), got '1'"],
            id="version-string",
        ),
        pytest.param(
            doc(version=True),
            "baseline",
            ["baseline.version must be 1 (the only format this collection reads), got True"],
            id="version-bool",
        ),
        pytest.param(
            doc(version=1.0),
            "baseline",
            ["baseline.version must be 1 (the only format this collection reads), got 1.0"],
            id="version-float",
        ),
        pytest.param(
            doc(
                listeners=[
                    22,
                    {"protocol": "TCP", "port": "22", "scope": "global", "unit": 5},
                    {"protocol": "tcp", "port": 22, "family": "ipv4", "address": "0.0.0.0"},
                    entry("udp", 65536, "any", "  "),
                    entry("tcp", False, "loopback", None),
                ]
            ),
            "baseline",
            [
                "baseline.listeners[0] must be a mapping with protocol, port, scope and unit, "
                "got 22",
                "baseline.listeners[1].protocol 'TCP' is not one of tcp, udp",
                "baseline.listeners[1].port '22' is not a port (an integer 1-65535)",
                f"baseline.listeners[1].scope 'global' is not one of {SCOPES}",
                "baseline.listeners[1].unit must be a unit name or null, got 5",
                f"baseline.listeners[2]: unknown key 'address' {ENTRY_KNOWN}",
                f"baseline.listeners[2]: unknown key 'family' {ENTRY_KNOWN}",
                "baseline.listeners[2]: missing 'scope'",
                f"baseline.listeners[2]: missing 'unit' {NO_UNIT}",
                "baseline.listeners[3].port 65536 is not a port (an integer 1-65535)",
                "baseline.listeners[3].unit must be a unit name or null, got '  '",
                "baseline.listeners[4].port False is not a port (an integer 1-65535)",
            ],
            id="listeners",
        ),
    ],
)
def test_validate_baseline_errors(document, where, errors):
    assert validate_baseline(document, where) == errors


def test_validate_listeners_names_its_list():
    assert validate_listeners([entry("tcp", 0, "any", None)], "baseline") == [
        "baseline[0].port 0 is not a port (an integer 1-65535)"
    ]
    assert validate_listeners(None) == ["listeners must be a list of listeners, got None"]


# ---------------------------------------------------------------------------
# Matching


@pytest.mark.parametrize(
    "socket,expected",
    [
        pytest.param(sock("tcp", "0.0.0.0", 22, "ssh.service"), True, id="same"),
        pytest.param(sock("tcp", "::", 22, "ssh.service"), True, id="other-family"),
        pytest.param(sock("udp", "0.0.0.0", 22, "ssh.service"), False, id="protocol"),
        pytest.param(sock("tcp", "0.0.0.0", 2222, "ssh.service"), False, id="port"),
        pytest.param(sock("tcp", "10.0.0.5", 22, "ssh.service"), False, id="scope"),
        pytest.param(sock("tcp", "0.0.0.0", 22, "sshd.service"), False, id="unit"),
        pytest.param(sock("tcp", "0.0.0.0", 22), False, id="unit-none-vs-name"),
        pytest.param(sock("udp", "0.0.0.0", 68), True, id="none-matches-none"),
        pytest.param(sock("udp", "0.0.0.0", 68, "dhclient.service"), False, id="name-vs-none"),
        pytest.param(
            dict(sock("tcp", "0.0.0.0", 22, "ssh.service"), scope=None), False, id="no-scope"
        ),
    ],
)
def test_in_baseline(socket, expected):
    assert in_baseline(socket, baseline_index(doc()["listeners"])) is expected


def test_in_empty_baseline():
    assert in_baseline(sock("tcp", "0.0.0.0", 22, "ssh.service"), baseline_index([])) is False


@pytest.mark.parametrize(
    "entries,sockets,expected",
    [
        pytest.param(HOST_ENTRIES, HOST, [], id="all-there"),
        pytest.param(
            HOST_ENTRIES,
            [s for s in HOST if s["port"] != 80 and s["scope"] != "loopback"],
            [
                entry("tcp", 53, "loopback", "systemd-resolved.service"),
                entry("udp", 53, "loopback", "systemd-resolved.service"),
                entry("tcp", 80, "any", "nginx.service"),
                entry("tcp", 80, "private", "nginx.service"),
            ],
            id="loopback-and-exposed-gone",
        ),
        pytest.param(
            [entry("tcp", 443, "any", "nginx.service"), entry("tcp", 22, "any", None)] * 2,
            [sock("tcp", "0.0.0.0", 22, "ssh.service")],
            [entry("tcp", 22, "any", None), entry("tcp", 443, "any", "nginx.service")],
            id="sorted-deduplicated-unit-must-match",
        ),
        pytest.param([], HOST, [], id="empty-baseline"),
    ],
)
def test_missing_from(entries, sockets, expected):
    assert missing_from(entries, sockets) == expected
