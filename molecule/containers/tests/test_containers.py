"""Published container ports: named after their container, closed before Docker's DNAT hands
them to the container, kept closed through a restart of Docker and of the host, with Docker's
own rules and its containers' outgoing traffic left alone."""

import json
import re
import socket
import subprocess
import time

import pytest
from labhosts import container_address, lab_hosts

testinfra_hosts = lab_hosts()

BLOCKED, KEPT = "pg-blocked", "pg-kept"
PUBLISHED = {BLOCKED: 9090, KEPT: 9091}
# From the controller: sshd and nginx answer, the built-in rules close the lab's other ports,
# the policy closes pg-blocked's port and keeps pg-kept's.
EXPECTED = {
    22: "answers",
    80: "answers",
    111: "refused",
    8080: "refused",
    11211: "refused",
    9090: "refused",
    9091: "answers",
}


def name_of(host):
    return host.backend.get_hostname()


def has_userland_proxy(host):
    """pg-ct-proxy runs Docker's default docker-proxy; pg-ct-noproxy runs without it."""
    return name_of(host) == "pg-ct-proxy"


def page_of(name):
    return "portguard lab container %s\n" % name


def connect(address, port):
    """answers, refused (the host rejected the connection: RST or port unreachable), or the
    error's name (a timeout means something dropped the packets instead)."""
    try:
        with socket.create_connection((address, port), timeout=3):
            return "answers"
    except ConnectionRefusedError:
        return "refused"
    except OSError as exc:
        return type(exc).__name__ + (" %s" % exc.errno if exc.errno else "")


def http_get(address, port):
    """The body of GET / on address:port (any family, link-local scope allowed)."""
    with socket.create_connection((address, port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\nHost: lab\r\n\r\n")
        data = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    assert head.split(b"\r\n")[0].split()[1] == b"200", head
    return body.decode()


def link_local(host):
    """The host's IPv6 link-local address on eth0, scoped to the controller's bridge to it."""
    addrs = json.loads(host.check_output("ip -j -6 addr show dev eth0 scope link"))
    local = [a["local"] for i in addrs for a in i["addr_info"] if a["family"] == "inet6"]
    assert local, addrs
    route = subprocess.check_output(
        ["ip", "-j", "route", "get", container_address(name_of(host))], text=True
    )
    return "%s%%%s" % (local[0], json.loads(route)[0]["dev"])


def outside_view(host):
    """{port: what a TCP connect from the controller to the host's podman address gives}."""
    address = container_address(name_of(host))
    return {port: connect(address, port) for port in sorted(EXPECTED)}


def assert_outside_as_planned(host):
    assert outside_view(host) == EXPECTED
    # 9091 is pg-kept's own page, not the host's lab-admin service on 8080.
    assert http_get(container_address(name_of(host)), PUBLISHED[KEPT]) == page_of(KEPT)


def running(host):
    """{container: running} as Docker says now."""
    out = host.run("docker inspect -f '{{.Name}} {{.State.Running}}' %s %s", BLOCKED, KEPT)
    return dict(line.lstrip("/").split() for line in out.stdout.splitlines())


def wait_for_containers(host):
    """Until both containers run again and pg-kept's page answers from the controller."""
    for _attempt in range(90):
        if running(host) == {BLOCKED: "true", KEPT: "true"}:
            try:
                if http_get(container_address(name_of(host)), PUBLISHED[KEPT]) == page_of(KEPT):
                    return
            except (OSError, AssertionError, ValueError):
                pass
        time.sleep(1)
    pytest.fail("%s: the containers did not come back (%s)" % (name_of(host), running(host)))


def wait_booted(host):
    state = "unknown"
    for _attempt in range(90):
        state = host.run("systemctl is-system-running").stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    pytest.fail("%s did not boot again (%s)" % (name_of(host), state))


def findings_on(report, port):
    return [f for f in report["findings"] if f["port"] == port and f["protocol"] == "tcp"]


def report(host, kind):
    """What converge kept: the first audit, its lines as the role prints them, the first harden."""
    return json.loads(host.file("/var/tmp/portguard-%s.json" % kind).content_string)


def test_the_blocked_port_is_refused_and_the_kept_one_answers(host):
    address = container_address(name_of(host))
    # A reject, not a drop: the client learns at once that the port is closed.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, PUBLISHED[BLOCKED]), timeout=3).close()
    assert http_get(address, PUBLISHED[KEPT]) == page_of(KEPT)


def test_the_lab_ports_are_as_the_built_in_rules_say(host):
    assert outside_view(host) == EXPECTED


def test_over_ipv6_the_blocked_port_is_refused_too(host):
    # Docker publishes IPv4 only (no "ipv6" in daemon.json): over IPv6, docker-proxy's own
    # [::] sockets are what a client reaches, through the input path, where there is a proxy.
    address = link_local(host)
    assert connect(address, PUBLISHED[BLOCKED]) == "refused"
    if has_userland_proxy(host):
        assert http_get(address, PUBLISHED[KEPT]) == page_of(KEPT)


@pytest.mark.parametrize("target", ["this host through docker0", "the other lab host"])
def test_a_container_still_reaches_the_network(host, target):
    # nginx of the lab (port 80, allowed): through docker0 to this host is the input path, to
    # the other lab host it is the forward path and Docker's masquerade. Nothing outside the lab.
    if target == "the other lab host":
        other = [h for h in lab_hosts() if h != "podman://" + name_of(host)]
        address = container_address(other[0].split("://", 1)[1])
    else:
        docker0 = json.loads(host.check_output("ip -j -4 addr show dev docker0"))
        address = docker0[0]["addr_info"][0]["local"]
    # busybox's wget crashes in an image without glibc's files (exit 139); its nc does not.
    request = "printf 'GET / HTTP/1.0\\r\\nHost: lab\\r\\n\\r\\n' | /bin/busybox nc -w 5 %s 80"
    page = host.check_output("docker run --rm lab/busybox /bin/busybox sh -c %s", request % address)
    assert page.startswith("HTTP/1.1 200 OK"), page
    assert "<title>Welcome to nginx!</title>" in page


def test_the_audit_names_the_container_behind_the_published_port(host):
    found = findings_on(report(host, "audit"), PUBLISHED[BLOCKED])
    assert found, "9090/tcp missing from the audit"
    full_id = host.check_output("docker inspect -f '{{.Id}}' %s", BLOCKED)
    for finding in found:
        container = finding.get("container")
        assert container, finding
        assert (container["engine"], container["name"], container["image"]) == (
            "docker",
            BLOCKED,
            "lab/busybox",
        )
        assert container["id"] and full_id.startswith(container["id"]), (container, full_id)
        # No Compose project: started with docker run.
        assert container["project"] in (None, "")
    assert {(f["rule"], f["policy_action"], f["action"], f["status"]) for f in found} == {
        ("no-blocked-container", "block", "block", "open")
    }
    lines = [line for line in report(host, "audit-lines") if ":9090 " in line]
    assert lines and all("container %s" % BLOCKED in line for line in lines), lines


def test_the_kept_container_is_allowed_by_its_rule(host):
    assert not findings_on(report(host, "audit"), PUBLISHED[KEPT])
    allowed = [a for a in report(host, "audit")["allowed"] if a["port"] == PUBLISHED[KEPT]]
    assert allowed and {a["rule"] for a in allowed} == {"kept-container"}


def listeners_on(host, port):
    """The names of the processes that hold a TCP listener on port, as ss shows them."""
    out = host.check_output("ss -tlnpH 'sport = :%d'" % port)
    return set(re.findall(r'\(\("([^"]+)"', out))


def test_the_published_port_needs_no_listening_proxy(host):
    # Without the userland proxy no docker-proxy serves the port: dockerd (20.10) only reserves
    # it with a socket it never accepts on, and Docker's DNAT takes every packet before it. The
    # finding still names the container.
    expected = {"docker-proxy"} if has_userland_proxy(host) else {"dockerd"}
    assert listeners_on(host, PUBLISHED[BLOCKED]) == expected
    found = findings_on(report(host, "audit"), PUBLISHED[BLOCKED])
    assert found and {(f.get("container") or {}).get("name") for f in found} == {BLOCKED}


def test_harden_remediated_the_published_port(host):
    found = findings_on(report(host, "harden"), PUBLISHED[BLOCKED])
    assert found
    assert {(f["rule"], f["action"], f["status"]) for f in found} == {
        ("no-blocked-container", "block", "remediated")
    }
    assert {f["backend"] for f in found} == {"table inet portguard"}
    assert report(host, "harden")["backend"]["name"] == "nftables"
    # Closed by the firewall: Docker and both containers still run.
    assert host.service("docker.service").is_running
    assert running(host) == {BLOCKED: "true", KEPT: "true"}


def test_the_table_rejects_by_the_original_port_in_forward(host):
    table = host.check_output("nft list table inet portguard")
    assert re.search(r"hook forward priority", table), table
    by_original_port = [line for line in table.splitlines() if "ct original proto-dst" in line]
    assert [line for line in by_original_port if re.search(r"\b9090\b", line)], table
    assert not [line for line in by_original_port if re.search(r"\b9091\b", line)], table


def assert_engine_and_table_in_place(host):
    nat = host.check_output("iptables-nft -t nat -S DOCKER")
    # Docker's own DNAT rules, as Docker wrote them: the collection never touches them.
    for port in PUBLISHED.values():
        assert any("--dport %d -j DNAT" % port in line for line in nat.splitlines()), nat
    assert host.run("nft list table inet portguard").rc == 0


def test_closures_hold_after_docker_restarts(host):
    host.check_output("systemctl restart docker.service")
    wait_for_containers(host)
    assert_engine_and_table_in_place(host)
    assert_outside_as_planned(host)


def test_closures_hold_after_a_reboot(host):
    subprocess.run(["podman", "restart", "-t", "5", name_of(host)], check=True, timeout=120)
    wait_booted(host)
    assert host.service("docker.service").is_running
    # Docker starts the containers again by their restart policy.
    wait_for_containers(host)
    assert_engine_and_table_in_place(host)
    assert_outside_as_planned(host)
    assert connect(link_local(host), PUBLISHED[BLOCKED]) == "refused"
