#!/usr/bin/env bash
# A fresh machine is not this machine: builds a bare Debian 12 (bookworm) chroot with debootstrap,
# installs only `python3 python3-venv make git` in it, clones this repository's current commit into it
# and runs `make test` there, as a new engineer would on a fresh machine. Run it whenever the set-up
# (Makefile, scripts/system-deps.sh, pyproject.toml) changes.
#
# The chroot gets this machine's apt sources and local apt settings (proxy included) and its pip
# configuration (/etc/pip.conf, /etc/xdg/pip, ~/.config/pip, PIP_* variables), and its local CAs
# (/usr/local/share/ca-certificates); local folders the pip configuration names (find-links, file://
# indexes) are bind-mounted read-only at the same path.
#
# Usage (as root): scripts/fresh-check.sh [--keep] [TARGET]
#   TARGET  the chroot folder (default /var/tmp/teleconsult-fresh); must be empty, missing, or a
#           chroot an earlier run left (it is rebuilt)
#   --keep  keep the chroot afterwards (to look inside: chroot TARGET; the run's log is
#           TARGET/root/make-test.log)
# Environment: FRESH_CHECK_TIMEOUT (seconds for `make test`, default 10800), FRESH_CHECK_MIRROR.
set -euo pipefail

KEEP=0
TARGET=
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    -h | --help)
      sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "unknown option: $arg" >&2
      exit 2
      ;;
    *) TARGET=$arg ;;
  esac
done
TARGET=${TARGET:-/var/tmp/teleconsult-fresh}
TARGET=$(realpath -m "$TARGET")
MARKER="$TARGET/.teleconsult-fresh-check"
TIMEOUT=${FRESH_CHECK_TIMEOUT:-10800}

if [ "$(id -u)" -ne 0 ]; then
  echo "fresh-check needs root (debootstrap, chroot, mounts)." >&2
  exit 1
fi
if [ "$TARGET" = / ] || [ "$TARGET" = "$(realpath -m /var/tmp)" ] || [ "$TARGET" = /tmp ]; then
  echo "refusing to use $TARGET as the chroot" >&2
  exit 2
fi

REPO=$(git -C "$(dirname "$(realpath "$0")")/.." rev-parse --show-toplevel)
COMMIT=$(git -C "$REPO" rev-parse HEAD)
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]; then
  echo "note: $REPO has uncommitted changes; the chroot gets the commit $COMMIT only."
fi

say() { printf '\n=== [%s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# --- mounts, and their undoing on any exit ---------------------------------------------------------
MOUNTS=()
mount_in() { # mount_in TARGET-PATH mount-args...
  local where=$1
  shift
  mkdir -p "$where"
  mount "$@" "$where"
  MOUNTS+=("$where")
}

mounted_under_target() { awk -v t="$TARGET" '$2 == t || index($2, t "/") == 1 { print $2 }' /proc/mounts; }

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  set +e
  # Whatever the tests left running in the chroot (Xvfb, PostgreSQL, dbus, ...) holds its mounts.
  local pid killed=0
  for sig in TERM KILL; do
    for pid in /proc/[0-9]*; do
      pid=${pid#/proc/}
      if [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$TARGET" ]; then
        kill "-$sig" "$pid" 2>/dev/null && killed=1
      fi
    done
    [ "$killed" -eq 1 ] && sleep 2
  done
  # Everything mounted there, deepest first (sort -r puts a folder after what lies in it): ours, what
  # the tests mounted themselves (ip netns add mounts /run/netns and /run/netns/NAME, some twice over),
  # and the chroot's own bind mount last.
  local m
  for _ in 1 2 3 4 5; do
    [ -z "$(mounted_under_target)" ] && break
    for m in $(mounted_under_target | LC_ALL=C sort -r); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
  done
  local left
  left=$(mounted_under_target)
  if [ -n "$left" ]; then
    echo "still mounted under $TARGET (not deleting it):" >&2
    echo "$left" >&2
  elif [ "$KEEP" -eq 0 ] && [ -f "$MARKER" ]; then
    rm -rf --one-file-system "$TARGET"
  elif [ -d "$TARGET" ]; then
    echo "chroot kept at $TARGET"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "fresh-check: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

# --- the chroot's folder -----------------------------------------------------------------------------
if [ -n "$(mounted_under_target)" ]; then
  echo "something is mounted under $TARGET; unmount it first:" >&2
  mounted_under_target >&2
  exit 1
fi
if [ -e "$TARGET" ] && [ -n "$(ls -A "$TARGET")" ]; then
  if [ -f "$MARKER" ]; then
    say "removing the previous chroot at $TARGET"
    rm -rf --one-file-system "$TARGET"
  else
    echo "$TARGET is not empty and not an earlier fresh-check chroot; choose another folder." >&2
    exit 1
  fi
fi
mkdir -p "$TARGET"
touch "$MARKER"

if ! command -v debootstrap >/dev/null; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap; }
fi

# The machine's proxy for apt, for debootstrap too (it reads http_proxy).
proxy=$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p' | head -n1)
if [ -n "$proxy" ] && [ "$proxy" != DIRECT ] && [ -z "${http_proxy:-}" ]; then
  export http_proxy=$proxy
fi
# The Debian mirror this machine uses.
mirror=${FRESH_CHECK_MIRROR:-$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
  /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v '^\s*#' |
  grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)}
mirror=${mirror:-http://deb.debian.org/debian}

say "debootstrap bookworm into $TARGET from $mirror"
started=$SECONDS
debootstrap bookworm "$TARGET" "$mirror" >"$TARGET.debootstrap.log" 2>&1 || {
  tail -n 30 "$TARGET.debootstrap.log" >&2
  exit 1
}
rm -f "$TARGET.debootstrap.log"
touch "$MARKER"
echo "debootstrap took $((SECONDS - started)) s"

# A machine's root is a mount point; a bare folder is not, and `ip netns exec` (which makes / a slave
# mount first) fails there. Bind the chroot onto itself; everything else is mounted on top.
mount_in "$TARGET" --bind "$TARGET"

# --- this machine's apt and pip configuration --------------------------------------------------------
say "copying apt and pip configuration"
rm -f "$TARGET/etc/apt/sources.list"
mkdir -p "$TARGET/etc/apt/sources.list.d" "$TARGET/etc/apt/apt.conf.d"
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && cp -v "$f" "$TARGET$f"
done
# The local apt settings: those no package ships (a proxy, an artifact registry's Check-Valid-Until).
for f in /etc/apt/apt.conf.d/*; do
  [ -f "$f" ] || continue
  case "$f" in
    *proxy* | *Proxy*) cp -v "$f" "$TARGET$f" ;;
    *) dpkg -S "$f" >/dev/null 2>&1 || cp -v "$f" "$TARGET$f" ;;
  esac
done
[ -f /etc/apt/auth.conf ] && cp -v /etc/apt/auth.conf "$TARGET/etc/apt/auth.conf"
cp /etc/resolv.conf "$TARGET/etc/resolv.conf" 2>/dev/null || true
cp /etc/hosts "$TARGET/etc/hosts" 2>/dev/null || true

# The machine's own certificate authorities (an HTTPS proxy's, say): update-ca-certificates keeps them
# in the bundle when the ca-certificates package is installed in the chroot.
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$TARGET/usr/local/share/ca-certificates"
  cp -rv /usr/local/share/ca-certificates/. "$TARGET/usr/local/share/ca-certificates/"
fi

[ -f /etc/pip.conf ] && cp -v /etc/pip.conf "$TARGET/etc/pip.conf"
[ -d /etc/xdg/pip ] && mkdir -p "$TARGET/etc/xdg" && cp -rv /etc/xdg/pip "$TARGET/etc/xdg/"
if [ -d "$HOME/.config/pip" ]; then
  mkdir -p "$TARGET/root/.config"
  cp -rv "$HOME/.config/pip" "$TARGET/root/.config/"
fi
# Local files and folders that pip's configuration names: copied (files) or bind-mounted read-only.
pip_paths=$(
  {
    cat /etc/pip.conf /etc/xdg/pip/pip.conf "$HOME/.config/pip/pip.conf" 2>/dev/null |
      sed -n 's/^[^#;=]*=\s*//p'
    env | sed -n 's/^PIP_[A-Z_]*=//p'
  } | tr ' ' '\n' | sed -n 's#^file://##; \#^/#p' | sed 's#/*$##' | sort -u
)
declare -A bound=()
for p in $pip_paths; do
  if [ -f "$p" ]; then
    mkdir -p "$TARGET$(dirname "$p")"
    cp -v "$p" "$TARGET$p"
  elif [ -d "$p" ]; then
    # file:///opt/pypi/simple: bind the index's top folder, its files lie beside "simple".
    top=$p
    [ "$(basename "$p")" = simple ] && top=$(dirname "$p")
    [ -n "${bound[$top]:-}" ] && continue
    bound[$top]=1
    mount_in "$TARGET$top" --bind "$top"
    mount -o remount,bind,ro "$TARGET$top"
    echo "bound $top read-only"
  fi
done

# --- a fresh machine's own mounts ------------------------------------------------------------------
mount_in "$TARGET/proc" -t proc proc
mount_in "$TARGET/sys" -t sysfs sysfs
mount_in "$TARGET/dev" --bind /dev
mount_in "$TARGET/dev/pts" --bind /dev/pts
mount_in "$TARGET/dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm

pip_env=()
while IFS= read -r line; do pip_env+=("$line"); done < <(env | grep -E '^(PIP_[A-Z_]*|https?_proxy|no_proxy|HTTPS?_PROXY|NO_PROXY)=' || true)
in_chroot() {
  chroot "$TARGET" /usr/bin/env -i HOME=/root USER=root LOGNAME=root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    "${pip_env[@]}" "$@"
}

say "installing python3 python3-venv make git in the chroot"
in_chroot apt-get update -qq
in_chroot apt-get install -y -qq python3 python3-venv make git >/dev/null

say "cloning $REPO at $COMMIT"
git clone -q --no-hardlinks "$REPO" "$TARGET/root/teleconsult"
git -C "$TARGET/root/teleconsult" -c advice.detachedHead=false checkout -q "$COMMIT" 2>/dev/null || {
  git -C "$TARGET/root/teleconsult" fetch -q "$REPO" "$COMMIT"
  git -C "$TARGET/root/teleconsult" -c advice.detachedHead=false checkout -q "$COMMIT"
}

say "make test in the chroot (log: $TARGET/root/make-test.log; timeout ${TIMEOUT}s)"
started=$SECONDS
set +e
trap - ERR
in_chroot timeout --kill-after=60 "$TIMEOUT" \
  bash -c 'cd /root/teleconsult && make test' 2>&1 | tee "$TARGET/root/make-test.log"
rc=${PIPESTATUS[0]}
set -e
wall=$((SECONDS - started))

say "summary"
echo "commit:    $COMMIT"
echo "make test: exit code $rc, wall time $((wall / 60)) min $((wall % 60)) s"
echo "pytest's last lines:"
grep -nE '^(ERROR|FAILED) |^=+ .*(passed|failed|error).* in [0-9.]+s' "$TARGET/root/make-test.log" |
  tail -n 40 || tail -n 20 "$TARGET/root/make-test.log"
if [ "$KEEP" -eq 0 ]; then
  cp "$TARGET/root/make-test.log" "$TARGET.make-test.log"
  echo "log kept at $TARGET.make-test.log"
fi
exit "$rc"
