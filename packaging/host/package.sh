# The consolegate-host package (issue 15), described once like packaging/helper: scripts/dist-helper.sh
# --package host renders this file and files.txt into a .deb (dpkg-deb) and an .rpm (rpmbuild).
# Sourced by bash; plain assignments only. The version is package.json's, checked against ./changelog.

NAME=consolegate-host
SUMMARY="apply the consolegate policy on the VM host"
DESCRIPTION="consolegate turns one YAML policy into firewall rules on both ends of a SPICE
console connection. This package is the hypervisor's end: console ports of
the server's virtual machines accept connections only from the managed
client networks, and each guest's bridge port may only send with its own MAC
and IP addresses (ARP and neighbour discovery included). It contains the
helper in host mode and systemd units that apply the policy at boot, whenever
it changes, and every minute; no sudoers rules and no viewer changes."
HOMEPAGE="https://github.com/consolegate/consolegate"
LICENSE=MIT
MAINTAINER="consolegate maintainers <maintainers@consolegate.org>"
DEB_SECTION=admin
DEB_PRIORITY=optional
RPM_GROUP="System Environment/Base"
# Pure JavaScript and text: one package for every architecture.
DEB_ARCH=all
RPM_BUILDARCH=noarch

# node >= 18.19 runs the bundle; nft loads the tables (the bridge family needs nftables, not iptables).
# libvirt is optional: virsh is used when it is installed.
DEB_DEPENDS="nodejs (>= 18.19), nftables"
RPM_REQUIRES=("nodejs >= 18.19" "nftables")
RPM_REQUIRES_PRE=()

DEB_UNITDIR=/lib/systemd/system
RPM_UNITDIR=/usr/lib/systemd/system
