#!/usr/bin/env bash
# The release build, as every script makes it (run.sh, install, the benchmarks, the package
# tests): `swift build -c release` with Swift's run-time exclusivity checks off in every
# target, the dependencies' (SwiftNIO, swift-crypto) included. Package.swift turns them off
# for the core's and the hot modules' targets; a manifest cannot set a dependency's flags, so
# the build command does (-Xswiftc). Each access to a class's stored `var` in NIO's event
# loop, pipeline and buffers otherwise calls into the runtime (about a tenth of the
# instructions of a SIP request over TLS or WebSocket). Debug builds and the test suite keep
# the checks. Always build the release with this script: another set of flags rebuilds
# everything in .build/release.
#
#   scripts/release-build.sh [swift build options]     e.g. --show-bin-path, --product swiftlet
set -euo pipefail
cd "$(dirname "$0")/.."
exec swift build -c release -Xswiftc -enforce-exclusivity=unchecked "$@"
