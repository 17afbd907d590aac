# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a baseline file: bounded in size, plain YAML only, refused before it is built."""

import datetime
import os

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.plugin_utils import _baseline_file
from ansible_collections.portguard.hardening.plugins.plugin_utils._baseline_file import (
    BaselineFileError,
    read_baseline,
)

GOOD = """\
# Approved listeners of web1, recorded by portguard.hardening.baseline.
host: web1
listeners:
- port: 22
  protocol: tcp
  scope: any
  unit: ssh.service
- {port: 68, protocol: udp, scope: any, unit: null}
recorded_at: 2026-01-31
version: 1
"""


def alias_bomb(levels=9, width=9):
    """The "billion laughs": ``width ** levels`` strings once the aliases are expanded."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    lines.append(f"version: 1\nhost: web1\nlisteners: *a{levels}")
    return "\n".join(lines) + "\n"


def write(tmp_path, text, name="web1.yml"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def test_reads_a_baseline(tmp_path):
    assert read_baseline(write(tmp_path, GOOD)) == {
        "host": "web1",
        "listeners": [
            {"port": 22, "protocol": "tcp", "scope": "any", "unit": "ssh.service"},
            {"port": 68, "protocol": "udp", "scope": "any", "unit": None},
        ],
        "recorded_at": datetime.date(2026, 1, 31),
        "version": 1,
    }


@pytest.mark.parametrize(
    "text,problem",
    [
        pytest.param(alias_bomb(), "defines the YAML anchor &a0 at line 1, column 5", id="bomb"),
        pytest.param(
            "x: &a 1\nversion: *a\n", "defines the YAML anchor &a at line 1, column 4", id="anchor"
        ),
        pytest.param(
            "base: &b {port: 22}\nlisteners: [{<<: *b, protocol: tcp}]\n",
            "defines the YAML anchor &b at line 1, column 7",
            id="merge-key",
        ),
        pytest.param(
            "listeners: *nowhere\n",
            "uses the YAML alias *nowhere at line 1, column 12",
            id="alias-without-anchor",
        ),
        pytest.param(
            "version: 1\n---\nversion: 1\n",
            "holds a second YAML document at line 2, column 1",
            id="two-documents",
        ),
        pytest.param(
            "a: " + "[" * 9 + "]" * 9 + "\n",
            "nests deeper than 8 levels at line 1, column 11",
            id="deep-nesting",
        ),
        pytest.param(
            "version: !!python/object/apply:os.system [id]\n",
            "is not valid YAML: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/object/apply:os.system' at line 1, column 10",
            id="python-tag",
        ),
        pytest.param(
            "listeners: [1, 2\n",
            "is not valid YAML: did not find expected ',' or ']' at line 2, column 1",
            id="broken",
        ),
        pytest.param(
            b"host: w\xffb1\n",
            "is not UTF-8 text (byte 7 is 0xff)",
            id="not-utf8",
        ),
    ],
)
def test_refuses_before_building(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(BaselineFileError) as err:
        read_baseline(path)
    assert str(err.value) == f"{path!r} {problem}"


@pytest.mark.parametrize("loader", ["SafeLoader", "CSafeLoader"])
def test_without_libyaml_too(tmp_path, monkeypatch, loader):
    if not hasattr(yaml, loader):
        pytest.skip("PyYAML without libyaml")
    monkeypatch.setattr(_baseline_file, "_LOADER", getattr(yaml, loader))
    assert read_baseline(write(tmp_path, GOOD))["listeners"][1]["port"] == 68
    path = write(tmp_path, alias_bomb(), "bomb.yml")
    with pytest.raises(BaselineFileError) as err:
        read_baseline(path)
    assert str(err.value) == f"{path!r} defines the YAML anchor &a0 at line 1, column 5"


def test_depth_of_a_baseline_is_allowed():
    # mapping > listeners list > entry mapping > a list in a hand edit: within the limit.
    assert _baseline_file.load_yaml("a: " + "[" * 7 + "]" * 7 + "\n") == {"a": [[[[[[[]]]]]]]}


@pytest.mark.parametrize(
    "size,limit,refused",
    [
        pytest.param(100, 100, False, id="at-the-limit"),
        pytest.param(101, 100, True, id="one-byte-over"),
    ],
)
def test_size_limit(tmp_path, size, limit, refused):
    text = "version: 1\n" + "#" * (size - 12) + "\n"
    path = write(tmp_path, text)
    assert os.path.getsize(path) == size
    if not refused:
        assert read_baseline(path, limit) == {"version": 1}
        return
    with pytest.raises(BaselineFileError) as err:
        read_baseline(path, limit)
    assert str(err.value) == (
        f"{path!r} is larger than the limit of {limit} bytes; raise the limit if a host really "
        "has that many listeners"
    )


def test_default_limit_is_one_mib(tmp_path):
    path = write(tmp_path, "version: 1\n" + "#" * (1024 * 1024) + "\n")
    with pytest.raises(BaselineFileError) as err:
        read_baseline(path)
    assert "is larger than the limit of 1048576 bytes" in str(err.value)


def test_an_empty_file_is_no_document(tmp_path):
    assert read_baseline(write(tmp_path, "")) is None


def test_missing_file(tmp_path):
    path = str(tmp_path / "web1.yml")
    with pytest.raises(BaselineFileError) as err:
        read_baseline(path)
    assert str(err.value) == (
        f"{path!r} does not exist: record the host's baseline with the "
        "portguard.hardening.baseline playbook"
    )


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_only_regular_files_are_read(tmp_path, kind):
    # A FIFO would block the run forever; reading must not even open it.
    path = str(tmp_path / "web1.yml")
    if kind == "fifo":
        os.mkfifo(path)
    else:
        os.mkdir(path)
    with pytest.raises(BaselineFileError) as err:
        read_baseline(path)
    assert str(err.value) == f"{path!r} is not a regular file"


@pytest.mark.parametrize("limit", [0, -1, True, "1048576", None])
def test_limit_must_be_a_positive_integer(tmp_path, limit):
    with pytest.raises(BaselineFileError) as err:
        read_baseline(write(tmp_path, GOOD), limit)
    assert str(err.value).startswith("max_bytes must be a positive integer, got ")
