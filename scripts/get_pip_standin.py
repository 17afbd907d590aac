# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script ansible-test downloads to put pip into its test venvs.

ansible-test fetches get-pip from ci-files.testing.ansible.com, which machines without general
internet access cannot reach.  scripts/test.sh copies this file into ansible-test's cache when
no real script is there: it installs pip with ensurepip, then the packages asked for, from the
package index pip is configured with.
"""

import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q"] + args)
