# Shared by every consolegate-host maintainer script and RPM scriptlet: scripts/dist-helper.sh pastes this
# file in front of each one (they must be self-contained: at purge time our files are already gone).
# POSIX sh; every function is idempotent. deb.sh or rpm.sh follows and defines cg_start_units.

CG_POLICY=/etc/consolegate/policy.yaml
CG_POLICY_DIR=/etc/consolegate/policy.d
CG_HOST_STATE=/var/lib/consolegate/host.json
CG_HOST_LOCK=/var/lib/consolegate/host.lock
CG_UNITS="consolegate-host-apply-early.service consolegate-host-apply.service consolegate-host-apply.path consolegate-host-refresh.timer"

cg_warn() { echo "consolegate-host: $*" >&2; }

# True in a chroot or image build (when in doubt: in a chroot): nft there would hit the build host.
cg_in_chroot() {
  root_id=$(stat -Lc %d:%i / 2>/dev/null) || return 0
  init_root_id=$(stat -Lc %d:%i /proc/1/root/. 2>/dev/null) || return 0
  [ "$root_id" != "$init_root_id" ]
}

# Applies now when configured (policy present, CONSOLEGATE_SERVER set) and on the live system. A failure
# does not fail the package operation: the previous rules stay and the units retry.
cg_apply_now() {
  [ -e "$CG_POLICY" ] || [ -d "$CG_POLICY_DIR" ] || return 0
  cg_in_chroot && return 0
  if [ -d /run/systemd/system ]; then
    cg_start_units consolegate-host-apply.service || cg_warn "apply failed; see: journalctl -u consolegate-host-apply.service"
  fi
}

# Removes what `consolegate-host remove` would, for when the program is already gone: our two nft tables
# (live system only) and host.json. The shared state directory is the client helper's too: left alone.
cg_remove_owned_state() {
  if ! cg_in_chroot && command -v nft >/dev/null 2>&1; then
    for t in "inet consolegate-host" "bridge consolegate-host"; do
      # shellcheck disable=SC2086
      if nft list table $t >/dev/null 2>&1; then nft delete table $t || cg_warn "could not delete nft table $t"; fi
    done
  fi
  rm -f "$CG_HOST_STATE" "$CG_HOST_LOCK"
}
