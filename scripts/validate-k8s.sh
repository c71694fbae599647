#!/usr/bin/env bash
# Validates deploy/kubernetes/*.yaml offline against the Kubernetes API schemas (strict: unknown
# fields are errors), with kubernetes-validate from PyPI (installed into a private venv). The
# manifests' ${RUN}/${START} placeholders are filled in first, as envsubst would.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${KBENCH_K8S_VENV:-${TMPDIR:-/tmp}/kbench-k8s-venv}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet kubernetes-validate
fi
rendered=$(mktemp -d)
for f in deploy/kubernetes/*.yaml; do
  RUN=run-1 START=2026-01-01T00:00:00Z python3 -c '
import os, string, sys
print(string.Template(open(sys.argv[1]).read()).safe_substitute(os.environ))' "$f" > "$rendered/$(basename "$f")"
done
"$venv/bin/kubernetes-validate" --strict "$rendered"/*.yaml
