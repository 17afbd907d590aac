"""Baseline benchmark: validating, loading and matching a large approved baseline.

Builds N exposed listening sockets and an N-entry baseline (nine in ten sockets are in it, the
other entries describe listeners that went away), then times, as medians over --repeat rounds:

- validate: validate_baseline() of the document;
- load: reading the baseline file as the role does (the collection's reader), when available,
  and with ansible-core's from_yaml filter for comparison;
- match: every socket judged against the baseline and the entries no socket matches listed, with
  the _baseline functions evaluate() uses (whichever signature this tree has);
- evaluate: _policy.evaluate() with the baseline and without it, for the whole picture.

    bench/baseline.py [--size 8000] [--repeat 5]

Run through `make bench`, or with the virtualenv on PATH; the collection is imported from
ANSIBLE_COLLECTIONS_PATH (default .cache/collections of this checkout).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BASE_PORT = 20000


def socket_at(i):
    return {
        "protocol": ("tcp", "udp")[i % 2],
        "family": "ipv4",
        "address": "192.0.2.10",
        "port": BASE_PORT + i // 2,
        "scope": "public",
        "unit": f"svc{i % 97}.service",
        "processes": [{"pid": 1000 + i % 97, "name": f"svc{i % 97}"}],
    }


def entry_at(i):
    sock = socket_at(i)
    return {k: sock[k] for k in ("protocol", "port", "scope", "unit")}


def build(size):
    sockets = [socket_at(i) for i in range(size)]
    # One socket in ten is drift; as many entries describe listeners no longer there.
    listeners = [entry_at(i) for i in range(size) if i % 10] + [
        entry_at(size + i) for i in range(size // 10)
    ]
    doc = {"version": 1, "host": "bench", "recorded_at": "2026-01-01T00:00:00Z"}
    doc["listeners"] = listeners
    return sockets, doc


def timed(repeat, func):
    times = []
    result = None
    for _round in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def matcher(baseline):
    """match(sockets, listeners) -> (sockets in the baseline, entries missing)."""

    def match(sockets, listeners):
        if hasattr(baseline, "baseline_index"):
            index = baseline.baseline_index(listeners)
        else:  # before the index: in_baseline() took the entries themselves
            index = listeners
        hits = sum(1 for sock in sockets if baseline.in_baseline(sock, index))
        return hits, len(baseline.missing_from(listeners, sockets))

    return match


def ansible_from_yaml():
    """ansible-core's from_yaml filter, how the role read baselines before the lookup."""
    try:
        from ansible.plugins.filter.core import from_yaml
    except ImportError:
        return None
    return from_yaml


def reader():
    """The collection's baseline reader, or None in a tree that has none."""
    try:
        from ansible_collections.portguard.hardening.plugins.plugin_utils import _baseline_file
    except ImportError:
        return None
    return _baseline_file


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    paths = os.environ.get("ANSIBLE_COLLECTIONS_PATH", os.path.join(ROOT, ".cache", "collections"))
    sys.path[:0] = paths.split(os.pathsep)
    from ansible_collections.portguard.hardening.plugins.plugin_utils import _policy
    from ansible_collections.portguard.hardening.plugins.plugin_utils._policy import (
        baseline as _baseline,
    )

    sockets, doc = build(args.size)
    listeners = doc["listeners"]
    validate, problems = timed(args.repeat, lambda: _baseline.validate_baseline(doc))
    assert problems == [], problems
    match, (hits, missing) = timed(args.repeat, lambda: matcher(_baseline)(sockets, listeners))
    with_baseline, result = timed(
        args.repeat, lambda: _policy.evaluate(sockets, [], baseline=listeners)
    )
    without, _result = timed(args.repeat, lambda: _policy.evaluate(sockets, []))
    assert (result["summary"]["drift"], len(result["baseline"]["missing"])) == (
        len(sockets) - hits,
        missing,
    )

    print(f"{args.size} sockets, {len(listeners)} baseline entries, median of {args.repeat}")
    print(f"  validate_baseline        {validate:8.3f} s")
    print(f"  match                    {match:8.3f} s")
    print(f"  validate + match         {validate + match:8.3f} s")
    module = reader()
    if module is not None:
        import yaml

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench.yml")
            with open(path, "w") as f:
                yaml.safe_dump(doc, f, default_flow_style=False)
            size = os.path.getsize(path)
            load, _doc = timed(args.repeat, lambda: module.read_baseline(path, max(size, 1 << 20)))
            with open(path) as f:
                text = f.read()
        print(f"  load ({size / 1024:.0f} KiB file)     {load:8.3f} s")
        from_yaml = ansible_from_yaml()
        if from_yaml is not None:
            reference, _ref = timed(args.repeat, lambda: from_yaml(text))
            print(f"  ... with from_yaml       {reference:8.3f} s  (file lookup | from_yaml)")
    else:
        print("  load                     (no reader in this tree)")
    print(f"  evaluate with baseline   {with_baseline:8.3f} s")
    print(f"  evaluate without         {without:8.3f} s")
    print(f"  in the baseline {hits}, drift {len(sockets) - hits}, missing entries {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
