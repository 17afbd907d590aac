"""Check an `ansible-builder create` context against the collection it is for.

    python scripts/check_ee.py CONTEXT_DIR

The execution environment must name this collection and every dependency of galaxy.yml, and
allow exactly the ansible-core minors of tests/matrix/versions.  Exits 1 with each mismatch.
"""

import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def problems(context):
    with open(os.path.join(ROOT, "galaxy.yml")) as f:
        galaxy = yaml.safe_load(f)
    with open(os.path.join(ROOT, "execution-environment.yml")) as f:
        ee = yaml.safe_load(f)
    with open(os.path.join(context, "_build", "requirements.yml")) as f:
        built = yaml.safe_load(f)
    with open(os.path.join(ROOT, "tests", "matrix", "versions")) as f:
        minors = [
            tuple(int(p) for p in line.split()[0].split(".")[:2])
            for line in f
            if line.strip() and not line.startswith("#")
        ]
    found = []
    want = {"%s.%s" % (galaxy["namespace"], galaxy["name"])} | set(galaxy.get("dependencies") or {})
    have = {c["name"] for c in built.get("collections") or []}
    if have != want:
        found.append(
            "collections: the context has %s, galaxy.yml asks for %s" % (sorted(have), sorted(want))
        )
    low, high = min(minors), max(minors)
    core = "ansible-core>=%d.%d,<%d.%d" % (low + (high[0], high[1] + 1))
    spec = ee["dependencies"]["ansible_core"]["package_pip"]
    if spec != core:
        found.append("ansible_core: %r, the matrix tests %r" % (spec, core))
    if not os.path.isfile(os.path.join(context, "Containerfile")):
        found.append("no Containerfile in " + context)
    else:
        with open(os.path.join(context, "Containerfile")) as f:
            if not re.search(re.escape(core), f.read()):
                found.append("the Containerfile does not install " + core)
    return found


if __name__ == "__main__":
    found = problems(sys.argv[1])
    for line in found:
        print("execution-environment.yml: " + line)
    print(
        "execution environment: %s"
        % ("ok" if not found else "%d problem%s" % (len(found), "" if len(found) == 1 else "s"))
    )
    sys.exit(1 if found else 0)
