"""Scale benchmark: listening_facts against ss and community.general.listen_ports_facts.

Builds a bounded lab of N listening sockets (TCP and UDP, 127.0.0.1 and ::1) spread over several
processes, plus established connections, inside a private network namespace, so the host's own
sockets stay out of the figures and everything disappears when the run ends. Each tool is run
against the same lab in the same run and its wall time and peak memory are printed.

    bench/listeners.py [--sizes 1000,4000,16000] [--established 2000] [--repeat 5]

Run through `make bench`, which provides the virtualenv and the collection path.
"""

import argparse
import json
import os
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HOLD_LIMIT_SECONDS = 1800
BASE_PORT = 10000
GNU_TIME = "/usr/bin/time"


def listener_spec(i):
    """The i-th lab listener: three in four are TCP, half on IPv6 loopback."""
    protocol = "udp" if i % 4 == 3 else "tcp"
    family = socket.AF_INET6 if i % 2 else socket.AF_INET
    address = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    return protocol, family, address, BASE_PORT + i // 2


def hold(start, end, connections):
    """Child process: open listeners [start, end) and `connections` established pairs, then wait."""
    signal.alarm(HOLD_LIMIT_SECONDS)  # never outlive a forgotten run
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    keep = []
    tcp_listeners = []
    for i in range(start, end):
        protocol, family, address, port = listener_spec(i)
        kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
        s = socket.socket(family, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((address, port))
        if protocol == "tcp":
            s.listen(64)
            tcp_listeners.append(s)
        keep.append(s)
    for n in range(connections):
        server = tcp_listeners[n % min(len(tcp_listeners), 32)]
        client = socket.create_connection(server.getsockname()[:2])
        accepted, _peer = server.accept()
        keep.extend((client, accepted))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    # Exit as soon as the parent closes our stdin (or dies).
    select.select([sys.stdin], [], [])
    return 0


class Lab:
    def __init__(self, size, established, processes):
        self.size = size
        self.children = []
        per = -(-size // processes)
        for p in range(processes):
            start, end = p * per, min(size, (p + 1) * per)
            conns = established if p == 0 else 0
            cmd = [sys.executable, __file__, "--hold", str(start), str(end), str(conns)]
            self.children.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            )
        for child in self.children:
            if child.stdout.readline().strip() != "ready":
                self.close()
                raise SystemExit("bench: a lab process failed to open its sockets")

    def close(self):
        for child in self.children:
            child.stdin.close()
        for child in self.children:
            child.wait(timeout=30)


def measure(argv, env=None, timeout=None):
    """Wall seconds, CPU seconds, peak RSS (MiB) and output of one command; None on timeout.

    GNU time reports the command's own peak RSS: a process forked from this (large) Python
    process would count this process's memory as its own until it execs.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        timed = [GNU_TIME, "-f", "%M", "-o", rss.name] + list(argv)
        start = time.perf_counter()
        proc = subprocess.Popen(timed, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
        wall = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(
                "bench: %s failed: %s" % (argv[0], err.decode(errors="replace")[-500:])
            )
        peak_kib = int(rss.read().split()[-1])
    return wall, usage.ru_utime + usage.ru_stime, peak_kib / 1024.0, out


def measure_isolated(argv, env=None, timeout=None):
    """Run `measure` in a fresh child so RUSAGE_CHILDREN belongs to this command alone."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        result = measure(argv, env, timeout)
        payload = None
        if result is not None:
            payload = list(result[:3]) + [result[3].decode(errors="replace")]
        with os.fdopen(write_fd, "w") as w:
            json.dump(payload, w)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd) as r:
        data = r.read()
    _pid, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        raise SystemExit("bench: measuring %s failed" % argv[0])
    return json.loads(data)


def rounds(repeat, commands):
    """Run each (name, argv, env) once per round, interleaved, so a busy machine slows all alike.

    Returns {name: [(wall, cpu, rss, out), ...]} with one tuple per round.
    """
    runs = dict((name, []) for name, _argv, _env in commands)
    for _round in range(repeat):
        for name, argv, env in commands:
            runs[name].append(measure_isolated(argv, env))
    return runs


def summary(runs, base=None):
    """Median wall and CPU seconds of a tool's rounds (minus the paired base rounds), peak RSS."""
    if base is None:
        walls = [r[0] for r in runs]
        cpus = [r[1] for r in runs]
    else:
        walls = [r[0] - b[0] for r, b in zip(runs, base)]
        cpus = [r[1] - b[1] for r, b in zip(runs, base)]
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "rss": max(r[2] for r in runs),
        "out": runs[-1][3],
    }


def ansible_env():
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".cache", "collections"))
    # Modules run directly as Python programs, the way Ansible runs them on a managed host.
    env["PYTHONPATH"] = env["ANSIBLE_COLLECTIONS_PATH"]
    # Every module runs from bytecode, as ping's ansible-core sources do from site-packages;
    # warm_up() writes the collection's caches before anything is timed.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def warm_up(commands):
    """Run each command once, untimed: bytecode caches written, files in the page cache."""
    for _name, argv, env in commands:
        subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )


def module_argv(name, args_file):
    return [sys.executable, "-m", name, args_file]


LISTENING_FACTS = "ansible_collections.portguard.hardening.plugins.modules.listening_facts"
LISTEN_PORTS_FACTS = "ansible_collections.community.general.plugins.modules.listen_ports_facts"
PING = "ansible.modules.ping"
# The module's scan alone: what main() does before handing its result to Ansible's exit_json.
SCAN_ONLY = (
    "import sys; from %s import gather; facts, _ = gather(); "
    "sys.stdout.write(str(len(facts['listening_sockets'])))" % LISTENING_FACTS
)


def run_size(size, established, processes, repeat, lpf_timeout, env, args_file):
    lab = Lab(size, established, processes)
    try:
        commands = [
            ("ss", ["ss", "-tulpnH"], None),
            ("ping", module_argv(PING, args_file), env),
            ("module", module_argv(LISTENING_FACTS, args_file), env),
            ("scan", [sys.executable, "-c", SCAN_ONLY], env),
        ]
        warm_up(commands)
        runs = rounds(repeat, commands)
        row = {"listeners": size, "established": established}
        row["ss"] = summary(runs["ss"])
        row["ping"] = summary(runs["ping"])
        row["module"] = summary(runs["module"], runs["ping"])
        row["scan"] = summary(runs["scan"], runs["ping"])
        row["ss_count"] = len(row["ss"]["out"].splitlines())
        facts = json.loads(row["module"]["out"])["ansible_facts"]
        row["module_count"] = len(facts["listening_sockets"])
        row["lpf"] = "skipped"
        if lpf_timeout > 0:
            ping = measure_isolated(module_argv(PING, args_file), env)
            lpf = measure_isolated(module_argv(LISTEN_PORTS_FACTS, args_file), env, lpf_timeout)
            row["lpf"] = "timeout" if lpf is None else summary([lpf], [ping])
        return row
    finally:
        lab.close()


def fmt(seconds):
    return "%.3f" % seconds


def report(rows, lpf_timeout):
    lines = [
        "| listeners | established | ss -tulpnH | listening_facts own work | "
        "listening_facts scan only | listen_ports_facts own work | CPU seconds: ss / "
        "listening_facts own work | peak RSS MiB: ss / listening_facts / listen_ports_facts / "
        "ping | sockets counted: ss / listening_facts |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |",
    ]
    for r in rows:
        lpf = r["lpf"]
        if lpf == "timeout":
            lpf_time, lpf_rss = "over %d s, stopped" % lpf_timeout, "-"
        elif lpf == "skipped":
            lpf_time, lpf_rss = "not run", "-"
        else:
            lpf_time, lpf_rss = fmt(lpf["wall"]), "%.1f" % lpf["rss"]
        lines.append(
            "| %d | %d | %s | %s | %s | %s | %s / %s | %.1f / %.1f / %s / %.1f | %d / %d |"
            % (
                r["listeners"],
                r["established"],
                fmt(r["ss"]["wall"]),
                fmt(r["module"]["wall"]),
                fmt(r["scan"]["wall"]),
                lpf_time,
                fmt(r["ss"]["cpu"]),
                fmt(r["module"]["cpu"]),
                r["ss"]["rss"],
                r["module"]["rss"],
                lpf_rss,
                r["ping"]["rss"],
                r["ss_count"],
                r["module_count"],
            )
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="1000,4000,16000")
    parser.add_argument("--established", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--lpf-timeout",
        type=int,
        default=240,
        help="seconds listen_ports_facts may take per size; 0 skips it; once it times out, "
        "larger sizes skip it too",
    )
    parser.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--hold", nargs=3, type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()

    if opts.hold:
        return hold(*opts.hold)
    if not opts.in_namespace:
        # A private network namespace: only the lab's sockets, gone when the run ends.
        argv = ["unshare", "--net", "--", sys.executable, __file__, "--in-namespace"]
        return subprocess.call(argv + sys.argv[1:])

    subprocess.check_call(["ip", "link", "set", "lo", "up"])
    env = ansible_env()
    lpf_timeout = opts.lpf_timeout
    rows = []
    with tempfile.NamedTemporaryFile("w", suffix=".json") as args_file:
        json.dump({"ANSIBLE_MODULE_ARGS": {}}, args_file)
        args_file.flush()
        for size in [int(s) for s in opts.sizes.split(",")]:
            t0 = time.time()
            row = run_size(
                size,
                opts.established,
                opts.processes,
                opts.repeat,
                lpf_timeout,
                env,
                args_file.name,
            )
            rows.append(row)
            if row["lpf"] == "timeout":
                lpf_timeout = 0  # larger labs would only take longer
            sys.stderr.write("bench: %d listeners measured in %.0f s\n" % (size, time.time() - t0))
    print(
        "Wall seconds, median of %d interleaved rounds (listen_ports_facts: one round). A "
        "module's own work is its process's time minus that of ansible.builtin.ping's process in "
        "the same round, both run the way Ansible runs a module on the managed host. Scan "
        "only: the module's gathering without handing the result back.\n" % opts.repeat
    )
    print(report(rows, opts.lpf_timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
