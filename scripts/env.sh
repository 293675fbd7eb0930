# Sourced by the scripts: one build directory outside the clone (so repeated runs on a machine are
# incremental) and the project's Python virtual environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flatspace-target}"
export FLATSPACE_VENV="${FLATSPACE_VENV:-$ROOT/.venv}"
export PATH="$FLATSPACE_VENV/bin:$PATH"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
