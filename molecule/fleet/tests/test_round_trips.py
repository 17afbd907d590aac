"""Round trips per host (module executions on it), counted by tests/callbacks/round_trips.py."""

import json
import os

HOSTS = ["pg-fleet-bookworm", "pg-fleet-trixie"]
READ = "portguard.hardening.exposed_ports_read"


def plays(name):
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "round_trips.json")) as f:
        trips = json.load(f)
    return [hosts for play, hosts in trips.items() if play.split(": ", 1)[1] == name]


def actions(hosts, host):
    return [action for _task, action in hosts.get(host, [])]


def test_an_audit_is_at_most_three_round_trips_per_host():
    before, after = plays("Audit exposed ports")
    for audit in (before, after):
        for host in HOSTS:
            # The playbook's reachability check and the one host read: nothing else touches it.
            assert actions(audit, host) == ["ansible.builtin.ping", READ], host


def test_a_harden_that_changes_reads_again_once():
    # harden runs one host at a time (serial): a play per batch.
    harden = {}
    for batch in plays("Harden exposed ports"):
        harden.update(batch)
    for host in HOSTS:
        done = actions(harden, host)
        assert done[:2] == ["ansible.builtin.ping", READ], done
        # Every change is applied, then the host is read again exactly once, at the end.
        assert done.count(READ) == 2 and done[-1] == READ, done
