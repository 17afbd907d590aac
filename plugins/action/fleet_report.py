# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action: write the fleet's exposed-ports reports to a local directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import tempfile
from urllib.parse import quote

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.portguard.hardening.plugins.plugin_utils._report.fleet import (
    FleetError,
    fleet_data,
    host_document,
    render_html,
    render_json,
    render_junit,
    render_markdown,
)

FORMATS = ("json", "md", "html", "junit", "host")
ARGUMENT_SPEC = {
    "dir": {"type": "path", "required": True},
    "hosts": {"type": "dict", "required": True},
    "run": {"type": "dict", "required": True},
    "formats": {
        "type": "list",
        "elements": "str",
        "choices": list(FORMATS),
        "default": list(FORMATS),
    },
}
_FLEET_FILES = (
    ("json", "fleet.json", render_json),
    ("md", "fleet.md", render_markdown),
    ("html", "fleet.html", render_html),
    ("junit", "junit.xml", render_junit),
)


# Bytes of a file name on Linux file systems, and how much of a longer encoded name is kept.
NAME_MAX = 255
_KEPT = 200


def host_file(name):
    """hosts/<name>.json, with the name percent-encoded so that it stays one file in hosts/.

    Every host name gives a usable file name: a name whose encoded form is too long for one is
    cut, and ends with "+" and 16 hex digits of the SHA-256 of the name instead. quote() writes
    "+" as %2B, so a cut name is never another host's.
    """
    encoded = quote(name, safe="", errors="surrogatepass")
    if encoded.startswith("."):
        # quote() leaves dots alone: "." and ".." must not name directories.
        encoded = "%2E" + encoded[1:]
    if len(encoded) + len(".json") > NAME_MAX:
        cut = encoded[:_KEPT]
        if "%" in cut[-2:]:
            cut = cut[: cut.rindex("%")]
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        encoded = cut + "+" + digest
    return os.path.join("hosts", encoded + ".json")


def report_files(doc, formats):
    """[(path relative to dir, text)] for the formats asked, in a fixed order."""
    files = [(path, render(doc)) for fmt, path, render in _FLEET_FILES if fmt in formats]
    if "host" in formats:
        for name, entry in doc["hosts"].items():
            files.append((host_file(name), render_json(host_document(name, entry, doc["run"]))))
    return files


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_if_changed(path, data, mode):
    """Replace path atomically with data unless it already holds exactly that; True if written.

    The temporary file is made next to path so that os.replace stays on one file system;
    readers never see a half-written report. An existing file keeps its mode.
    """
    try:
        with open(path, "rb") as f:
            if f.read() == data:
                return False
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # Runs and writes in check mode too: the reports are what an audit (a --check run) is for,
    # and they are files on the controller, not changes to the managed hosts.
    _supports_check_mode = True
    _supports_diff = False
    _VALID_ARGS = frozenset(ARGUMENT_SPEC)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        if not args["dir"]:
            raise AnsibleActionFail("dir: expected a directory path, got an empty string")
        try:
            doc = fleet_data(args["hosts"], args["run"])
        except FleetError as exc:
            raise AnsibleActionFail(str(exc)) from None
        base = os.path.abspath(args["dir"])
        mode = 0o666 & ~_current_umask()
        changed = False
        files = []
        for relative, text in report_files(doc, args["formats"]):
            path = os.path.join(base, relative)
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                changed = write_if_changed(path, text.encode("utf-8"), mode) or changed
            except OSError as exc:
                reason = exc.strerror or exc
                raise AnsibleActionFail(f"dir: cannot write {path}: {reason}") from None
            files.append(path)
        not_ok = [
            {"host": name, "state": entry["state"], "error": entry["error"]}
            for name, entry in doc["hosts"].items()
            if entry["state"] != "ok"
        ]
        result.update(changed=changed, files=files, summary=doc["summary"], not_ok=not_ok)
        return result
