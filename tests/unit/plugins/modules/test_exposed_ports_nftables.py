# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""exposed_ports_nftables end to end: AnsibleModule, the host adapter writing real files under
a temporary root, and nft and systemctl fakes on PATH that keep their state in a JSON file."""

import json
import os
import re
import sys

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.module_utils._apply import nftables
from ansible_collections.portguard.hardening.plugins.modules import exposed_ports_nftables
from module_args import patch_module_args

try:  # ansible-core 2.19 and later
    from ansible.module_utils import _internal as core_internal
except ImportError:
    core_internal = None

HELPERS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "module_utils", "_apply"
)
# Both fakes log "<command> <args> LC_ALL=<value>" and share state.json:
# {"kernel": loaded rules text or null, "unit": systemctl show properties}.
FAKE = """#!{python}
import json, os, sys
sys.path.insert(0, {helpers!r})
from nft_listing import listing
STATE, ROOT, NAME = {state!r}, {root!r}, {name!r}
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join([NAME] + args) + " LC_ALL=" + os.environ.get("LC_ALL", "") + "\\n")
with open(STATE) as f:
    state = json.load(f)
def save():
    with open(STATE, "w") as f:
        json.dump(state, f)
def load():
    with open(os.path.join(ROOT, "etc/portguard/nftables.nft")) as f:
        state["kernel"] = f.read()
    save()
if NAME == "nft":
    if args == ["-j", "list", "tables"]:
        tables = [{{"table": {{"family": "inet", "name": "portguard"}}}}] if state["kernel"] else []
        print(json.dumps({{"nftables": [{{"metainfo": {{}}}}] + tables}}))
    elif args == ["-j", "list", "table", "inet", "portguard"]:
        print(listing(state["kernel"]))
    elif args == ["-c", "-f", "-"]:
        sys.exit(0 if sys.stdin.read().startswith("# portguard.hardening") else 1)
    elif args == ["delete", "table", "inet", "portguard"]:
        state["kernel"] = None
        save()
    else:
        sys.exit("unexpected")
else:
    unit = state["unit"]
    verb = args[0]
    if verb == "show":
        for key in ("LoadState", "ActiveState", "UnitFileState", "NeedDaemonReload"):
            print(key + "=" + unit[key])
    elif verb == "daemon-reload":
        there = os.path.exists(os.path.join(ROOT, "etc/systemd/system/portguard-nftables.service"))
        unit["LoadState"] = "loaded" if there else "not-found"
    elif verb in ("reenable", "disable"):
        unit["UnitFileState"] = "enabled" if verb == "reenable" else "disabled"
    elif verb in ("start", "stop"):
        unit["ActiveState"] = "active" if verb == "start" else "inactive"
    if verb in ("start", "reload"):
        load()
    save()
"""
RULES = [
    {"port": 8080, "protocol": "tcp", "action": "block", "ids": ["console", "not an id"]},
    {"port": 11211, "protocol": "tcp", "action": "restrict", "sources": ["192.0.2.0/24"]},
]
KEEP = [{"port": 22, "protocol": "tcp"}]


@pytest.fixture
def lab(tmp_path, monkeypatch):
    """A root tree booted with systemd, fakes on PATH; yields (root, log of calls, state file)."""
    root = tmp_path / "root"
    (root / "run" / "systemd" / "system").mkdir(parents=True)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log, state = tmp_path / "calls.txt", tmp_path / "state.json"
    unit = {"LoadState": "not-found", "ActiveState": "inactive", "UnitFileState": ""}
    unit["NeedDaemonReload"] = "no"
    state.write_text(json.dumps({"kernel": None, "unit": unit}))
    for name in ("nft", "systemctl"):
        script = bin_dir / name
        script.write_text(
            FAKE.format(
                python=sys.executable,
                helpers=HELPERS,
                state=str(state),
                root=str(root),
                name=name,
                log=str(log),
            )
        )
        script.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.setattr(exposed_ports_nftables, "ROOT", str(root))
    if getattr(core_internal, "is_controller", False):
        # Another suite in this process loaded controller code, which sends module warnings to
        # the display instead of the result; on a host the module runs alone.
        monkeypatch.setattr(core_internal, "is_controller", False)
    return root, log, state


def run(args, capsys):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        exposed_ports_nftables.main()
    return exit_info.value.code, json.loads(capsys.readouterr().out)


def on_disk(root):
    found = {}
    for path in nftables.MANAGED_PATHS:
        real = os.path.join(str(root), path.lstrip("/"))
        if os.path.exists(real):
            with open(real) as f:
                found[path] = (f.read(), oct(os.stat(real).st_mode & 0o777))
    return found


def warning_texts(result):
    """Warnings as text: plain strings before ansible-core 2.19, summaries of events since."""
    return [w if isinstance(w, str) else w["event"]["msg"] for w in result.get("warnings", [])]


def calls(log):
    return log.read_text().splitlines() if log.exists() else []


def test_first_run_then_nothing_to_do(lab, capsys):
    root, log, state = lab
    code, result = run({"rules": RULES, "keep": KEEP}, capsys)
    assert code == 0, result
    assert result["changed"] is True
    assert (result["loaded"], result["unit_enabled"], result["rules"]) == (True, True, 2)
    assert result["files_changed"] == sorted(nftables.MANAGED_PATHS)
    assert warning_texts(result) == [
        "rules[0].ids[1]: 'not an id' left out of the table's comments (an id is 1 to 64 "
        "letters, digits or _ . : -)"
    ]
    assert "diff" not in result
    files = on_disk(root)
    assert sorted(files) == sorted(nftables.MANAGED_PATHS)
    assert {mode for _text, mode in files.values()} == {"0o644"}
    text = files[nftables.RULES_PATH][0]
    assert 'tcp dport 8080 reject with tcp reset comment "8080/tcp block; ids console"' in text
    assert "tcp dport 11211 ip saddr 192.0.2.0/24 accept" in text
    nft = os.path.join(os.path.realpath(str(root.parent / "bin")), "nft")
    assert f"ExecStart={nft} -f /etc/portguard/nftables.nft" in files[nftables.UNIT_PATH][0]
    assert json.loads(state.read_text())["kernel"] == text
    assert all(line.endswith(" LC_ALL=C") for line in calls(log))
    first = [re.sub(r" LC_ALL=C$", "", line) for line in calls(log)]
    assert [c for c in first if "list" not in c and "show" not in c] == [
        "nft -c -f -",
        "systemctl reenable --no-reload -- portguard-nftables.service",
        "systemctl daemon-reload",
        "systemctl start -- portguard-nftables.service",
    ]

    log.unlink()
    code, again = run({"rules": RULES, "keep": KEEP}, capsys)
    assert (code, again["changed"], again["files_changed"], again["loaded"]) == (0, False, [], True)
    assert [line.split()[1] for line in calls(log)] == ["show", "-j", "-j"]


def test_check_mode_changes_nothing(lab, capsys):
    root, log, state = lab
    code, result = run({"rules": RULES, "_ansible_check_mode": True}, capsys)
    assert (code, result["changed"], result["loaded"]) == (0, True, False)
    assert result["files_changed"] == sorted(nftables.MANAGED_PATHS)
    assert on_disk(root) == {}
    assert json.loads(state.read_text())["kernel"] is None


def test_diff_mode_shows_the_rules_file(lab, capsys):
    root, _log, _state = lab
    run({"rules": RULES}, capsys)
    before = on_disk(root)[nftables.RULES_PATH][0]
    code, result = run({"rules": RULES[:1], "_ansible_diff": True}, capsys)
    assert (code, result["files_changed"]) == (0, [nftables.RULES_PATH])
    assert result["diff"]["before"] == before
    assert result["diff"]["after"] == on_disk(root)[nftables.RULES_PATH][0]
    assert "11211" in result["diff"]["before"] and "11211" not in result["diff"]["after"]


def test_absent_removes_it_all(lab, capsys):
    root, _log, state = lab
    run({"rules": RULES}, capsys)
    code, result = run({"state": "absent"}, capsys)
    assert (code, result["changed"], result["loaded"], result["rules"]) == (0, True, False, 0)
    assert on_disk(root) == {}
    assert not os.path.exists(os.path.join(str(root), "etc/portguard"))
    assert not os.path.exists(os.path.join(str(root), "etc/systemd/system/ufw.service.d"))
    assert json.loads(state.read_text())["kernel"] is None
    code, again = run({"state": "absent"}, capsys)
    assert (code, again["changed"]) == (0, False)


@pytest.mark.parametrize(
    "args, message",
    [
        (
            {"rules": [{"port": 8080, "protocol": "tcp", "action": "block", "source": ["x"]}]},
            "1 problem: rules[0]: unknown key(s) source (known: port, protocol, action, sources, "
            "ids, forwarded); nothing was changed",
        ),
        (
            {"rules": [{"port": 22, "protocol": "tcp", "action": "block"}], "keep": KEEP},
            "1 problem: rules[0]: refusing to close 22/tcp, which keep names (the management "
            "connection); nothing was changed",
        ),
        (
            {
                "rules": [
                    {"port": 1, "protocol": "tcp", "action": "restrict", "sources": ["a", "b"]}
                ]
            },
            "2 problems: rules[0].sources[0]: 'a' is not an IP address or CIDR network "
            "(hostnames are not accepted); rules[0].sources[1]: 'b' is not an IP address or "
            "CIDR network (hostnames are not accepted); nothing was changed",
        ),
    ],
)
def test_bad_rules_fail_before_anything_runs(lab, capsys, args, message):
    root, log, _state = lab
    code, result = run(args, capsys)
    assert (code, result["failed"], result["msg"]) == (1, True, message)
    assert calls(log) == [] and on_disk(root) == {}


def test_without_nft(lab, capsys, monkeypatch):
    root, log, _state = lab
    real = exposed_ports_nftables.AnsibleModule.get_bin_path

    def without_nft(self, name, *args, **kwargs):
        return None if name == "nft" else real(self, name, *args, **kwargs)

    monkeypatch.setattr(exposed_ports_nftables.AnsibleModule, "get_bin_path", without_nft)
    code, result = run({"rules": RULES}, capsys)
    assert code == 1
    assert result["msg"] == nftables.NOT_INSTALLED
    assert result["msg"].startswith("nftables (the nft command) is not installed")
    assert calls(log) == [] and on_disk(root) == {}


def test_without_systemd(lab, capsys):
    root, log, _state = lab
    os.rmdir(os.path.join(str(root), "run/systemd/system"))
    code, result = run({"rules": RULES}, capsys)
    assert (code, result["msg"]) == (1, nftables.NO_SYSTEMD)
    assert calls(log) == [] and on_disk(root) == {}


def test_documentation_matches_the_module():
    doc = yaml.safe_load(exposed_ports_nftables.DOCUMENTATION)
    assert sorted(doc["options"]) == ["keep", "rules", "state"]
    assert doc["options"]["state"]["choices"] == ["present", "absent"]
    assert doc["attributes"]["check_mode"]["support"] == "full"
    assert doc["attributes"]["diff_mode"]["support"] == "full"
    returned = yaml.safe_load(exposed_ports_nftables.RETURN)
    assert sorted(returned) == sorted(
        ["changed", "path", "rules", "loaded", "unit_enabled", "files_changed"]
    )
    assert returned["path"]["sample"] == nftables.RULES_PATH
    assert returned["files_changed"]["sample"] == sorted(nftables.MANAGED_PATHS)
    for path in (nftables.RULES_PATH, nftables.UNIT_PATH, nftables.DROPIN_NAME):
        assert path in exposed_ports_nftables.DOCUMENTATION
