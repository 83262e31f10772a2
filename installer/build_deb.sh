#!/bin/bash
# Build the Debian package from a PyInstaller bundle.
#   installer/build_deb.sh BUNDLE_DIR OUT_DIR VERSION
# BUNDLE_DIR is dist/teleconsult (teleconsult + _internal/). Writes OUT_DIR/teleconsult_VERSION_ARCH.deb.
set -euo pipefail

bundle=$(realpath "$1")
out=$(realpath -m "$2")
version=$3
here=$(dirname "$(realpath "$0")")
root=$(dirname "$here")
arch=$(dpkg --print-architecture)

test -x "$bundle/teleconsult" || { echo "no bundle at $bundle (run installer/build.py bundle)" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "dpkg-deb is missing (Debian package dpkg)" >&2; exit 2; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/pkg"
install -d "$pkg/DEBIAN" "$pkg/opt" "$pkg/usr/bin" "$pkg/usr/share/applications" \
    "$pkg/usr/share/icons/hicolor/scalable/apps" "$pkg/usr/share/icons/hicolor/256x256/apps" \
    "$pkg/usr/share/icons/hicolor/48x48/apps" "$pkg/lib/systemd/system" "$pkg/etc/teleconsult" \
    "$pkg/etc/xdg/teleconsult" "$pkg/etc/default" "$pkg/usr/share/doc/teleconsult"

cp -a "$bundle" "$pkg/opt/teleconsult"
install -m 0755 "$here/debian/teleconsult" "$here/debian/teleconsult-server" "$pkg/usr/bin/"
install -m 0644 "$here/debian/teleconsult.desktop" "$pkg/usr/share/applications/"
install -m 0644 "$root/resources/icons/teleconsult.svg" "$pkg/usr/share/icons/hicolor/scalable/apps/"
install -m 0644 "$root/resources/icons/teleconsult.png" "$pkg/usr/share/icons/hicolor/256x256/apps/"
install -m 0644 "$root/resources/icons/teleconsult-48.png" \
    "$pkg/usr/share/icons/hicolor/48x48/apps/teleconsult.png"
install -m 0644 "$here/debian/teleconsult-server.service" "$pkg/lib/systemd/system/"
install -m 0644 "$here/debian/teleconsult-server.default" "$pkg/etc/default/teleconsult-server"
install -m 0644 "$here/site.toml.example" "$pkg/usr/share/doc/teleconsult/site.toml.example"

# The site file template: every setting of the example, commented out, so the defaults are in force
# until IT edits it. The workstation reads /etc/xdg/teleconsult/site.toml, which points here.
{
    echo "# Teleconsult Workstation site configuration (IT). Uncomment and edit what this site needs;"
    echo "# check it with \`teleconsult doctor\`. Reference: /usr/share/doc/teleconsult/site.toml.example"
    echo
    sed -e '/^[[:space:]]*$/b' -e '/^[[:space:]]*#/b' -e 's/^/# /' "$here/site.toml.example"
} > "$pkg/etc/teleconsult/site.toml"
chmod 0644 "$pkg/etc/teleconsult/site.toml"
ln -s ../../teleconsult/site.toml "$pkg/etc/xdg/teleconsult/site.toml"

for script in postinst prerm postrm; do
    install -m 0755 "$here/debian/$script" "$pkg/DEBIAN/$script"
done
printf '%s\n' /etc/teleconsult/site.toml /etc/default/teleconsult-server > "$pkg/DEBIAN/conffiles"

size_kb=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: teleconsult
Version: $version
Architecture: $arch
Maintainer: Teleconsult IT <it@teleconsult.invalid>
Installed-Size: $size_kb
Section: science
Priority: optional
Depends: libc6, libegl1, libgl1, libfontconfig1, libdbus-1-3, libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-xinerama0, libxcb-xkb1, adduser
Recommends: gnome-keyring, fonts-noto-cjk, libgl1-mesa-dri
Suggests: postgresql-client, coturn
Homepage: https://teleconsult.invalid/
Description: Teleconsult Workstation: remote consultation and guided procedures
 A desktop workstation on which clinicians run remote consultations: video over
 WebRTC, DICOM imaging with MPR and 3D, live vital signs and specialty plugins.
 This package also holds the thin backend, run as the teleconsult-server service.
CONTROL

mkdir -p "$out"
deb="$out/teleconsult_${version}_${arch}.deb"
# zstd: xz took over 4 minutes for the ~800 MiB bundle on two cores; zstd -9 takes well under a minute
# at a similar size, and dpkg on Debian 12 / Ubuntu 22.04 reads it.
dpkg-deb --root-owner-group -Zzstd -z${DEB_ZSTD_LEVEL:-9} --build "$pkg" "$deb" >/dev/null
echo "$deb"
