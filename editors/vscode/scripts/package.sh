#!/usr/bin/env bash
# Build editors/vscode/dist/diffill-<version>.vsix offline: npm ci, tsc, @vscode/vsce package.
# Needs Node >= 22 on PATH (vsce 4); NODE_DIR=/path/to/node puts that Node first.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${NODE_DIR:-}" ] && export PATH="$NODE_DIR/bin:$PATH"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 22 ? 0 : 1)' \
  || { echo "package.sh: Node >= 22 is needed (found $(node --version))" >&2; exit 1; }
[ -d node_modules/@vscode/vsce ] || npm ci --no-audit --no-fund
npx --no-install tsc -p .
version=$(node -p 'require("./package.json").version')
mkdir -p dist
# No repository or LICENSE file in this folder (the project's license is in package.json): skip vsce's prompts.
npx --no-install vsce package --allow-missing-repository --skip-license --out "dist/diffill-$version.vsix"
echo "built $(pwd)/dist/diffill-$version.vsix"
