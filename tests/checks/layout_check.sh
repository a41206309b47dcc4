#!/usr/bin/env bash
# The layout's promises that a grep can keep (issue #15; DESIGN.md, Layout):
#  - layering: chain/ and definitions/ include nothing from engine/, and
#    definitions/ nothing from chain/;
#  - the node's SQL lives in its store: no SQL statement text in engine/
#    outside engine/store/;
#  - one concern per file: no file under engine/ over 500 lines.
# Prints every breach and fails if there is one.
set -u
cd "${1:-$(dirname "$0")/../..}" || exit 2
fail=0
breach() { echo "layout: $*"; fail=1; }

while IFS= read -r hit; do breach "layering runs backwards: $hit"; done \
  < <(grep -rn '#include "engine/' chain definitions 2>/dev/null)
while IFS= read -r hit; do breach "layering runs backwards: $hit"; done \
  < <(grep -rn '#include "chain/' definitions 2>/dev/null)
while IFS= read -r hit; do breach "SQL outside the store: $hit"; done \
  < <(grep -rnE '"[[:space:]]*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|REPLACE)[[:space:]]' \
        --include='*.cc' --include='*.h' engine | grep -v '^engine/store/')
while read -r lines file; do
  [ "$file" = total ] && continue
  [ "$lines" -gt 500 ] && breach "$file has $lines lines (at most 500: one concern per file)"
done < <(find engine -name '*.cc' -o -name '*.h' | xargs wc -l)
[ $fail -eq 0 ] && echo "layout: layering, SQL and file sizes as promised"
exit $fail
