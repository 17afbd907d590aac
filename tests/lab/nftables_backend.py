# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof of exposed_ports_nftables on real lab hosts, seen from outside.

Boots one container at a time, named pg-nft-lab, from the lab image, runs the module on it with
ansible (containers.podman connection) and connects from this machine to the container's own
address, the only address it ever connects to. Removes the container at the end, also on
failure. Exits 0 when every check held, 1 at the first that did not, and prints its run time.

  a) nftables.service with a drop policy: the table closes 8080 and restricts 11211 to another
     address; it survives restart, stop (flush ruleset), start and reload of nftables.service
     and a reboot of the host; a second run changes nothing.
  d) state=absent on that host removes everything, the admin's table stays, 8080 answers.
  b) no firewall at all: 8080 closed, 11211 open to this machine only, holds over a reboot.
  c) iptables-persistent: 8080 stays closed over a restart of netfilter-persistent and the
     admin's iptables rules stay; state=absent opens it again.

Run from the repository root with the lab environment (docs/development.md):
  python tests/lab/nftables_backend.py [--image localhost/portguard-lab:bookworm] [--only a,b,c]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "pg-nft-lab"
MODULE = "portguard.hardening.exposed_ports_nftables"
KEEP = [{"port": 22, "protocol": "tcp"}]
# Not this machine's address: a documentation network (RFC 5737).
OTHER_SOURCE = "192.0.2.10"
NFTABLES_CONF = """#!/usr/sbin/nft -f
flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport { 22, 80, 8080, 11211 } accept
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t}
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t}
}
"""
RULES_V4 = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 9999 -m comment --comment "admin-rule" -j ACCEPT
COMMIT
"""
FILES = [
    "/etc/portguard/nftables.nft",
    "/etc/systemd/system/portguard-nftables.service",
    "/etc/systemd/system/nftables.service.d/50-portguard.conf",
    "/etc/systemd/system/netfilter-persistent.service.d/50-portguard.conf",
    "/etc/systemd/system/ufw.service.d/50-portguard.conf",
    "/etc/systemd/system/firewalld.service.d/50-portguard.conf",
]
TIMES = []


class CheckFailed(Exception):
    pass


def check(what, actual, expected):
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")
    print(f"  ok  {what}: {actual!r}")


def podman(*args, check_rc=True):
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check_rc)


def sh(command, check_rc=True):
    """A shell command inside the lab container (set-up and inspection only)."""
    done = podman("exec", NAME, "sh", "-c", command, check_rc=False)
    if check_rc and done.returncode != 0:
        raise CheckFailed(f"in the container, {command!r} failed: {done.stderr.strip()}")
    return done.stdout


def address():
    out = podman("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", NAME)
    return out.stdout.strip()


def wait_booted():
    for _attempt in range(60):
        state = podman("exec", NAME, "systemctl", "is-system-running", check_rc=False).stdout
        if state.strip() in ("running", "degraded"):
            return
        time.sleep(1)
    raise CheckFailed("the container did not finish booting in 60 s")


def boot(image):
    podman("rm", "-f", NAME, check_rc=False)
    podman("run", "-d", "--name", NAME, "--privileged", "--systemd=always", image, "/sbin/init")
    wait_booted()
    print(f"booted {NAME} at {address()}")


def reboot():
    podman("restart", NAME)
    wait_booted()
    print(f"restarted {NAME}, now at {address()}")


def probe(port):
    """open, refused or filtered: a TCP connection from here to the container's address."""
    try:
        with socket.create_connection((address(), port), timeout=2):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "filtered"


def probes(expected):
    for port, state in sorted(expected.items()):
        check(f"port {port} from outside", probe(port), state)


def my_address():
    """The address this machine's packets to the container come from."""
    out = subprocess.run(
        ["ip", "-j", "route", "get", address()], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)[0]["prefsrc"]


def module(args, check_mode=False):
    """The module's result on the container, through ansible; records its wall time."""
    argv = ["ansible", "-i", NAME + ",", "-c", "containers.podman.podman", "all"]
    argv += ["-m", MODULE, "-a", json.dumps(args)]
    argv += ["-e", "ansible_python_interpreter=/usr/bin/python3"]
    if check_mode:
        argv.append("--check")
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    TIMES.append(time.monotonic() - start)
    try:
        result = json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"][NAME]
    except (ValueError, KeyError, IndexError):
        raise CheckFailed(f"ansible printed no result: {done.stdout}{done.stderr}") from None
    if done.returncode != 0 or result.get("failed"):
        raise CheckFailed("the module failed: {}".format(result.get("msg", result)))
    print(
        "  run {:.2f} s: changed={} loaded={} files_changed={}".format(
            TIMES[-1], result["changed"], result["loaded"], len(result["files_changed"])
        )
    )
    return result


def tables():
    listed = json.loads(sh("nft -j list tables"))["nftables"]
    return sorted("{family} {name}".format(**o["table"]) for o in listed if "table" in o)


def unit_active(unit):
    return sh(f"systemctl is-active {unit}", check_rc=False).strip()


def lo_answers(port):
    """Whether the listener answers on loopback inside the container (the table lets lo by)."""
    code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    return podman("exec", NAME, "python3", "-c", code, check_rc=False).returncode == 0


def apply_twice(args):
    result = module(args)
    check("first run changed", result["changed"], True)
    check("table loaded", result["loaded"], True)
    check("unit enabled", result["unit_enabled"], True)
    check("second run changed", module(args)["changed"], False)
    check("check-mode run changed", module(args, check_mode=True)["changed"], False)
    return result


def absent_removes_everything(admin_table):
    result = module({"state": "absent"})
    check("absent changed", result["changed"], True)
    check("files left", sh("ls " + " ".join(FILES) + " 2>/dev/null", check_rc=False), "")
    check("tables after absent", tables(), admin_table)
    check("portguard unit", unit_active("portguard-nftables"), "inactive")
    check("second absent run changed", module({"state": "absent"})["changed"], False)


def scenario_a(image):
    print("a) nftables.service host, then d) state=absent")
    boot(image)
    sh("cat > /etc/nftables.conf <<'EOF'\n" + NFTABLES_CONF + "EOF")
    sh("systemctl enable --now nftables")
    probes({22: "open", 80: "open", 8080: "open", 11211: "open", 111: "filtered"})
    rules = [
        {"port": 8080, "protocol": "tcp", "action": "block", "ids": ["admin-console"]},
        {
            "port": 11211,
            "protocol": "tcp",
            "action": "restrict",
            "sources": [OTHER_SOURCE],
            "ids": ["memcached"],
        },
    ]
    apply_twice({"rules": rules, "keep": KEEP})
    check("nftables.service after the module", unit_active("nftables"), "active")
    probes({22: "open", 80: "open", 8080: "refused", 11211: "refused", 111: "filtered"})
    check("8080 on loopback inside", lo_answers(8080), True)
    for verb in ("restart", "stop", "start", "reload"):
        sh(f"systemctl {verb} nftables")
        expected = ["inet portguard"] + ([] if verb == "stop" else ["inet filter"])
        check(f"tables after systemctl {verb} nftables", tables(), sorted(expected))
        check(f"8080 after systemctl {verb} nftables", probe(8080), "refused")
    check("111 with nftables stopped and started again", probe(111), "filtered")
    reboot()
    probes({22: "open", 80: "open", 8080: "refused", 11211: "refused"})
    check("portguard unit after reboot", unit_active("portguard-nftables"), "active")
    check("nftables.service after reboot", unit_active("nftables"), "active")
    check(
        "admin rules after reboot",
        "tcp dport { 22, 80, 8080, 11211 } accept" in sh("nft list table inet filter"),
        True,
    )
    check("run after reboot changed", module({"rules": rules, "keep": KEEP})["changed"], False)
    absent_removes_everything(["inet filter"])
    probes({8080: "open", 11211: "open", 111: "filtered"})


def scenario_b(image):
    print("b) no firewall at all")
    boot(image)
    check("tables before", tables(), [])
    probes({8080: "open", 11211: "open"})
    me = my_address()
    rules = [
        {"port": 8080, "protocol": "tcp", "action": "block"},
        {"port": 11211, "protocol": "tcp", "action": "restrict", "sources": [me]},
    ]
    apply_twice({"rules": rules, "keep": KEEP})
    probes({22: "open", 80: "open", 8080: "refused", 11211: "open"})
    check("8080 on loopback inside", lo_answers(8080), True)
    check("tables", tables(), ["inet portguard"])
    reboot()
    check("this machine's address after reboot", my_address(), me)
    probes({22: "open", 8080: "refused", 11211: "open"})
    check("portguard unit after reboot", unit_active("portguard-nftables"), "active")
    check("run after reboot changed", module({"rules": rules, "keep": KEEP})["changed"], False)


def scenario_c(image):
    print("c) iptables-persistent host")
    boot(image)
    for family in ("v4", "v6"):
        sh(
            "echo 'iptables-persistent iptables-persistent/autosave_%s boolean false' "
            "| debconf-set-selections" % family
        )
    sh("DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null")
    sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -q iptables-persistent >/dev/null")
    sh("cat > /etc/iptables/rules.v4 <<'EOF'\n" + RULES_V4 + "EOF")
    sh("systemctl restart netfilter-persistent")
    check("admin rule loaded", "admin-rule" in sh("iptables-save"), True)
    probes({8080: "open"})
    apply_twice({"rules": [{"port": 8080, "protocol": "tcp", "action": "block"}], "keep": KEEP})
    probes({22: "open", 80: "open", 8080: "refused"})
    sh("systemctl restart netfilter-persistent")
    check("8080 after restarting netfilter-persistent", probe(8080), "refused")
    check("admin rule after the restart", "admin-rule" in sh("iptables-save"), True)
    check("netfilter-persistent", unit_active("netfilter-persistent"), "active")
    absent_removes_everything(["ip filter"])
    probes({8080: "open"})
    check("admin rule after absent", "admin-rule" in sh("iptables-save"), True)


def environment():
    """The lab environment, filled in where the caller left it out."""
    env = os.environ
    env.setdefault("CONTAINERS_CONF", os.path.join(REPO, "lab", "containers.conf"))
    if "ANSIBLE_COLLECTIONS_PATH" not in env:
        base = tempfile.mkdtemp(prefix="portguard-lab-")
        os.makedirs(os.path.join(base, "ansible_collections", "portguard"))
        os.symlink(REPO, os.path.join(base, "ansible_collections", "portguard", "hardening"))
        env["ANSIBLE_COLLECTIONS_PATH"] = base
    env.setdefault("ANSIBLE_HOST_KEY_CHECKING", "False")
    # The json callback: one document per ad-hoc run, whatever the caller's configuration.
    env["ANSIBLE_LOAD_CALLBACK_PLUGINS"] = "1"
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.json"


SCENARIOS = {"a": scenario_a, "b": scenario_b, "c": scenario_c}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="localhost/portguard-lab:bookworm")
    parser.add_argument("--only", default="a,b,c", help="scenarios to run, e.g. a,c")
    options = parser.parse_args()
    environment()
    start = time.monotonic()
    failed = None
    try:
        for key in options.only.split(","):
            SCENARIOS[key.strip()](options.image)
    except (CheckFailed, subprocess.CalledProcessError) as e:
        failed = e
    finally:
        podman("rm", "-f", NAME, check_rc=False)
    runs = sorted(TIMES)
    if runs:
        median, longest = runs[len(runs) // 2], runs[-1]
        print(
            f"module runs: {len(runs)}, wall time through ansible: median {median:.2f} s, "
            f"max {longest:.2f} s"
        )
    print(f"total {time.monotonic() - start:.0f} s")
    if failed is not None:
        print(f"FAILED: {failed}", file=sys.stderr)
        return 1
    print("all checks held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
