#!/usr/bin/env bash
# Prints one Markdown reference page made of every module's README (Modules/<name>/README.md),
# in name order, after an index: each README's headings go one level down (outside code
# blocks) and its links to another module's README point into the page. scripts/install
# installs it as share/doc/swiftlet/modules.md.
set -euo pipefail
cd "$(dirname "$0")/.."
modules=()
for readme in Modules/*/README.md; do modules+=("$(basename "$(dirname "$readme")")"); done

echo "# Swiftlet modules"
echo
echo "Every module's README, as in the source tree (Modules/<name>/README.md). A module is"
echo "loaded with \`loadmodule \"<name>.so\"\` from the module path (\`lib/swiftlet/modules\`)."
echo
for name in "${modules[@]}"; do
    title=$(sed -n '1s/^# *//p' "Modules/$name/README.md")
    echo "- [$name](#module-$name)${title:+: ${title#"$name"}}" | sed 's/: *[—-] */: /'
done
for name in "${modules[@]}"; do
    echo
    echo "<a id=\"module-$name\"></a>"
    echo
    awk -v self="$name" '
        /^```/ { fence = !fence }
        !fence && /^#/ { $0 = "#" $0 }
        !fence {
            # ../other/README.md#part and ../other/README.md -> #module-other
            while (match($0, /\]\(\.\.\/[A-Za-z0-9_]+\/README\.md(#[^)]*)?\)/)) {
                link = substr($0, RSTART + 5, RLENGTH - 6)
                sub(/\/README\.md.*/, "", link)
                $0 = substr($0, 1, RSTART) "(#module-" link ")" substr($0, RSTART + RLENGTH)
            }
        }
        { print }' "Modules/$name/README.md"
done
