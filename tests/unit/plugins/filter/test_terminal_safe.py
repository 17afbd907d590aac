# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The terminal_safe filter: its name, its documentation and that it is _encode's function."""

import os

import pytest
import yaml
from ansible_collections.portguard.hardening.plugins.filter.terminal_safe import FilterModule
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.encode import (
    terminal_safe,
)

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "..", "..", "..", "plugins", "filter", "terminal_safe.yml")


def test_the_filter_is_the_one_escaping():
    assert FilterModule().filters() == {"terminal_safe": terminal_safe}


def test_documented_next_to_the_plugin():
    with open(DOC) as f:
        doc = yaml.safe_load(f)
    assert doc["DOCUMENTATION"]["name"] == "terminal_safe"
    assert doc["RETURN"]["_value"]["type"] == "str"


@pytest.mark.parametrize(
    "value,shown",
    [
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\u202eecivres.x", "\\u202eecivres.x"),
        ("x' 'sshd.service", "x' 'sshd.service"),
        (None, ""),
    ],
)
def test_terminal_safe_filter(value, shown):
    assert FilterModule().filters()["terminal_safe"](value) == shown
