#!/bin/bash
# Builds a stand-in "virt-viewer" RPM that ships /usr/bin/remote-viewer as root:root 0755, the way the
# real one does, so the RPM install test can upgrade it and watch our file trigger lock it again.
# usage: fake-viewer-rpm.sh VERSION OUTDIR   (prints the path of the .rpm)
set -euo pipefail
version=$1 out=$2
top=$(mktemp -d "${TMPDIR:-/tmp}/cg-fake-viewer.XXXXXX")
trap 'rm -rf "$top"' EXIT
cat >"$top/virt-viewer.spec" <<SPEC
Name: virt-viewer
Version: $version
Release: 1
Summary: Stand-in for the remote-viewer package in consolegate's tests
License: MIT
BuildArch: noarch

%description
Ships /usr/bin/remote-viewer only.

%install
mkdir -p %{buildroot}/usr/bin
printf '#!/bin/sh\necho fake remote-viewer $version\n' >%{buildroot}/usr/bin/remote-viewer
chmod 0755 %{buildroot}/usr/bin/remote-viewer

%files
%attr(0755,root,root) /usr/bin/remote-viewer
SPEC
rpmbuild -bb --quiet --define "_topdir $top" --define "_rpmdir $top/rpms" \
  --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
  "$top/virt-viewer.spec" >"$top/log" 2>&1 || { cat "$top/log" >&2; exit 1; }
mkdir -p "$out"
cp "$top/rpms/virt-viewer-$version-1.noarch.rpm" "$out/"
echo "$out/virt-viewer-$version-1.noarch.rpm"
