#!/usr/bin/env bash
# The module ABI signature: a hash of every source file whose types modules compile against
# (the API; implementation targets such as SwiftletAllocator and the runtime are left out)
# (SwiftletSDK, SwiftletSIP, SwiftletConfig and the C ABI header, minus the signature line).
# Modules record it at build time; the core refuses a module built against other sources,
# instead of crashing on a changed class layout (Swift gives no layout stability here).
#   scripts/abi-signature.sh           print the signature of the current sources
#   scripts/abi-signature.sh --check   exit 1 if the header's SWIFTLET_SDK_SIGNATURE is stale
#   scripts/abi-signature.sh --update  write the signature into the header
set -euo pipefail
cd "$(dirname "$0")/../Sources/SwiftletCore/Sources"
header=CSwiftletABI/include/swiftlet_module_abi.h
signature=$( { find SwiftletSDK SwiftletSIP SwiftletConfig -name '*.swift' | LC_ALL=C sort | xargs cat; grep -v 'SWIFTLET_SDK_SIGNATURE "' "$header"; } | sha256sum | cut -c1-16)
current=$(sed -n 's/^#define SWIFTLET_SDK_SIGNATURE "\(.*\)"/\1/p' "$header")
case "${1:-}" in
--check)
    if [ "$signature" != "$current" ]; then
        echo "SWIFTLET_SDK_SIGNATURE is $current but the module-facing sources hash to $signature:" >&2
        echo "run scripts/abi-signature.sh --update (modules built before the change will be refused)" >&2
        exit 1
    fi
    echo "$signature" ;;
--update)
    sed -i "s/^#define SWIFTLET_SDK_SIGNATURE \".*\"/#define SWIFTLET_SDK_SIGNATURE \"$signature\"/" "$header"
    echo "$signature" ;;
*) echo "$signature" ;;
esac
