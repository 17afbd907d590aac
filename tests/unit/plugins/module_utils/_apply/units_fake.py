# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd as exposed_ports_units sees it: units, and the systemctl verbs the module runs, with
what systemd 252 (Debian 12, the lab image) was seen to do where the module depends on it:

- ``show`` prints one block per name, in the order given, its properties in systemd's own
  order (Id, LoadState, ActiveState, UnitFileState); an alias answers with its unit's Id; a
  name systemd does not know gets LoadState=not-found and an empty UnitFileState;
- ``mask`` refuses a unit whose own file is in /etc/systemd/system ("Failed to mask unit: File
  /etc/systemd/system/lab-admin.service already exists.", rc 1), links the other names all
  the same, and then skips its reload;
- ``disable`` of a masked unit is ignored; ``disable`` and ``stop`` of a name systemd does not
  know fail (rc 1 and rc 5);
- LoadState and UnitFileState change only with a reload (the verbs' own, or daemon-reload).

The state is plain JSON, so the module test's systemctl script keeps it in a file.
"""

import copy
import json

MASK_DIR = "/etc/systemd/system"


def unit(file="/lib/systemd/system", enabled=True, active="active", stays=False, alias=None):
    """One unit: where its file is (None: no file), enabled, ActiveState, whether a stop
    leaves it running (``stays``), or the unit an alias name stands for."""
    return {"file": file, "enabled": enabled, "active": active, "stays": stays, "alias": alias}


class FakeSystemd:
    def __init__(self, units=None, masked=(), state=None):
        if state is not None:
            self.state = state
            return
        self.state = {"units": copy.deepcopy(units or {}), "masked": sorted(masked), "view": {}}
        self.reload()

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls(state=json.load(f))

    def save(self, path):
        with open(path, "w") as f:
            json.dump(self.state, f)

    # -- what a unit is, on disk and in PID 1

    def _unit(self, name):
        found = self.state["units"].get(name)
        if found and found["alias"]:
            return found["alias"], self.state["units"][found["alias"]]
        return name, found

    def _own_file(self, name):
        found = self.state["units"].get(name)
        return bool(found and found["file"] == MASK_DIR)

    def _on_disk(self, name):
        if name in self.state["masked"]:
            return "masked", "masked"
        _id, found = self._unit(name)
        if not found or found["file"] is None:
            return "not-found", ""
        return "loaded", "enabled" if found["enabled"] else "disabled"

    def reload(self):
        names = set(self.state["units"]) | set(self.state["masked"])
        self.state["view"] = dict((n, list(self._on_disk(n))) for n in names)

    def known(self, name):
        return self.state["view"].get(name, ["not-found", ""])[0] != "not-found"

    def active(self, name):
        _id, found = self._unit(name)
        return found["active"] if found else "inactive"

    # -- what the module's host adapter asks of the file system

    def lexists(self, path):
        directory, _sep, name = path.rpartition("/")
        return directory == MASK_DIR and (name in self.state["masked"] or self._own_file(name))

    def readlink(self, path):
        directory, _sep, name = path.rpartition("/")
        return "/dev/null" if directory == MASK_DIR and name in self.state["masked"] else None

    # -- systemctl

    def systemctl(self, args):
        """(rc, stdout, stderr) of ``systemctl args``."""
        verb, options, names = args[0], [], []
        rest = args[1:]
        if "--" in rest:
            cut = rest.index("--")
            options, names = rest[:cut], rest[cut + 1 :]
        else:
            options = rest
        handler = getattr(self, "_" + verb.replace("-", "_"), None)
        if handler is None:
            return 1, "", f"Unknown command verb {verb}."
        return handler(options, names)

    def _show(self, options, names):
        blocks = []
        for name in names:
            real, _found = self._unit(name)
            load, file_state = self.state["view"].get(real, ["not-found", ""])
            blocks.append(
                f"Id={real}\nLoadState={load}\nActiveState={self.active(name)}\n"
                f"UnitFileState={file_state}\n"
            )
        return 0, "\n".join(blocks), ""

    def _stop(self, options, names):
        for name in names:
            if not self.known(name):
                return 5, "", f"Failed to stop {name}: Unit {name} not loaded."
        for name in names:
            _id, found = self._unit(name)
            if not found["stays"]:
                found["active"] = "inactive"
        return 0, "", ""

    def _disable(self, options, names):
        for name in names:
            if self._unit(name)[1] is None and name not in self.state["masked"]:
                return 1, "", f"Failed to disable unit: Unit file {name} does not exist."
        for name in names:
            if name not in self.state["masked"]:
                self._unit(name)[1]["enabled"] = False
        if "--no-reload" not in options:
            self.reload()
        if "--now" in options:
            return self._stop([], names)
        return 0, "", ""

    def _mask(self, options, names):
        refused = [n for n in names if self._own_file(n)]
        for name in names:
            if name not in refused and name not in self.state["masked"]:
                self.state["masked"] = sorted(self.state["masked"] + [name])
        if refused:
            path = f"{MASK_DIR}/{refused[0]}"
            return 1, "", f"Failed to mask unit: File {path} already exists."
        if "--no-reload" not in options:
            self.reload()
        return 0, "", ""

    def _daemon_reload(self, options, names):
        self.reload()
        return 0, "", ""


class FakeHost:
    """The host apply() acts on: systemd booted, systemctl at SYSTEMCTL, ``fails`` maps a verb
    to the (rc, out, err) it answers with instead; ``unseen`` are paths that appear only after
    apply() looked (a race with whoever else writes /etc/systemd/system)."""

    SYSTEMCTL = "/usr/bin/systemctl"

    def __init__(self, systemd, booted=True, fails=None, unseen=()):
        self.systemd = systemd
        self.booted = booted
        self.fails = fails or {}
        self.unseen = set(unseen)
        self.calls = []

    def which(self, name):
        return self.SYSTEMCTL if name == "systemctl" else None

    def is_dir(self, path):
        return path == "/run/systemd/system" and self.booted

    def lexists(self, path):
        return path not in self.unseen and self.systemd.lexists(path)

    def readlink(self, path):
        return self.systemd.readlink(path)

    def run(self, argv, data=None):
        self.calls.append(list(argv))
        assert argv[0] == self.SYSTEMCTL, argv
        if argv[1] in self.fails:
            return self.fails[argv[1]]
        return self.systemd.systemctl(argv[1:])
