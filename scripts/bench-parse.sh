#!/usr/bin/env bash
# Parser micro-benchmark: parse the ~1 KB INVITE of Tests/Fixtures/invite.sip and read
# Via/From/To/CSeq/Call-ID/Contact. Prints ns per message (wall clock and CPU) and mallocs
# per message (p50 and others), using ordo-one/benchmark in the Benchmarks/ package.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
swift package --allow-writing-to-package-directory benchmark --target SIPParsing "$@"
