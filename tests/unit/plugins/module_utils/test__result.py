# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""exit_plain prints what exit_json would, and leaves every other case to exit_json."""

import json
import os

import pytest
from ansible.module_utils.ansible_release import __version__ as core_version
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common import warnings as core_warnings
from ansible_collections.portguard.hardening.plugins.module_utils import _result
from ansible_collections.portguard.hardening.plugins.module_utils._result import (
    PROVEN_MINORS,
    core_minor,
    exit_plain,
    get_warnings,
    plain_result,
)
from module_args import patch_module_args

try:  # ansible-core 2.19 and later
    from ansible.module_utils import _internal as core_internal
except ImportError:
    core_internal = None


# ansible-core 2.21 adds the module's arguments to its result only when the controller asks.
INVOCATION_ALWAYS = tuple(int(p) for p in core_minor().split(".")) < (2, 21)
MATRIX = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "matrix", "versions"
)

SPEC = dict(name=dict(type="str", default="web"), masked=dict(type="str", no_log=True))
RESULT = {
    "changed": False,
    "ansible_facts": {
        "listening_sockets": [
            {
                "protocol": "tcp",
                "port": 22,
                "v6only": None,
                "processes": [{"pid": 1, "name": 'sshd "main"\n\\xff', "cmdline": ["a b"]}],
            }
        ]
    },
}


@pytest.fixture(autouse=True)
def no_recorded_messages(monkeypatch):
    """ansible-core keeps warnings and deprecations in module globals: start each test empty.

    Tests that load controller code flip ansible-core into controller mode, where warnings go to
    the display instead: these tests run as a module on a managed host does.
    """
    if hasattr(core_internal, "is_controller"):
        monkeypatch.setattr(core_internal, "is_controller", False)
    monkeypatch.setattr(core_warnings, "_global_warnings", type(core_warnings._global_warnings)())
    monkeypatch.setattr(
        core_warnings, "_global_deprecations", type(core_warnings._global_deprecations)()
    )


def _finish(capsys, args, finish):
    """Run finish(module) to its sys.exit and return (exit code, parsed output, whole output)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module = AnsibleModule(argument_spec=SPEC)
        finish(module)
    out = capsys.readouterr().out
    return exit_info.value.code, json.loads(out), out


def test_same_document_as_exit_json(capsys):
    code, core, _text = _finish(capsys, {"name": "db"}, lambda m: m.exit_json(**RESULT))
    plain_code, plain, text = _finish(capsys, {"name": "db"}, lambda m: exit_plain(m, RESULT))
    assert (code, plain_code) == (0, 0)
    assert plain == core
    if INVOCATION_ALWAYS:
        assert plain["invocation"] == {"module_args": {"name": "db", "masked": None}}
    else:
        assert "invocation" not in plain
    # One line of JSON after a blank line, as exit_json prints it.
    assert text.startswith("\n{") and text.endswith("}\n") and text.count("\n") == 2


@pytest.mark.skipif(INVOCATION_ALWAYS, reason="before 2.21 the invocation is always there")
def test_invocation_when_the_controller_asks_for_it(capsys):
    args = {"name": "db", "_ansible_inject_invocation": True}
    _code, core, _text = _finish(capsys, args, lambda m: m.exit_json(**RESULT))
    _code, plain, _text = _finish(capsys, args, lambda m: exit_plain(m, RESULT))
    assert plain == core
    assert plain["invocation"] == {"module_args": {"name": "db", "masked": None}}


def test_warnings_are_plain_strings(capsys):
    code, plain, _text = _finish(
        capsys, {}, lambda m: exit_plain(m, RESULT, ["could not read pid 7"])
    )
    assert code == 0
    assert plain["warnings"] == ["could not read pid 7"]
    assert plain["ansible_facts"] == RESULT["ansible_facts"]


def test_no_log_values_leave_it_to_exit_json(capsys):
    result = dict(RESULT, note="value s3cret-value here")
    code, plain, _text = _finish(
        capsys, {"masked": "s3cret-value"}, lambda m: exit_plain(m, result)
    )
    assert code == 0
    assert plain["note"] == "value ******** here"
    if INVOCATION_ALWAYS:
        masked = plain["invocation"]["module_args"]["masked"]
        assert masked == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_a_warning_recorded_by_ansible_leaves_it_to_exit_json(capsys, monkeypatch):
    calls = []

    def exit_json(self, **kwargs):
        calls.append(kwargs)
        raise SystemExit(0)

    monkeypatch.setattr(AnsibleModule, "exit_json", exit_json)
    with patch_module_args({}), pytest.raises(SystemExit):
        module = AnsibleModule(argument_spec=SPEC)
        module.warn("recorded through AnsibleModule")
        exit_plain(module, RESULT, ["ours"])
    assert calls == [RESULT]
    assert capsys.readouterr().out == ""
    # Our warning went through module.warn, after Ansible's own.
    assert len(get_warnings()) == 2


@pytest.mark.parametrize(
    "value", [pytest.param({1, 2}, id="set"), pytest.param(float("nan"), id="nan")]
)
def test_values_json_cannot_hold_leave_it_to_exit_json(value):
    with patch_module_args({}):
        module = AnsibleModule(argument_spec=SPEC)
    assert plain_result(module, {"x": value}, []) is None
    invocation = ', "invocation": {"module_args": {"name": "web", "masked": null}}'
    assert plain_result(module, {"x": [1]}, []) == (
        '{"x": [1]%s}' % (invocation if INVOCATION_ALWAYS else "")
    )


def test_the_running_ansible_core_is_proven():
    """The matrix runs this file on every minor it lists; each must be one the shortcut trusts."""
    assert core_minor() in PROVEN_MINORS, core_version


def test_proven_minors_are_the_matrix_rows():
    with open(MATRIX) as f:
        rows = [line.split()[0] for line in f if line.strip() and not line.startswith("#")]
    assert tuple(core_minor(version) for version in rows) == PROVEN_MINORS


@pytest.mark.parametrize(
    "version, minor",
    [("2.19.14", "2.19"), ("2.21.0rc1", "2.21"), ("2.16.0", "2.16"), ("3.0.0", "3.0")],
)
def test_core_minor(version, minor):
    assert core_minor(version) == minor


def test_an_unproven_release_leaves_it_to_exit_json(capsys, monkeypatch):
    monkeypatch.setattr(_result, "_core_version", "2.99.1")
    with patch_module_args({}):
        module = AnsibleModule(argument_spec=SPEC)
    assert plain_result(module, {"x": [1]}, []) is None
    code, plain, _text = _finish(capsys, {"name": "db"}, lambda m: exit_plain(m, RESULT, ["w"]))
    assert code == 0
    assert plain["ansible_facts"] == RESULT["ansible_facts"]
    # exit_json went through module.warn: plain strings before 2.19, summaries from 2.19 on.
    assert [w if isinstance(w, str) else w["event"]["msg"] for w in plain["warnings"]] == ["w"]
