# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scanner host's probe of several targets (the exposed_ports_scan module): each target's
name resolved here, the scanner itself never probed, a few targets at once within the
scanner's total concurrency and rate."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.portguard.hardening.plugins.module_utils._probe.scan import (
    MAX_ERRORS,
    ProbeError,
    check_settings,
    expand_ports,
    parse_address,
    probe_host,
)
from ansible_collections.portguard.hardening.plugins.module_utils._probe.vantage import (
    own_address,
    resolve,
    source_address,
)
from ansible_collections.portguard.hardening.plugins.module_utils._values import is_int, show

MAX_PARALLEL = 64
# Every field of a target; more is a mistake to name.
TARGET_FIELDS = ("host", "address", "tcp_ports", "udp_ports")


def check_targets(targets):
    """[{"host", "address", "tcp_ports", "udp_ports"}] with the ports expanded; ProbeError names
    every bad field (targets[2].tcp_ports[0])."""
    if not isinstance(targets, (list, tuple)):
        raise ProbeError(["targets: expected a list of targets, got %s" % show(targets)])
    good, problems = [], []
    for index, target in enumerate(targets):
        field = "targets[%d]" % index
        if not isinstance(target, dict):
            problems.append("%s: expected a mapping, got %s" % (field, show(target)))
            continue
        extra = sorted(str(k) for k in target if k not in TARGET_FIELDS)
        if extra:
            problems.append(
                "%s: unknown fields %s (known: %s)"
                % (field, ", ".join(show(k) for k in extra), ", ".join(TARGET_FIELDS))
            )
        for name in ("host", "address"):
            value = target.get(name)
            if not isinstance(value, str) or not value.strip():
                problems.append(
                    "%s.%s: expected a non-empty string, got %s" % (field, name, show(value))
                )
        ports = {}
        for name in ("tcp_ports", "udp_ports"):
            try:
                ports[name] = expand_ports(target.get(name, []), "%s.%s" % (field, name))
            except ProbeError as exc:
                problems.extend(exc.errors)
        if len(problems) >= MAX_ERRORS:
            break
        good.append(dict(target, **ports))
    if problems:
        raise ProbeError(problems[:MAX_ERRORS])
    return good


def shares(settings, workers):
    """Each worker's settings: the scanner's concurrency and rate split among ``workers``, so
    that together they stay within the totals (scan() runs at most ``concurrency`` workers)."""
    each = dict(settings)
    each["concurrency"] = max(1, settings["concurrency"] // workers)
    if settings["rate"]:
        each["rate"] = float(settings["rate"]) / workers
    return each


def scan(targets, settings=None, parallel=4, whose="this scanner"):
    """(probes, unprobed): probe_host() of every target from here, each with ``host`` and
    ``source`` (this machine's address toward it), and the targets not probed, each with
    ``why`` (a name that does not resolve here, the scanner itself). ProbeError, before anything
    is sent, names every bad field."""
    problems = []
    try:
        targets = check_targets(targets)
    except ProbeError as exc:
        problems.extend(exc.errors)
        targets = []
    try:
        settings = check_settings(settings or {})
    except ProbeError as exc:
        problems.extend(exc.errors)
    if not is_int(parallel) or not 1 <= parallel <= MAX_PARALLEL:
        problems.append(
            "parallel: expected an integer from 1 to %d (targets probed at once), got %s"
            % (MAX_PARALLEL, show(parallel))
        )
    if problems:
        raise ProbeError(problems[:MAX_ERRORS])
    jobs, unprobed = [], []
    for index, target in enumerate(targets):
        field = "targets[%d].address" % index
        try:
            address, notes = resolve(target["address"], field)
            # A name may resolve to what is no host's address (0.0.0.0 from a sinkhole).
            parse_address(address, field)
        except ProbeError as exc:
            unprobed.append(dict(host=target["host"], address=target["address"], why=exc.errors[0]))
            continue
        source = source_address(address)
        own = own_address(address, source, whose)
        if own:
            unprobed.append(dict(host=target["host"], address=address, why=own))
            continue
        jobs.append((target, address, source, notes))
    probes = []
    if jobs:
        workers = min(parallel, len(jobs), settings["concurrency"])
        each = shares(settings, workers)

        def run(job):
            target, address, source, notes = job
            try:
                probe = probe_host(address, target["tcp_ports"], target["udp_ports"], each)
            except ProbeError as exc:
                return None, dict(host=target["host"], address=address, why=exc.errors[0])
            probe["notes"] = notes + probe["notes"]
            probe.update(host=target["host"], source=source)
            return probe, None

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for probe, why in pool.map(run, jobs):
                if probe is not None:
                    probes.append(probe)
                else:
                    unprobed.append(why)
    return probes, unprobed
