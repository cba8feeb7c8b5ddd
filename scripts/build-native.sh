#!/usr/bin/env bash
# Builds decoyd's two small native helpers for Honeyd subsystems (daemon/native/subsystem/) into
# dist/native/: the LD_PRELOAD shim and the launcher. Run by `npm run build`. Without a C compiler
# the build still succeeds and says so; decoyd then refuses to start subsystems (and `check` says why).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SRC="$ROOT/daemon/native/subsystem"
OUT="$ROOT/dist/native"
CC=${CC:-cc}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "build-native: no C compiler ($CC): Honeyd subsystems will not run (install build-essential)" >&2
  exit 0
fi
mkdir -p "$OUT"
"$CC" -O2 -Wall -Wextra -Werror -fPIC -shared -o "$OUT/libdecoyd-subsystem.so" "$SRC/shim.c" -ldl
"$CC" -O2 -Wall -Wextra -Werror -o "$OUT/decoyd-subsystem-launch" "$SRC/launch.c"
# Honeyd script actions (services/actions/): the root broker that starts scripts as their templates' users.
"$CC" -O2 -Wall -Wextra -Werror -o "$OUT/decoyd-script-broker" "$ROOT/daemon/native/actions/script-broker.c"
