# Debian's part of the maintainer scripts (pasted after common.sh).

# deb-systemd-invoke honours policy-rc.d and units the admin disabled.
cg_start_units() { deb-systemd-invoke start "$@"; }
