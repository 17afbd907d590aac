#!/usr/bin/env bash
# Runs the project's checks in stages and ends with one summary line.
#   scripts/test.sh [--only lint|unit|kernel|render|sanity|build|matrix|molecule] [SCENARIO...]
# Expects the environment the Makefile exports (virtualenv on PATH, collection path, podman config).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
only=""
if [ "${1:-}" = "--only" ]; then
  only=$2
  shift 2
fi
scenarios=("$@")
out="$root/tests/output"
mkdir -p "$out"
passed=() failed=()

stage() {
  # stage NAME COMMAND...: run one stage, keep its log, record the result.
  local name=$1 start rc
  shift
  start=$(date +%s)
  echo "=== $name"
  "$@" 2>&1 | tee "$out/$name.log"
  rc=${PIPESTATUS[0]}
  echo "=== $name: $([ "$rc" -eq 0 ] && echo passed || echo "FAILED ($rc)") in $(($(date +%s) - start)) s"
  if [ "$rc" -eq 0 ]; then passed+=("$name"); else failed+=("$name"); fi
}

lint() {
  local rc=0
  ruff check . || rc=1
  ruff format --check . || rc=1
  yamllint --strict . || rc=1
  ansible-lint || rc=1
  return $rc
}

unit() {
  # The pure tests: no sockets, no real /proc or /sys (tests/unit/conftest.py enforces it).
  local rc=0
  pytest -m "not kernel" tests/unit || rc=$?
  # pytest exits 5 when it collects nothing: that is a failure of the suite, not a pass.
  [ "$rc" -eq 5 ] && echo "unit: no tests were collected"
  return $rc
}

kernel() {
  # The unit tests that use this machine's kernel: loopback sockets, the real /proc and /sys.
  local rc=0
  pytest -m kernel tests/unit || rc=$?
  [ "$rc" -eq 5 ] && echo "kernel: no tests were collected"
  return $rc
}

render() {
  # fleet.html in headless Chromium; the screenshots stay in tests/output/render for a person.
  local rc=0
  pytest tests/render || rc=$?
  [ "$rc" -eq 5 ] && echo "render: no tests were collected"
  return $rc
}

sanity() {
  # ansible-test sanity from the local environment, on a copy of the tree laid out the way
  # ansible-test requires (ansible_collections/portguard/hardening).
  local tmp dest rc=0 python_version pip_version cache
  tmp=$(mktemp -d)
  dest="$tmp/ansible_collections/portguard/hardening"
  mkdir -p "$dest"
  git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$dest"
  python_version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  pip_version=$(python - <<'PY'
import re, ansible_test._internal.python_requirements as r
print(re.search(r"pip='([0-9.]+)'", open(r.__file__).read()).group(1))
PY
)
  cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
  if [ ! -s "$cache" ]; then
    mkdir -p "$(dirname "$cache")"
    cp "$root/scripts/get_pip_standin.py" "$cache"
  fi
  (cd "$dest" && ansible-test sanity --local --python "$python_version") || rc=$?
  rm -rf "$tmp"
  return $rc
}

build() {
  # The collection must build with ansible-galaxy, install from the tarball alone, and document
  # every module from there.
  local tmp rc=0
  tmp=$(mktemp -d)
  (
    set -e
    export ANSIBLE_COLLECTIONS_PATH="$tmp/installed"
    ansible-galaxy collection build --force --output-path "$tmp" .
    ansible-galaxy collection install --offline --no-deps --force -p "$tmp/installed" \
      "$tmp"/portguard-hardening-*.tar.gz
    test -f "$tmp/installed/ansible_collections/portguard/hardening/MANIFEST.json"
    # Only what a user runs: anything outside these top-level entries is a development file.
    if tar -tzf "$tmp"/portguard-hardening-*.tar.gz | sed 's|^\./||' | cut -d/ -f1 | sort -u \
      | grep -vxE 'MANIFEST\.json|FILES\.json|COPYING|README\.md|meta|plugins|roles|playbooks|docs|changelogs'; then
      echo "build: development files in the tarball (above); add them to galaxy.yml build_ignore"
      exit 1
    fi
    "$root/scripts/check-docs.sh"
    ansible-galaxy collection list portguard.hardening
    # The execution environment's build context, checked against galaxy.yml and the matrix.
    ansible-builder create -f "$root/execution-environment.yml" -c "$tmp/ee" >/dev/null
    python "$root/scripts/check_ee.py" "$tmp/ee"
  ) || rc=$?
  rm -rf "$tmp"
  return $rc
}

matrix() {
  # Every ansible-core minor of tests/matrix/versions; its Molecule rows need the lab images.
  "$root/lab/build-images.sh" || return 1
  # shellcheck disable=SC2086 # MATRIX_ARGS is a list of options
  python "$root/scripts/matrix.py" ${MATRIX_ARGS:-}
}

run_molecule() {
  local scenario=$1
  molecule test --scenario-name "$scenario"
}

room_for_lab_hosts() {
  # Each booted lab host holds about 10 inotify instances and root's default limit is 128: the
  # firewalls scenario boots nine at once. Raised for this machine's running kernel only.
  local limit
  limit=$(cat /proc/sys/fs/inotify/max_user_instances 2>/dev/null || echo 0)
  if [ "$limit" -lt 1024 ] && [ -w /proc/sys/fs/inotify/max_user_instances ]; then
    echo "test.sh: raising fs.inotify.max_user_instances from $limit to 1024 for the lab hosts"
    echo 1024 >/proc/sys/fs/inotify/max_user_instances
  fi
}

case "$only" in
  "" | lint) stage lint lint ;;&
  "" | unit) stage unit unit ;;&
  "" | kernel) stage kernel kernel ;;&
  "" | render) stage render render ;;&
  "" | sanity) stage sanity sanity ;;&
  "" | build) stage build build ;;&
  "" | matrix) stage matrix matrix ;;&
  "" | molecule)
    "$root/lab/build-images.sh" || failed+=(images)
    room_for_lab_hosts
    for s in "${scenarios[@]}"; do stage "molecule-$s" run_molecule "$s"; done
    ;;
  lint | unit | kernel | render | sanity | build | matrix) ;;
  *)
    echo "test.sh: unknown stage '$only' (lint, unit, kernel, render, sanity, build, matrix, molecule)" >&2
    exit 2
    ;;
esac

echo
[ ${#passed[@]} -gt 0 ] && echo "passed: ${passed[*]}"
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "stages: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
