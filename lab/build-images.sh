#!/usr/bin/env bash
# Builds the lab's systemd images from Debian's packages, once per recipe: an image is rebuilt only
# when this script, provision.sh or the package list changes.
#   lab/build-images.sh [RELEASE...]      default: bookworm trixie
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"
releases=("$@")
[ ${#releases[@]} -gt 0 ] || releases=(bookworm trixie)
base_packages=systemd,systemd-sysv,dbus,python3,iproute2,procps

mirror() {
  # The mirror apt already uses on this machine.
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "build-images: no Debian mirror found in apt's sources" >&2; exit 1; }
  echo "$uri"
}

label_of() {
  podman image inspect --format '{{ index .Labels "portguard.recipe" }}' "$1" 2>/dev/null || true
}

# The base image depends on the release and its package list only; the lab image on everything.
base_hash() {
  echo "base-v1 $1 $base_packages" | sha256sum | cut -c1-16
}

lab_hash() {
  { base_hash "$1"; cat "$here/build-images.sh" "$here/provision.sh"; } | sha256sum | cut -c1-16
}

wait_booted() {
  local name=$1 state=""
  for _ in $(seq 1 60); do
    state=$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) return 0 ;; esac
    sleep 1
  done
  echo "build-images: $name did not boot (state: ${state:-none})" >&2
  return 1
}

build() {
  local rel=$1 hash bhash image base build_ctr rootfs log
  hash=$(lab_hash "$rel")
  bhash=$(base_hash "$rel")
  image="localhost/portguard-lab:$rel"
  base="localhost/portguard-base:$rel"
  if [ "$(label_of "$image")" = "$hash" ]; then
    echo "lab image $image is current ($hash)"
    return 0
  fi
  echo "building $image (recipe $hash)"
  if [ "$(label_of "$base")" != "$bhash" ]; then
    rootfs=$(mktemp -d /var/tmp/portguard-rootfs.XXXXXX)
    if ! debootstrap --variant=minbase --include="$base_packages" "$rel" "$rootfs" "$(mirror)" \
      >"$rootfs.log" 2>&1; then
      tail -20 "$rootfs.log" >&2
      rm -rf "$rootfs" "$rootfs.log"
      exit 1
    fi
    tar -C "$rootfs" -c . | podman import --change "LABEL portguard.recipe=$bhash" \
      --change 'CMD ["/sbin/init"]' - "$base" >/dev/null
    rm -rf "$rootfs" "$rootfs.log"
  fi
  build_ctr="portguard-build-$rel"
  podman rm -f "$build_ctr" >/dev/null 2>&1 || true
  podman run -d --name "$build_ctr" --privileged --systemd=always "$base" /sbin/init >/dev/null
  wait_booted "$build_ctr"
  log=$(mktemp /var/tmp/portguard-provision.XXXXXX)
  if ! podman exec -i "$build_ctr" sh -s <"$here/provision.sh" >"$log" 2>&1; then
    tail -30 "$log" >&2
    podman rm -f "$build_ctr" >/dev/null
    exit 1
  fi
  rm -f "$log"
  podman stop -t 10 "$build_ctr" >/dev/null
  podman commit --change "LABEL portguard.recipe=$hash" --change 'CMD ["/sbin/init"]' \
    "$build_ctr" "$image" >/dev/null
  podman rm -f "$build_ctr" >/dev/null
  echo "built $image"
}

for rel in "${releases[@]}"; do
  build "$rel"
done
