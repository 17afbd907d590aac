# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by every pytest suite here (tests/unit, tests/render).

Makes the checkout importable as ansible_collections.portguard.hardening: with plain
``pytest tests/unit`` from the repository root nothing else is needed, since a temporary
directory holding ansible_collections/portguard/hardening -> <repo> is put on sys.path, unless
the collection is already importable (ansible-test, or ANSIBLE_COLLECTIONS_PATH set up by the
caller).  Also puts this directory on sys.path so suites can import ``support``.
"""

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile

TESTS = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS)


def _make_importable():
    try:
        if importlib.util.find_spec("ansible_collections.portguard.hardening") is not None:
            return
    except ImportError:
        pass
    base = tempfile.mkdtemp(prefix="portguard-collections-")
    atexit.register(shutil.rmtree, base, True)
    ns = os.path.join(base, "ansible_collections", "portguard")
    os.makedirs(ns)
    os.symlink(REPO_ROOT, os.path.join(ns, "hardening"))
    sys.path.insert(0, base)
    for name in list(sys.modules):
        if name == "ansible_collections" or name.startswith("ansible_collections."):
            del sys.modules[name]


_make_importable()
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
