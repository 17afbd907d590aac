"""Round trips per host (module executions on it) and task results per host, counted by
tests/callbacks/round_trips.py."""

import json
import os

HOSTS = ["pg-fleet-bookworm", "pg-fleet-trixie"]
# The plan action reads the host itself (exposed_ports_read), in the plan's task.
READ = "portguard.hardening.exposed_ports_plan"


ROLE = "portguard.hardening.exposed_ports : "
# Every task result of one audited host: a fleet pays for each with a worker on the controller.
# The first host of the play carries the run_once tasks besides (RUN_ONCE).
AUDIT_TASKS = [
    ("Check that the host answers", "ansible.builtin.ping"),
    ("Judge every exposed listener and plan what remediation does", READ),
    (
        "Apply what the plan lists, then read the host again and check it",
        "ansible.builtin.include_tasks",
    ),
    ("Probe the host's ports from outside", "portguard.hardening.exposed_ports_probe"),
    ("Record the result of this host", "ansible.builtin.set_fact"),
    ("Show the findings", "ansible.builtin.assert"),
]
RUN_ONCE = [
    "Check that the reports will be written (localhost must not be left out by --limit)",
    "Note the hosts of this run for the reports",
    "Start the host's record",
    "Probe the hosts' ports from the scanner hosts",
]


def plays(name, counted="round_trips"):
    path = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], counted + ".json")
    with open(path) as f:
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


def task_results(hosts, host):
    """(name, action) of each task result, the role's prefix and the arg spec's title cut."""
    return [(name.replace(ROLE, "", 1).split(" - ", 1)[0], action) for name, action in hosts[host]]


def test_an_audit_is_six_task_results_per_host():
    for audit in plays("Audit exposed ports", "round_trips_results"):
        first, other = (task_results(audit, host) for host in HOSTS)
        assert other == AUDIT_TASKS
        assert sorted(name for name, _action in first if name in RUN_ONCE) == sorted(RUN_ONCE)
        assert [t for t in first if t[0] not in RUN_ONCE] == AUDIT_TASKS
