#!/usr/bin/env bash
# Create (once) a virtualenv with ipykernel 6 and nbstream's runtime dependencies, for the browser tests'
# second kernel. nbstream itself is NOT installed: the test server puts the repository on PYTHONPATH, so the
# kernel imports the checkout under test. Prints the venv's python on stdout.
#   usage: tests/browser/make_ipykernel6_env.sh [venv-dir]   (default: $NBSTREAM_IPYKERNEL6_VENV or
#          /tmp/nbstream-ipykernel6)
set -euo pipefail
venv="${1:-${NBSTREAM_IPYKERNEL6_VENV:-/tmp/nbstream-ipykernel6}}"
python="${PYTHON:-python3}"
stamp="$venv/.nbstream-ready"
# The requirement set: ipykernel 6 and nbstream's own runtime dependencies, read from pyproject.toml so the two
# never drift apart; a change in either rebuilds the venv.
root="$(cd "$(dirname "$0")/../.." && pwd)"
mapfile -t runtime < <("$python" -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' "$root/pyproject.toml")
requirements=("ipykernel>=6.29,<7" "${runtime[@]}")
wanted="${requirements[*]}"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" && -x "$venv/bin/python" ]]; then
  echo "$venv/bin/python"
  exit 0
fi
rm -rf "$venv"
"$python" -m venv "$venv" >&2
# (pip's notes about this machine's missing local index folders are noise: drop them)
"$venv/bin/python" -m pip install --quiet "${requirements[@]}" 2>&1 | grep -v "is ignored: it is neither" >&2 || true
"$venv/bin/python" -c "import ipykernel, anywidget, httpx, pydantic" >&2
"$venv/bin/python" - >&2 <<'PY'
import ipykernel
assert ipykernel.version_info[0] == 6, ipykernel.__version__
print("ipykernel", ipykernel.__version__)
PY
printf '%s' "$wanted" > "$stamp"
echo "$venv/bin/python"
