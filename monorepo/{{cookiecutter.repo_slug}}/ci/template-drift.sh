#!/bin/sh
# Template drift of the whole repository: the skeleton (this root) and each model folder, each
# compared with the uc-mlops template's release by the drift check every model folder ships
# (models/<model>/ci/template-drift.sh, which reads .cruft.json in the folder it runs in and
# takes TEMPLATE_REF). Run by the weekly workflow, and by hand: sh ci/template-drift.sh
set -eu

status=0
checker=""
for folder in models/*/; do
  [ -f "${folder}ci/template-drift.sh" ] || continue
  checker="${checker:-$(pwd)/${folder}ci/template-drift.sh}"
  echo "== ${folder%/}"
  (cd "$folder" && sh ci/template-drift.sh) || status=1
done

echo "== repository skeleton"
if [ -z "$checker" ]; then
  echo "template drift: no model folder yet; the skeleton is checked with the first one's script."
else
  sh "$checker" || status=1
fi
exit "$status"
