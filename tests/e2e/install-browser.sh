#!/usr/bin/env bash
# Debian's chromium and chromedriver for the console's browser test (Playwright drives
# /usr/bin/chromium; its own browser download cannot work here). Idempotent: skipped when present.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "install-browser: chromium missing; run as root or: sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
fi
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core >/dev/null
