# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""File names from inventory host names: kept as they are, or refused with the host named."""

import os

import pytest
from ansible_collections.portguard.hardening.plugins.plugin_utils._filenames import (
    HostFileNameError,
    host_file_name,
    host_file_path,
)


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("web-01.example.com", id="fqdn"),
        pytest.param("2001:db8::1", id="ipv6"),
        pytest.param("192.0.2.7", id="ipv4"),
        pytest.param("web_01", id="underscore"),
        pytest.param("db@rack-3", id="at-sign"),
        pytest.param("bücher.example", id="non-ascii-letters"),
        pytest.param("web..01", id="inner-dots"),
        pytest.param("web.", id="trailing-dot"),
        pytest.param("x" * 251, id="255-bytes-with-suffix"),
    ],
)
def test_usable_names_are_kept(host):
    assert host_file_name(host, ".yml") == host + ".yml"


@pytest.mark.parametrize(
    "host,problem",
    [
        pytest.param("../x", "contains '/', a path separator", id="parent-traversal"),
        pytest.param("a/b", "contains '/', a path separator", id="subdirectory"),
        pytest.param("/etc/passwd", "contains '/', a path separator", id="absolute"),
        pytest.param("a\\b", "contains '\\\\', a path separator", id="backslash"),
        pytest.param(".", "starts with '.'", id="dot"),
        pytest.param("..", "starts with '.'", id="dot-dot"),
        pytest.param(".ssh", "starts with '.'", id="hidden"),
        pytest.param(
            "web\x00.yml", "contains the control or invisible character '\\x00'", id="nul"
        ),
        pytest.param(
            "\x1b]0;owned\x07", "contains the control or invisible character '\\x1b'", id="esc"
        ),
        pytest.param("a\nb", "contains the control or invisible character '\\n'", id="newline"),
        pytest.param("a\tb", "contains the control or invisible character '\\t'", id="tab"),
        pytest.param("a\x7fb", "contains the control or invisible character '\\x7f'", id="del"),
        pytest.param(
            "a\x85b", "contains the control or invisible character '\\x85'", id="c1-next-line"
        ),
        pytest.param(
            "web\u202elmy.", "contains the control or invisible character '\\u202e'", id="bidi"
        ),
        pytest.param(
            "web\u200b01", "contains the control or invisible character '\\u200b'", id="zero-width"
        ),
        pytest.param(
            "a\u2028b", "contains the control or invisible character '\\u2028'", id="line-sep"
        ),
        pytest.param(
            "a\udcffb", "contains the control or invisible character '\\udcff'", id="surrogate"
        ),
        pytest.param(
            "x" * 252, "makes a file name of 256 bytes, over the limit of 255", id="too-long"
        ),
        pytest.param(
            "ü" * 126, "makes a file name of 256 bytes, over the limit of 255", id="too-long-utf8"
        ),
        pytest.param("", "is not a non-empty string", id="empty"),
    ],
)
def test_unusable_names_are_refused_naming_the_host(host, problem):
    with pytest.raises(HostFileNameError) as err:
        host_file_name(host, ".yml")
    assert str(err.value) == f"inventory host {host!r} cannot name a file: the name {problem}"


@pytest.mark.parametrize(
    "host,shown", [pytest.param(None, "None", id="none"), pytest.param(["w"], "a list", id="list")]
)
def test_names_that_are_not_strings_are_refused(host, shown):
    with pytest.raises(HostFileNameError) as err:
        host_file_name(host, ".yml")
    assert str(err.value) == (
        f"inventory host {shown} cannot name a file: the name is not a non-empty string"
    )


def test_path_is_absolute_and_inside_the_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert host_file_path("baselines", "2001:db8::1", ".yml") == os.path.join(
        str(tmp_path), "baselines", "2001:db8::1.yml"
    )
    assert host_file_path(str(tmp_path) + "/b/", "web", ".yml") == os.path.join(
        str(tmp_path), "b", "web.yml"
    )


@pytest.mark.parametrize(
    "directory,host,message",
    [
        pytest.param(
            "baselines",
            "../x",
            "inventory host '../x' cannot name a file: the name contains '/', a path separator",
            id="traversal",
        ),
        pytest.param("", "web", "directory must be a non-empty path, got ''", id="no-directory"),
        pytest.param(None, "web", "directory must be a non-empty path, got None", id="none"),
    ],
)
def test_path_refusals(directory, host, message):
    with pytest.raises(HostFileNameError) as err:
        host_file_path(directory, host, ".yml")
    assert str(err.value) == message
