# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet reports: the document, its validation, the verdict, and that the views agree."""

import copy
import json

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.findings import STATUSES
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import (
    FleetError,
    _host_facts,
    fleet_data,
    fleet_errors,
    host_document,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    verdict,
)
from fleet_views import (
    KEPT_SSH,
    RUN,
    SSH_ERROR,
    V6,
    finding,
    markdown_tables,
    parse_page,
    parse_xml,
    sample_doc,
    sample_hosts,
)


@pytest.fixture
def doc():
    return sample_doc()


# ---------------------------------------------------------------------------
# The document


def test_fleet_summary(doc):
    assert doc["version"] == 1
    assert doc["run"] == RUN
    assert doc["summary"] == {
        "hosts": 3,
        "ok": 2,
        "unreachable": 1,
        "failed": 0,
        "open": 2,
        "remediated": 3,
        "kept": 1,
        "failed_findings": 0,
        "by_action": {"block": 1, "disable": 4, "report": 1},
    }


def test_hosts_are_sorted_and_unreachable_ones_kept(doc):
    assert list(doc["hosts"]) == ["db1", "web1", "web2"]
    assert doc["hosts"]["db1"] == {
        "state": "unreachable",
        "error": SSH_ERROR,
        "findings": [],
        "allowed": [],
        "summary": {
            "open": 0,
            "remediated": 0,
            "kept": 0,
            "failed": 0,
            "total": 0,
            "by_action": {},
        },
        "firewall": None,
        "firewalls": [],
        "backend": None,
        "nfs_in_use": None,
        "outside": None,
        "baseline_missing": [],
    }


def test_host_entry_keeps_findings_in_order_and_recounts(doc):
    web2 = doc["hosts"]["web2"]
    assert web2["findings"] == [finding(), finding(**V6), finding(**KEPT_SSH)]
    assert web2["allowed"] == []
    assert web2["summary"] == {
        "open": 2,
        "remediated": 0,
        "kept": 1,
        "failed": 0,
        "total": 3,
        "by_action": {"disable": 2, "report": 1},
    }
    assert (web2["state"], web2["error"], web2["firewall"], web2["nfs_in_use"]) == (
        "ok",
        None,
        "stopped",
        False,
    )


def test_document_is_a_copy():
    hosts = sample_hosts()
    doc = fleet_data(hosts, RUN)
    doc["hosts"]["web2"]["findings"][0]["unit"] = "changed"
    assert hosts == sample_hosts()


def _templated(value):
    """value as templating hands it to an action: tagged (2.19 on) or marked unsafe (before)."""
    try:
        from ansible._internal._datatag._tags import Origin
    except ImportError:
        from ansible.utils.unsafe_proxy import wrap_var

        return wrap_var(value)
    return Origin(path="/play.yml", line_num=3).tag(value)


def test_tagged_ansible_values_become_plain():
    # What the action gets from templating: str, dict and list subclasses.
    hosts = sample_hosts()
    hosts["web2"]["report"]["findings"][0]["unit"] = _templated("rpcbind.service")
    doc = fleet_data(_templated(hosts), _templated(copy.deepcopy(RUN)))
    unit = doc["hosts"]["web2"]["findings"][0]["unit"]
    assert unit.__class__ is str and unit == "rpcbind.service"
    assert doc["hosts"].__class__ is dict and doc["run"].__class__ is dict


def test_a_failed_host_keeps_its_report():
    hosts = sample_hosts()
    hosts["web1"]["state"] = "failed"
    hosts["web1"]["error"] = "not remediated: 111/tcp disable"
    doc = fleet_data(hosts, RUN)
    assert doc["hosts"]["web1"]["summary"]["remediated"] == 3
    assert (doc["summary"]["ok"], doc["summary"]["failed"], doc["summary"]["remediated"]) == (
        1,
        1,
        3,
    )


def test_host_document(doc):
    document = host_document("db1", doc["hosts"]["db1"], doc["run"])
    assert document == dict(doc["hosts"]["db1"], host="db1", run=RUN)
    assert sorted(document) == [
        "allowed",
        "backend",
        "baseline_missing",
        "error",
        "findings",
        "firewall",
        "firewalls",
        "host",
        "nfs_in_use",
        "outside",
        "run",
        "state",
        "summary",
    ]


def test_render_json_is_stable(doc):
    text = render_json({"b": "ü", "a": [2, 1]})
    assert text == '{\n  "a": [\n    2,\n    1\n  ],\n  "b": "ü"\n}\n'
    assert json.loads(render_json(doc)) == doc


# ---------------------------------------------------------------------------
# Validation


def with_change(path, value):
    """sample_hosts() with the value at path (a tuple of keys and indexes) replaced or removed."""
    hosts = sample_hosts()
    target = hosts
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return hosts


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        (
            with_change(("web1", "state"), "weird"),
            ["hosts.web1.state: 'weird' is not one of ok, unreachable, failed"],
        ),
        (with_change(("web1", "state"), KeyError), ["hosts.web1: missing state"]),
        (
            with_change(("web1", "reason"), "x"),
            ["hosts.web1: unknown key 'reason' (known: error, report, state)"],
        ),
        (
            with_change(("web1", "report"), None),
            ["hosts.web1.report: an ok host needs its exposed_ports_report"],
        ),
        (
            with_change(("web1", "error"), "boom"),
            ["hosts.web1.error: an ok host has no error, got 'boom'"],
        ),
        (
            with_change(("db1", "error"), 3),
            ["hosts.db1.error: expected a message or null, got 3"],
        ),
        (
            with_change(("web1", "report"), [1]),
            ["hosts.web1.report: expected an exposed_ports_report mapping or null, got a list"],
        ),
        (
            with_change(("web1", "report", "findings"), KeyError),
            ["hosts.web1.report: missing findings (is it an exposed_ports_report?)"],
        ),
        (
            with_change(("web1", "report", "host"), "web2"),
            ["hosts.web1.report.host: 'web2' is another host's report"],
        ),
        (
            with_change(("web1", "report", "findings", 1, "status"), "closed"),
            [
                "hosts.web1.report.findings[1].status: expected one of open, remediated, kept, "
                "failed, got 'closed'"
            ],
        ),
        (
            with_change(("web1", "report", "findings", 0, "port"), True),
            ["hosts.web1.report.findings[0].port: expected a port (1-65535), got True"],
        ),
        (
            with_change(("web1", "report", "findings", 0, "processes"), "sshd"),
            ["hosts.web1.report.findings[0].processes: expected a list of strings, got 'sshd'"],
        ),
        (
            with_change(("web1", "report", "findings", 2), "x"),
            ["hosts.web1.report.findings[2]: expected a mapping, got 'x'"],
        ),
        (
            with_change(("web1", "report", "findings", 0), {"rule": "r", "status": "open"}),
            ["hosts.web1.report.findings[0]: missing protocol, address, port, action"],
        ),
        (
            with_change(("web1", "report", "allowed", 0, "port"), "80"),
            ["hosts.web1.report.allowed[0].port: expected a port (1-65535), got '80'"],
        ),
        (
            with_change(("web1", "report", "firewall"), "up"),
            ["hosts.web1.report.firewall: 'up' is not one of absent, running, stopped"],
        ),
        (
            with_change(("web1", "report", "nfs_in_use"), "no"),
            ["hosts.web1.report.nfs_in_use: expected true or false, got 'no'"],
        ),
        (
            with_change(("web2",), "ok"),
            ["hosts.web2: expected a mapping with state, report and error, got 'ok'"],
        ),
        (
            {"": {"state": "unreachable"}},
            ["hosts: a host name must be a non-empty string, got ''"],
        ),
        (
            ["web1"],
            [
                "hosts: expected a mapping of inventory host names to {state, report, error}, "
                "got a list"
            ],
        ),
        (
            dict(
                with_change(("web1", "state"), "weird"),
                db1={"state": "failed", "report": None, "error": None},
            ),
            ["hosts.web1.state: 'weird' is not one of ok, unreachable, failed"],
        ),
    ],
)
def test_bad_hosts(hosts, expected):
    assert fleet_errors(hosts, RUN) == expected
    with pytest.raises(FleetError) as info:
        fleet_data(hosts, RUN)
    assert info.value.errors == expected
    assert str(info.value) == "; ".join(expected)


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (
            dict(RUN, playbook="scan"),
            ["run.playbook: 'scan' is not one of audit, harden, baseline"],
        ),
        (dict(RUN, check_mode="yes"), ["run.check_mode: expected true or false, got 'yes'"]),
        (dict(RUN, started=""), ["run.started: expected an ISO 8601 time, got ''"]),
        (
            {"playbook": "audit", "inventory": "lab"},
            [
                "run: missing check_mode, policy, started",
                "run: unknown key 'inventory' (known: check_mode, playbook, policy, started)",
            ],
        ),
        (
            dict(RUN, policy=["web"]),
            ["run.policy: expected a mapping with default_action and rules, got a list"],
        ),
        (
            dict(RUN, policy={"rules": "web"}),
            [
                "run.policy: missing default_action",
                "run.policy.rules: expected a list of strings, got 'web'",
            ],
        ),
        (
            None,
            ["run: expected a mapping with playbook, check_mode, started and policy, got None"],
        ),
    ],
)
def test_bad_run(run, expected):
    assert fleet_errors(sample_hosts(), run) == expected


def test_every_problem_is_reported_at_once():
    hosts = with_change(("web1", "state"), "weird")
    assert fleet_errors(hosts, dict(RUN, playbook="scan")) == [
        "run.playbook: 'scan' is not one of audit, harden, baseline",
        "hosts.web1.state: 'weird' is not one of ok, unreachable, failed",
    ]


def test_an_empty_fleet_is_valid():
    doc = fleet_data({}, RUN)
    assert doc["hosts"] == {}
    assert doc["summary"]["hosts"] == 0
    assert verdict(doc) == (False, "No hosts were reported.")


# ---------------------------------------------------------------------------
# Verdict


def summary_doc(**counts):
    summary = {
        "hosts": 2,
        "ok": 2,
        "unreachable": 0,
        "failed": 0,
        "open": 0,
        "remediated": 0,
        "kept": 0,
        "failed_findings": 0,
    }
    summary.update(counts)
    hosts = {"a": {"summary": {"open": counts.get("open", 0)}}, "b": {"summary": {"open": 0}}}
    return {"summary": summary, "hosts": hosts}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, (True, "No open findings on 2 hosts.")),
        (
            {"remediated": 6, "kept": 1},
            (True, "No open findings on 2 hosts (6 remediated, 1 kept)."),
        ),
        ({"open": 1}, (False, "Action needed: 1 finding open on 1 host.")),
        (
            {"open": 3, "failed_findings": 2, "failed": 1, "unreachable": 2, "ok": 0},
            (
                False,
                "Action needed: 2 findings failed remediation; 3 findings open on 1 host; "
                "1 host failed; 2 hosts unreachable.",
            ),
        ),
    ],
)
def test_verdict(counts, expected):
    assert verdict(summary_doc(**counts)) == expected


# ---------------------------------------------------------------------------
# The views agree


def counts_from_markdown(text):
    hosts_table = markdown_tables(text)[0]
    assert hosts_table[0] == ["host", "state", "open", "remediated", "kept", "failed"]
    rows = dict((row[0], row[1:]) for row in hosts_table[1:])
    total = rows.pop("total")
    return {
        "hosts": dict(
            (name, (row[0], dict(zip(STATUSES, map(int, row[1:]))))) for name, row in rows.items()
        ),
        "total": [int(n) for n in total[1:]],
    }


def counts_from_html(text):
    hosts = {}
    for name, row in parse_page(text).rows.items():
        counts = dict((status, 0) for status in STATUSES)
        for chip, _title in row["chips"]:
            counts[chip[len("s-") :]] += 1
        hosts[name] = (row["state"], counts)
    return hosts


def counts_from_junit(text):
    suite = parse_xml(text)
    hosts = {}
    for case in suite.findall("testcase"):
        host = hosts.setdefault(case.get("classname"), ["ok", dict((s, 0) for s in STATUSES)])
        counts = host[1]
        for child in case:
            if child.tag == "error":
                host[0] = child.get("type")
            else:
                for line in child.text.splitlines():
                    counts[line.split()[0]] += 1
    return suite, dict((name, tuple(value)) for name, value in hosts.items())


@pytest.mark.parametrize("variant", ["sample", "failed host", "failed finding"])
def test_all_views_agree(variant):
    hosts = sample_hosts()
    if variant == "failed host":
        hosts["web1"].update(state="failed", error="boom")
    elif variant == "failed finding":
        hosts["web2"]["report"]["findings"][1]["status"] = "failed"
    doc = fleet_data(hosts, RUN)
    s = doc["summary"]
    expected = dict(
        (name, (host["state"], dict((k, host["summary"][k]) for k in STATUSES)))
        for name, host in doc["hosts"].items()
    )

    md = counts_from_markdown(render_markdown(doc))
    assert md["hosts"] == expected
    assert md["total"] == [s["open"], s["remediated"], s["kept"], s["failed_findings"]]

    assert counts_from_html(render_html(doc)) == expected

    suite, junit_counts = counts_from_junit(render_junit(doc))
    assert junit_counts == expected
    groups = set(
        (name, f["rule"], f["port"], f["protocol"])
        for name, host in doc["hosts"].items()
        for f in host["findings"]
        if f["status"] in ("open", "failed")
    )
    assert int(suite.get("failures")) == len(groups)
    assert int(suite.get("errors")) == s["unreachable"] + s["failed"]


def test_baseline_listeners_that_are_gone_are_kept_for_information():
    gone = [{"protocol": "tcp", "port": 80, "scope": "any", "unit": "nginx.service"}]
    report = {
        "host": "web1",
        "findings": [],
        "allowed": [],
        "baseline": {"given": True, "missing": gone},
    }
    doc = fleet_data({"web1": {"state": "ok", "report": report, "error": None}}, RUN)
    assert doc["hosts"]["web1"]["baseline_missing"] == gone
    assert doc["summary"]["open"] == 0


def test_host_names_its_firewalls_and_what_closes_its_ports():
    hosts = sample_hosts()
    report = hosts["web1"]["report"]
    report["firewalls"] = [
        {"name": "ufw", "state": "active", "why": "ufw is enabled"},
        {"name": "firewalld", "state": "inactive", "why": "firewalld.service is inactive"},
        {"name": "docker", "state": "active", "why": "Docker's chains are loaded"},
    ]
    report["backend"] = {"name": "nftables", "why": "the host runs ufw, docker"}
    entry = fleet_data(hosts, RUN)["hosts"]["web1"]
    assert (entry["firewalls"], entry["backend"]) == (["ufw", "docker"], "nftables")
    facts = _host_facts(entry)
    assert "filtering ufw, docker" in facts
    assert "ports closed by table inet portguard" in facts


def test_what_a_probe_from_outside_saw_is_a_fact_of_the_host():
    report = {
        "findings": [],
        "outside": {
            "address": "10.88.0.5",
            "from": "the controller",
            "disagreements": ["9090/tcp on 0.0.0.0: ...", "8080/tcp on 0.0.0.0: ..."],
            "unexpected": ["2375/tcp"],
            "notes": ["not shown here"],
        },
    }
    host = fleet_data({"h": {"state": "ok", "report": report}}, RUN)["hosts"]["h"]
    assert host["outside"] == {
        "address": "10.88.0.5",
        "from": "the controller",
        "disagreements": ["9090/tcp on 0.0.0.0: ...", "8080/tcp on 0.0.0.0: ..."],
        "unexpected": ["2375/tcp"],
    }
    assert (
        "probed 10.88.0.5 from the controller: 2 ports where the probe and the model "
        "differ; reached unknown ports 2375/tcp" in _host_facts(host)
    )
