#!/bin/bash
# Builds the consolegate-helper packages, out/packages/*.deb and *.rpm, from the one description in
# packaging/helper (package.sh, files.txt, maint/) and the bundles in dist/. Both formats are staged from
# the same file list, so they install the same files with the same modes.
#   --no-build   use dist/ as it is (CI builds once before the tests)
#   --out DIR    where the packages go (default out/packages in the repository)
#   --only deb|rpm
#   --package NAME  another package described the same way under packaging/NAME (host: consolegate-host)
set -euo pipefail

build=1 out= only= package=helper
while (($#)); do
  case $1 in
    --no-build) build=0 ;;
    --out) out=$(realpath -m "${2:?--out needs a directory}"); shift ;;
    --only) only=${2:?--only needs deb or rpm}; shift ;;
    --package) package=${2:?--package needs a name}; shift ;;
    *) echo "dist-helper: unknown argument $1" >&2; exit 64 ;;
  esac
  shift
done
cd "$(dirname "$0")/.."
out=${out:-out/packages}

[[ $package =~ ^[a-z]+$ && -f packaging/$package/package.sh ]] || { echo "dist-helper: no package description packaging/$package" >&2; exit 64; }
desc=packaging/$package
# shellcheck source=../packaging/helper/package.sh
source "$desc/package.sh"
version=$(node -p 'require("./package.json").version')
changelog_version=$(sed -nE '1s/^[^ ]+ \(([^)]+)\).*/\1/p' "$desc/changelog")
if [[ $version != "$changelog_version" ]]; then
  echo "dist-helper: package.json says $version but $desc/changelog starts with $changelog_version; add a changelog entry" >&2
  exit 1
fi
# Reproducible builds: every timestamp is the date of the latest changelog entry.
SOURCE_DATE_EPOCH=$(date -d "$(sed -nE '0,/^ -- /s/^ -- .*>  (.*)$/\1/p' "$desc/changelog")" +%s)
export SOURCE_DATE_EPOCH

if ((build)); then npm run --silent build; fi
missing=$(awk '!/^#/ && NF && $5 != "-" { print $5 }' "$desc/files.txt" | while read -r f; do [[ -e $f ]] || echo "$f"; done)
if [[ -n $missing ]]; then
  echo "dist-helper: missing $(echo "$missing" | tr '\n' ' ')(run npm run build)" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cg-dist-helper.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Copies every files.txt entry for one format into a root directory: stage FORMAT ROOT UNITDIR
stage() {
  local format=$1 root=$2 unitdir=$3 how formats mode dest src
  mkdir -p "$root"
  while read -r how formats mode dest src; do
    [[ -z $how || $how == \#* ]] && continue
    [[ $formats == all || $formats == "$format" ]] || continue
    [[ $how == unit ]] && dest=$unitdir/$dest
    install -d -m 0755 "$root$(dirname "$dest")"
    case $how in
      file) install -m "$mode" "$src" "$root$dest" ;;
      gzip) gzip -9n <"$src" >"$root$dest" && chmod "$mode" "$root$dest" ;;
      module) sed '1{/^#!/d}' "$src" >"$root$dest" && chmod "$mode" "$root$dest" ;;
      dir) install -d -m "$mode" "$root$dest" ;;
      unit) install -m "$mode" "$src" "$root$dest" ;;
      *) echo "dist-helper: $desc/files.txt: unknown kind '$how'" >&2; return 1 ;;
    esac
  done <"$desc/files.txt"
  # Nothing newer than the changelog, so archives do not depend on when the repo was checked out.
  find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# A maintainer script or scriptlet body with the shared functions in front: script FORMAT BODY
script() {
  cat "$desc/maint/common.sh" "$desc/maint/$1.sh"
  printf '\n# ---- %s ----\n' "$(basename "$2")"
  cat "$2"
}

build_deb() {
  # Architecture-specific since it carries nss-numeric.so, built for this machine.
  local arch name root=$work/deb
  arch=${DEB_ARCH:-$(dpkg --print-architecture)}
  name=${NAME}_${version}_${arch}.deb
  stage deb "$root" "$DEB_UNITDIR"
  mkdir -m 0755 "$root/DEBIAN"
  {
    echo "Package: $NAME"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $MAINTAINER"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    echo "Depends: $DEB_DEPENDS"
    echo "Section: $DEB_SECTION"
    echo "Priority: $DEB_PRIORITY"
    echo "Homepage: $HOMEPAGE"
    echo "Description: $SUMMARY"
    echo "$DESCRIPTION" | sed 's/^/ /'
  } >"$root/DEBIAN/control"
  for s in postinst prerm postrm; do
    { printf '#!/bin/sh\nset -e\n\n'; script deb "$desc/maint/deb-$s"; } >"$root/DEBIAN/$s"
    chmod 0755 "$root/DEBIAN/$s"
  done
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
  chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$out/$name" >/dev/null
  echo "$out/$name"
}

# The Debian changelog's entries as an RPM %changelog (newest first in both).
rpm_changelog() {
  awk '
    /^[^ ]/ { match($0, /\(([^)]*)\)/); ver = substr($0, RSTART + 1, RLENGTH - 2); n = 0; next }
    /^  \* / { items[++n] = "- " substr($0, 5); next }
    /^    / { items[n] = items[n] " " substr($0, 5); next }
    /^ -- / {
      who = $0; sub(/^ -- /, "", who); sub(/>  .*/, ">", who)
      when = $0; sub(/.*>  /, "", when)
      cmd = "date -u -d \"" when "\" \"+%a %b %d %Y\""; cmd | getline day; close(cmd)
      printf "* %s %s - %s-1\n", day, who, ver
      for (i = 1; i <= n; i++) print items[i]
      print ""
    }' "$desc/changelog"
}

# Every file and the directories we own (those named consolegate*, and files.txt dirs) for %files.
rpm_files() {
  local root=$1
  (cd "$root" && find . -mindepth 1 \( -type f -o -type l \) -printf '/%P\n' | LC_ALL=C sort) | while read -r f; do
    case $f in
      /usr/share/licenses/*) echo "%license $f" ;;
      *) echo "$f" ;;
    esac
  done
  (cd "$root" && find . -mindepth 1 -type d -printf '/%P\n' | LC_ALL=C sort) | while read -r d; do
    if [[ $(basename "$d") == consolegate* || $d == /etc/consolegate/* ]]; then echo "%dir $d"; fi
  done
}

build_rpm() {
  local top=$work/rpm root=$work/rpm/root spec=$work/rpm/$NAME.spec s r
  stage rpm "$root" "$RPM_UNITDIR"
  mkdir -p "$top/rpms"
  {
    echo "Name: $NAME"
    echo "Version: $version"
    echo "Release: 1"
    echo "Summary: ${SUMMARY^}"
    echo "License: $LICENSE"
    echo "URL: $HOMEPAGE"
    echo "Group: $RPM_GROUP"
    echo "Packager: $MAINTAINER"
    for r in "${RPM_REQUIRES[@]}"; do echo "Requires: $r"; done
    for r in "${RPM_REQUIRES_PRE[@]}"; do echo "Requires(pre): $r"; echo "Requires(post): $r"; done
    if [[ -n ${RPM_BUILDARCH:-} ]]; then echo "BuildArch: $RPM_BUILDARCH"; fi
    echo
    echo "%description"
    echo "$DESCRIPTION"
    echo
    # The tree is staged above from files.txt; %install only copies it into the buildroot.
    echo "%install"
    echo "cp -a '$root/.' %{buildroot}/"
    for s in pre post preun postun; do
      echo
      echo "%$s"
      script rpm "$desc/maint/rpm-$s" | sed 's/%/%%/g'
    done
    if [[ -f $desc/maint/rpm-filetriggerin ]]; then
      echo
      echo "%filetriggerin -- /usr/bin/remote-viewer"
      script rpm "$desc/maint/rpm-filetriggerin" | sed 's/%/%%/g'
    fi
    echo
    echo "%files"
    echo "%defattr(-,root,root,-)"
    rpm_files "$root"
    echo
    echo "%changelog"
    rpm_changelog
  } >"$spec"
  # No /usr/lib/.build-id links for our ELF executable (nft-genid): the package carries exactly files.txt.
  rpmbuild -bb --quiet \
    --define "_topdir $top" --define "_rpmdir $top/rpms" --define '_build_id_links none' \
    --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
    --define 'use_source_date_epoch_as_buildtime 1' --define 'clamp_mtime_to_source_date_epoch 1' \
    --define '_binary_payload w9.xzdio' \
    "$spec" >"$top/log" 2>&1 || { cat "$top/log" >&2; return 1; }
  local name
  name=$(cd "$top/rpms" && ls ./*.rpm)
  cp "$top/rpms/$name" "$out/"
  echo "$out/${name#./}"
}

[[ $only == rpm ]] || build_deb
[[ $only == deb ]] || build_rpm
