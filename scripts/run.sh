#!/usr/bin/env bash
# Builds Swiftlet (release) and runs it in the foreground on etc/swiftlet.cfg, logging to
# stderr. Extra arguments go to swiftlet (e.g. -l udp:127.0.0.1:5070, -n 2, -d).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
scripts/release-build.sh
exec .build/release/swiftlet -f etc/swiftlet.cfg -DD -E "$@"
