#!/usr/bin/env bash
# Shared-memory allocator micro-benchmark: allocate/free pairs of the core's TLSF pool
# (SharedMemory) against malloc/free, 64-byte blocks and a mixed window of 128 live blocks,
# one thread and two at once. Prints ns per pair (wall clock and CPU), using
# ordo-one/benchmark in the Benchmarks/ package.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
swift package --allow-writing-to-package-directory benchmark --target SharedMemory "$@"
