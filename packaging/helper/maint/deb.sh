# Debian's part of the maintainer scripts (pasted after common.sh).

# deb-systemd-invoke honours policy-rc.d and units the admin disabled.
cg_start_units() { deb-systemd-invoke start "$@"; }

# dpkg-statoverride, not chown: dpkg then applies the lock itself whenever virt-viewer is upgraded or
# reinstalled, so there is no moment with a world-executable viewer. An existing override (the admin's,
# or the helper's for a policy naming another group) is kept.
cg_statoverride_viewer() {
  dpkg-statoverride --list "$CG_VIEWER" >/dev/null && return 0
  dpkg-statoverride --update --add root "$CG_VIEWER_GROUP" 0750 "$CG_VIEWER"
}

# Drops a lock-shaped override (root:<any group> 0750) and unlocks the viewer; others are the admin's.
cg_drop_viewer_statoverride() {
  override=$(dpkg-statoverride --list "$CG_VIEWER") || return 0
  # "<owner> <group> <mode> <path>"; dpkg prints the mode without its leading 0
  set -- $override
  [ "$1" = root ] && [ "${3#0}" = 750 ] || return 0
  dpkg-statoverride --remove "$CG_VIEWER"
  cg_unlock_viewer
}
