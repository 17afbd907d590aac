"""Probe benchmark: exposed_ports_probe's probe against nmap, on one lab container.

Boots one lab container (systemd, the lab's services), reads its address with podman inspect
and its listeners with `ss -tulnH` inside it, then runs, interleaved and --repeat times:

    nmap -sT -T4 -p1-65535 -n -Pn ADDR           the probe, TCP 1-65535, rate 0 (no limit)
                                                   the probe, TCP 1-65535, default settings
    nmap -sT -T4 -p<listeners> -n -Pn ADDR       the probe, the TCP listeners only
    nmap -sU -T4 -p<udp ports> -n -Pn ADDR       the probe, the same UDP ports

The UDP ports are the container's UDP listeners and the ports the probe has a request for;
each UDP run waits UDP_REST seconds first, so that the container's ICMP rate limit is as full
for one tool as for the other.
Every probe runs in a fresh Python process, as nmap does, from bench/probe.py --probe. Prints
the medians of wall time, the open ports each found, and whether that is the open set nmap
found for the same ports (the figures are printed, never asserted).

    bench/probe.py [--repeat 3] [--keep]

Run through `make bench-probe` (root: podman, and nmap -sU needs raw sockets), which provides
the virtualenv and CONTAINERS_CONF. Only the address of the container it boots is probed. The
container is removed at the end, on failure and on Ctrl-C too, unless --keep; the whole run is
stopped after --limit seconds.
"""

import argparse
import ipaddress
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGE = "localhost/portguard-lab:bookworm"
NAME = "pg-probe-bench"
BOOT_TIMEOUT = 120
# Other labs on this machine: wait while more than this many containers run.
BUSY_CONTAINERS = 3
BUSY_WAIT = 600
# Linux answers closed UDP ports with ICMP port unreachable at most once a second per
# destination, after a burst of six (net.ipv4.icmp_ratelimit): each UDP run starts after a rest
# long enough to refill that burst, so neither tool finds it spent by the one before.
UDP_REST = 7


def run(argv, timeout=120):
    """stdout of a setup command; its stderr in the error when it fails."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (" ".join(argv), proc.stderr.strip()[-500:]))
    return proc.stdout


def wait_for_quiet_machine():
    deadline = time.monotonic() + BUSY_WAIT
    while True:
        names = run(["podman", "ps", "--format", "{{.Names}}"]).split()
        if len(names) <= BUSY_CONTAINERS:
            return
        if time.monotonic() > deadline:
            raise SystemExit("bench: %d containers still running; try later" % len(names))
        sys.stderr.write("bench: %d containers running, waiting\n" % len(names))
        time.sleep(30)


def boot():
    """Start the lab container and wait for systemd; its address."""
    subprocess.run(["podman", "rm", "-f", "-t", "0", NAME], capture_output=True, check=False)
    run(["podman", "run", "-d", "--privileged", "--systemd=always", "--name", NAME, IMAGE,
         "/sbin/init"])  # fmt: skip
    deadline = time.monotonic() + BOOT_TIMEOUT
    argv = ["podman", "exec", NAME, "systemctl", "is-system-running", "--wait"]
    while True:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=BOOT_TIMEOUT, check=False
        )
        if proc.stdout.strip() in ("running", "degraded"):
            break
        if time.monotonic() > deadline:
            raise SystemExit("bench: %s did not boot: %s" % (NAME, proc.stdout.strip()))
        time.sleep(1)
    fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
    address = run(["podman", "inspect", "-f", fmt, NAME]).strip()
    ipaddress.ip_address(address)  # only an address podman gave the container is probed
    return address


def listeners():
    """{"tcp": ports, "udp": ports} listening on an address other than loopback."""
    found = {"tcp": set(), "udp": set()}
    for line in run(["podman", "exec", NAME, "ss", "-tulnH"]).splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] not in found:
            continue
        local = fields[4]
        host, _sep, port = local.rpartition(":")
        host = host.strip("[]").split("%")[0]
        if host not in ("*", "0.0.0.0", "::"):
            try:
                if ipaddress.ip_address(host).is_loopback:
                    continue
            except ValueError:
                continue
        found[fields[0]].add(int(port))
    return {k: sorted(v) for k, v in found.items()}


def nmap_states(grepable):
    """{port: state} from nmap's grepable output (-oG): `Ports: 22/open/tcp//ssh///, ...`;
    the ports of its "Ignored State" are not listed."""
    states = {}
    for line in grepable.splitlines():
        if "\tPorts: " not in line:
            continue
        listed = line.split("\tPorts: ", 1)[1].split("\t", 1)[0]
        for entry in listed.split(", "):
            fields = entry.strip().split("/")
            if len(fields) > 2 and fields[0].isdigit():
                states[int(fields[0])] = fields[1]
    return states


def port_list(ports):
    return ",".join(str(p) for p in ports)


def timed(argv, timeout):
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (" ".join(argv), proc.stderr.strip()[-500:]))
    return elapsed, proc.stdout


def nmap(kind, address, ports):
    """(seconds, {port: state}) of one nmap run."""
    scan = "-sT" if kind == "tcp" else "-sU"
    spec = "1-65535" if ports is None else port_list(ports)
    argv = ["nmap", scan, "-T4", "-p", spec, "-n", "-Pn", "-oG", "-", address]
    elapsed, out = timed(argv, 900)
    return elapsed, nmap_states(out)


def probe(kind, address, ports, settings):
    """(seconds, {port: state}) of the probe in a process of its own."""
    argv = [sys.executable, os.path.abspath(__file__), "--probe", address, "--kind", kind]
    argv += ["--ports", "1-65535" if ports is None else port_list(ports)]
    argv += ["--settings", json.dumps(settings)]
    elapsed, out = timed(argv, 900)
    result = json.loads(out)
    states = result[kind]
    if kind == "udp":
        states = {p: entry["state"] for p, entry in states.items()}
    return elapsed, {int(p): s for p, s in states.items()}, result


def probe_main(opts):
    """The child: one probe, its result as JSON on stdout."""
    sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))
    from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
        expand_ports,
        probe_host,
    )

    ports = expand_ports(opts.ports, "ports")
    tcp = ports if opts.kind == "tcp" else []
    udp = ports if opts.kind == "udp" else []
    result = probe_host(opts.probe, tcp, udp, json.loads(opts.settings))
    json.dump(result, sys.stdout)
    return 0


def opened(states):
    return sorted(p for p, s in states.items() if s == "open")


def terminated(signum, _frame):
    raise SystemExit("bench: stopped by signal %d" % signum)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--limit", type=int, default=1800, help="seconds for the whole run")
    parser.add_argument("--keep", action="store_true", help="leave the container (debugging)")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.probe:
        return probe_main(opts)
    if opts.repeat < 1:
        parser.error("--repeat takes a positive number")

    signal.signal(signal.SIGTERM, terminated)
    signal.signal(signal.SIGALRM, terminated)
    signal.alarm(opts.limit)
    sys.path.insert(0, os.path.join(ROOT, ".cache", "collections"))
    from ansible_collections.portguard.hardening.plugins.module_utils._probe.udp import PROBES

    load = os.getloadavg()[0]
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode != 0:
        raise SystemExit("bench: no %s; build it with `make images`" % IMAGE)
    wait_for_quiet_machine()
    try:
        t0 = time.monotonic()
        address = boot()
        found = listeners()
        udp_ports = sorted(set(found["udp"]) | set(PROBES))
        sys.stderr.write(
            "bench: %s up at %s in %.0f s; listeners tcp %s, udp %s\n"
            % (NAME, address, time.monotonic() - t0, found["tcp"], found["udp"])
        )
        fast = {"rate": 0}
        cases = [
            # (label, scope, tool, kind, ports, settings); settings None for nmap
            ("nmap -sT -T4", "TCP 1-65535", "nmap", "tcp", None, None),
            ("probe, rate 0", "TCP 1-65535", "probe", "tcp", None, fast),
            ("probe, defaults", "TCP 1-65535", "probe", "tcp", None, {}),
            ("nmap -sT -T4", "TCP listeners", "nmap", "tcp", found["tcp"], None),
            ("probe, defaults", "TCP listeners", "probe", "tcp", found["tcp"], {}),
            ("nmap -sU -T4", "UDP listeners + known", "nmap", "udp", udp_ports, None),
            ("probe, defaults", "UDP listeners + known", "probe", "udp", udp_ports, {}),
        ]
        runs = {i: [] for i in range(len(cases))}
        states = {}
        details = {}
        # One untimed round first: page cache, ARP entry and bytecode warm for every tool.
        for rnd in range(opts.repeat + 1):
            for i, (_label, _scope, tool, kind, ports, settings) in enumerate(cases):
                if kind == "udp":
                    time.sleep(UDP_REST)
                if tool == "nmap":
                    elapsed, got = nmap(kind, address, ports)
                else:
                    elapsed, got, result = probe(kind, address, ports, settings)
                    if kind == "udp":
                        details[i] = result["udp"]
                if rnd:
                    runs[i].append(elapsed)
                states.setdefault(i, []).append(got)
            sys.stderr.write("bench: round %d of %d done\n" % (rnd, opts.repeat))
        print(report(cases, runs, states, found, address, load, opts.repeat, details))
        return 0
    finally:
        signal.alarm(0)
        if opts.keep:
            sys.stderr.write("bench: kept %s\n" % NAME)
        else:
            subprocess.run(
                ["podman", "rm", "-f", "-t", "0", NAME], capture_output=True, check=False
            )


def report(cases, runs, states, found, address, load, repeat, details):
    nmap_sets = {}
    for i, (_label, scope, tool, _kind, _ports, _settings) in enumerate(cases):
        if tool == "nmap":
            nmap_sets[scope] = [opened(s) for s in states[i]]
    nmap_version = run(["nmap", "--version"]).splitlines()[0]
    out = [
        "%s, %d cores (load average %.1f before the run), Linux %s, Python %s, %s; one lab "
        "container (%s) at %s, probed from the host over podman's bridge; medians of %d "
        "interleaved rounds after one untimed round; each UDP run after a %d s rest."
        % (
            time.strftime("%Y-%m-%d"),
            os.cpu_count(),
            load,
            platform.release(),
            platform.python_version(),
            nmap_version,
            IMAGE,
            address,
            repeat,
            UDP_REST,
        ),
        "",
        "Listeners (ss -tulnH in the container, not on loopback): TCP %s, UDP %s."
        % (port_list(found["tcp"]) or "none", port_list(found["udp"]) or "none"),
        "",
        "| tool | ports | median s | min - max s | open found | same open set as nmap |",
        "| --- | --- | ---: | --- | --- | --- |",
    ]
    for i, (label, scope, tool, _kind, _ports, _settings) in enumerate(cases):
        sets = [opened(s) for s in states[i]]
        found_open = sets[-1]
        stable = all(s == found_open for s in sets)
        if tool == "nmap":
            agree = "(reference)" if stable else "(reference; varied between runs)"
        else:
            same = [s == n for s, n in zip(sets, nmap_sets[scope])]
            agree = (
                "yes, every round"
                if all(same)
                else "no in %d of %d"
                % (
                    same.count(False),
                    len(same),
                )
            )
        out.append(
            "| %s | %s | %.2f | %.2f - %.2f | %s | %s |"
            % (
                label,
                scope,
                statistics.median(runs[i]),
                min(runs[i]),
                max(runs[i]),
                port_list(found_open) or "none",
                agree,
            )
        )
    # The UDP states port by port, last round, nmap against the probe.
    udp = [i for i, c in enumerate(cases) if c[3] == "udp"]
    if len(udp) == 2:
        n, p = states[udp[0]][-1], states[udp[1]][-1]
        out += [
            "",
            "| UDP port | nmap -sU | probe | probe's detail |",
            "| ---: | --- | --- | --- |",
        ]
        for port in sorted(set(n) | set(p)):
            entry = details.get(udp[1], {}).get(str(port), {})
            detail = entry.get("detail", "")
            if entry.get("service"):
                detail = "%s: %s" % (entry["service"], detail)
            out.append("| %d | %s | %s | %s |" % (port, n.get(port, "-"), p.get(port, "-"), detail))
    return "\n".join(out)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("bench: interrupted; container removed")
