# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host for apply(): files in a dict, and nft and systemctl that keep state the way the real
ones do for the commands apply() runs.

The fake kernel lists a loaded rules file back as nft 1.0.6 does in the parts table_shape()
reads (comments, verdicts, chain properties); test_nftables.py checks table_shape() itself on
listings captured from the real nft.
"""

import json

from ansible_collections.portguard.hardening.plugins.module_utils._apply import nftables
from ansible_collections.portguard.hardening.plugins.module_utils._apply.host import FileState
from nft_listing import METAINFO, listing

NFT = "/usr/sbin/nft"
SYSTEMCTL = "/usr/bin/systemctl"
ADMIN_TABLE = {"table": {"family": "inet", "name": "filter", "handle": 1}}


def unit_state(**fields):
    state = {
        "LoadState": "not-found",
        "ActiveState": "inactive",
        "UnitFileState": "",
        "NeedDaemonReload": "no",
    }
    state.update(fields)
    return state


class FakeHost:
    """The host apply() acts on; ``calls`` records every command and file operation."""

    def __init__(self, nft=NFT, systemd=True):
        self.nft = nft
        self.systemd = systemd
        self.files = {}
        self.links = set()
        self.dirs_removed = []
        self.kernel = None  # the rules text loaded, or None
        self.listing = None  # a listing to answer with instead of listing(self.kernel)
        self.unit = unit_state()
        self.check = (0, "", "")
        self.calls = []

    # -- what apply() calls

    def which(self, name):
        return {"nft": self.nft, "systemctl": SYSTEMCTL}.get(name)

    def owner(self):
        return 0, 0

    def is_dir(self, path):
        return path == nftables.SYSTEMD_BOOTED and self.systemd

    def lexists(self, path):
        return path in self.files or path in self.links

    def read(self, path):
        return self.files.get(path)

    def write(self, path, text, mode):
        self.calls.append(("write", path))
        self.files[path] = FileState(text, mode, 0, 0)

    def remove(self, path):
        self.calls.append(("remove", path))
        self.files.pop(path, None)
        self.links.discard(path)

    def remove_empty_dir(self, path):
        if not any(p.startswith(path + "/") for p in self.files):
            self.dirs_removed.append(path)

    def run(self, argv, data=None):
        self.calls.append(tuple(argv))
        if argv[0] == self.nft:
            return self._nft(argv[1:], data)
        if argv[0] == SYSTEMCTL:
            return self._systemctl(argv[1:])
        raise AssertionError(f"unexpected command {argv}")

    # -- the fakes

    def _load(self):
        self.kernel = self.files[nftables.RULES_PATH].text
        self.listing = None

    def _nft(self, args, data):
        if args == ["-j", "list", "tables"]:
            tables = [METAINFO, ADMIN_TABLE]
            if self.kernel is not None or self.listing is not None:
                tables.append({"table": {"family": "inet", "name": "portguard", "handle": 7}})
            return 0, json.dumps({"nftables": tables}), ""
        if args == ["-j", "list", "table", "inet", "portguard"]:
            if self.listing is not None:
                return 0, self.listing, ""
            if self.kernel is None:
                return 1, "", "Error: No such file or directory"
            return 0, listing(self.kernel), ""
        if args == ["-c", "-f", "-"]:
            assert data.startswith("# portguard.hardening")
            return self.check
        if args == ["-f", nftables.RULES_PATH]:
            self._load()
            return 0, "", ""
        if args == ["delete", "table", "inet", "portguard"]:
            self.kernel = self.listing = None
            return 0, "", ""
        raise AssertionError(f"unexpected nft {args}")

    def _systemctl(self, args):
        unit = self.unit
        if args[0] == "show":
            assert args[-2:] == ["--", nftables.UNIT]
            return 0, "".join(f"{k}={v}\n" for k, v in unit.items()), ""
        if args == ["daemon-reload"]:
            installed = nftables.UNIT_PATH in self.files
            unit.update(LoadState="loaded" if installed else "not-found", NeedDaemonReload="no")
            if not installed:
                unit["UnitFileState"] = ""
            return 0, "", ""
        verb, *options, dashes, name = args
        assert (dashes, name) == ("--", nftables.UNIT)
        # Only reenable and disable would reload the manager themselves.
        assert options == (["--no-reload"] if verb in ("reenable", "disable") else [])
        if verb == "reenable":
            unit["UnitFileState"] = "enabled"
            self.links.add(nftables.WANTS_LINK)
        elif verb == "disable":
            unit["UnitFileState"] = "disabled"
            self.links.discard(nftables.WANTS_LINK)
        elif verb == "start":
            unit["ActiveState"] = "active"
            self._load()
        elif verb == "reload":
            assert unit["ActiveState"] == "active"
            self._load()
        elif verb == "stop":
            unit["ActiveState"] = "inactive"
        else:
            raise AssertionError(f"unexpected systemctl {args}")
        return 0, "", ""

    # -- for the tests

    def commands(self):
        """The commands run that change something, without the nft/systemctl paths' dirs."""
        reads = {("-j", "list", "tables"), ("-j", "list", "table", "inet", "portguard")}
        changing = []
        for call in self.calls:
            if call[0] in ("write", "remove"):
                changing.append(call)
            elif call[1:] not in reads and call[1] != "show":
                changing.append((call[0].rsplit("/", 1)[1],) + call[1:])
        return changing
