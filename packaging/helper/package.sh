# The consolegate-helper package, described once: scripts/dist-helper.sh renders this file and files.txt
# into a Debian binary package (dpkg-deb) and an RPM (rpmbuild). Sourced by bash; plain assignments only.
# The version is not here: it is package.json's, checked against the top entry of ./changelog.

NAME=consolegate-helper
# Lower case, as Debian writes synopses; the RPM Summary gets a capital first letter.
SUMMARY="enforce which user may open which VM console"
# One paragraph, lines under 80 characters; the deb's extended description and the RPM's %description.
DESCRIPTION="consolegate turns one YAML policy into an owner-match firewall, exact sudoers
rules and a locked-down remote-viewer, so that on a shared client only the
user a virtual machine is assigned to can open its SPICE console. This
package contains the root-owned helper that applies the policy, the
open-console command users reach through sudo, and systemd units that apply
the policy before the network starts, again once it is online, whenever the
policy changes, and every 15 minutes."
HOMEPAGE="https://github.com/consolegate/consolegate"
LICENSE=MIT
MAINTAINER="consolegate maintainers <maintainers@consolegate.org>"
DEB_SECTION=admin
DEB_PRIORITY=optional
RPM_GROUP="System Environment/Base"

# Runtime dependencies. The bundle needs node >= 18.19 (Debian 12's); the firewall can be either backend;
# nss-numeric.so needs glibc >= 2.34 (dlsym in libc itself). The RPM finds its libc dependency itself.
DEB_DEPENDS="libc6 (>= 2.34), nodejs (>= 18.19), nftables | iptables, sudo, virt-viewer, acl"
RPM_REQUIRES=("nodejs >= 18.19" "(nftables or iptables)" "sudo" "virt-viewer" "acl")
# What the RPM scriptlets run (Debian's equivalents are Essential or in the Depends above).
RPM_REQUIRES_PRE=("/usr/sbin/groupadd" "/usr/bin/getent")

# Where systemd units go: Debian 12 still ships them under /lib (usrmerge moratorium), RPM under /usr/lib.
DEB_UNITDIR=/lib/systemd/system
RPM_UNITDIR=/usr/lib/systemd/system
