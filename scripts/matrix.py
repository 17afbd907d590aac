"""The version matrix: the collection on every ansible-core release it claims.

For each row of tests/matrix/versions, in a virtualenv of its own (kept between runs under
PORTGUARD_MATRIX_CACHE, default ~/.cache/portguard/matrix, rebuilt when the row or the pins
change):
  build     ansible-galaxy builds the tarball, which installs alone (--offline --no-deps)
  docs      ansible-doc on every module, filter and role of the installed tarball
  unit      the unit tests on this ansible-core (the result hand-back proven equal to exit_json's)
  facts     listening_facts run ad hoc on localhost finds a socket this script holds open, with
            the controller's Python and with the oldest and newest managed-host Python
  molecule  the check-mode audit scenario, on the rows that ask for it, from the tarball
Besides, the host-side unit tests (sockets, owners, systemd units, the probe) run on the oldest
and the newest managed-host Python.  Prints a table and exits non-zero when any cell failed.

    python scripts/matrix.py [--only 2.16,2.21] [--no-molecule]
"""

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSIONS = os.path.join(ROOT, "tests", "matrix", "versions")
CACHE = os.environ.get("PORTGUARD_MATRIX_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "portguard", "matrix"
)
OUT = os.path.join(ROOT, "tests", "output", "matrix")
# The oldest managed-host Python the collection claims, and the newest it is tested on; a row
# names its own oldest (ansible-core 2.20 needs 3.9 on managed hosts).
HOST_PYTHONS = ("3.8", "3.13")
HOST_TESTS = [
    "tests/unit/plugins/module_utils/test__sockets.py",
    "tests/unit/plugins/module_utils/test__owners.py",
    "tests/unit/plugins/module_utils/test__owners_cgroups.py",
    "tests/unit/plugins/module_utils/test__unit_names.py",
    "tests/unit/plugins/module_utils/test__systemd_sockets.py",
    "tests/unit/plugins/module_utils/test__systemd_units.py",
    "tests/unit/plugins/module_utils/_probe",
]
# pytest 8.3 is the newest that still runs on Python 3.8.
HOST_PINS = ["pytest==8.3.5"]
# Pins shared with the main virtualenv (requirements.txt) for what every row, or a Molecule row,
# installs besides ansible-core and ansible.
ROW_PACKAGES = ["pytest", "markdown-it-py"]
MOLECULE_PACKAGES = ["molecule", "molecule-plugins[podman]", "pytest-testinfra"]
# The audit as a role in check mode, and the audit, harden and audit playbooks with their reports.
MOLECULE_SCENARIOS = ("check", "fleet")


def log(msg):
    print("matrix: " + msg, flush=True)


def read_rows(path=VERSIONS):
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            fields = line.split()
            if len(fields) != 5 or fields[4] not in ("molecule", "-"):
                raise SystemExit(
                    "%s:%d: want 'CORE ANSIBLE PYTHON HOST_PYTHON molecule|-'" % (path, number)
                )
            core, ansible, python, host, molecule = fields
            rows.append(
                {
                    "core": core,
                    "minor": ".".join(core.split(".")[:2]),
                    "ansible": ansible,
                    "python": python,
                    "host": host,
                    "molecule": molecule == "molecule",
                }
            )
    return rows


def pins(names):
    """The exact requirement lines of requirements.txt for these distribution names."""
    wanted = {}
    with open(os.path.join(ROOT, "requirements.txt")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==", line)
            if match:
                wanted[match.group(1).lower() + (match.group(2) or "")] = line
    missing = [n for n in names if n.lower() not in wanted]
    if missing:
        raise SystemExit("requirements.txt pins none of " + ", ".join(missing))
    return [wanted[n.lower()] for n in names]


def _version_of(python):
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return version_tuple(out)


def interpreters():
    """{(major, minor): path} of the Pythons on this machine: PATH, /usr/bin, pyenv's builds."""
    found = {}
    pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = [shutil.which("python3") or ""]
    candidates += sorted(glob.glob("/usr/bin/python3.[0-9]*"))
    candidates += sorted(glob.glob(os.path.join(pyenv, "versions", "3.*", "bin", "python3")))
    for path in candidates:
        path = os.path.realpath(path) if path else path
        # pyenv's shims are scripts that pick a build by the directory: name the build itself.
        if not path or "/shims/" in path or not os.access(path, os.X_OK):
            continue
        # pyenv's shims can point at a build that is not there: ask the interpreter itself.
        version = _version_of(path)
        if version and version not in found:
            found[version] = path
    return found


def version_tuple(text):
    """(3, 12) for '3.12'."""
    return tuple(int(p) for p in text.split("."))


def pick_exact(found, version):
    """The interpreter of exactly this minor ('3.8'), or None."""
    return found.get(version_tuple(version))


def pick(found, at_least):
    """The oldest interpreter at or above at_least ('3.12'), or None."""
    want = version_tuple(at_least)
    usable = sorted(v for v in found if v >= want)
    return (found[usable[0]], usable[0]) if usable else (None, None)


def run(cmd, log_path, env=None, cwd=ROOT, timeout=1800):
    """Run cmd with its output appended to log_path; True when it exits 0."""
    with open(log_path, "a") as out:
        out.write("\n$ %s\n" % " ".join(cmd))
        out.flush()
        try:
            proc = subprocess.run(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            out.write("timed out after %d s\n" % timeout)
            return False
        except OSError as exc:
            out.write("cannot run: %s\n" % exc)
            return False
    return proc.returncode == 0


def venv(name, python, requirements, log_path):
    """A virtualenv under CACHE with exactly these requirements, made once and reused."""
    path = os.path.join(CACHE, name)
    stamp_file = os.path.join(path, ".portguard-stamp")
    stamp = hashlib.sha256(("%s\n%s" % (python, "\n".join(requirements))).encode()).hexdigest()[:16]
    try:
        with open(stamp_file) as f:
            if f.read().strip() == stamp:
                return path, False
    except OSError:
        pass
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(CACHE, exist_ok=True)
    ok = run([python, "-m", "venv", path], log_path) and run(
        [os.path.join(path, "bin", "python"), "-m", "pip", "install", "-q"]
        + ["--disable-pip-version-check"]
        + requirements,
        log_path,
    )
    if not ok:
        shutil.rmtree(path, ignore_errors=True)
        return None, True
    with open(stamp_file, "w") as f:
        f.write(stamp + "\n")
    return path, True


def env_for(path, collections=None):
    env = dict(os.environ)
    env["PATH"] = os.path.join(path, "bin") + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = path
    env.pop("PYTHONPATH", None)
    # The tarball's copy only: never the checkout's link or a user's collections.
    env["ANSIBLE_COLLECTIONS_PATH"] = collections or os.path.join(CACHE, "none")
    env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "tests", "matrix", "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


class Listener:
    """A TCP socket on loopback held open by a child process, so that it has a pid."""

    def __enter__(self):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import socket,sys,time\n"
                "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen()\n"
                "print(s.getsockname()[1], flush=True); time.sleep(600)",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = int(self.proc.stdout.readline())
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def facts_check(env, python, listener, log_path):
    """listening_facts on localhost with python as the managed host's interpreter."""
    cmd = [
        "ansible",
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-m",
        "portguard.hardening.listening_facts",
        "-a",
        "include_loopback=true",
        "-e",
        "ansible_python_interpreter=" + python,
    ]
    env = dict(env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.json"
    with open(log_path, "a") as out:
        out.write("\n$ %s\n" % " ".join(cmd))
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False
        )
        out.write(proc.stdout[-4000:] + proc.stderr[-4000:])
    if proc.returncode != 0:
        return "exit %d" % proc.returncode
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        return "unreadable result (%s)" % exc
    sockets = result.get("ansible_facts", {}).get("listening_sockets", [])
    mine = [
        s
        for s in sockets
        if s.get("protocol") == "tcp"
        and s.get("port") == listener.port
        and listener.proc.pid in [p.get("pid") for p in s.get("processes", [])]
    ]
    if len(mine) != 1:
        return "port %d of pid %d not found among %d sockets" % (
            listener.port,
            listener.proc.pid,
            len(sockets),
        )
    return None


def check_row(row, found, work, molecule):
    """Every step of one row; returns {step: 'ok' | 'FAIL ...' | 'skipped ...'}."""
    minor = row["minor"]
    cells = {}
    log_path = os.path.join(OUT, minor + ".log")
    open(log_path, "w").close()
    python, version = pick(found, row["python"])
    if python is None:
        return {"python": "none >= %s on this machine" % row["python"]}
    cells["python"] = "%d.%d" % version
    requirements = ["ansible-core==" + row["core"], "ansible==" + row["ansible"]]
    requirements += pins(ROW_PACKAGES + (MOLECULE_PACKAGES if row["molecule"] else []))
    start = time.monotonic()
    path, built = venv("core-%s-py%d.%d" % ((minor,) + version), python, requirements, log_path)
    cells["venv"] = ("built in %d s" if built else "reused (%d s)") % (time.monotonic() - start)
    if path is None:
        cells["venv"] = "FAIL (see %s)" % os.path.relpath(log_path, ROOT)
        return cells

    base = os.path.join(work, minor)
    installed = os.path.join(base, ".cache", "collections")
    env = env_for(path, installed)
    ok = run(
        ["ansible-galaxy", "collection", "build", "--force", "--output-path", base, ROOT],
        log_path,
        env,
    )
    tarballs = glob.glob(os.path.join(base, "portguard-hardening-*.tar.gz"))
    ok = ok and len(tarballs) == 1
    ok = ok and run(
        ["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force"]
        + ["-p", installed, tarballs[0]],
        log_path,
        env,
    )
    cells["build"] = "ok" if ok else "FAIL"
    if not ok:
        return cells

    docs = run([os.path.join(ROOT, "scripts", "check-docs.sh")], log_path, env)
    cells["docs"] = "ok" if docs else "FAIL"
    unit = run(
        ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"],
        log_path,
        env,
    )
    cells["unit"] = "ok" if unit else "FAIL"

    targets = [("facts", os.path.join(path, "bin", "python"))]
    for name, host_version in (("facts oldest", row["host"]), ("facts newest", HOST_PYTHONS[-1])):
        host_python = pick_exact(found, host_version)
        if host_python:
            targets.append((name, host_python))
            cells[name] = host_version
        else:
            cells[name] = "FAIL: no Python %s on this machine" % host_version
    with Listener() as listener:
        for name, target in targets:
            problem = facts_check(env, target, listener, log_path)
            label = "%s ok" % cells[name] if name in cells else "ok"
            cells[name] = label if problem is None else "FAIL: " + problem

    if row["molecule"] and molecule:
        mol_env = dict(env, PORTGUARD_COLLECTIONS_ROOT=base)
        mol_env.pop("ANSIBLE_CONFIG", None)
        outcomes = []
        for scenario in MOLECULE_SCENARIOS:
            start = time.monotonic()
            ok = run(["molecule", "test", "--scenario-name", scenario], log_path, mol_env)
            outcomes.append(
                "%s %s in %d s" % (scenario, "ok" if ok else "FAIL", time.monotonic() - start)
            )
        failed_any = any(" FAIL " in o for o in outcomes)
        cells["molecule"] = ("FAIL: " if failed_any else "") + ", ".join(outcomes)
    return cells


def host_side(found, log_path):
    """The host-side unit tests on the oldest and newest managed-host Python."""
    cells = {}
    for version in HOST_PYTHONS:
        python = pick_exact(found, version)
        if python is None:
            cells[version] = "skipped: no Python %s here" % version
            continue
        path, _built = venv("host-py" + version, python, HOST_PINS, log_path)
        if path is None:
            cells[version] = "FAIL (venv)"
            continue
        env = dict(os.environ, PATH=os.path.join(path, "bin") + os.pathsep + os.environ["PATH"])
        ok = run(
            [os.path.join(path, "bin", "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
            + HOST_TESTS,
            log_path,
            env,
        )
        cells[version] = "ok" if ok else "FAIL"
    return cells


def failed(cell):
    return cell.startswith("FAIL") or cell.startswith("none")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--only", help="comma-separated minors, e.g. 2.16,2.21")
    parser.add_argument("--no-molecule", action="store_true", help="skip the Molecule rows")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rows = read_rows()
    if args.only:
        rows = [r for r in rows if r["minor"] in args.only.split(",")]
    found = interpreters()
    log("Pythons here: " + ", ".join("%d.%d" % v for v in sorted(found)))
    log("virtualenvs in " + CACHE)
    work = tempfile.mkdtemp(prefix="portguard-matrix-")
    results, bad = [], 0
    try:
        for row in rows:
            start = time.monotonic()
            log("ansible-core %s (ansible %s) ..." % (row["core"], row["ansible"]))
            cells = check_row(row, found, work, not args.no_molecule)
            cells["time"] = "%d s" % (time.monotonic() - start)
            for name, cell in cells.items():
                log("  %-10s %s" % (name, cell))
            bad += sum(failed(c) for c in cells.values())
            results.append((row["core"], cells))
        host = host_side(found, os.path.join(OUT, "host.log"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    columns = ["python", "venv", "build", "docs", "unit", "facts"]
    columns += ["facts oldest", "facts newest", "molecule", "time"]
    print()
    print("| ansible-core | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for core, cells in results:
        print("| %s | %s |" % (core, " | ".join(cells.get(c, "-") for c in columns)))
    print()
    for version, cell in host.items():
        print("host-side unit tests on Python %s: %s" % (version, cell))
        bad += failed(cell)
    print("logs: " + os.path.relpath(OUT, ROOT))
    print("matrix: %d rows, %s" % (len(results), "all passed" if not bad else "%d FAILED" % bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
