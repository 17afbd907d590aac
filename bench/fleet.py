"""Fleet benchmark: what an audit of N hosts costs, against ping, ss and listening_facts.

Boots K lab containers (systemd, sshd) and builds inventories of N hosts spread round-robin over
them, each host its own name and its own SSH connection. For every N it runs, interleaved and
--repeat times, four commands over SSH (pipelining, ControlPersist, no interpreter discovery):

    ansible all -m ansible.builtin.ping
    ansible all -m ansible.builtin.command -a 'ss -tulpnH'
    ansible all -m portguard.hardening.listening_facts
    ansible-playbook portguard.hardening.audit -e target=all

and prints the medians of wall time, controller CPU, host CPU and controller memory, the audit's
cost against `ss`, and the figures the fleet audit aims for (printed, never asserted).

How it measures (bench/process_tree.py for the controller side):
- controller CPU: user + system seconds of the command's whole process tree, ssh included;
- host CPU: the containers' cgroup CPU time before and after each run, summed over the
  containers. This machine has cgroup v1 (hybrid): the cpuacct hierarchy's file
  /sys/fs/cgroup/cpuacct/<podman's State.CgroupPath>/cpuacct.usage (nanoseconds) counts every
  process of the container, sshd and the modules included;
- peak controller memory: the peak of a memory cgroup holding the command's tree, the summed
  RSS of the tree sampled every 50 ms, and the largest single process;
- SSH connections are opened and closed in each run (the masters are ended after it), so every
  run pays for its handshakes; one extra run of each command through a counting wrapper for
  ssh tells the round trips per host (and warms the caches).

    bench/fleet.py [--sizes 1,10,40] [--containers 3] [--repeat 3] [--forks 20] [--keep]

Run through `make bench-fleet` (root: podman, the containers' cgroup files), which provides the
virtualenv, the collection path and CONTAINERS_CONF. Everything it starts is removed at the end,
on failure and on Ctrl-C too, unless --keep.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from process_tree import measure

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
IMAGE = "localhost/portguard-lab:bookworm"
PREFIX = "pg-bench-"
# cgroup v1 hybrid here: the cpuacct hierarchy holds each container's CPU time (nanoseconds,
# its processes and their children: sshd, the modules) at <mount>/<State.CgroupPath>.
CPUACCT = "/sys/fs/cgroup/cpuacct"
BOOT_TIMEOUT = 120
# Targets of the fleet audit, checked at the largest size (40 hosts by default).
TARGET_RATIO = 3.0
TARGET_CPU_PER_HOST = 0.4
TARGET_PEAK_MIB = 150.0
COMMANDS = ("ping", "ss", "listening_facts", "audit")


def run(argv, timeout=120, stdin=None):
    """stdout of a setup command; its stderr in the error when it fails."""
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (" ".join(argv), proc.stderr.strip()[-500:]))
    return proc.stdout


def raise_inotify(containers):
    """Past about 10 systemd containers root runs out of inotify instances (LAB.md)."""
    if containers <= 8:
        return
    with open("/proc/sys/fs/inotify/max_user_instances") as f:
        current = int(f.read())
    if current < 1024:
        run(["sysctl", "-w", "fs.inotify.max_user_instances=1024"])
        sys.stderr.write("bench: raised fs.inotify.max_user_instances from %d to 1024\n" % current)


def remove_containers(names):
    for name in names:
        subprocess.run(["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False)


def boot(count, public_key, private_key):
    """Start `count` lab containers, authorize the key for root; [{name, ip, cpuacct}]."""
    names = ["%s%d" % (PREFIX, i + 1) for i in range(count)]
    remove_containers(names)  # an earlier --keep run's
    for name in names:
        run(["podman", "run", "-d", "--privileged", "--systemd=always", "--name", name,
             "--hostname", name, IMAGE, "/sbin/init"])  # fmt: skip
    containers = []
    for name in names:
        wait_for_systemd(name)
        # Lingering keeps root's systemd user manager up: the first login of a run would
        # otherwise start one, and each run pay for it or not depending on the gap before it.
        script = (
            "umask 077; mkdir -p /root/.ssh; cat >> /root/.ssh/authorized_keys;"
            " loginctl enable-linger root"
        )
        run(["podman", "exec", "-i", name, "sh", "-c", script], stdin=public_key)
        fmt = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} {{.State.CgroupPath}}"
        ip, cgroup = run(["podman", "inspect", "-f", fmt, name]).split()
        usage = os.path.join(CPUACCT, cgroup.lstrip("/"), "cpuacct.usage")
        if not os.path.exists(usage):
            raise SystemExit("bench: no CPU accounting for %s at %s" % (name, usage))
        containers.append({"name": name, "ip": ip, "cpuacct": usage})
    for c in containers:
        wait_for_ssh(c["ip"], private_key)
    return containers


def wait_for_systemd(name):
    """Until systemd says running or degraded (exec fails while the container starts)."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    argv = ["podman", "exec", name, "systemctl", "is-system-running", "--wait"]
    while True:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=BOOT_TIMEOUT, check=False
        )
        state = proc.stdout.strip()
        if state in ("running", "degraded"):
            return
        if time.monotonic() > deadline:
            raise SystemExit(
                "bench: %s did not boot: %s" % (name, state or proc.stderr.strip()[-300:])
            )
        time.sleep(1)


def wait_for_ssh(ip, key):
    options = ["BatchMode=yes", "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
               "ConnectTimeout=5"]  # fmt: skip
    argv = ["ssh", "-i", key] + ["-o" + o for o in options] + ["root@" + ip, "true"]
    deadline = time.monotonic() + 60
    while subprocess.run(argv, capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise SystemExit("bench: no SSH login to %s" % ip)
        time.sleep(1)


def host_cpu(containers):
    """CPU seconds the containers have used so far, all of them together."""
    total = 0
    for c in containers:
        with open(c["cpuacct"]) as f:
            total += int(f.read())
    return total / 1e9


def write_config(tmp, forks):
    path = os.path.join(tmp, "ansible.cfg")
    with open(path, "w") as f:
        f.write(
            "[defaults]\nforks = %d\nhost_key_checking = False\nretry_files_enabled = False\n"
            "stdout_callback = ansible.builtin.default\n\n"
            "[ssh_connection]\npipelining = True\n"
            "ssh_args = -o ControlMaster=auto -o ControlPersist=60s"
            " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n"
            "control_path_dir = %s\n" % (forks, os.path.join(tmp, "cp"))
        )
    return path


def write_inventory(tmp, size, containers, key):
    """N hosts round-robin over the containers. Each has its own ControlPath: the hosts of one
    container share its address, so %C would give them one connection (and sshd's MaxSessions
    of 10 would refuse the 11th host on it)."""
    path = os.path.join(tmp, "inventory-%d.ini" % size)
    lines = ["[fleet]"]
    for i in range(size):
        name = "bench-%03d" % (i + 1)
        ip = containers[i % len(containers)]["ip"]
        control = os.path.join(tmp, "cp", name)
        lines.append("%s ansible_host=%s ansible_control_path=%s" % (name, ip, control))
    lines += [
        "",
        "[fleet:vars]",
        "ansible_user=root",
        "ansible_ssh_private_key_file=%s" % key,
        "ansible_python_interpreter=/usr/bin/python3",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def command_lines(inventory, report_dir):
    adhoc = ["ansible", "-i", inventory, "all", "-m"]
    return {
        "ping": adhoc + ["ansible.builtin.ping"],
        "ss": adhoc + ["ansible.builtin.command", "-a", "ss -tulpnH"],
        "listening_facts": adhoc + ["portguard.hardening.listening_facts"],
        # report_only: the lab hosts have open findings by design; fleet.json says how it went.
        "audit": ["ansible-playbook", "-i", inventory, "portguard.hardening.audit"]
        + ["-e", "target=all", "-e", "exposed_ports_report_dir=" + report_dir]
        + ["-e", "exposed_ports_report_only=true"],
    }


def tail(path, lines=15):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])


def audit_outcome(report_dir, size):
    """None when every host was audited, else what went wrong (from fleet.json)."""
    try:
        with open(os.path.join(report_dir, "fleet.json")) as f:
            fleet = json.load(f)
    except (OSError, ValueError) as e:
        return "no fleet.json: %s" % e
    if fleet["summary"]["ok"] == size:
        return None
    errors = sorted(
        {"%s: %s" % (h["state"], h["error"]) for h in fleet["hosts"].values() if h["error"]}
    )
    return "%d of %d hosts ok; %s" % (fleet["summary"]["ok"], size, "; ".join(errors)[:600])


def one_run(name, argv, env, tmp, containers, size, failures):
    report_dir = os.path.join(tmp, "reports")
    shutil.rmtree(report_dir, ignore_errors=True)
    log = os.path.join(tmp, "%s.log" % name)
    result = measure(argv, env, log, name, lambda: host_cpu(containers))
    problem = None
    if result["rc"] != 0:
        problem = "exit status %d:\n%s" % (result["rc"], tail(log))
    elif name == "audit":
        problem = audit_outcome(report_dir, size)
    if problem:
        if name != "audit":
            raise SystemExit("bench: %s at %d hosts failed: %s" % (name, size, problem))
        failures.setdefault((size, name), []).append(problem)
    return result


def count_round_trips(tmp, env, inventory, size, containers):
    """ssh invocations per host of each command: one run each, through a counting wrapper."""
    calls = os.path.join(tmp, "ssh-calls")
    wrapper = os.path.join(tmp, "ssh-counted")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\necho >> "%s"\nexec ssh "$@"\n' % calls)
    os.chmod(wrapper, 0o700)
    counted = dict(env, ANSIBLE_SSH_EXECUTABLE=wrapper)
    trips, failures = {}, {}
    for name, argv in command_lines(inventory, os.path.join(tmp, "reports")).items():
        with open(calls, "w"):
            pass
        one_run(name, argv, counted, tmp, containers, size, failures)
        with open(calls) as f:
            trips[name] = len(f.readlines()) / float(size)
    return trips, failures


def summary(runs):
    keys = ("wall", "cpu", "host_cpu", "peak", "rss", "largest", "sampler")
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def report(rows, trips, trips_size):
    out = [
        "| hosts | command | wall s | controller CPU s | controller CPU per host s | "
        "host CPU s | host CPU per host s | peak memory MiB: cgroup / RSS summed / largest "
        "process |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for size, figures in rows:
        for name in COMMANDS:
            f = figures[name]
            seconds = (f["wall"], f["cpu"], f["cpu"] / size, f["host_cpu"], f["host_cpu"] / size)
            memory = (f["peak"], f["rss"], f["largest"])
            out.append(
                "| %d | %s | %.2f | %.2f | %.3f | %.2f | %.3f | %.0f / %.0f / %.0f |"
                % ((size, name) + seconds + memory)
            )
    out += [
        "",
        "| hosts | audit / ss: wall | controller CPU | host CPU |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for size, figures in rows:
        a, s = figures["audit"], figures["ss"]
        out.append(
            "| %d | %.1f | %.1f | %.1f |"
            % (size, a["wall"] / s["wall"], a["cpu"] / s["cpu"], a["host_cpu"] / s["host_cpu"])
        )
    out += [
        "",
        "SSH round trips per host (one counted run at %d hosts): %s"
        % (trips_size, ", ".join("%s %.1f" % (n, trips[n]) for n in COMMANDS)),
        "Memory sampling's own CPU (not in the figures), audit runs: %s"
        % ", ".join("%.2f s at %d hosts" % (f["audit"]["sampler"], size) for size, f in rows),
    ]
    return "\n".join(out)


def targets(rows):
    size, figures = rows[-1]
    a, s = figures["audit"], figures["ss"]

    def verdict(ok):
        return "target met" if ok else "not met"

    ratio, per_host = a["wall"] / s["wall"], a["cpu"] / size
    memory = [
        "%s %.0f MiB: %s" % (label, a[key], verdict(a[key] < TARGET_PEAK_MIB))
        for key, label in (
            ("peak", "the tree's cgroup"),
            ("rss", "RSS summed over the tree"),
            ("largest", "largest process"),
        )
    ]
    return "\n".join(
        [
            "Targets at %d hosts:" % size,
            "- audit wall %.1f s against ss %.1f s: %.1fx (target 3x or less): %s"
            % (a["wall"], s["wall"], ratio, verdict(ratio <= TARGET_RATIO)),
            "- audit controller CPU %.3f s per host (target under %.1f s): %s"
            % (per_host, TARGET_CPU_PER_HOST, verdict(per_host < TARGET_CPU_PER_HOST)),
            "- audit peak controller memory (target under %.0f MiB): %s"
            % (TARGET_PEAK_MIB, "; ".join(memory)),
        ]
    )


def bench_env(tmp, forks):
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = write_config(tmp, forks)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(ROOT, ".cache", "collections")
    env["ANSIBLE_LOCAL_TEMP"] = os.path.join(tmp, "ansible-local")
    env.pop("ANSIBLE_INVENTORY", None)
    return env


def idle_rate(containers, seconds=5.0):
    before = host_cpu(containers)
    time.sleep(seconds)
    return (host_cpu(containers) - before) / seconds


def machine(load):
    from ansible.release import __version__

    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr
    text = (
        "%s, %d cores (load average %.1f before the run), Linux %s, Python %s, ansible-core %s, %s"
    )
    return text % (
        time.strftime("%Y-%m-%d"),
        os.cpu_count(),
        load,
        platform.release(),
        platform.python_version(),
        __version__,
        ssh.split(",")[0].strip(),
    )


def terminated(signum, _frame):
    raise SystemExit("bench: stopped by signal %d" % signum)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1,10,40", help="inventory sizes, comma-separated")
    parser.add_argument("--containers", type=int, default=3, help="lab containers to boot")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds per size")
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument(
        "--keep", action="store_true", help="leave the containers and the temp dir (debugging)"
    )
    opts = parser.parse_args()
    sizes = [int(s) for s in opts.sizes.split(",")]
    if not sizes or min(sizes) < 1 or opts.containers < 1 or opts.repeat < 1:
        parser.error("--sizes, --containers and --repeat take positive numbers")

    signal.signal(signal.SIGTERM, terminated)  # clean up as on Ctrl-C
    load = os.getloadavg()[0]  # before the bench adds its own
    tmp = tempfile.mkdtemp(prefix="pg-bench-fleet-")
    names = ["%s%d" % (PREFIX, i + 1) for i in range(opts.containers)]
    try:
        os.makedirs(os.path.join(tmp, "cp"))
        key = os.path.join(tmp, "key")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pg-bench", "-f", key])
        with open(key + ".pub") as f:
            public_key = f.read()
        raise_inotify(opts.containers)
        t0 = time.time()
        containers = boot(opts.containers, public_key, key)
        idle = idle_rate(containers)
        sys.stderr.write(
            "bench: %d containers up in %.0f s\n" % (len(containers), time.time() - t0)
        )
        env = bench_env(tmp, opts.forks)
        rows, failures = [], {}
        trips = trips_size = None
        for size in sizes:
            t0 = time.time()
            inventory = write_inventory(tmp, size, containers, key)
            if trips is None:  # also the warm-up: caches filled, bytecode written
                trips, failed = count_round_trips(tmp, env, inventory, size, containers)
                trips_size = size
                failures.update(failed)
            lines = command_lines(inventory, os.path.join(tmp, "reports"))
            runs = {name: [] for name in COMMANDS}
            for _round in range(opts.repeat):
                for name in COMMANDS:
                    runs[name].append(
                        one_run(name, lines[name], env, tmp, containers, size, failures)
                    )
            rows.append((size, {name: summary(runs[name]) for name in COMMANDS}))
            sys.stderr.write("bench: %d hosts measured in %.0f s\n" % (size, time.time() - t0))
        print(
            "%s. %d lab containers (%s), forks %d, SSH with pipelining and ControlPersist, one "
            "connection per host, opened and closed in each run. Medians of %d interleaved "
            "rounds. Idle containers use %.3f CPU s per second together (included in host CPU).\n"
            % (machine(load), len(containers), IMAGE, opts.forks, opts.repeat, idle)
        )
        print(report(rows, trips, trips_size))
        print()
        print(targets(rows))
        for (size, name), problems in sorted(failures.items()):
            print(
                "\n%s failed in %d runs at %d hosts; first error: %s"
                % (name, len(problems), size, problems[0])
            )
        return 0
    finally:
        if opts.keep:
            sys.stderr.write("bench: kept %s and %s\n" % (", ".join(names), tmp))
        else:
            remove_containers(names)
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("bench: interrupted; containers and temp dir removed")
