"""Each firewall a host runs: no false exposure, closures through it or beside it, checked from
outside, and kept through a restart of the firewall and of the host."""

import json
import subprocess
import time

import pytest
from labhosts import lab_hosts, tcp_answers

testinfra_hosts = lab_hosts()

# The admin's firewall service on each host, restarted by verify.
SERVICE = {
    "ufw": "ufw.service",
    "nftables": "nftables.service",
    "iptables": "netfilter-persistent.service",
    "none": "portguard-nftables.service",
    "zones": "firewalld.service",
}
# What the audit must find exposed and closable: the ports the admin's firewall lets in that a
# built-in rule closes. 111 is dropped by every admin firewall here, so it is no finding there.
CLOSABLE = {
    "ufw": {8080, 11211},
    "nftables": {8080, 11211},
    "iptables": {8080, 11211},
    "none": {111, 8080, 11211},
    "zones": {3306, 5432},
}
KEPT_OPEN = (22, 80)
CLOSED = (111, 8080, 11211, 3306, 5432)


def name_of(host):
    return host.backend.get_hostname()


def kind_of(host):
    """ufw, nftables, iptables, none or zones, from the name pg-fw-KIND-RELEASE."""
    return name_of(host).split("-")[2]


def addresses(name):
    """Every IPv4 address podman gave the container now (a restart may change them)."""
    out = subprocess.check_output(["podman", "inspect", name], text=True)
    networks = json.loads(out)[0]["NetworkSettings"]["Networks"]
    return sorted(n["IPAddress"] for n in networks.values() if n.get("IPAddress"))


def reachable(name):
    """{(address, port): answered} for every address of the host and every lab port."""
    return {
        (address, port): tcp_answers(address, port)
        for address in addresses(name)
        for port in KEPT_OPEN + CLOSED
    }


def assert_closed_as_planned(name):
    seen = reachable(name)
    opened = sorted(k for k, ok in seen.items() if ok)
    expected = sorted(k for k in seen if k[1] in KEPT_OPEN)
    assert opened == expected


@pytest.fixture(scope="module")
def reports(host):
    return {
        kind: json.loads(host.file(f"/var/tmp/portguard-{kind}.json").content_string)
        for kind in ("audit", "harden")
    }


def test_audit_has_no_false_exposure(host, reports):
    kind = kind_of(host)
    closable = {
        f["port"] for f in reports["audit"]["findings"] if f["action"] in ("block", "disable")
    }
    assert closable == CLOSABLE[kind]
    kept = [f for f in reports["audit"]["findings"] if f["port"] == 22]
    assert [f["status"] for f in kept] and {f["status"] for f in kept} == {"kept"}


def test_report_names_the_firewalls_and_the_backend(host, reports):
    kind = kind_of(host)
    report = reports["harden"]
    # As the host is after harden: the collection's table beside the admin's firewall.
    active = sorted(f["name"] for f in report["firewalls"] if f["state"] == "active")
    expected = {"ufw": ["portguard", "ufw"], "nftables": ["nftables", "portguard"],
                "iptables": ["iptables", "portguard"], "none": ["portguard"],
                "zones": ["firewalld"]}[kind]  # fmt: skip
    assert active == expected
    before = sorted(f["name"] for f in reports["audit"]["firewalls"] if f["state"] == "active")
    assert before == [name for name in expected if name != "portguard"]
    assert report["backend"]["name"] == ("firewalld" if kind == "zones" else "nftables")
    closing = [f for f in report["findings"] if f["action"] == "block" and f["port"] != 22]
    assert closing and {f["status"] for f in closing} == {"remediated"}
    for finding in closing:
        assert finding["backend"] == ("firewalld" if kind == "zones" else "table inet portguard")
        assert finding["exposed_via"], finding


def test_audit_needs_no_python3_apt_where_firewalld_may_be_installed(host):
    if kind_of(host) != "none":
        pytest.skip("the host without firewalld and python3-apt")
    assert not host.package("python3-apt").is_installed
    report = json.loads(host.file("/var/tmp/portguard-install-audit.json").content_string)
    assert report["check_mode"] is True
    assert report["backend"]["name"] == "firewalld"
    assert (report["backend"]["install"], report["backend"]["start"]) == (True, True)
    assert {f["port"] for f in report["findings"] if f["action"] in ("block", "disable")} == (
        CLOSABLE["none"]
    )


def test_harden_closes_what_the_policy_says_from_outside(host):
    assert_closed_as_planned(name_of(host))


def test_the_admins_firewall_is_on_with_its_rules(host):
    kind = kind_of(host)
    if kind == "none":
        assert not host.exists("firewalld")
        assert host.service("portguard-nftables.service").is_enabled
        return
    service = host.service(SERVICE[kind])
    assert service.is_enabled
    if kind == "ufw":
        status = host.check_output("ufw status")
        assert "Status: active" in status
        for port in ("22/tcp", "80/tcp", "8080/tcp", "11211/tcp"):
            assert any(line.split()[:2] == [port, "ALLOW"] for line in status.splitlines())
    elif kind == "nftables":
        assert service.is_running
        assert "tcp dport { 22, 80, 8080, 11211 } accept" in host.check_output(
            "nft list table inet filter"
        )
    elif kind == "iptables":
        assert "-A INPUT -p tcp -m multiport --dports 22,80,8080,11211 -j ACCEPT" in (
            host.check_output("iptables -S INPUT")
        )
    else:
        assert service.is_running
        assert "3306/tcp" in host.check_output("firewall-cmd --zone=internal --list-ports").split()
        # Each port closed in the zone that admitted it, and only there.
        for zone, closed, other in (("internal", "3306", "5432"), ("public", "5432", "3306")):
            rules = host.check_output(f"firewall-cmd --permanent --zone={zone} --list-rich-rules")
            assert f'port port="{closed}" protocol="tcp" reject' in rules
            assert f'port="{other}"' not in rules


def wait_booted(host):
    for _attempt in range(60):
        state = host.run("systemctl is-system-running").stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    pytest.fail(f"{name_of(host)} did not boot again ({state})")


@pytest.mark.parametrize("how", ["restart", "stop-start"])
def test_closures_hold_when_the_admins_firewall_restarts(host, how):
    unit = SERVICE[kind_of(host)]
    if how == "restart":
        host.check_output(f"systemctl restart {unit}")
    else:
        # nftables.service's stop flushes the whole ruleset; the collection's table comes back.
        host.check_output(f"systemctl stop {unit}")
        if kind_of(host) in ("ufw", "nftables", "iptables"):
            assert host.run("nft list table inet portguard").rc == 0
        host.check_output(f"systemctl start {unit}")
    time.sleep(1)
    assert_closed_as_planned(name_of(host))


def test_closures_hold_after_a_reboot(host):
    subprocess.run(["podman", "restart", "-t", "5", name_of(host)], check=True, timeout=120)
    wait_booted(host)
    assert host.service(SERVICE[kind_of(host)]).is_enabled
    # Services start in parallel at boot; give the listeners a moment.
    time.sleep(2)
    assert_closed_as_planned(name_of(host))
