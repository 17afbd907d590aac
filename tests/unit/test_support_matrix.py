# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The support table users read (README) is the matrix that `make test` runs."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def development_minor():
    """The ansible-core of the development environment, which runs every Molecule scenario."""
    with open(os.path.join(ROOT, "constraints.txt")) as f:
        return re.search(r"^ansible-core==(\d+\.\d+)\.", f.read(), re.M).group(1)


def matrix_rows():
    with open(os.path.join(ROOT, "tests", "matrix", "versions")) as f:
        rows = [line.split() for line in f if line.strip() and not line.startswith("#")]
    table = []
    for core, ansible, python, host, molecule in rows:
        minor = ".".join(core.split(".")[:2])
        if minor == development_minor():
            scenarios = "every scenario"
        else:
            scenarios = "check-mode audit" if molecule == "molecule" else "-"
        table.append((minor, ansible, python, "%s to 3.13" % host, scenarios))
    return table


def readme_rows():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    table = text[text.index("| ansible-core | `ansible` package |") :]
    rows = []
    for line in table.splitlines()[2:]:
        line = line.strip()
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(tuple(cells[:5]))
    return rows


def test_readme_lists_the_matrix():
    assert readme_rows() == matrix_rows()


def test_readme_claims_the_matrix_range():
    with open(os.path.join(ROOT, "README.md")) as f:
        claim = re.search(r"Controller: ansible-core (\d+\.\d+) to (\d+\.\d+)", f.read())
    minors = [row[0] for row in matrix_rows()]
    assert claim and claim.groups() == (minors[0], minors[-1])


def test_runtime_requires_the_oldest_row():
    with open(os.path.join(ROOT, "meta", "runtime.yml")) as f:
        requires = re.search(r'requires_ansible: ">=(\d+\.\d+)\.0"', f.read())
    assert requires and requires.group(1) == matrix_rows()[0][0]
