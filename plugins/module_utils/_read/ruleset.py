# -*- coding: utf-8 -*-
# Copyright: Contributors to the portguard.hardening collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kernel's netfilter ruleset as text, for the controller to parse and evaluate.

Nothing is parsed here.  ``nft -j list ruleset`` shows every nftables table, those iptables-nft
made included.  Two more texts are read only when the controller needs them:

- ``iptables-nft-save`` and ``ip6tables-nft-save`` when nft's JSON holds an ``xt`` expression:
  a match or target iptables-nft loaded as an iptables extension, which nft shows by name only;
  the save text carries its options. Also when nft is not installed: then they are the only
  view of the iptables-nft tables.
- ``iptables-legacy-save`` (``ip6tables-legacy-save``) when the legacy x_tables of that family
  hold a table: ``/proc/net/ip_tables_names`` (``ip6_tables_names``) lists the tables of the
  network namespace, one name a line.  The kernel writes there only tables made through the
  legacy interface (tried on Debian 12: rules added with iptables-nft leave the file empty, the
  first iptables-legacy command adds ``filter``); iptables-nft itself reads the same files to
  warn that legacy tables are present.  The file is absent while the kernel's ip_tables module
  is not loaded, which means no legacy table either.  Running a legacy save only then keeps the
  read from loading kernel modules or creating tables on a host that does not use them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # noqa: UP001 - ansible-test boilerplate

import os

from ansible_collections.portguard.hardening.plugins.module_utils._read.commands import (
    command_text,
)

NFT_COMMAND = ("-j", "list", "ruleset")
# The marker of an iptables extension in nft's JSON: {"xt": {"type": "match", "name": ...}}.
XT_MARKER = '"xt"'
FAMILIES = ("ipv4", "ipv6")
NFT_SAVE = {"ipv4": "iptables-nft-save", "ipv6": "ip6tables-nft-save"}
LEGACY_SAVE = {"ipv4": "iptables-legacy-save", "ipv6": "ip6tables-legacy-save"}
LEGACY_NAMES = {"ipv4": "ip_tables_names", "ipv6": "ip6_tables_names"}


def legacy_tables(proc_path, family):
    """The legacy x_tables tables of one family, from /proc/net/ip{,6}_tables_names.

    Returns (names, problem): the table names (empty when the file is absent: no legacy
    table), and a sentence when the file exists but cannot be read, else None.
    """
    path = os.path.join(proc_path, "net", LEGACY_NAMES[family])
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return [], None
    except OSError as exc:
        return [], "%s: %s" % (path, exc.strerror or exc)
    return sorted(set(line.strip() for line in text.splitlines() if line.strip())), None


def read_ruleset(run, tools, proc_path="/proc"):
    """(ruleset, errors) for host.ruleset.

    ``tools`` maps the names of NFT_SAVE, LEGACY_SAVE and ``nft`` to absolute paths or None;
    ``run(argv)`` returns (rc, stdout, stderr).  ruleset is {"nft": text or None,
    "iptables_nft_save": {"ipv4", "ipv6"}, "iptables_legacy_save": {"ipv4", "ipv6"}}, each
    text or None (not needed, tool missing, or failed: failures and missing tools that were
    needed are in errors).
    """
    errors = []
    nft = None
    if tools.get("nft"):
        nft = command_text(run, [tools["nft"]] + list(NFT_COMMAND), errors)
    nft_save = dict.fromkeys(FAMILIES)
    # Without nft (a host with iptables but not the nftables package) the save texts are the
    # only view of the iptables-nft tables.
    if not tools.get("nft") or (nft is not None and XT_MARKER in nft):
        for family in FAMILIES:
            tool = tools.get(NFT_SAVE[family])
            if tool:
                nft_save[family] = command_text(run, [tool], errors)
            elif tools.get("nft"):
                errors.append(
                    "nft shows iptables extensions (xt) but %s is not installed: their options "
                    "are unknown" % NFT_SAVE[family]
                )
    legacy = dict.fromkeys(FAMILIES)
    for family in FAMILIES:
        tables, problem = legacy_tables(proc_path, family)
        if problem:
            errors.append("cannot tell whether legacy %s tables are loaded: %s" % (family, problem))
        if not tables:
            continue
        tool = tools.get(LEGACY_SAVE[family])
        if tool:
            legacy[family] = command_text(run, [tool], errors)
        else:
            errors.append(
                "legacy %s tables are loaded (%s) but %s is not installed: their rules are "
                "not read" % (family, ", ".join(tables), LEGACY_SAVE[family])
            )
    return {"nft": nft, "iptables_nft_save": nft_save, "iptables_legacy_save": legacy}, errors
