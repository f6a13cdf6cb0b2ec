#!/usr/bin/env bash
# Installs the Agnox agent as a systemd service on a Linux box (arm64 or amd64):
#   curl -fsSL <control plane>/install-agent.sh | sudo AGNOX_URL=https://… bash
# and type the registration token at the prompt (it is not echoed). Unattended, the token comes from
# the environment (AGNOX_TOKEN, kept through sudo with `sudo --preserve-env=AGNOX_TOKEN …`) or, for a
# downloaded script, from standard input (`sudo AGNOX_URL=… bash install-agent.sh < token-file`).
# Never as an argument: arguments show in `ps` and in shell history, so the script refuses any.
# Optional: AGNOX_NAME, AGNOX_LABELS (k=v,…), AGNOX_CONCURRENCY, AGNOX_AGENT_VERSION (npm version;
# default: the version this script ships with), AGNOX_DRY_RUN=1 (print the steps, change nothing
# outside a preview folder).
# Needs: systemd, Docker (installed with apt-get if missing on Debian/Ubuntu), Node.js 20+ (Node 22
# from nodejs.org is installed under /opt/agnox-agent/node if the system has none).
#
# Everything happens in main(), called on the last line: a download cut short runs nothing.

main() {
  set -euo pipefail
  umask 022

  # The agent version this script installs: agent/package.json's "version" (install.test.ts checks).
  local PINNED_AGENT_VERSION=0.1.0
  local AGENT_VERSION="${AGNOX_AGENT_VERSION:-$PINNED_AGENT_VERSION}"
  local PREFIX=/opt/agnox-agent
  local CONF_DIR=/etc/agnox-agent
  local UNIT=/etc/systemd/system/agnox-agent.service
  local NODE_MAJOR=22
  DRY="${AGNOX_DRY_RUN:-}"

  if (( $# > 0 )); then
    die "this script takes no arguments, and never the registration token: arguments show in \`ps\` and in shell history. Give the token in AGNOX_TOKEN (through sudo: sudo --preserve-env=AGNOX_TOKEN …), on standard input (bash install-agent.sh < token-file), or at the prompt"
  fi
  [[ "$AGENT_VERSION" =~ ^[0-9A-Za-z][0-9A-Za-z.+-]*$ ]] || die "AGNOX_AGENT_VERSION: \"$AGENT_VERSION\" is not an npm version"

  # ── what this box is ─────────────────────────────────────────────────────────────────────
  local ARCH NODE_ARCH
  ARCH="$(detect_arch)"
  NODE_ARCH="$([[ "$ARCH" == amd64 ]] && echo x64 || echo arm64)"
  say "architecture: $ARCH (Docker platform linux/$ARCH)"

  [[ "$(uname -s)" == Linux ]] || die "the agent service is for Linux"
  [[ -n "${AGNOX_URL:-}" ]] || die "set AGNOX_URL to the control plane address"
  [[ -n "$DRY" || "$(id -u)" == 0 ]] || die "run as root (sudo)"
  command -v systemctl >/dev/null || [[ -n "$DRY" ]] || die "systemd is required"

  # The unit beside this script when it runs from a file (a checkout or a downloaded copy); when it
  # is piped into bash there is no such file, and whatever is in the current directory is not ours:
  # then the unit comes from the installed package. ($0 is the script's path only when bash runs a
  # file; piped, it is "bash", and BASH_SOURCE names no file.)
  local unit_src="$PREFIX/node_modules/@agnox/agent/install/agnox-agent.service" from_file=
  if [[ "${BASH_SOURCE[0]:-}" == "$0" && -f "$0" ]]; then
    from_file=1
    local script_dir
    script_dir="$(cd "$(dirname "$0")" && pwd -P)"
    [[ -f "$script_dir/agnox-agent.service" ]] && unit_src="$script_dir/agnox-agent.service"
  fi

  local token=""
  read_token "$from_file"

  # ── Docker ───────────────────────────────────────────────────────────────────────────────
  if ! command -v docker >/dev/null; then
    if command -v apt-get >/dev/null; then
      say "installing Docker (docker.io)"
      run apt-get update -qq
      run apt-get install -y -qq docker.io
    else
      [[ -n "$DRY" ]] || die "Docker is not installed; install Docker Engine first"
    fi
  fi
  run systemctl enable --now docker

  # ── Node.js 20+ ──────────────────────────────────────────────────────────────────────────
  local NODE NPM
  NODE="$(command -v node || true)"
  if [[ -z "$NODE" ]] || (( $("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0) < 20 )); then
    local base="https://nodejs.org/dist/latest-v${NODE_MAJOR}.x"
    say "installing Node.js ${NODE_MAJOR} for linux-${NODE_ARCH} into $PREFIX/node"
    if [[ -z "$DRY" ]]; then
      local tarball tmp
      tarball="$(curl -fsSL "$base/SHASUMS256.txt" | awk -v a="linux-${NODE_ARCH}.tar.xz" '$2 ~ a"$" {print $2; exit}')"
      [[ -n "$tarball" ]] || die "no Node.js ${NODE_MAJOR} build for linux-${NODE_ARCH} at $base"
      tmp="$(mktemp -d)"
      curl -fsSL "$base/$tarball" -o "$tmp/$tarball"
      (cd "$tmp" && curl -fsSL "$base/SHASUMS256.txt" | grep " $tarball\$" | sha256sum -c -)
      mkdir -p "$PREFIX/node"
      tar -xJf "$tmp/$tarball" -C "$PREFIX/node" --strip-components=1
      rm -rf "$tmp"
    else
      printf '+ download %s/node-v%s.x-linux-%s.tar.xz, verify SHA-256, unpack into %s/node\n' "$base" "$NODE_MAJOR" "$NODE_ARCH" "$PREFIX"
    fi
    NODE="$PREFIX/node/bin/node"
  fi
  NPM="$(dirname "$NODE")/npm"
  [[ -x "$NPM" ]] || NPM="$(command -v npm || echo npm)"

  # ── the agent ────────────────────────────────────────────────────────────────────────────
  say "installing @agnox/agent@$AGENT_VERSION into $PREFIX"
  run mkdir -p "$PREFIX"
  run env PATH="$(dirname "$NODE"):$PATH" "$NPM" install --prefix "$PREFIX" --omit=dev --no-audit --no-fund "@agnox/agent@$AGENT_VERSION"
  local AGENT_BIN="$PREFIX/node_modules/@agnox/agent/bin/agnox-agent.js"

  if ! id agnox >/dev/null 2>&1; then
    run useradd --system --home-dir /var/lib/agnox-agent --shell /usr/sbin/nologin agnox
  fi
  # The agent talks to the Docker socket; it never mounts it into a job.
  run usermod -aG docker agnox

  # A dry run writes the env file and the unit into a preview folder instead, to be looked at.
  local preview="" env_file="$CONF_DIR/agent.env" unit_file="$UNIT"
  if [[ -n "$DRY" ]]; then
    preview="$(mktemp -d "${TMPDIR:-/tmp}/agnox-install-preview.XXXXXX")"
    env_file="$preview/agent.env" unit_file="$preview/agnox-agent.service"
  else
    mkdir -p -m 0700 "$CONF_DIR"
  fi
  # systemd reads it as root before starting the agent: root's alone (0600), as the token is in it.
  write_env_file "$env_file"
  [[ -n "$DRY" ]] && printf '+ write %s (0600 root:root): AGNOX_URL, AGNOX_TOKEN, AGNOX_NAME, AGNOX_LABELS, AGNOX_CONCURRENCY; preview: %s\n' "$CONF_DIR/agent.env" "$env_file"

  if [[ -f "$unit_src" ]]; then
    sed -e "s#@NODE@#$NODE#" -e "s#@AGENT_BIN@#$AGENT_BIN#" "$unit_src" > "$unit_file"
  elif [[ -z "$DRY" ]]; then
    die "$unit_src is missing: the @agnox/agent package did not install"
  fi
  [[ -n "$DRY" ]] && printf '+ install %s as %s with ExecStart=%s %s\n' "$unit_src" "$UNIT" "$NODE" "$AGENT_BIN"
  run systemctl daemon-reload
  run systemctl enable --now agnox-agent
  say "done: the agent registers on its first start (journalctl -u agnox-agent -f to watch)"
}

say() { printf 'agnox-install: %s\n' "$*"; }
die() { printf 'agnox-install: error: %s\n' "$*" >&2; exit 1; }
run() { if [[ -n "$DRY" ]]; then printf '+ %s\n' "$*"; else "$@"; fi; }

detect_arch() {
  case "${AGNOX_UNAME_M:-$(uname -m)}" in
    aarch64|arm64) echo arm64 ;;
    x86_64|amd64) echo amd64 ;;
    *) die "unsupported CPU architecture $(uname -m): the agent runs on arm64 and amd64" ;;
  esac
}

# Sets `token` (main's local): AGNOX_TOKEN; else standard input when the script runs from a file and
# stdin is not a terminal; else a prompt on the terminal. Piped into bash, stdin is the script itself.
# None is needed when this box already has an agent identity (a reinstall).
read_token() {
  local from_file="$1"
  token="${AGNOX_TOKEN:-}"
  if [[ -n "$token" ]]; then
    say "registration token: from AGNOX_TOKEN"
    return
  fi
  [[ -f /var/lib/agnox-agent/agent.json ]] && return
  if [[ -n "$from_file" && ! -t 0 ]]; then
    IFS= read -r token || true
    [[ -n "$token" ]] && say "registration token: from standard input"
  elif { exec 3</dev/tty; } 2>/dev/null; then
    # Echo goes off before the prompt shows: a token pasted the moment it appears would otherwise be
    # echoed before `read -s` turns echo off.
    local tty_mode
    tty_mode="$(stty -g <&3 2>/dev/null)" && stty -echo <&3 2>/dev/null && trap 'stty "$tty_mode" <&3 2>/dev/null' INT TERM
    printf 'Registration token (Agents → Add agent; not shown): ' >/dev/tty
    IFS= read -rs token <&3 || true
    printf '\n' >/dev/tty
    [[ -n "$tty_mode" ]] && stty "$tty_mode" <&3 2>/dev/null
    trap - INT TERM
    exec 3<&-
  fi
  token="${token//[[:space:]]/}"
  [[ -n "$token" ]] || die "no registration token: set AGNOX_TOKEN (through sudo: sudo --preserve-env=AGNOX_TOKEN …), pipe it into a downloaded script (bash install-agent.sh < token-file), or run from a terminal to be asked (Agents → Add agent gives one)"
  [[ "$token" =~ ^[A-Za-z0-9_.-]+$ ]] || die "the registration token has characters a token never has"
}

# Written under umask 077 into a new file beside the target, then moved over it: the token is never
# in a file anyone but root can read, not even for a moment (an older install left it 0640).
write_env_file() {
  local target="$1" tmp
  tmp="$(umask 077 && mktemp "$(dirname "$target")/.agent.env.XXXXXX")"
  {
    echo "AGNOX_URL=$AGNOX_URL"
    [[ -n "$token" ]] && echo "AGNOX_TOKEN=$token"
    echo "AGNOX_NAME=${AGNOX_NAME:-$(hostname)}"
    [[ -n "${AGNOX_LABELS:-}" ]] && echo "AGNOX_LABELS=$AGNOX_LABELS"
    echo "AGNOX_CONCURRENCY=${AGNOX_CONCURRENCY:-1}"
  } > "$tmp"
  chmod 0600 "$tmp"
  [[ -n "$DRY" ]] || chown root:root "$tmp"
  mv -f "$tmp" "$target"
}

main "$@"
