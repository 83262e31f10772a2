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

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "These Debian packages are missing. Install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
