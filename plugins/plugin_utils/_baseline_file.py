# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading a baseline file on the controller: bounded in size, and refused before it is built
when it uses YAML anchors or aliases.

A baseline holds data a managed host chose (unit names) and is committed by hand, so it is read
as untrusted text: at most ``max_bytes`` bytes, UTF-8, one YAML document of plain mappings,
lists and scalars.  An alias bomb (a few hundred bytes that expand to millions of entries) is
refused at its first anchor, and deep nesting at the limit, before anything is constructed.

Public: read_baseline, load_yaml, BaselineFileError, MAX_BYTES, MAX_DEPTH.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import yaml
from ansible_collections.portguard.hardening.plugins.module_utils._values import show

MAX_BYTES = 1024 * 1024
# A baseline is a mapping of a list of mappings: three levels. Room for hand edits, no more.
MAX_DEPTH = 8
# libyaml's parser when PyYAML has it, else the pure Python one; both only build plain types.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class BaselineFileError(ValueError):
    """The baseline file cannot be read; the message names the file and the problem."""


def _where(event):
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _check_events(text):
    """Raise ValueError at the first anchor, alias, extra document or nesting over MAX_DEPTH."""
    depth = documents = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise ValueError(f"uses the YAML alias *{event.anchor} at {_where(event)}")
        if getattr(event, "anchor", None) is not None:
            raise ValueError(f"defines the YAML anchor &{event.anchor} at {_where(event)}")
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise ValueError(f"holds a second YAML document at {_where(event)}")
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"nests deeper than {MAX_DEPTH} levels at {_where(event)}")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def load_yaml(text):
    """The one YAML document in ``text``, built only after its events passed _check_events.

    ValueError saying what is wrong (anchors and aliases are refused: a baseline never needs
    them, and they are how a small file expands to an enormous one).
    """
    try:
        _check_events(text)
        return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"is not valid YAML: {exc.problem or exc.context}{where}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"is not valid YAML: {exc}") from None


def _read_bounded(path, max_bytes):
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise BaselineFileError(
            f"{show(path)} does not exist: record the host's baseline with the "
            "portguard.hardening.baseline playbook"
        ) from None
    except OSError as exc:
        raise BaselineFileError(f"{show(path)} cannot be read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device would block or never end.
        raise BaselineFileError(f"{show(path)} is not a regular file")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise BaselineFileError(f"{show(path)} cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise BaselineFileError(
            f"{show(path)} is larger than the limit of {max_bytes} bytes; raise the limit "
            "if a host really has that many listeners"
        )
    return data


def read_baseline(path, max_bytes=MAX_BYTES):
    """The document in the baseline file at ``path``; BaselineFileError naming the file else.

    The document is not validated here: _baseline.validate_baseline() does that.
    """
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise BaselineFileError(f"max_bytes must be a positive integer, got {show(max_bytes)}")
    data = _read_bounded(path, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BaselineFileError(
            f"{show(path)} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x})"
        ) from None
    try:
        return load_yaml(text)
    except ValueError as exc:
        raise BaselineFileError(f"{show(path)} {exc}") from None
