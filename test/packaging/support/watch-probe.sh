#!/bin/sh
# Runs inside the booted test root (cg-watch-probe.service, after the consolegate units) and writes to
# /probe/ how long our table stays away after each firewall tool's reload or restart: with
# consolegate-watch.service running, with only the units' reload hooks, and with neither (the baseline
# that shows the tools really do wipe it). Powers the container off at the end, whatever happened.
out=/probe
mkdir -p "$out"
trap 'systemctl --no-block poweroff' EXIT

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# Runs "$@", then prints "<ms from the command's start until our table is listed again> <ms the command took>",
# or "timeout <ms the command took>" when it is not back 3 s after the command started.
back_after() {
  start=$(now_ms)
  "$@" >>"$out/commands" 2>&1 || echo "exit $?: $*" >>"$out/commands"
  took=$(($(now_ms) - start))
  while :; do
    if nft list table inet consolegate >/dev/null 2>&1; then echo "$(($(now_ms) - start)) $took"; return; fi
    [ $(($(now_ms) - start)) -gt 3000 ] && { echo "timeout $took"; return; }
    sleep 0.01
  done
}

# Restored lines in the watch's journal so far: a step's count tells whether the tool really removed our table.
restores() { journalctl --no-pager -b -o cat -u consolegate-watch.service | grep -c 'restored the saved'; }

# Waits (up to 60 s) until no apply of the early unit's hooks still runs from an earlier step: one that a later
# restart ends mid-way would hold the apply lock, which the watch waits for, and race its repair.
idle() {
  for _ in $(seq 1 600); do
    case $(systemctl show -P ActiveState consolegate-apply-early.service) in reloading | activating) sleep 0.1 ;; *) return ;; esac
  done
}

# The restores since count $1. The table can be listed again before journald has stored the watch's line
# about it, so a step that shows none yet waits up to 2 s for it.
restores_since() {
  for _ in $(seq 1 40); do
    n=$(($(restores) - $1))
    [ "$n" -gt 0 ] && break
    sleep 0.05
  done
  echo "$n"
}

for _ in $(seq 1 100); do
  journalctl --no-pager -b -o cat -u consolegate-watch.service | grep -q 'watch: ready' && break
  sleep 0.1
done
for unit in consolegate-apply-early.service consolegate-watch.service nftables.service; do
  echo "$unit $(systemctl show -P Result "$unit") $(systemctl is-active "$unit")" >>"$out/units"
done

# 1. consolegate-watch.service running.
idle; r=$(restores); echo "$(back_after systemctl reload nftables.service) $(restores_since "$r")" >"$out/watch-reload"
idle; r=$(restores); echo "$(back_after systemctl restart nftables.service) $(restores_since "$r")" >"$out/watch-restart"

# 2. The reload/restart hooks of consolegate-apply-early.service alone (ReloadPropagatedFrom=, PartOf=).
systemctl stop consolegate-watch.service
back_after systemctl reload nftables.service >"$out/hook-reload"
idle; back_after systemctl restart nftables.service >"$out/hook-restart"

# 3. Neither: the early unit inactive, so nothing follows the reload. Our table must be gone for good.
idle; systemctl stop consolegate-apply-early.service
back_after systemctl reload nftables.service >"$out/baseline-reload"

# 4. firewalld (it conflicts with nftables.service: starting it stops that, which flushes the ruleset).
systemctl start consolegate-apply-early.service consolegate-watch.service
for _ in $(seq 1 100); do
  [ "$(journalctl --no-pager -b -o cat -u consolegate-watch.service | grep -c 'watch: ready')" -ge 2 ] && break
  sleep 0.1
done
idle; r=$(restores); echo "$(back_after systemctl start firewalld.service) $(restores_since "$r")" >"$out/firewalld-start"
firewall-cmd --state >"$out/firewalld-state" 2>&1
{ systemctl status --no-pager firewalld.service; journalctl --no-pager -b -o cat -u firewalld.service; } >"$out/firewalld-status" 2>&1
idle; r=$(restores); echo "$(back_after firewall-cmd --reload) $(restores_since "$r")" >"$out/firewalld-reload"
idle; r=$(restores); echo "$(back_after firewall-cmd --complete-reload) $(restores_since "$r")" >"$out/firewalld-complete-reload"
idle; r=$(restores); echo "$(back_after systemctl reload firewalld.service) $(restores_since "$r")" >"$out/firewalld-systemctl-reload"
nft list tables >"$out/tables" 2>&1

journalctl --no-pager -b -o cat -u consolegate-watch.service -u consolegate-apply-early.service -u firewalld.service >"$out/journal" 2>&1
echo done >"$out/finished"
