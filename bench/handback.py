"""Result hand-back: listening_facts' exit_plain against AnsibleModule.exit_json, per ansible-core.

For every virtualenv of the version matrix (scripts/matrix.py, ~/.cache/portguard/matrix), or the
running interpreter alone, times how long each way takes to print the result of a host with N
sockets (the shape listening_facts returns), in a child process of that ansible-core:

    python bench/handback.py [--sockets 4000] [--repeat 7] [--python PATH ...]

Prints one row per ansible-core: the median seconds of exit_json, of exit_plain, and which path
exit_plain took (its own, or exit_json's on a release it does not trust).
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("PORTGUARD_MATRIX_CACHE") or os.path.expanduser("~/.cache/portguard/matrix")

CHILD = r"""
import io, json, sys, time
base, sockets, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sys.argv[1:] = []
sys.path.insert(0, base)
from ansible.module_utils import basic
from ansible.module_utils.ansible_release import __version__
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.portguard.hardening.plugins.module_utils import _result

try:  # 2.19 on: arguments and the serialization profile, as the controller sends them
    from ansible.module_utils import _internal
    from ansible.module_utils.testing import patch_module_args
    _internal.is_controller = False
    _args = patch_module_args({})  # kept open for the whole run
    _args.__enter__()
except ImportError:
    basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": {}}).encode()


def entry(i):
    return {
        "protocol": "tcp" if i % 4 else "udp", "family": "ipv4", "address": "0.0.0.0",
        "port": 10000 + i, "scope": "any", "interface": None, "v6only": None,
        "processes": [{"pid": 100 + i % 8, "name": "holder", "exe": "/usr/bin/python3",
                       "cmdline": ["python3", "-m", "holder", str(i % 8)], "uid": 0,
                       "user": "root"}],
        "pids": [100 + i % 8], "unit": "holder.service", "activated_by": [],
    }


result = {"changed": False, "ansible_facts": {
    "listening_sockets": [entry(i) for i in range(sockets)],
    "listening_sockets_meta": {"source": "netlink", "count": sockets}}}


def timed(finish):
    times = []
    for _ in range(repeat):
        module = AnsibleModule(argument_spec={})
        out, sys.stdout = sys.stdout, io.StringIO()
        start = time.perf_counter()
        try:
            finish(module)
        except SystemExit:
            pass
        elapsed = time.perf_counter() - start
        sys.stdout = out
        times.append(elapsed)
    return sorted(times)[len(times) // 2]


module = AnsibleModule(argument_spec={})
own = _result.plain_result(module, result, []) is not None
core = timed(lambda m: m.exit_json(**result))
plain = timed(lambda m: _result.exit_plain(m, result))
print(json.dumps({"core": __version__, "python": sys.version.split()[0],
                  "exit_json": core, "exit_plain": plain, "own_path": own}))
"""


def pythons(given):
    if given:
        return given
    found = sorted(glob.glob(os.path.join(CACHE, "core-*", "bin", "python")))
    return found or [sys.executable]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sockets", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--python", action="append", help="an interpreter with ansible-core")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="portguard-bench-")
    os.makedirs(os.path.join(base, "ansible_collections", "portguard"))
    os.symlink(ROOT, os.path.join(base, "ansible_collections", "portguard", "hardening"))
    print("| ansible-core | Python | exit_json (s) | exit_plain (s) | exit_plain's path | saved |")
    print("| --- | --- | --- | --- | --- | --- |")
    try:
        for python in pythons(args.python):
            proc = subprocess.run(
                [python, "-c", CHILD, base, str(args.sockets), str(args.repeat)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                print("| %s | failed: %s |" % (python, proc.stderr.strip().splitlines()[-1:]))
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                "| %s | %s | %.3f | %.3f | %s | %.0f %% |"
                % (
                    row["core"],
                    row["python"],
                    row["exit_json"],
                    row["exit_plain"],
                    "its own" if row["own_path"] else "exit_json",
                    100 * (1 - row["exit_plain"] / row["exit_json"]),
                )
            )
    finally:
        os.unlink(os.path.join(base, "ansible_collections", "portguard", "hardening"))
        os.removedirs(os.path.join(base, "ansible_collections", "portguard"))
    print("(%d sockets, median of %d runs each)" % (args.sockets, args.repeat))


if __name__ == "__main__":
    main()
