# The RPM scriptlets' part (pasted after common.sh).

cg_start_units() { systemctl start "$@"; }
