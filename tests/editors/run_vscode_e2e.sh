#!/usr/bin/env bash
# The VS Code end-to-end test in one command: install what is missing (install_vscode_deps.sh;
# skipped with DIFFILL_E2E_NO_INSTALL=1), build the .vsix (editors/vscode/scripts/package.sh),
# then vscode_e2e.mjs installs it into code-server and drives it in headless Chromium.
# DIFFILL_PYTHON: the Python that runs `diffill serve` (default: the checkout's .venv).
# Screenshots and logs: $ARTIFACTS (default tests/editors/artifacts/vscode, gitignored).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${DIFFILL_EDITORS_CACHE:-/tmp/diffill-editors}
NODE_DIR=$CACHE/node-24.9.0
CODE_SERVER=$CACHE/code-server-4.139.1/node_modules/.bin/code-server

[ "${DIFFILL_E2E_NO_INSTALL:-}" = 1 ] || bash "$HERE/install_vscode_deps.sh"
export PATH="$NODE_DIR/bin:$PATH"
for need in "$NODE_DIR/bin/node" "$CODE_SERVER" /usr/bin/chromium "$HERE/node_modules/playwright-core"; do
  [ -e "$need" ] || { echo "missing $need: run tests/editors/install_vscode_deps.sh" >&2; exit 2; }
done

echo "== building the .vsix"
bash "$ROOT/editors/vscode/scripts/package.sh" | tail -1
VSIX=$(ls -t "$ROOT"/editors/vscode/dist/diffill-*.vsix | head -1)

# code-server writes a config file (with a password) on every start, --version included: give it
# a throwaway config folder, never the user's home. It prints "4.139.1 <commit> with Code 1.139.1".
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
version=$(XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data" HOME="$scratch" \
  "$CODE_SERVER" --version 2>/dev/null | grep -E '^[0-9]+\.[0-9]+\.[0-9]+ ' | head -1)
echo "== VS Code (code-server ${version:-unknown version}) end to end"
CODE_SERVER="$CODE_SERVER" VSIX="$VSIX" DIFFILL_PYTHON="${DIFFILL_PYTHON:-$ROOT/.venv/bin/python}" \
  ARTIFACTS="${ARTIFACTS:-$HERE/artifacts/vscode}" node "$HERE/vscode_e2e.mjs"
