#!/bin/bash
# Runs one command inside an unpacked root as a small container:
#   - the named network namespace NETNS (made by the caller), so successive commands share one firewall
#     and none of them touches the host's;
#   - its own PID namespace in which the root is PID 1's root, so maintainer scripts see a live system
#     (not a chroot) and do what they would do on a real machine, firewall included;
#   - its own mount namespace with a fresh /proc, which disappears with the command: nothing to unmount.
# With --chroot, no PID namespace: the root looks like what it is to an image builder, a chroot.
# usage: container.sh [--chroot] ROOT NETNS COMMAND [ARG...]
set -euo pipefail
pidns=(--pid --fork)
if [[ $1 == --chroot ]]; then pidns=(); shift; fi
root=$1 netns=$2
shift 2
exec ip netns exec "$netns" \
  unshare "${pidns[@]}" --mount --propagation private --mount-proc="$root/proc" \
  chroot "$root" /usr/bin/env -i \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"
