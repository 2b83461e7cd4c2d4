#!/usr/bin/env bash
# Formats the Swift sources with swift-format (it comes with the Swift toolchain), using the
# configuration in .swift-format.
#   scripts/format.sh           format every file in place
#   scripts/format.sh --check   change nothing: lint (--strict), exit 1 on any finding (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Sources Modules Tests examples Benchmarks)

if command -v swift-format >/dev/null 2>&1; then
    format=(swift-format)
elif swift format --help >/dev/null 2>&1; then
    format=(swift format)
else
    echo "error: swift-format not found (it comes with the Swift toolchain)" >&2
    exit 2
fi

case "${1:-}" in
--check)
    if ! "${format[@]}" lint --strict -r "${paths[@]}"; then
        echo "format: swift-format found the problems above; scripts/format.sh fixes most of them" >&2
        exit 1
    fi
    echo "format: OK ($(find "${paths[@]}" -name '*.swift' -not -path '*/.*' | wc -l) files)"
    ;;
"")
    "${format[@]}" format -i -r "${paths[@]}"
    ;;
*)
    sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
