# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""audit, harden and baseline write every report when every host fails or cannot be reached, and
still exit non-zero: the real playbooks, run by ansible-playbook on this machine.

No host here gets far: the unreachable ones are SSH connections to a port that refuses them, the
failing ones run on this machine with a Python that does not exist or a policy the role refuses
(the baseline playbook refuses their name instead). Host names are the hostile ones an inventory
may hold; every per-host report must stay in hosts/.
"""

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.action.fleet_report import host_file
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    terminal_lines,
    terminal_safe,
)
from markdown_it import MarkdownIt

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

UNREACHABLE = ["down", "a/b", ".", "..", "x\nrm -rf"]
REFUSED = "Connection refused"
NO_PYTHON = "/nonexistent/python3"
NO_ACTION = "rule 'no-action': action is required"
BAD_NAME = "inventory host '../x' cannot name a file: the name contains '/', a path separator"
LEFT_OUT = (
    "not run: Ansible leaves out a host that failed or could not be reached earlier in the same "
    "ansible-playbook run"
)
HALTED = (
    "not hardened: the rollout stopped after a batch in which 1 of 1 hosts failed or were "
    "unreachable (exposed_ports_max_fail_percentage: 100)"
)
FLEET_FILES = ["fleet.html", "fleet.json", "fleet.md", "junit.xml"]


def inventory(port, names=None):
    """Unreachable hosts, one whose Python does not exist and "../x", which audit and harden
    refuse for its policy and baseline for its name; ``names`` keeps only those."""
    hosts = dict(
        (name, {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": port})
        for name in UNREACHABLE
    )
    hosts["bad-python"] = {"ansible_connection": "local", "ansible_python_interpreter": NO_PYTHON}
    hosts["../x"] = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "exposed_ports_rules": [{"id": "no-action", "match": {"ports": [1]}}],
    }
    if names is not None:
        hosts = dict((name, hosts[name]) for name in names)
    return {"all": {"hosts": hosts}}


def expected(*, baseline=False):
    states = dict((name, ("unreachable", REFUSED)) for name in UNREACHABLE)
    states["bad-python"] = ("failed", NO_PYTHON)
    states["../x"] = ("failed", BAD_NAME if baseline else NO_ACTION)
    return states


# A playbook of one's own around two audits: the play between them loses hosts, and the second
# audit must not take the first one's records for its own.
COMBINED = [
    {
        "name": "First audit",
        "ansible.builtin.import_playbook": "portguard.hardening.audit",
        "vars": {"exposed_ports_report_dir": "{{ out }}/first", "exposed_ports_report_only": True},
    },
    {
        "name": "A play that loses down and bad-python",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{"name": "Ping", "ansible.builtin.ping": None}],
    },
    {
        "name": "Second audit",
        "ansible.builtin.import_playbook": "portguard.hardening.audit",
        "vars": {"exposed_ports_report_dir": "{{ out }}/second"},
    },
]


def run(
    playbook,
    hosts,
    reported,
    *,
    inventory_hosts=None,
    extra=(),
    reports="reports",
    status=2,
    env=None,
):
    return {
        "env": dict(env or {}),
        "playbook": playbook,
        "inventory": inventory_hosts,
        "extra": list(extra),
        "reports": reports,
        # The playbook named in the reports, and each host's state and part of its error.
        "reported": reported,
        "hosts": hosts,
        "status": status,
    }


RUNS = {
    "audit": run("portguard.hardening.audit", expected(), "audit"),
    "harden": run("portguard.hardening.harden", expected(), "harden"),
    # An operator's strategy: the playbooks keep linear, whose run_once tasks run once a batch.
    "free": run(
        "portguard.hardening.harden", expected(), "harden", env={"ANSIBLE_STRATEGY": "free"}
    ),
    "baseline": run("portguard.hardening.baseline", expected(baseline=True), "baseline"),
    # Ansible ends a playbook when every host of a play has failed: here no host is unreachable.
    "failed": run(
        "portguard.hardening.audit",
        {"bad-python": ("failed", NO_PYTHON), "../x": ("failed", NO_ACTION)},
        "audit",
        inventory_hosts=["bad-python", "../x"],
    ),
    "rollout": run(
        "portguard.hardening.harden",
        {"bad-python": ("failed", NO_PYTHON), "down": ("failed", HALTED)},
        "harden",
        inventory_hosts=["bad-python", "down"],
        extra=["-e", "exposed_ports_serial=1"],
    ),
    "combined": run(
        "combined.yml",
        {
            "down": ("failed", LEFT_OUT),
            "bad-python": ("failed", LEFT_OUT),
            "../x": ("failed", NO_ACTION),
        },
        "audit",
        inventory_hosts=["down", "bad-python", "../x"],
        reports="second",
        # Ansible's own: the play between the audits had an unreachable host.
        status=4,
    ),
    "limit": run(
        "portguard.hardening.audit",
        {},
        "audit",
        inventory_hosts=["down", "bad-python"],
        extra=["--limit", "down"],
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """{run: (exit status, the JSON callback's results, directory)}, every run started at once."""
    base = tmp_path_factory.mktemp("playbooks")
    namespace = base / "ansible_collections" / "portguard"
    namespace.mkdir(parents=True)
    (namespace / "hardening").symlink_to(REPO)
    (base / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = false\n")
    # Bound and never listening: every connection to it is refused, and no one else can take it.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    started = {}
    try:
        for name, spec in RUNS.items():
            directory = base / name
            directory.mkdir()
            (directory / "inventory.yml").write_text(
                yaml.safe_dump(inventory(port, spec["inventory"]))
            )
            if spec["playbook"] == "combined.yml":
                (directory / "combined.yml").write_text(yaml.safe_dump(COMBINED))
            env = dict((k, v) for k, v in os.environ.items() if not k.startswith("ANSIBLE_"))
            env.update(
                ANSIBLE_COLLECTIONS_PATH=str(base),
                ANSIBLE_CONFIG=str(base / "ansible.cfg"),
                ANSIBLE_NOCOLOR="1",
                # One JSON document of every result, the same on every ansible-core.
                ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                ANSIBLE_HOST_KEY_CHECKING="0",
                ANSIBLE_LOCAL_TEMP=str(directory / "tmp"),
                ANSIBLE_SSH_CONTROL_PATH_DIR=str(directory / "cp"),
            )
            env.update(spec["env"])
            args = ["-i", "inventory.yml", spec["playbook"], "-e", "out=" + str(directory)]
            if spec["reports"] == "reports":
                # The combined playbook gives each audit its own directory.
                args += ["-e", "exposed_ports_report_dir=" + str(directory / "reports")]
            args += ["-e", "exposed_ports_baseline_dir=" + str(directory / "baselines")]
            started[name] = subprocess.Popen(
                [ANSIBLE_PLAYBOOK] + args + spec["extra"],
                cwd=str(directory),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        done = {}
        for name, run in started.items():
            out, err = run.communicate(timeout=240)
            try:
                results = json.loads(out)
            except ValueError:
                results = {"plays": [], "output": out.decode("utf-8", "replace")}
            results["stderr"] = err.decode("utf-8", "replace")
            done[name] = (run.returncode, results, base / name)
    finally:
        closed.close()
    return done


def listing(base):
    return sorted(
        os.path.relpath(os.path.join(d, name), base)
        for d, _dirs, names in os.walk(base)
        for name in names
    )


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def markdown_view(text):
    """(table rows as cell texts, {heading: its first paragraph}) as a Markdown renderer shows
    them."""
    rows, sections, row, heading = [], {}, None, None
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    for index, token in enumerate(tokens):
        if token.type == "tr_open":
            row = []
            rows.append(row)
        elif token.type == "tr_close":
            row = None
        elif token.type != "inline":
            continue
        elif row is not None:
            row.append("".join(child.content for child in token.children))
        elif tokens[index - 1].type == "heading_open":
            heading = "".join(child.content for child in token.children)
        elif heading is not None and heading not in sections:
            sections[heading] = "".join(child.content for child in token.children)
    return rows, sections


class MatrixRows(HTMLParser):
    """{data-host: (data-state, text of its error cell)} of fleet.html's matrix."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self._host, self._in_error = {}, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-host" in attrs:
            self._host = attrs["data-host"]
            self.rows[self._host] = (attrs["data-state"], "")
        self._in_error = tag == "td" and attrs.get("class") == "error"

    def handle_endtag(self, tag):
        if tag == "tr":
            self._host = None
        self._in_error = False

    def handle_data(self, data):
        if self._host is not None and self._in_error:
            state, text = self.rows[self._host]
            self.rows[self._host] = (state, text + data)


def matrix_rows(text):
    parser = MatrixRows()
    parser.feed(text)
    parser.close()
    return parser.rows


REPORTED = ["audit", "harden", "free", "baseline", "failed", "rollout", "combined"]


def result_of(results, task, host="localhost"):
    """The result of the last task named ``task`` on ``host``, or None."""
    found = None
    for play in results["plays"]:
        for entry in play["tasks"]:
            if entry["task"]["name"] == task and host in entry["hosts"]:
                found = entry["hosts"][host]
    return found


FAIL_TASK = (
    "Fail when a host could not be reached or its run failed (unless exposed_ports_report_only)"
)


@pytest.mark.parametrize("name", REPORTED)
def test_the_run_fails_and_names_every_host(runs, name):
    returncode, results, _directory = runs[name]
    assert returncode == RUNS[name]["status"], results
    hosts = RUNS[name]["hosts"]
    failure = result_of(results, FAIL_TASK)
    assert failure["failed"] is True
    unreachable = sum(1 for state, _error in hosts.values() if state == "unreachable")
    errors = json.loads(read(runs[name][2] / RUNS[name]["reports"] / "fleet.json"))["hosts"]
    assert failure["msg"] == "%d unreachable and %d failed hosts, listed in the reports: %s" % (
        unreachable,
        len(hosts) - unreachable,
        "; ".join(
            terminal_safe("%s (%s: %s)" % (host, hosts[host][0], errors[host]["error"]))
            for host in sorted(hosts)
        ),
    )
    # Written out for the terminal: a line break in a host name or an error stays "\x0a".
    assert not set(failure["msg"]) & set(chr(c) for c in range(0x20))


@pytest.mark.parametrize("name", REPORTED)
def test_every_report_is_written_with_every_host(runs, name):
    _returncode, out, directory = runs[name]
    hosts = RUNS[name]["hosts"]
    reports = directory / RUNS[name]["reports"]
    files = sorted(FLEET_FILES + [host_file(host) for host in hosts])
    assert listing(reports) == files, out
    doc = json.loads(read(reports / "fleet.json"))
    assert doc["run"]["playbook"] == RUNS[name]["reported"]
    assert sorted(doc["hosts"]) == sorted(hosts)
    for host, (state, error) in hosts.items():
        entry = doc["hosts"][host]
        assert (entry["state"], entry["findings"]) == (state, [])
        assert error in entry["error"]
        path = reports / host_file(host)
        # Each per-host file is one file right in hosts/, whatever the name.
        assert os.path.dirname(os.path.realpath(path)) == str(reports / "hosts")
        assert json.loads(read(path)) == dict(entry, host=host, run=doc["run"])


@pytest.mark.parametrize("name", REPORTED)
def test_the_views_list_every_host_with_its_state_and_error(runs, name):
    _returncode, _out, directory = runs[name]
    hosts = RUNS[name]["hosts"]
    reports = directory / RUNS[name]["reports"]
    doc = json.loads(read(reports / "fleet.json"))
    rows, sections = markdown_view(read(reports / "fleet.md"))
    states = dict((row[0], row[1]) for row in rows)
    matrix = matrix_rows(read(reports / "fleet.html"))
    suite = ET.fromstring(read(reports / "junit.xml").encode())  # noqa: S314 - our own report
    errors = dict(
        (case.get("classname"), case.find("error"))
        for case in suite.findall("testcase")
        if case.find("error") is not None
    )
    shown_hosts = sorted(terminal_safe(host) for host in hosts)
    assert (sorted(errors), sorted(matrix)) == (shown_hosts, shown_hosts)
    for host, (state, _error) in hosts.items():
        shown = terminal_safe(host)
        error = doc["hosts"][host]["error"]
        assert states[shown] == state
        # Markdown makes one sentence of it, HTML keeps its lines, JUnit writes them out.
        assert sections[shown] == "%s: %s" % (state, terminal_safe(" ".join(error.split())))
        assert matrix[shown] == (state, terminal_lines(error))
        assert (errors[shown].get("type"), errors[shown].get("message")) == (
            state,
            terminal_safe("%s: %s" % (state, error)),
        )


def test_baseline_writes_no_file_for_a_host_it_could_not_record(runs):
    _returncode, out, directory = runs["baseline"]
    # "../x" read its listeners, then was refused its file name: nothing inside the directory
    # nor beside it.
    assert listing(directory / "baselines") == [], out
    assert [path for path in listing(directory) if path.endswith(".yml")] == ["inventory.yml"]


def test_a_limit_without_localhost_stops_before_any_host(runs):
    returncode, results, directory = runs["limit"]
    assert returncode == 2, results
    check = result_of(
        results,
        "Check that the reports will be written (localhost must not be left out by --limit)",
        "down",
    )
    assert (check["failed"], check["msg"]) == (
        True,
        "the reports are written on localhost, which this run leaves out: add it to --limit "
        "(--limit 'web,localhost'), or choose the hosts with -e target=web instead",
    )
    assert result_of(results, "Check that the host answers", "down") is None
    assert not (directory / "reports").exists()
