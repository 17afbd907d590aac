"""The baseline files, and the audit against them: one drift finding per host, on 9999."""

import json
import os

import pytest
import yaml

EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
HOSTS = ["pg-baseline-bookworm", "pg-baseline-trixie"]


@pytest.mark.parametrize("host", HOSTS)
def test_baseline_file_is_readable_and_complete(host):
    with open(os.path.join(EPHEMERAL, "baselines", host + ".yml")) as f:
        text = f.read()
    assert text.startswith("# Approved listeners of %s" % host)
    doc = yaml.safe_load(text)
    assert doc["version"] == 1
    assert doc["host"] == host
    listeners = {(e["protocol"], e["port"], e["scope"], e["unit"]) for e in doc["listeners"]}
    assert ("tcp", 111, "any", "rpcbind.service") in listeners
    assert ("udp", 111, "any", "rpcbind.service") in listeners
    assert ("tcp", 80, "any", "nginx.service") in listeners
    assert ("tcp", 22, "any", "ssh.service") in listeners
    assert not any(port == 9999 for _protocol, port, _scope, _unit in listeners)


@pytest.mark.parametrize("host", HOSTS)
def test_the_new_listener_is_the_one_drift_finding(host):
    with open(os.path.join(EPHEMERAL, "reports", "fleet.json")) as f:
        entry = json.load(f)["hosts"][host]
    findings = [(f["rule"], f["protocol"], f["port"], f["status"]) for f in entry["findings"]]
    assert sorted(set(findings)) == [("drift", "tcp", 9999, "open")]
    assert {f["unit"] for f in entry["findings"]} == {"surprise.service"}


@pytest.mark.parametrize("host", HOSTS)
def test_stopped_baseline_listener_is_reported_for_information(host):
    with open(os.path.join(EPHEMERAL, "reports", "fleet.json")) as f:
        entry = json.load(f)["hosts"][host]
    missing = {(m["protocol"], m["port"], m["unit"]) for m in entry["baseline_missing"]}
    assert ("tcp", 80, "nginx.service") in missing
    assert not any(f["port"] == 80 for f in entry["findings"])


def test_the_baseline_run_reports_every_host_recorded():
    with open(os.path.join(EPHEMERAL, "reports-baseline", "fleet.json")) as f:
        doc = json.load(f)
    assert doc["run"]["playbook"] == "baseline"
    assert sorted(doc["hosts"]) == HOSTS
    for host in HOSTS:
        entry = doc["hosts"][host]
        assert (entry["state"], entry["error"], entry["findings"]) == ("ok", None, [])
        assert {"protocol": "tcp", "port": 80, "scope": "any", "unit": "nginx.service"} in entry[
            "allowed"
        ]
