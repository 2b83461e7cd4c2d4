#!/usr/bin/env bash
# Per-message user-space cost of the stateless proxy path without socket calls: parse the
# received INVITE, run `$du = ...; forward();`, build the forwarded request; parse the 180
# coming back and build the forwarded reply. Prints ns and mallocs per message (p50 and
# others), using ordo-one/benchmark in the Benchmarks/ package.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
swift package --allow-writing-to-package-directory benchmark --target MessagePath "$@"
