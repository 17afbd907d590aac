# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hand a large, plain result back to Ansible without per-value overhead.

``AnsibleModule.exit_json`` copies the whole result to strip ``no_log`` values
and, from ansible-core 2.19 on, encodes it through a serialization profile that
visits every list and dict in Python.  For a fact module that returns thousands
of socket entries, that costs several times the gathering itself (about 0.1 ms
per entry).  When the module has no ``no_log`` values and ansible-core has
recorded no warning or deprecation of its own, neither step can change a result
made of plain JSON types, so ``exit_plain`` writes the same JSON document with
the standard library's encoder.  In every other case, and if the result turns
out not to be plain JSON, it falls back to ``exit_json``.

The shortcut is taken only on the ansible-core minors in ``PROVEN_MINORS``: the
collection's version matrix runs the unit test that compares both documents on
each of them.  On any other release, exit_json prints the result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import json
import sys

from ansible.module_utils.ansible_release import __version__ as _core_version

try:  # ansible-core 2.19 and later
    from ansible.module_utils.common.warnings import get_deprecations, get_warnings
except ImportError:  # 2.16 to 2.18 keep plain lists behind these
    from ansible.module_utils.common.warnings import (
        get_deprecation_messages as get_deprecations,
    )
    from ansible.module_utils.common.warnings import (
        get_warning_messages as get_warnings,
    )

# Keep in step with tests/matrix/versions: a minor is added here once its matrix row passes.
PROVEN_MINORS = ("2.16", "2.17", "2.18", "2.19", "2.20", "2.21")


def core_minor(version=None):
    """'2.19' for '2.19.14' or '2.19.0rc1'; the running ansible-core's by default."""
    return ".".join((version or _core_version).split(".")[:2])


def _with_invocation():
    """Whether exit_json adds the module arguments: always before 2.21, then on request."""
    if tuple(int(p) for p in core_minor().split(".")) < (2, 21):
        return True
    from ansible.module_utils import basic

    parsed = getattr(basic, "_PARSED_MODULE_ARGS", None) or {}
    return bool(parsed.get("_ansible_inject_invocation", False))


def plain_result(module, result, warnings):
    """The document exit_json would print for result, or None when only exit_json may print it.

    ``warnings`` are plain strings; the controller accepts them in a result's
    ``warnings`` list, the form every ansible-core release understands.
    """
    if core_minor() not in PROVEN_MINORS:
        return None
    if module.no_log_values or get_warnings() or get_deprecations():
        return None
    document = dict(result)
    if _with_invocation():
        document.setdefault("invocation", {"module_args": module.params})
    else:
        document.pop("invocation", None)
    if warnings:
        document["warnings"] = list(warnings)
    try:
        # The result is a tree the module built: no cycles to look for.
        return json.dumps(document, allow_nan=False, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return None


def exit_plain(module, result, warnings=()):
    """Finish the module with result and warnings, like module.warn + module.exit_json."""
    text = plain_result(module, result, warnings)
    if text is None:
        for warning in warnings:
            module.warn(warning)
        module.exit_json(**result)
    module.do_cleanup_files()
    sys.stdout.write("\n%s\n" % text)
    sys.stdout.flush()
    # The same ending as exit_json's, which printed its document the same way.
    sys.exit(0)  # pylint: disable=ansible-bad-function
