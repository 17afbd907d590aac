# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed_ports_baseline_path filter, as the baseline playbook calls it."""

import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.portguard.hardening.plugins.filter.exposed_ports import FilterModule

BASELINE_PATH = FilterModule().filters()["exposed_ports_baseline_path"]


@pytest.mark.parametrize("host", ["web-01.example.com", "2001:db8::1"])
def test_path_of_a_usable_host(tmp_path, host):
    assert BASELINE_PATH(host, str(tmp_path)) == os.path.join(str(tmp_path), host + ".yml")


@pytest.mark.parametrize(
    "host,problem",
    [
        pytest.param("../x", "contains '/', a path separator", id="traversal"),
        pytest.param("a/b", "contains '/', a path separator", id="slash"),
        pytest.param("..", "starts with '.'", id="dot-dot"),
        pytest.param("x\x1b[2J", "contains the control or invisible character '\\x1b'", id="esc"),
    ],
)
def test_unusable_host_fails_naming_it(tmp_path, host, problem):
    with pytest.raises(AnsibleFilterError) as err:
        BASELINE_PATH(host, str(tmp_path))
    assert err.value.message == (
        f"exposed_ports_baseline_path: inventory host {host!r} cannot name a file: the name "
        f"{problem}"
    )
