#!/usr/bin/env bash
# Make this Debian/Ubuntu machine a host for the emulator's container build servers (rootless podman).
#
#   scripts/container-host.sh install        as root: podman and what rootless containers need, mmdebstrap
#   scripts/container-host.sh user NAME      as root: an unprivileged user NAME that can run rootless podman
#                                            (subordinate uid/gid ranges, overlay storage)
#   scripts/container-host.sh check [NAME]   what podman says about rootless use as NAME (default: yourself)
#
# The root file systems themselves are built by the emulator at the first boot of each distribution
# (or ahead: `imagesync emulator --compute-backend container --prepare-only`), as the user who runs it.
set -euo pipefail

# podman: the engine; uidmap: newuidmap/newgidmap for rootless user namespaces; slirp4netns: rootless
# networking (a container reaches the distribution's mirror); catatonit: podman's --init;
# runc: crun refuses cgroup v1/hybrid hosts; fuse-overlayfs: overlay storage where the kernel
# cannot mount overlay unprivileged; mmdebstrap: Debian/Ubuntu root file systems without root;
# gnupg, curl: the Ubuntu archive key (checked by fingerprint).
PACKAGES=(podman uidmap slirp4netns catatonit runc fuse-overlayfs mmdebstrap gnupg curl ca-certificates)

die() {
  echo "container-host.sh: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || die "$1 must run as root"
}

install_packages() {
  need_root install
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q -o DPkg::Lock::Timeout=600
  # --no-upgrade: what is installed stays as it is (the machine may serve other work).
  apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends --no-upgrade "${PACKAGES[@]}"
}

# Give USER a subordinate id range (useradd does this on most systems; an older account may lack it).
sub_ids() {
  local user=$1 file
  for file in /etc/subuid /etc/subgid; do
    touch "$file"
    if ! grep -q "^$user:" "$file"; then
      # After the highest range in use, so no two users share ids.
      local start
      start=$(awk -F: 'BEGIN { m = 100000 } { e = $2 + $3; if (e > m) m = e } END { print m }' "$file")
      echo "$user:$start:65536" >>"$file"
    fi
  done
}

make_user() {
  need_root user
  local user=${1:?usage: container-host.sh user NAME}
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  sub_ids "$user"
  local home
  home=$(getent passwd "$user" | cut -d: -f6)
  # podman picks vfs (a full copy of the image per container) when nothing says otherwise on some
  # hosts; the kernel's unprivileged overlay (5.13+) makes a container cost only its changes.
  if [ ! -f "$home/.config/containers/storage.conf" ]; then
    runuser -u "$user" -- mkdir -p "$home/.config/containers"
    printf '[storage]\ndriver = "overlay"\n' | runuser -u "$user" -- tee "$home/.config/containers/storage.conf" >/dev/null
  fi
  runuser -u "$user" -- podman system migrate >/dev/null 2>&1 || true
}

check() {
  local user=${1:-}
  local run=()
  [ -n "$user" ] && run=(runuser -u "$user" --)
  local out
  out=$("${run[@]}" podman info --format '{{.Host.Security.Rootless}} {{.Store.GraphDriverName}} {{.Host.CgroupsVersion}} {{.Host.OCIRuntime.Name}}')
  echo "podman as ${user:-$(id -un)}: rootless/storage/cgroups/runtime = $out (imagesync uses runc where crun meets cgroup v1)"
}

case "${1:-}" in
  install) install_packages ;;
  user) make_user "${2:-}" ;;
  check) check "${2:-}" ;;
  *) die "usage: $0 install | user NAME | check [NAME]" ;;
esac
