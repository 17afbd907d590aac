#!/usr/bin/env bash
# Sets up a fresh Debian machine for portguard: the pinned virtualenv and the checkout made
# visible to Ansible as portguard.hardening; with --packages also the Debian packages the lab,
# the render tests and the benchmarks need (as root). Re-running it does nothing when nothing
# changed.
#   scripts/bootstrap.sh [--packages]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.venv"
packages=false
[ "${1:-}" = "--packages" ] && packages=true
# chromium: the render tests (tests/render) look at fleet.html in it, headless.
# time: GNU time, the benchmark's measure of each tool's peak memory.
# nmap: the reference of the probe benchmark (bench/probe.py).
deb_packages=(podman runc debootstrap iproute2 slirp4netns uidmap fuse-overlayfs openssh-client
  chromium time nmap)

missing=()
$packages || deb_packages=()
for pkg in "${deb_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: need root to install ${missing[*]} (run as root or install them first)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

stamp="$venv/.portguard-stamp"
want=$( { python3 --version; cat "$root/requirements.txt" "$root/constraints.txt"; } | sha256sum | cut -c1-16)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: building the virtualenv in .venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install --disable-pip-version-check -r "$root/requirements.txt" \
    -c "$root/constraints.txt" >"$venv/pip.log" 2>&1; then
    grep -v '^WARNING: Location' "$venv/pip.log" | tail -30 >&2
    echo "bootstrap: pip install failed (full log: .venv/pip.log)" >&2
    exit 1
  fi
  "$venv/bin/ansible-playbook" --version >/dev/null
  echo "$want" >"$stamp"
fi

# Ansible finds the collection under ANSIBLE_COLLECTIONS_PATH/ansible_collections/portguard/hardening.
link="$root/.cache/collections/ansible_collections/portguard/hardening"
if [ "$(readlink "$link" 2>/dev/null)" != "$root" ]; then
  mkdir -p "$(dirname "$link")"
  ln -sfn "$root" "$link"
fi
