# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way for the host read to run a command: an argv list through the caller's run(argv),
whose failure is a line in the read's errors, never the end of the read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import os


def command_label(argv):
    """The command as an error names it: the program's name and its arguments."""
    return " ".join([os.path.basename(argv[0])] + [str(a) for a in argv[1:]])


def first_line(text):
    """The first line of text that is not blank, stripped; "" when there is none."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def command_text(run, argv, errors):
    """stdout of ``run(argv)``, or None with a line in ``errors`` when it fails.

    ``run(argv)`` returns (rc, stdout, stderr); a non-zero rc or an OSError is a failure,
    reported with the command and the first line of what it said.
    """
    try:
        rc, out, err = run(list(argv))
    except OSError as exc:
        errors.append("%s: cannot run it: %s" % (command_label(argv), exc.strerror or exc))
        return None
    if rc != 0:
        said = first_line(err) or first_line(out) or "no output"
        errors.append("%s failed (rc %d): %s" % (command_label(argv), rc, said))
        return None
    return out
