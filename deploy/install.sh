#!/usr/bin/env bash
# Install lineside on a Debian (12+) or Ubuntu (22.04+) gateway, x86_64 or arm64.
#
#   sudo deploy/install.sh [--source PATH|WHEEL|SPEC] [--config FILE] [--no-start]
#   sudo deploy/install.sh --uninstall [--purge]
#   deploy/install.sh --dry-run ...      print what would be done, change nothing
#
# What it does, idempotently (run it again to upgrade):
#   - installs python3 (>= 3.11) with venv from the distribution's packages and builds
#     the virtualenv on that interpreter (/usr/bin/python3.X), never on whatever
#     `python3` comes first in root's PATH (pyenv, conda: often unreadable to others);
#   - creates the system user `lineside` (member of dialout for Modbus RTU);
#   - creates a virtualenv in /opt/lineside/venv and installs lineside into it
#     (default source: the checkout this script lives in), then proves that the
#     service user can run it;
#   - puts a configuration in /etc/lineside/lineside.yaml if there is none (never
#     overwrites one), root-owned and readable by the service group only, plus an
#     empty /etc/lineside/lineside.env for secrets (INFLUX_TOKEN=...);
#   - installs deploy/systemd/lineside.service, validates the configuration with
#     `lineside check` as the service user, enables and (re)starts the service; after
#     any failure nothing is enabled or started.
set -euo pipefail

PREFIX=/opt/lineside
CONF_DIR=/etc/lineside
STATE_DIR=/var/lib/lineside
UNIT_DIR=/etc/systemd/system
# Overridable for the tests of this script only.
OS_RELEASE="${LINESIDE_OS_RELEASE:-/etc/os-release}"
SYSTEMD_RUN_DIR="${LINESIDE_SYSTEMD_RUN_DIR:-/run/systemd/system}"
# The distribution's interpreters live here (not /usr/local, not a pyenv shim).
PY_DIR="${LINESIDE_PY_DIR:-/usr/bin}"
SERVICE_USER=lineside
MIN_PY_MINOR=11

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$HERE")"

SOURCE=""
CONFIG=""
START=1
DRY_RUN=0
UNINSTALL=0
PURGE=0

usage() {
  sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
}

log() { printf '== %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

# Run a command, or print it with --dry-run.
run() {
  if ((DRY_RUN)); then
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

while (($#)); do
  case "$1" in
    --source) SOURCE="${2:?--source needs a value}"; shift 2 ;;
    --config) CONFIG="${2:?--config needs a file}"; shift 2 ;;
    --no-start) START=0; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

check_platform() {
  local arch id like
  arch="$(uname -m)"
  case "$arch" in
    x86_64|amd64|aarch64|arm64) ;;
    *) die "unsupported architecture $arch (x86_64 and arm64 are supported)" ;;
  esac
  [ -r "$OS_RELEASE" ] || die "no $OS_RELEASE: not a Debian or Ubuntu system"
  # shellcheck disable=SC1090
  id="$(. "$OS_RELEASE" && echo "${ID:-}")"
  # shellcheck disable=SC1090
  like="$(. "$OS_RELEASE" && echo "${ID_LIKE:-}")"
  case " $id $like " in
    *" debian "*|*" ubuntu "*) ;;
    *) die "unsupported distribution '$id' (Debian 12+ or Ubuntu 22.04+)" ;;
  esac
  command -v systemctl >/dev/null 2>&1 || die "systemd is required"
  log "platform: $id on $arch"
}

# The distribution's python3.X >= 3.11 with venv, by absolute path in $PY_DIR: the venv
# links to its interpreter, which the service user must be able to run; a `python3` found
# first in root's PATH may be a root-only build (pyenv under /root).
find_python() {
  local cand minor
  for cand in "$PY_DIR/python3" "$PY_DIR/python3.13" "$PY_DIR/python3.12" "$PY_DIR/python3.11"; do
    if [ -x "$cand" ]; then
      minor="$("$cand" -c 'import sys; print(sys.version_info[1] if sys.version_info[0] == 3 else 0)')"
      if ((minor >= MIN_PY_MINOR)) && "$cand" -c 'import venv, ensurepip' >/dev/null 2>&1; then
        # the real file behind python3 -> python3.11, so the venv names the version
        readlink -f "$cand"
        return 0
      fi
    fi
  done
  return 1
}

install_python() {
  local py
  if py="$(find_python)"; then
    PYTHON="$py"
    return
  fi
  log "installing Python from the distribution"
  run apt-get update -qq
  # Debian 12 / Ubuntu 24.04: python3 is 3.11+; Ubuntu 22.04 ships python3.11 beside 3.10.
  if apt-cache show python3.11-venv >/dev/null 2>&1 && ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3.11 python3.11-venv ca-certificates
  else
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-venv ca-certificates
  fi
  if ((DRY_RUN)); then
    PYTHON="$PY_DIR/python3"
    return
  fi
  PYTHON="$(find_python)" || die "no Python >= 3.$MIN_PY_MINOR with venv in $PY_DIR after installing"
}

create_user() {
  if id -u "$SERVICE_USER" >/dev/null 2>&1; then
    log "user $SERVICE_USER exists"
  else
    log "creating system user $SERVICE_USER"
    run useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "lineside edge agent" "$SERVICE_USER"
  fi
  if getent group dialout >/dev/null 2>&1; then
    run usermod -a -G dialout "$SERVICE_USER"
  fi
}

# The interpreter an existing venv was built on (pyvenv.cfg's `home`), empty if none.
venv_home() {
  sed -n 's/^home *= *//p' "$PREFIX/venv/pyvenv.cfg" 2>/dev/null
}

install_venv() {
  local src="${SOURCE:-$REPO}"
  if [ -z "$SOURCE" ] && [ ! -f "$REPO/pyproject.toml" ]; then
    die "$REPO is not a lineside checkout (files written by \`lineside deploy-files\`?): pass --source WHEEL|SPEC"
  fi
  log "installing lineside into $PREFIX/venv from $src (Python: $PYTHON)"
  run install -d -m 0755 "$PREFIX"
  if [ ! -x "$PREFIX/venv/bin/python" ]; then
    run "$PYTHON" -m venv "$PREFIX/venv"
  elif [ "$(venv_home)" != "$(dirname "$PYTHON")" ]; then
    # built on another interpreter (an earlier run on a pyenv python3): rebuild it
    log "$PREFIX/venv was built on $(venv_home): rebuilding it on $PYTHON"
    run "$PYTHON" -m venv --clear "$PREFIX/venv"
  fi
  run "$PREFIX/venv/bin/python" -m pip install -q --upgrade pip
  run "$PREFIX/venv/bin/python" -m pip install -q --upgrade "$src"
  if [ -d "$REPO/docs" ]; then
    run install -d -m 0755 "$PREFIX/docs"
    run cp -r "$REPO/docs/." "$PREFIX/docs/"
  fi
}

install_config() {
  run install -d -m 0755 -o root -g root "$CONF_DIR"
  run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$STATE_DIR"
  if [ -e "$CONF_DIR/lineside.yaml" ]; then
    log "keeping existing $CONF_DIR/lineside.yaml"
  else
    local cfg="$CONFIG"
    if [ -z "$cfg" ]; then
      for cand in "$REPO/config/example.yaml" "$REPO/config/demo.yaml"; do
        if [ -f "$cand" ]; then cfg="$cand"; break; fi
      done
    fi
    [ -n "$cfg" ] || die "no configuration to install: pass --config FILE"
    log "installing $cfg as $CONF_DIR/lineside.yaml (edit it, then: systemctl reload lineside)"
    if grep -Eq '^state_dir:[[:space:]]*[^/[:space:]]' "$cfg"; then
      # Relative to /etc/lineside, which the service cannot write (ProtectSystem=strict):
      # the state belongs in the unit's StateDirectory.
      log "state_dir in $cfg is relative: using $STATE_DIR"
      if ((DRY_RUN)); then
        run sed "s#^state_dir:.*#state_dir: $STATE_DIR#" "$cfg"
      else
        sed "s#^state_dir:.*#state_dir: $STATE_DIR#" "$cfg" \
          | install -m 0640 -o root -g "$SERVICE_USER" /dev/stdin "$CONF_DIR/lineside.yaml"
      fi
    else
      run install -m 0640 -o root -g "$SERVICE_USER" "$cfg" "$CONF_DIR/lineside.yaml"
    fi
  fi
  if [ ! -e "$CONF_DIR/lineside.env" ]; then
    if ((DRY_RUN)); then
      run install -m 0640 -o root -g "$SERVICE_USER" /dev/null "$CONF_DIR/lineside.env"
    else
      printf '# Secrets for lineside.yaml (token_env / password_env), e.g.\n# INFLUX_TOKEN=...\n' \
        | install -m 0640 -o root -g "$SERVICE_USER" /dev/stdin "$CONF_DIR/lineside.env"
    fi
  fi
}

# systemd runs (not an image build in a chroot or container, where enabling still works
# offline but reloading and starting do not).
systemd_running() {
  [ -d "$SYSTEMD_RUN_DIR" ]
}

# The service user runs the installed agent at all (its interpreter, the venv, the
# package): otherwise every later failure would be misread.
prove_service_user() {
  local out rc=0
  log "checking that $SERVICE_USER can run $PREFIX/venv/bin/lineside"
  if ((DRY_RUN)); then
    run runuser -u "$SERVICE_USER" -- "$PREFIX/venv/bin/lineside" --version
    return
  fi
  out="$(runuser -u "$SERVICE_USER" -- "$PREFIX/venv/bin/lineside" --version 2>&1)" || rc=$?
  if ((rc != 0)); then
    printf '%s\n' "$out" >&2
    die "user $SERVICE_USER cannot run $PREFIX/venv/bin/lineside (exit $rc); its interpreter is $(readlink -f "$PREFIX/venv/bin/python" 2>/dev/null || echo '?'), which must be readable and executable by $SERVICE_USER. Nothing was enabled."
  fi
}

install_unit() {
  local rc=0
  log "installing the systemd unit"
  run install -m 0644 "$HERE/systemd/lineside.service" "$UNIT_DIR/lineside.service"
  if systemd_running; then
    run systemctl daemon-reload
  fi
  log "checking $CONF_DIR/lineside.yaml"
  run runuser -u "$SERVICE_USER" -- "$PREFIX/venv/bin/lineside" check "$CONF_DIR/lineside.yaml" || rc=$?
  # `lineside check` exits 2 for an invalid file; anything else means it did not run
  if ((rc == 2)); then
    die "the configuration $CONF_DIR/lineside.yaml is invalid (errors above); fix it, then run this script again. Nothing was enabled."
  elif ((rc != 0)); then
    die "\`lineside check\` could not run as $SERVICE_USER (exit $rc, see above): this is not a verdict on the configuration. Nothing was enabled."
  fi
  run systemctl enable lineside.service
  if ! systemd_running; then
    log "systemd is not running here (image build?): enabled, starts at the next boot"
  elif ((START)); then
    run systemctl restart lineside.service
    log "started: systemctl status lineside; journalctl -u lineside -f"
  else
    log "enabled, not started (--no-start): systemctl start lineside"
  fi
}

uninstall() {
  log "removing the lineside service and virtualenv"
  if systemctl list-unit-files lineside.service >/dev/null 2>&1; then
    run systemctl disable --now lineside.service || true
  fi
  run rm -f "$UNIT_DIR/lineside.service"
  if systemd_running; then
    run systemctl daemon-reload
  fi
  run rm -rf "$PREFIX"
  if ((PURGE)); then
    log "purging $CONF_DIR, $STATE_DIR (queued points!) and the user"
    run rm -rf "$CONF_DIR" "$STATE_DIR"
    if id -u "$SERVICE_USER" >/dev/null 2>&1; then
      run userdel "$SERVICE_USER"
    fi
  else
    log "kept $CONF_DIR and $STATE_DIR (--purge removes them)"
  fi
}

main() {
  if ((!DRY_RUN)) && [ "$(id -u)" -ne 0 ]; then
    die "run as root (sudo $0 ...), or with --dry-run"
  fi
  check_platform
  if ((UNINSTALL)); then
    uninstall
    return
  fi
  install_python
  create_user
  install_venv
  prove_service_user
  install_config
  install_unit
}

# Sourced by the tests of this script (functions only); run otherwise.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main
fi
