#!/usr/bin/env bash
# Installs the Agnox agent as a systemd service on a Linux box (arm64 or amd64):
#   curl -fsSL <control plane>/install-agent.sh | sudo AGNOX_URL=https://… AGNOX_TOKEN=agr_… bash
# Optional: AGNOX_NAME, AGNOX_LABELS (k=v,…), AGNOX_CONCURRENCY, AGNOX_AGENT_VERSION (npm version),
# AGNOX_DRY_RUN=1 (print the steps, change nothing).
# Needs: systemd, Docker (installed with apt-get if missing on Debian/Ubuntu), Node.js 20+ (Node 22
# from nodejs.org is installed under /opt/agnox-agent/node if the system has none).
set -euo pipefail

AGENT_VERSION="${AGNOX_AGENT_VERSION:-latest}"
PREFIX=/opt/agnox-agent
CONF_DIR=/etc/agnox-agent
UNIT=/etc/systemd/system/agnox-agent.service
NODE_MAJOR=22
DRY="${AGNOX_DRY_RUN:-}"

say() { printf 'agnox-install: %s\n' "$*"; }
die() { printf 'agnox-install: error: %s\n' "$*" >&2; exit 1; }
run() { if [[ -n "$DRY" ]]; then printf '+ %s\n' "$*"; else "$@"; fi; }

# ── what this box is ───────────────────────────────────────────────────────────────────────
detect_arch() {
  case "${AGNOX_UNAME_M:-$(uname -m)}" in
    aarch64|arm64) echo arm64 ;;
    x86_64|amd64) echo amd64 ;;
    *) die "unsupported CPU architecture $(uname -m): the agent runs on arm64 and amd64" ;;
  esac
}
ARCH="$(detect_arch)"
NODE_ARCH="$([[ "$ARCH" == amd64 ]] && echo x64 || echo arm64)"
say "architecture: $ARCH (Docker platform linux/$ARCH)"

[[ "$(uname -s)" == Linux ]] || die "the agent service is for Linux"
[[ -n "${AGNOX_URL:-}" ]] || die "set AGNOX_URL to the control plane address"
[[ -n "${AGNOX_TOKEN:-}" || -f /var/lib/agnox-agent/agent.json ]] || die "set AGNOX_TOKEN to a registration token (Agents → Add agent)"
[[ -n "$DRY" || "$(id -u)" == 0 ]] || die "run as root (sudo)"
command -v systemctl >/dev/null || [[ -n "$DRY" ]] || die "systemd is required"

# ── Docker ─────────────────────────────────────────────────────────────────────────────────
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

# ── Node.js 20+ ────────────────────────────────────────────────────────────────────────────
NODE="$(command -v node || true)"
if [[ -z "$NODE" ]] || (( $("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0) < 20 )); then
  base="https://nodejs.org/dist/latest-v${NODE_MAJOR}.x"
  say "installing Node.js ${NODE_MAJOR} for linux-${NODE_ARCH} into $PREFIX/node"
  if [[ -z "$DRY" ]]; then
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

# ── the agent ──────────────────────────────────────────────────────────────────────────────
say "installing @agnox/agent@$AGENT_VERSION into $PREFIX"
run mkdir -p "$PREFIX"
run env PATH="$(dirname "$NODE"):$PATH" "$NPM" install --prefix "$PREFIX" --omit=dev --no-audit --no-fund "@agnox/agent@$AGENT_VERSION"
AGENT_BIN="$PREFIX/node_modules/@agnox/agent/bin/agnox-agent.js"

if ! id agnox >/dev/null 2>&1; then
  run useradd --system --home-dir /var/lib/agnox-agent --shell /usr/sbin/nologin agnox
fi
# The agent talks to the Docker socket; it never mounts it into a job.
run usermod -aG docker agnox

run mkdir -p "$CONF_DIR"
env_file="$CONF_DIR/agent.env"
if [[ -z "$DRY" ]]; then
  umask 077
  {
    echo "AGNOX_URL=$AGNOX_URL"
    [[ -n "${AGNOX_TOKEN:-}" ]] && echo "AGNOX_TOKEN=$AGNOX_TOKEN"
    echo "AGNOX_NAME=${AGNOX_NAME:-$(hostname)}"
    [[ -n "${AGNOX_LABELS:-}" ]] && echo "AGNOX_LABELS=$AGNOX_LABELS"
    echo "AGNOX_CONCURRENCY=${AGNOX_CONCURRENCY:-1}"
  } > "$env_file"
  chown root:agnox "$env_file"
  chmod 0640 "$env_file"
else
  printf '+ write %s (0640 root:agnox): AGNOX_URL, AGNOX_TOKEN, AGNOX_NAME, AGNOX_LABELS, AGNOX_CONCURRENCY\n' "$env_file"
fi

unit_src="$(dirname "${BASH_SOURCE[0]:-$0}")/agnox-agent.service"
[[ -f "$unit_src" ]] || unit_src="$PREFIX/node_modules/@agnox/agent/install/agnox-agent.service"
if [[ -z "$DRY" ]]; then
  sed -e "s#@NODE@#$NODE#" -e "s#@AGENT_BIN@#$AGENT_BIN#" "$unit_src" > "$UNIT"
else
  printf '+ install %s as %s with ExecStart=%s %s\n' "$unit_src" "$UNIT" "$NODE" "$AGENT_BIN"
fi
run systemctl daemon-reload
run systemctl enable --now agnox-agent
say "done: the agent registers on its first start (journalctl -u agnox-agent -f to watch)"
