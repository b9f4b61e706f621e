#!/bin/sh
# Runs inside the booted test root (cg-probe.service, after the consolegate units) and writes what it
# finds to /probe/: the units' results, then drops a policy fragment and waits for the path unit to
# apply it. Powers the container off at the end, whatever happened.
out=/probe
mkdir -p "$out"
trap 'systemctl --no-block poweroff' EXIT

for unit in consolegate-apply-early.service consolegate-apply.service consolegate-apply.path consolegate-refresh.timer; do
  echo "$unit $(systemctl show -P Result "$unit") $(systemctl is-active "$unit")" >>"$out/units"
done
journalctl --no-pager -b -o cat -u consolegate-apply-early.service -u consolegate-apply.service >"$out/journal" 2>&1
nft list table inet consolegate >"$out/nft" 2>&1
cp /etc/sudoers.d/consolegate "$out/sudoers" 2>/dev/null
getent group cgviewers >"$out/group"
dpkg-statoverride --list /usr/bin/remote-viewer >"$out/statoverride"
# Written under the units' sandbox: the root-only table and alice's view with its ACL entry (issue 11).
stat -c '%U:%G %a' /var/lib/consolegate/console-table.json >"$out/table" 2>&1
getfacl -n -c -p "/var/lib/consolegate/views/$(id -u alice).json" >"$out/view-acl" 2>&1
id -u alice >"$out/uid-alice"
id -u bob >"$out/uid-bob"

# Config management drops a fragment: the path unit must apply it without anyone running a command.
cp /root/50-bob.yaml /etc/consolegate/policy.d/50-bob.yaml
for _ in $(seq 1 100); do
  # bob's uid on a line of its own or in a User_Alias beside alice's (same VMs: one alias, issue 12).
  grep -qE "(^| )#$(id -u bob)(,| |$)" /etc/sudoers.d/consolegate 2>/dev/null && break
  sleep 0.1
done
cp /etc/sudoers.d/consolegate "$out/sudoers-after-fragment" 2>/dev/null
echo done >"$out/finished"
