#!/usr/bin/env bash
# Starts tritonserver with Pixel's production flags. Settings come from the environment (compose's
# env file, a Kubernetes ConfigMap/Secret); extra arguments are appended to tritonserver's.
#
#   PIXEL_MODEL_REPOSITORY     rendered repository (default /opt/pixel/models)
#   TRITON_EXIT_TIMEOUT_SECS   drain time on SIGTERM (default 30; Kubernetes' grace period must exceed it)
#   TRITON_LOG_VERBOSE         0 in production
#   TRITON_ADMIN_KEY[_FILE]    header value that unlocks the admin APIs; without it a random key is
#                              made, so model-repository/config/statistics/trace/logging stay locked
#   TRITON_SERVER_BIN          the tritonserver binary (tests point it at the PyPI build)
#   PIXEL_SUPERVISE            1 (default): run tritonserver under the healing supervisor
#                              (pipeline_lib.supervised_command: reloads a model whose Python stub
#                              died, else restarts the server; exits when healing fails); 0: exec it
#   PIXEL_PROBE_INTERVAL_S     seconds between the supervisor's tiny inference probes (0: stubs only)
#   PIXEL_PROBE_MODEL          the unary model it probes (default pixel)
#   PIXEL_SUPERVISOR_STATUS    where it writes its state for healthcheck.py (/tmp/pixel-supervisor.json)
#   PIXEL_ENTRYPOINT_PRINT=1   print the command line, one argument a line, and exit (for tests)
set -euo pipefail

repo="${PIXEL_MODEL_REPOSITORY:-/opt/pixel/models}"
exit_timeout="${TRITON_EXIT_TIMEOUT_SECS:-30}"
log_verbose="${TRITON_LOG_VERBOSE:-0}"
server_bin="${TRITON_SERVER_BIN:-tritonserver}"

if [[ -n "${TRITON_ADMIN_KEY_FILE:-}" ]]; then
    if [[ ! -r "$TRITON_ADMIN_KEY_FILE" ]]; then
        echo "entrypoint: TRITON_ADMIN_KEY_FILE=$TRITON_ADMIN_KEY_FILE is not readable; mount the secret or unset it" >&2
        exit 64
    fi
    admin_key="$(tr -d '\r\n' <"$TRITON_ADMIN_KEY_FILE")"
elif [[ -n "${TRITON_ADMIN_KEY:-}" ]]; then
    admin_key="$TRITON_ADMIN_KEY"
else
    # Nobody knows this key: the admin APIs are simply unreachable, the safe default.
    admin_key="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    echo "entrypoint: no TRITON_ADMIN_KEY given; admin APIs are locked for this run" >&2
fi
if [[ ! "$admin_key" =~ ^[A-Za-z0-9._~-]{16,}$ ]]; then
    echo "entrypoint: the admin key must be 16+ characters of [A-Za-z0-9._~-] (it travels in a header)" >&2
    exit 64
fi
if [[ ! -d "$repo" ]]; then
    echo "entrypoint: model repository $repo not found; render it with 'pixel build-repo --out DIR' and set PIXEL_MODEL_REPOSITORY" >&2
    exit 66
fi

# Inference, health and metadata stay open; everything that changes or reveals server state needs the key.
restricted="model-repository,model-config,shared-memory,statistics,trace,logging:admin-key=${admin_key}"

args=(
    "--model-repository=${repo}"
    # Explicit control, so the supervisor can reload a model whose Python stub died. The load API
    # can carry model code: it answers only with the admin key (restricted below).
    "--model-control-mode=explicit"
    "--load-model=*"
    # Configs are rendered and validated at build time; do not let Triton guess missing fields.
    "--disable-auto-complete-config"
    "--strict-readiness=true"
    "--exit-on-error=true"
    "--exit-timeout-secs=${exit_timeout}"
    "--http-port=8000"
    "--grpc-port=8001"
    "--metrics-port=8002"
    "--allow-metrics=true"
    "--allow-gpu-metrics=true"
    "--allow-cpu-metrics=true"
    "--metrics-interval-ms=2000"
    "--grpc-restricted-protocol=${restricted}"
    "--http-restricted-api=${restricted}"
    # Every in-flight engine request holds one Python-backend BLS thread while it streams
    # (default 32: beyond that the engine's replies find no thread; docs/engine.md).
    "--backend-config=python,thread-pool-size=${PIXEL_PYTHON_THREAD_POOL_SIZE:-512}"
    "--log-format=ISO8601"
    "--log-verbose=${log_verbose}"
)

if [[ "${PIXEL_ENTRYPOINT_PRINT:-0}" == "1" ]]; then
    printf '%s\n' "${args[@]}" "$@"
    exit 0
fi

echo "entrypoint: profile=${PIXEL_PROFILE:-unset} repository=${repo} exit-timeout=${exit_timeout}s" >&2
if [[ "${PIXEL_SUPERVISE:-1}" == "1" ]]; then
    # exec: the supervisor is PID 1; SIGTERM makes it stop tritonserver (which drains) and exit.
    export TRITON_ADMIN_KEY="$admin_key"
    http_port=8000
    for arg in "$@"; do [[ "$arg" == --http-port=* ]] && http_port="${arg#--http-port=}"; done
    exec "${PIXEL_PYTHON:-python3}" -m pipeline_lib.supervised_command \
        --http-url "127.0.0.1:${http_port}" --exit-timeout "$exit_timeout" \
        --probe-interval "${PIXEL_PROBE_INTERVAL_S:-15}" --probe-model "${PIXEL_PROBE_MODEL:-pixel}" \
        --status-file "${PIXEL_SUPERVISOR_STATUS:-/tmp/pixel-supervisor.json}" \
        -- "$server_bin" "${args[@]}" "$@"
fi
# exec: tritonserver replaces this shell, so SIGTERM reaches it directly and it drains in-flight requests.
exec "$server_bin" "${args[@]}" "$@"
