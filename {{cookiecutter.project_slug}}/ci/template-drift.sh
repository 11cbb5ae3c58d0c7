#!/bin/sh
# Template drift: is this project behind the uc-mlops template's release? Run by the CI drift job
# of every platform (and by hand: sh ci/template-drift.sh). It only reports; `cruft update`
# applies the difference in a normal pull request (README, "Template upgrades").
#
# Compares with TEMPLATE_REF (default: release, the branch the template moves on each release).
# A template without that ref has published no release yet: that is a notice, not a failure,
# because there is nothing this project could be behind and nothing its team could fix.
set -eu

ref="${TEMPLATE_REF:-release}"

if [ ! -f .cruft.json ]; then
  echo "No .cruft.json: this project was created with plain cookiecutter, so there is no"
  echo "template commit to compare with. Nothing to check; 'cruft link <template-url>'"
  echo "records one and turns this check on."
  exit 0
fi

# .cruft.json is JSON written by cruft; its "template" value is a URL or path without quotes.
template=$(grep -o '"template"[[:space:]]*:[[:space:]]*"[^"]*"' .cruft.json | head -n 1 |
  sed 's/.*"\([^"]*\)"$/\1/')
if [ -z "$template" ]; then
  echo "template drift: .cruft.json names no template; 'cruft link <template-url>' records one." >&2
  exit 1
fi

echo "template drift: comparing this project with $template at '$ref'"
status=0
git ls-remote --exit-code "$template" "$ref" >/dev/null || status=$?
if [ "$status" -eq 2 ]; then
  echo "template drift: notice: $template has no release yet (no branch or tag '$ref'), so there" \
    "is nothing to compare with and this check passes; it compares once the template's" \
    "maintainers publish their first release (template README, \"Upgrades and releases\")," \
    "or now against another ref: TEMPLATE_REF=<branch or tag> sh ci/template-drift.sh"
  exit 0
fi
if [ "$status" -ne 0 ]; then
  echo "template drift: cannot read $template (git ls-remote exit $status, see above): check the" \
    "template URL in .cruft.json and that this job may read that repository." >&2
  exit 1
fi
cruft check --checkout "$ref"
