#!/usr/bin/env bash
# Fails unless ansible-doc renders every plugin and role of the collection as installed, the copy
# ansible finds through ANSIBLE_COLLECTIONS_PATH; names each one it cannot render.
#   scripts/check-docs.sh [NAMESPACE.NAME]        (default portguard.hardening)
# Plugin types are those the installed collection has a plugins/ directory for; an action plugin
# is documented by the module of its name; a role by meta/argument_specs.yml. Only the plain
# listings of ansible-doc are read (each line starts with the FQCN), whose format is the same
# from ansible-core 2.16 to 2.21 but for roles: 2.16 prints "FQCN main ...", later ones "FQCN:".
set -euo pipefail

collection=${1:-portguard.hardening}
namespace=${collection%%.*}
name=${collection#*.}
prefix="$collection."
export ANSIBLE_NOCOLOR=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
problems=()
checked=0

fail() {
  echo "check-docs: $*" >&2
  exit 2
}

fqcns() {
  # fqcns FILE: the first word of each line that starts with the collection's prefix.
  awk -v p="$prefix" 'index($0, p) == 1 { n = $1; sub(/:$/, "", n); print n }' "$1"
}

render() {
  # render TYPE FQCN: ansible-doc must exit 0 and name the plugin.
  local type=$1 fqcn=$2 rc=0
  checked=$((checked + 1))
  ansible-doc -t "$type" "$fqcn" >"$tmp/doc" 2>&1 || rc=$?
  # 2.16 prints a role's name in capitals.
  if [ "$rc" -ne 0 ] || ! grep -qiF "$fqcn" "$tmp/doc"; then
    problems+=("$type $fqcn: $(grep -m 1 ERROR "$tmp/doc" || head -n 1 "$tmp/doc")")
  else
    echo "ok  $type $fqcn"
  fi
}

# Where the collection is installed: the first path ansible-galaxy lists it under.
ansible-galaxy collection list "$collection" >"$tmp/where" 2>&1 || true
base=$(sed -n 's/^# //p' "$tmp/where" | head -n 1)
root="$base/$namespace/$name"
if [ -z "$base" ] || [ ! -d "$root" ]; then
  fail "$collection is not installed where ansible looks" \
    "(ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-unset})"
fi
version=$(ansible-doc --version)
echo "checking $collection in $root with ${version%%$'\n'*}"

modules=()
for dir in "$root"/plugins/*/; do
  dir=$(basename "$dir")
  case "$dir" in
    modules) type=module ;;
    become | cache | callback | cliconf | connection | filter | httpapi | inventory | lookup | \
      netconf | shell | strategy | test | vars) type=$dir ;;
    *) continue ;; # action (documented as modules), module_utils, plugin_utils, doc_fragments
  esac
  ansible-doc -t "$type" -F "$collection" >"$tmp/list" 2>"$tmp/list.err" \
    || fail "ansible-doc cannot list the $type plugins: $(cat "$tmp/list.err")"
  # Its warnings say why a file did not load.
  cat "$tmp/list.err" >&2
  # A file ansible-doc lists nothing from did not load (a syntax error, a bad FilterModule).
  for file in "$root/plugins/$dir"/*.py; do
    [ -e "$file" ] && [ "$(basename "$file")" != __init__.py ] || continue
    if ! awk '{ print $2 }' "$tmp/list" | grep -q "/$(basename "$file")$"; then
      problems+=("$type plugins/$dir/$(basename "$file"): ansible-doc lists no $type from it")
    fi
  done
  mapfile -t names < <(fqcns "$tmp/list")
  for fqcn in "${names[@]}"; do
    render "$type" "$fqcn"
  done
  if [ "$type" = module ]; then modules=("${names[@]}"); fi
done

for file in "$root"/plugins/action/*.py; do
  [ -e "$file" ] && [ "$(basename "$file")" != __init__.py ] || continue
  fqcn="$prefix$(basename "$file" .py)"
  if ! printf '%s\n' "${modules[@]}" | grep -qxF "$fqcn"; then
    problems+=("action $fqcn: no documentation (plugins/modules/$(basename "$file"))")
  fi
done

ansible-doc -t role -l "$collection" >"$tmp/roles" 2>"$tmp/roles.err" \
  || fail "ansible-doc cannot list the roles: $(cat "$tmp/roles.err")"
mapfile -t roles < <(fqcns "$tmp/roles")
for dir in "$root"/roles/*/; do
  [ -d "$dir" ] || continue
  fqcn="$prefix$(basename "$dir")"
  if ! printf '%s\n' "${roles[@]}" | grep -qxF "$fqcn"; then
    problems+=("role $fqcn: no documentation (roles/$(basename "$dir")/meta/argument_specs.yml)")
  fi
done
for fqcn in "${roles[@]}"; do
  render role "$fqcn"
done

if [ ${#problems[@]} -gt 0 ]; then
  echo "check-docs: ${#problems[@]} of $collection undocumented or not rendered:" >&2
  printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
echo "check-docs: $checked plugins and roles of $collection documented"
