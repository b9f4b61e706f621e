# Shared by every maintainer script and RPM scriptlet: scripts/dist-helper.sh pastes this file in front
# of each one (maintainer scripts must be self-contained: at purge time our files are already gone).
# POSIX sh; every function is idempotent. The format's own part (deb.sh or rpm.sh) follows this file
# and defines cg_start_units.

CG_VIEWER=/usr/bin/remote-viewer
CG_VIEWER_GROUP=spicegrp
CG_POLICY=/etc/consolegate/policy.yaml
CG_POLICY_DIR=/etc/consolegate/policy.d
CG_STATE_DIR=/var/lib/consolegate
CG_SUDOERS=/etc/sudoers.d/consolegate
CG_UNITS="consolegate-apply-early.service consolegate-apply.service consolegate-apply.path consolegate-refresh.timer consolegate-watch.service"

cg_warn() { echo "consolegate-helper: $*" >&2; }

# The viewer group: a system group nobody is a member of (sudo grants it for the one exact command).
cg_ensure_viewer_group() {
  getent group "$CG_VIEWER_GROUP" >/dev/null || groupadd --system "$CG_VIEWER_GROUP"
}

# True when this script runs in a chroot or image build rather than on the live system (when in doubt:
# in a chroot). Firewall changes and `apply` are for the live system only: in a chroot they would hit
# the host's network namespace, and the target's own boot applies the policy anyway.
cg_in_chroot() {
  root_id=$(stat -Lc %d:%i / 2>/dev/null) || return 0
  init_root_id=$(stat -Lc %d:%i /proc/1/root/. 2>/dev/null) || return 0
  [ "$root_id" != "$init_root_id" ]
}

cg_policy_present() {
  [ -e "$CG_POLICY" ] && return 0
  for f in "$CG_POLICY_DIR"/*.yaml; do [ -e "$f" ] && return 0; done
  return 1
}

# Applies the policy now, if there is one and this is the live system. A failure does not fail the
# package operation: apply keeps the previous state (protected ports stay denied) and the units retry.
cg_apply_now() {
  cg_policy_present || return 0
  cg_in_chroot && return 0
  if [ -d /run/systemd/system ]; then
    cg_start_units consolegate-apply.service || cg_warn "apply failed; see: journalctl -u consolegate-apply.service"
  else
    consolegate-helper apply || cg_warn "apply failed; run: consolegate-helper apply"
  fi
}

# Locks the viewer by hand (RPM systems; Debian uses dpkg-statoverride so that upgrades keep the mode).
cg_lock_viewer() {
  [ -e "$CG_VIEWER" ] || return 0
  chown "root:$CG_VIEWER_GROUP" "$CG_VIEWER" && chmod 0750 "$CG_VIEWER"
}

# Gives a locked viewer (root:<any group> 0750, ours or the helper's) back to everybody, with the owner
# and mode the distributions ship it with. A mode the admin chose otherwise is left alone.
cg_unlock_viewer() {
  [ -e "$CG_VIEWER" ] || return 0
  [ "$(stat -c '%U %a' "$CG_VIEWER")" = "root 750" ] || return 0
  chown root:root "$CG_VIEWER" && chmod 0755 "$CG_VIEWER"
}

# Removes what `consolegate-helper remove` would, for when the helper is already gone (Debian's postrm
# purge runs after our files are deleted): the firewall table/chains (live system only), the sudoers
# file and the state directory.
cg_remove_owned_state() {
  if ! cg_in_chroot; then
    if command -v nft >/dev/null 2>&1 && nft list table inet consolegate >/dev/null 2>&1; then
      nft delete table inet consolegate || cg_warn "could not delete nft table inet consolegate"
    fi
    for ipt in iptables ip6tables; do
      command -v "$ipt" >/dev/null 2>&1 || continue
      # Our chains and the built-in chain that jumps to each (CONSOLEGATE-FWD: routed connections).
      for pair in OUTPUT:CONSOLEGATE FORWARD:CONSOLEGATE-FWD; do
        hook=${pair%%:*} chain=${pair#*:}
        # Ask first: deleting from a chain that does not exist would only print errors.
        "$ipt" -w -t filter -n -L "$chain" >/dev/null 2>&1 || continue
        while "$ipt" -w -t filter -D "$hook" -j "$chain" 2>/dev/null; do :; done
        "$ipt" -w -t filter -F "$chain" && "$ipt" -w -t filter -X "$chain" || cg_warn "could not delete $ipt chain $chain"
      done
    done
  fi
  rm -f "$CG_SUDOERS"
  rm -rf "$CG_STATE_DIR"
}
