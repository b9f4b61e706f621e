#!/bin/bash
# apt-get install for test tools that are also system services (slapd, sssd): the tests start their own
# instances in private namespaces, so installing them must not start a daemon nor change the host's NSS or PAM.
# Debian's libnss-sss adds `sss` to /etc/nsswitch.conf and libpam-sss/libpam-pwquality add PAM profiles in their
# postinst; slapd and sssd start from theirs. Here: policy-rc.d refuses every start, the files are put back, the
# PAM profiles the install enabled are disabled again, and units the install enabled are disabled.
set -euo pipefail
(($#)) || exit 0

made_policy=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\n# ensure-deps: no service starts while test tools install\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
nss_before=$(mktemp)
cp -p /etc/nsswitch.conf "$nss_before"
pam_before=$(cat /etc/pam.d/common-* 2>/dev/null || true)
units=(slapd.service sssd.service)
declare -A enabled_before=()
have_systemctl=0
command -v systemctl >/dev/null && have_systemctl=1
if ((have_systemctl)); then
  for u in "${units[@]}"; do enabled_before[$u]=$(systemctl is-enabled "$u" 2>/dev/null || true); done
fi
restore() {
  cmp -s "$nss_before" /etc/nsswitch.conf || { echo "apt-install-isolated: restoring /etc/nsswitch.conf" >&2; cp -p "$nss_before" /etc/nsswitch.conf; }
  rm -f "$nss_before"
  if command -v pam-auth-update >/dev/null; then
    for profile in sss pwquality; do
      module=pam_$profile.so
      if ! grep -q "$module" <<<"$pam_before" && grep -qs "$module" /etc/pam.d/common-*; then
        echo "apt-install-isolated: disabling PAM profile $profile the install enabled" >&2
        DEBIAN_FRONTEND=noninteractive pam-auth-update --disable "$profile"
      fi
    done
  fi
  if ((have_systemctl)); then
    for u in "${units[@]}"; do
      now=$(systemctl is-enabled "$u" 2>/dev/null || true)
      if [[ $now == enabled && ${enabled_before[$u]} != enabled ]]; then systemctl disable --quiet "$u" || true; fi
    done
  fi
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
  return 0
}
trap restore EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
