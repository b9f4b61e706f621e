#!/bin/bash
# Prints the path of a cached tarball of a Debian bookworm root for the install tests, building it once.
#   bookworm-root.sh base   minbase + systemd (the RPM test's root: a shell, coreutils, groupadd and
#                           systemctl for presets, no viewer)
#   bookworm-root.sh deps   minbase + what consolegate-helper depends on, with virt-viewer's .deb kept in
#                           apt's cache so `apt-get install --reinstall virt-viewer` works offline later
#   bookworm-root.sh firewalld   deps + firewalld, the D-Bus it talks over and netbase (/etc/protocols, which
#                                firewalld checks its services against): the watch boot test
#   bookworm-root.sh ansible     deps + python3, python3-apt (Ansible's modules) and acl: the role's test
# The cache lives outside the repo (CONSOLEGATE_TEST_CACHE, default /var/cache/consolegate-test) because
# debootstrap takes minutes and CI runs on the same machine again. The name carries a hash of what goes
# into the root (release, package list, recipe version), so changing any of them builds a fresh root.
set -euo pipefail

stage=${1:?usage: bookworm-root.sh base|deps|firewalld|ansible}
cache=${CONSOLEGATE_TEST_CACHE:-/var/cache/consolegate-test}
# What the helper's Depends: pull in on a real install (Recommends stay out: tests need speed, not a desktop).
deps=(nodejs sudo nftables virt-viewer acl)
recipe=2  # bump when build_base/build_deps change what they produce
key=$(echo "bookworm ${deps[*]} $recipe" | sha256sum | cut -c1-12)

# The Debian mirror this machine's apt already uses (or CONSOLEGATE_DEBIAN_MIRROR), so the roots come
# from the same place as every other package here.
mirror() {
  local uri
  uri=$(grep -hoE '(URIs:|deb)[[:space:]]+https?://[^[:space:]]+/debian/?([[:space:]]|$)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -oE 'https?://[^[:space:]]+' | head -n1 || true)
  uri=${CONSOLEGATE_DEBIAN_MIRROR:-$uri}
  [[ -n $uri ]] || { echo "bookworm-root.sh: no Debian mirror in /etc/apt/sources.list*; set CONSOLEGATE_DEBIAN_MIRROR" >&2; return 1; }
  echo "$uri"
}

# Runs a command chrooted into $1 in a private mount namespace with /proc, so mounts vanish with the process.
in_root() {
  local root=$1; shift
  unshare --mount --propagation private -- bash -c 'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' _ "$root" "$root" "$@"
}

build_base() {
  local out=$1 tmp
  tmp=$(mktemp -d /var/tmp/cg-debootstrap.XXXXXX)
  trap 'rm -rf "$tmp"' RETURN
  local uri
  uri=$(mirror)
  debootstrap --variant=minbase --include=systemd bookworm "$tmp/root" "$uri" >"$tmp/log" 2>&1 || { tail -n 30 "$tmp/log" >&2; return 1; }
  tar -C "$tmp/root" -cf "$out.part" . && mv "$out.part" "$out"
}

build_deps() {
  local base=$1 out=$2 tmp
  tmp=$(mktemp -d /var/tmp/cg-root.XXXXXX)
  trap 'rm -rf "$tmp"' RETURN
  mkdir "$tmp/root" && tar -C "$tmp/root" -xf "$base"
  cp /etc/resolv.conf "$tmp/root/etc/resolv.conf"
  # Never start daemons inside the build root.
  printf '#!/bin/sh\nexit 101\n' >"$tmp/root/usr/sbin/policy-rc.d" && chmod 0755 "$tmp/root/usr/sbin/policy-rc.d"
  in_root "$tmp/root" env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" && apt-get install -y -qq --reinstall --download-only virt-viewer' \
    _ "${deps[@]}" >"$tmp/log" 2>&1 || { tail -n 30 "$tmp/log" >&2; return 1; }
  rm -f "$tmp/root/usr/sbin/policy-rc.d"
  tar -C "$tmp/root" -cf "$out.part" . && mv "$out.part" "$out"
}

build_firewalld() {
  local deps=$1 out=$2 tmp
  tmp=$(mktemp -d /var/tmp/cg-root.XXXXXX)
  trap 'rm -rf "$tmp"' RETURN
  mkdir "$tmp/root" && tar -C "$tmp/root" -xf "$deps"
  cp /etc/resolv.conf "$tmp/root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$tmp/root/usr/sbin/policy-rc.d" && chmod 0755 "$tmp/root/usr/sbin/policy-rc.d"
  in_root "$tmp/root" env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends firewalld dbus netbase' >"$tmp/log" 2>&1 || { tail -n 30 "$tmp/log" >&2; return 1; }
  rm -f "$tmp/root/usr/sbin/policy-rc.d"
  tar -C "$tmp/root" -cf "$out.part" . && mv "$out.part" "$out"
}

# deps + Python, which Ansible's modules run on (apt's `deb:` needs python3-apt): the Ansible role's test. The role
# installs the helper itself, offline, so whatever its Depends: names beyond `deps` (acl) is here too.
ansible_deps=(python3 python3-apt acl)
build_ansible() {
  local deps=$1 out=$2 tmp
  tmp=$(mktemp -d /var/tmp/cg-root.XXXXXX)
  trap 'rm -rf "$tmp"' RETURN
  mkdir "$tmp/root" && tar -C "$tmp/root" -xf "$deps"
  cp /etc/resolv.conf "$tmp/root/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$tmp/root/usr/sbin/policy-rc.d" && chmod 0755 "$tmp/root/usr/sbin/policy-rc.d"
  in_root "$tmp/root" env DEBIAN_FRONTEND=noninteractive sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"' _ "${ansible_deps[@]}" >"$tmp/log" 2>&1 || { tail -n 30 "$tmp/log" >&2; return 1; }
  rm -f "$tmp/root/usr/sbin/policy-rc.d"
  tar -C "$tmp/root" -cf "$out.part" . && mv "$out.part" "$out"
}

mkdir -p "$cache"
base="$cache/bookworm-minbase-$key.tar"
full="$cache/bookworm-deps-$key.tar"
# One builder at a time: two test files may ask for the root concurrently.
exec 9>"$cache/.lock"
flock 9
[[ -f $base ]] || build_base "$base"
case $stage in
  base) echo "$base" ;;
  deps) [[ -f $full ]] || build_deps "$base" "$full"; echo "$full" ;;
  firewalld)
    [[ -f $full ]] || build_deps "$base" "$full"
    # -2: netbase added (firewalld checks protocol names against /etc/protocols)
    fw="$cache/bookworm-firewalld-$key-2.tar"
    [[ -f $fw ]] || build_firewalld "$full" "$fw"
    echo "$fw" ;;
  ansible)
    [[ -f $full ]] || build_deps "$base" "$full"
    an="$cache/bookworm-ansible-$key-$(echo "${ansible_deps[*]}" | sha256sum | cut -c1-8).tar"
    [[ -f $an ]] || build_ansible "$full" "$an"
    echo "$an" ;;
  *) echo "bookworm-root.sh: unknown stage $stage" >&2; exit 64 ;;
esac
