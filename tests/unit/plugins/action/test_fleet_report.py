# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet_report action: the files it writes, when it rewrites them, and its errors."""

import copy
import hashlib
import json
import os

import pytest
import support
from ansible.errors import AnsibleActionFail
from ansible_collections.portguard.hardening.plugins.action import fleet_report
from ansible_collections.portguard.hardening.plugins.action.fleet_report import (
    host_file,
    write_if_changed,
)
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import (
    fleet_data,
    host_document,
    render_html,
    render_json,
    render_junit,
    render_markdown,
)

FINDING = support.finding(
    rule="builtin-rpcbind",
    reason="rpcbind tells anyone which RPC services run.",
    port=111,
    action="disable",
    processes=["systemd", "rpcbind"],
    pids=[1, 48],
    unit="rpcbind.service",
    activated_by=["rpcbind.socket"],
)
RUN = {
    "playbook": "audit",
    "check_mode": True,
    "started": "2025-01-31T10:00:00Z",
    "policy": {"default_action": "report", "rules": ["web"]},
}


LONG_DIGEST = dict(
    (name, hashlib.sha256(name.encode()).hexdigest()[:16]) for name in ("w" * 251, "é" * 90)
)


def hosts():
    return {
        "web1": {
            "state": "ok",
            "error": None,
            "report": {
                "host": "web1",
                "check_mode": True,
                "firewall": "stopped",
                "nfs_in_use": False,
                "findings": [FINDING, dict(FINDING, family="ipv6", address="::")],
                "allowed": [],
                "summary": {},
            },
        },
        "web2": {
            "state": "ok",
            "report": {"host": "web2", "findings": [], "allowed": []},
        },
        "db1": {"state": "unreachable", "report": None, "error": "Connection timed out"},
    }


def run_action(args, check_mode=False):
    return support.run_fleet_report(args, check_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def listing(base):
    return sorted(
        os.path.relpath(os.path.join(d, name), base)
        for d, _dirs, names in os.walk(base)
        for name in names
    )


ALL_FILES = [
    "fleet.json",
    "fleet.md",
    "fleet.html",
    "junit.xml",
    "hosts/db1.json",
    "hosts/web1.json",
    "hosts/web2.json",
]


def test_writes_every_format(tmp_path, umask_022):
    out = tmp_path / "reports"
    result = run_action({"dir": str(out), "hosts": hosts(), "run": RUN})
    doc = fleet_data(hosts(), RUN)
    assert result == {
        "changed": True,
        "files": [str(out / name) for name in ALL_FILES],
        "summary": {
            "hosts": 3,
            "ok": 2,
            "unreachable": 1,
            "failed": 0,
            "open": 2,
            "remediated": 0,
            "kept": 0,
            "failed_findings": 0,
            "by_action": {"disable": 2},
        },
        "not_ok": [{"host": "db1", "state": "unreachable", "error": "Connection timed out"}],
    }
    assert listing(out) == sorted(ALL_FILES)
    assert read(out / "fleet.json") == render_json(doc)
    assert read(out / "fleet.md") == render_markdown(doc)
    assert read(out / "fleet.html") == render_html(doc)
    assert read(out / "junit.xml") == render_junit(doc)
    for name in ("db1", "web1", "web2"):
        document = json.loads(read(out / "hosts" / (name + ".json")))
        assert document == host_document(name, doc["hosts"][name], RUN)
    assert json.loads(read(out / "hosts" / "db1.json"))["error"] == "Connection timed out"
    assert [oct(os.stat(out / name).st_mode & 0o777) for name in ALL_FILES] == ["0o644"] * 7


def test_an_identical_second_run_changes_nothing(tmp_path):
    args = {"dir": str(tmp_path), "hosts": hosts(), "run": RUN}
    first = run_action(copy.deepcopy(args))
    stats = dict((name, os.stat(tmp_path / name)) for name in ALL_FILES)
    second = run_action(copy.deepcopy(args))
    assert (first["changed"], second["changed"]) == (True, False)
    assert second["files"] == first["files"]
    for name in ALL_FILES:
        now = os.stat(tmp_path / name)
        assert (now.st_ino, now.st_mtime_ns) == (stats[name].st_ino, stats[name].st_mtime_ns)


def test_only_files_whose_content_changed_are_replaced(tmp_path):
    run_action({"dir": str(tmp_path), "hosts": hosts(), "run": RUN})
    inodes = dict((name, os.stat(tmp_path / name).st_ino) for name in ALL_FILES)
    changed_hosts = hosts()
    changed_hosts["web1"]["report"]["findings"][1]["note"] = "now with a note"
    result = run_action({"dir": str(tmp_path), "hosts": changed_hosts, "run": RUN})
    assert result["changed"] is True
    replaced = [name for name in ALL_FILES if os.stat(tmp_path / name).st_ino != inodes[name]]
    # The note shows in the JUnit failure of that socket too.
    assert replaced == ["fleet.json", "fleet.md", "fleet.html", "junit.xml", "hosts/web1.json"]
    assert listing(tmp_path) == sorted(ALL_FILES)


def test_check_mode_writes_the_reports(tmp_path):
    result = run_action({"dir": str(tmp_path), "hosts": hosts(), "run": RUN}, check_mode=True)
    assert result["changed"] is True
    assert listing(tmp_path) == sorted(ALL_FILES)


@pytest.mark.parametrize(
    ("formats", "expected"),
    [
        (["junit", "md"], ["fleet.md", "junit.xml"]),
        (["host"], ["hosts/db1.json", "hosts/web1.json", "hosts/web2.json"]),
        ([], []),
    ],
)
def test_formats(tmp_path, formats, expected):
    result = run_action({"dir": str(tmp_path), "hosts": hosts(), "run": RUN, "formats": formats})
    assert result["files"] == [str(tmp_path / name) for name in expected]
    assert listing(tmp_path) == sorted(expected)


def test_a_relative_dir_is_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_action({"dir": "out", "hosts": {}, "run": RUN, "formats": ["md"]})
    assert result["files"] == [str(tmp_path / "out" / "fleet.md")]


def test_an_existing_file_keeps_its_mode(tmp_path, umask_022):
    path = tmp_path / "fleet.md"
    path.write_text("old\n")
    os.chmod(path, 0o600)
    run_action({"dir": str(tmp_path), "hosts": {}, "run": RUN, "formats": ["md"]})
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert read(path).startswith("# Exposed ports: audit, check mode, nothing changed\n")


def bad(**changes):
    args = {"dir": "DIR", "hosts": hosts(), "run": RUN}
    args.update(changes)
    return args


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            bad(hosts=dict(hosts(), web1=dict(hosts()["web1"], state="weird"))),
            "hosts.web1.state: 'weird' is not one of ok, unreachable, failed",
        ),
        (
            bad(run=dict(RUN, playbook="scan"), hosts={"db1": {"state": "down"}}),
            "run.playbook: 'scan' is not one of audit, harden, baseline; "
            "hosts.db1.state: 'down' is not one of ok, unreachable, failed",
        ),
        (bad(dir=""), "dir: expected a directory path, got an empty string"),
        ({"hosts": {}, "run": RUN}, "missing required arguments: dir"),
        (
            bad(formats=["json", "pdf"]),
            "value of formats must be one or more of: json, md, html, junit, host. "
            "Got no match for: pdf",
        ),
        (bad(bogus=1), "Invalid options for portguard.hardening.fleet_report: bogus"),
    ],
)
def test_bad_arguments_fail_before_anything_is_written(tmp_path, args, message):
    if args.get("dir") == "DIR":
        args["dir"] = str(tmp_path / "reports")
    with pytest.raises(AnsibleActionFail) as info:
        run_action(args)
    assert info.value.message == message
    assert os.listdir(tmp_path) == []


def test_an_unwritable_dir_is_named(tmp_path):
    (tmp_path / "reports").write_text("a file, not a directory\n")
    with pytest.raises(AnsibleActionFail) as info:
        run_action({"dir": str(tmp_path / "reports"), "hosts": {}, "run": RUN})
    assert info.value.message == "dir: cannot write %s: File exists" % (
        tmp_path / "reports" / "fleet.json"
    )


def test_a_failed_replace_leaves_no_temporary_file(tmp_path, monkeypatch):
    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(fleet_report.os, "replace", refuse)
    with pytest.raises(AnsibleActionFail) as info:
        run_action({"dir": str(tmp_path), "hosts": {}, "run": RUN, "formats": ["md"]})
    assert info.value.message == "dir: cannot write %s: Permission denied" % (tmp_path / "fleet.md")
    assert os.listdir(tmp_path) == []


def test_write_if_changed(tmp_path):
    path = str(tmp_path / "f.txt")
    assert write_if_changed(path, b"one\n", 0o640) is True
    assert write_if_changed(path, b"one\n", 0o640) is False
    assert write_if_changed(path, b"two\n", 0o600) is True
    assert (read(path), oct(os.stat(path).st_mode & 0o777)) == ("two\n", "0o640")
    assert os.listdir(tmp_path) == ["f.txt"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("web1", "hosts/web1.json"),
        ("web1.example.com", "hosts/web1.example.com.json"),
        ("10.0.0.1", "hosts/10.0.0.1.json"),
        ("a/b", "hosts/a%2Fb.json"),
        ("..", "hosts/%2E..json"),
        (".hidden", "hosts/%2Ehidden.json"),
        ("[::1]", "hosts/%5B%3A%3A1%5D.json"),
        ("hôte 1", "hosts/h%C3%B4te%201.json"),
        (".", "hosts/%2E.json"),
        ("%2E", "hosts/%252E.json"),
        ("x\nrm -rf", "hosts/x%0Arm%20-rf.json"),
        ("a+b", "hosts/a%2Bb.json"),
        # 250 bytes with .json: the longest kept whole.
        ("w" * 250, "hosts/" + "w" * 250 + ".json"),
        ("w" * 251, "hosts/" + "w" * 200 + "+" + LONG_DIGEST["w" * 251] + ".json"),
        # Cut before an escape rather than through it: 66 x %C3%A9 leave 198 characters.
        ("é" * 90, "hosts/" + "%C3%A9" * 33 + "+" + LONG_DIGEST["é" * 90] + ".json"),
    ],
)
def test_host_file(name, expected):
    assert host_file(name) == expected
    assert len(os.path.basename(host_file(name)).encode()) <= 255


HOSTILE_NAMES = [
    "../x",
    "a/b",
    ".",
    "..",
    "x\nrm -rf",
    "%2E",
    "a+b",
    "w" * 300,
    "w" * 301,
    "é" * 90,
]


def test_every_host_name_gets_its_own_file_in_hosts(tmp_path):
    entry = {"state": "unreachable", "report": None, "error": "x"}
    out = tmp_path / "out"
    hosts = dict((name, entry) for name in HOSTILE_NAMES)
    result = run_action({"dir": str(out), "hosts": hosts, "run": RUN, "formats": ["host"]})
    files = listing(out)
    assert len(files) == len(HOSTILE_NAMES) == len(result["files"])
    named = {}
    for path in result["files"]:
        assert os.path.dirname(os.path.realpath(path)) == str(out / "hosts")
        named[json.loads(read(path))["host"]] = path
    assert sorted(named) == sorted(HOSTILE_NAMES)
    assert [n["host"] for n in result["not_ok"]] == sorted(HOSTILE_NAMES)


def test_a_host_name_that_is_not_utf8_is_reported_exactly(tmp_path):
    # What an INI inventory makes of a name with a byte that is not UTF-8: a lone surrogate.
    name = "x\udcffy"
    entry = {"state": "unreachable", "report": None, "error": "x"}
    result = run_action({"dir": str(tmp_path), "hosts": {name: entry}, "run": RUN})
    assert listing(tmp_path) == sorted(
        ["fleet.json", "fleet.md", "fleet.html", "junit.xml", "hosts/x%ED%B3%BFy.json"]
    )
    assert result["not_ok"] == [{"host": name, "state": "unreachable", "error": "x"}]
    texts = {}
    for path in result["files"]:
        with open(path, "rb") as f:
            texts[os.path.relpath(path, tmp_path)] = f.read().decode("utf-8")
    assert list(json.loads(texts["fleet.json"])["hosts"]) == [name]
    assert json.loads(texts["hosts/x%ED%B3%BFy.json"])["host"] == name
    assert '"x\\udcffy"' in texts["fleet.json"]
