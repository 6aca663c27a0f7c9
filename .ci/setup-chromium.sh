#!/usr/bin/env bash
# Debian's chromium for the browser test of the HTML report (.ci/check-report.sh
# and the `report_renders_in_headless_chromium` test), and python3 to drive it
# over the DevTools pipe. Idempotent.
set -euo pipefail
if ! command -v chromium >/dev/null || ! command -v python3 >/dev/null; then
    echo "installing chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium python3 >/dev/null
fi
chromium --version
