#!/usr/bin/env bash
# Builds the Debian package churn-saver_<version>_<arch>.deb (Debian 12):
#
#   bash packaging/build-deb.sh          # hardened release build in build-deb/, package in dist/
#
# Options:
#   --binary PATH    package this already-built churn-saver instead of building one (the tests)
#   --version V      package version (default: the project version in CMakeLists.txt)
#   --out DIR        where the .deb goes (default: dist/)
#   --build-dir DIR  where the release build happens (default: build-deb/)
#
# Needs: dpkg-dev (dpkg-shlibdeps), binutils (strip), gzip; plus the build dependencies of
# packaging/dev.sh when it builds. Prints the path of the .deb on the last line.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BINARY=""
VERSION=""
OUT="$ROOT/dist"
BUILD_DIR="$ROOT/build-deb"

while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY=$2; shift 2 ;;
    --version) VERSION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "build-deb.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ -z "$VERSION" ]; then
  VERSION=$(sed -n 's/^project(churn-saver VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
fi
[ -n "$VERSION" ] || { echo "build-deb.sh: cannot find the project version" >&2; exit 1; }
ARCH=$(dpkg --print-architecture)

if [ -z "$BINARY" ]; then
  # Debian's hardening flags (stack protector, fortify, relro, bindnow, PIE).
  export DEB_BUILD_MAINT_OPTIONS=hardening=+all
  CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
  LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
  export CXXFLAGS LDFLAGS
  # The optimised release configuration (-O3 after Debian's -O2), without -Werror (CS_WERROR off).
  cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target churn-saver
  BINARY="$BUILD_DIR/churn-saver"
fi
[ -x "$BINARY" ] || { echo "build-deb.sh: no executable at $BINARY" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKG="$WORK/debian/churn-saver"  # dpkg-shlibdeps expects the package tree here
install -d -m 0755 "$PKG/DEBIAN" "$PKG/usr/bin" "$PKG/lib/systemd/system" \
  "$PKG/etc/churn-saver" "$PKG/usr/share/man/man8" "$PKG/usr/share/doc/churn-saver/examples"

# Files.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
  -o "$PKG/usr/bin/churn-saver" "$BINARY"
chmod 0755 "$PKG/usr/bin/churn-saver"
install -m 0644 "$ROOT/systemd/churn-saver.service" "$PKG/lib/systemd/system/churn-saver.service"
install -m 0644 "$ROOT/packaging/churn-saver.conf" "$PKG/etc/churn-saver/churn-saver.conf"
sed "s/@VERSION@/$VERSION/g" "$ROOT/packaging/churn-saver.8" | gzip -9n >"$PKG/usr/share/man/man8/churn-saver.8.gz"
install -m 0644 "$ROOT/packaging/debian/copyright" "$PKG/usr/share/doc/churn-saver/copyright"
sed -e "s/@VERSION@/$VERSION/g" -e "s/@DATE@/$(date -R -u -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")/" \
  "$ROOT/packaging/debian/changelog" | gzip -9n >"$PKG/usr/share/doc/churn-saver/changelog.gz"
gzip -9n <"$ROOT/README.md" >"$PKG/usr/share/doc/churn-saver/README.md.gz"
install -m 0644 "$ROOT/packaging/Caddyfile.example" "$PKG/usr/share/doc/churn-saver/examples/Caddyfile"
find "$PKG" -type f -path '*/usr/share/*' -exec chmod 0644 {} +

# Maintainer scripts and metadata.
for s in postinst prerm postrm; do
  install -m 0755 "$ROOT/packaging/debian/$s" "$PKG/DEBIAN/$s"
done
install -m 0644 "$ROOT/packaging/debian/conffiles" "$PKG/DEBIAN/conffiles"

printf 'Source: churn-saver\n\nPackage: churn-saver\nArchitecture: any\n' >"$WORK/debian/control"
SHLIBS=$(cd "$WORK" && dpkg-shlibdeps -O -e debian/churn-saver/usr/bin/churn-saver 2>"$WORK/shlibdeps.err" |
  sed -n 's/^shlibs:Depends=//p')
grep -v 'should already be installed in their package' "$WORK/shlibdeps.err" >&2 || true
[ -n "$SHLIBS" ] || { echo "build-deb.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
SIZE=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" -e "s/@SHLIBS@/$SHLIBS/" \
  "$ROOT/packaging/debian/control.in" >"$PKG/DEBIAN/control"
chmod 0644 "$PKG/DEBIAN/control"
(cd "$PKG" && find usr lib -type f -print0 | sort -z | xargs -0 md5sum) >"$PKG/DEBIAN/md5sums"
chmod 0644 "$PKG/DEBIAN/md5sums"

mkdir -p "$OUT"
DEB="$OUT/churn-saver_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
