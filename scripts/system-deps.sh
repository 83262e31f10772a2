#!/usr/bin/env bash
# Installs the Debian packages the workstation and its tests need, when missing.
# As root it runs apt-get; otherwise it prints the exact sudo line and exits non-zero.
set -euo pipefail

# Qt's xcb platform under Xvfb, VTK through EGL/GLX on Mesa, Chinese fonts, the Secret Service
# for the keyring, PostgreSQL for the backend tests; Orthanc (PACS), coturn (TURN) and Chromium (a
# standard WebRTC peer) for the integration tests; Janus (the SFU a teaching class goes through); iproute2 for the network-namespace tests; binutils
# for PyInstaller.
PKGS=(
  python3-venv
  xvfb xauth
  libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
  libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libxkbcommon0 libdbus-1-3 libfontconfig1
  libegl1 libgl1 libglx-mesa0 libegl-mesa0 libgl1-mesa-dri
  fonts-noto-cjk
  dbus gnome-keyring procps
  postgresql
  orthanc orthanc-dicomweb coturn chromium janus
  iproute2 binutils
  alsa-utils
  dcmtk
)
# Only the tests need these: dicom3tools' dciodvfy checks that what the project writes (key images,
# de-identified copies, the report's SR and KOS) is a valid DICOM object (tests/dciodvfy.py).
# poppler's pdfsig checks the report's PAdES signatures independently of pyHanko (certutil, from
# libnss3-tools, gives it the site CA to trust); pixelmed's DicomSRValidator checks the report's DICOM
# SR against its templates; Node.js runs FHIR.js, the second validator of the FHIR bundle
# (tests/fhir_validate.py).
TEST_PKGS=(
  dicom3tools
  poppler-utils libnss3-tools
  pixelmed-apps
  nodejs npm
)

missing=()
for p in "${PKGS[@]}" "${TEST_PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # python3-venv is not needed when the interpreter already has a working venv module.
    if [ "$p" = python3-venv ] && python3 -c 'import ensurepip, venv' 2>/dev/null; then
      continue
    fi
    # A Node.js from elsewhere (NodeSource bundles npm and conflicts with Debian's npm) will do.
    if { [ "$p" = nodejs ] || [ "$p" = npm ]; } && command -v "${p/nodejs/node}" >/dev/null; then
      continue
    fi
    missing+=("$p")
  fi
done

# PyInstaller bundles the interpreter's shared library. Debian's python3 links it statically, so the
# shared one comes from its own package (libpython3.11 on bookworm); a Python built elsewhere (pyenv,
# python.org) ships its own libpython beside it and needs nothing here.
python=${PYTHON:-python3}
if exe=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null) &&
  dpkg-query -S "$exe" >/dev/null 2>&1; then
  libpython=$("$python" -c 'import sys; print(f"libpython{sys.version_info[0]}.{sys.version_info[1]}")')
  if ! dpkg-query -W -f='${Status}' "$libpython" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$libpython")
  fi
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

# Packages that ship a system service. The tests start their own instances (own ports, own data), so
# the set-up keeps the system ones off: they would otherwise listen on the default ports.
SERVICE_PKGS=(postgresql orthanc coturn janus redis-server)
new_services=()
for p in "${missing[@]}"; do
  for s in "${SERVICE_PKGS[@]}"; do
    if [ "$p" = "$s" ]; then new_services+=("$p"); fi
  done
done

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  # Without systemd, invoke-rc.d asks /usr/sbin/policy-rc.d whether a package may start its service:
  # 101 says no. Only for this install, and only where no policy is in place already.
  policy=
  if [ ! -d /run/systemd/system ] && [ ${#new_services[@]} -gt 0 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# Written by scripts/system-deps.sh during its install only.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -n "$policy" ]; then
    rm -f "$policy"
    trap - EXIT
    echo "Did not start the services of ${new_services[*]} (no systemd; policy-rc.d said no during the install)."
  fi
  if [ -d /run/systemd/system ] && [ ${#new_services[@]} -gt 0 ]; then
    units=()
    for s in "${new_services[@]}"; do
      if systemctl cat "$s.service" >/dev/null 2>&1; then
        units+=("$s.service")
      fi
    done
    if [ ${#units[@]} -gt 0 ]; then
      systemctl disable --now "${units[@]}" || true
      # postgresql.service only groups the clusters; the new cluster's own unit must go as well.
      if [[ " ${units[*]} " == *" postgresql.service "* ]]; then
        systemctl stop 'postgresql@*.service' 2>/dev/null || true
      fi
      echo "Disabled and stopped the system services ${units[*]}: the tests start their own" \
        "instances. To use them: systemctl enable --now ${units[*]}"
    fi
  fi
else
  echo "These Debian packages are missing. Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
