#!/usr/bin/env bash
# Validate the generated AsyncAPI document with the pinned AsyncAPI CLI (see package.json here).
#   bash .ci/asyncapi/validate.sh [path/to/asyncapi.yaml]
# Installs the CLI with `npm ci` on first use; fails on any validation error (warnings pass).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
doc="$(realpath "${1:-$root/schemas/generated/asyncapi.yaml}")"
[[ -f "$doc" ]] || { echo "validate.sh: no such file: $doc (run: python -m schemas.generate)" >&2; exit 2; }

cd "$here"
if [[ ! -x node_modules/.bin/asyncapi ]]; then
  # --ignore-scripts: the CLI's postinstall edits ~/.bashrc (shell autocomplete) and @scarf phones home.
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error </dev/null
fi

# Keep the CLI's state out of $HOME and away from the network: with CI=true it discards its usage
# metrics, ASYNCAPI_METRICS_CONFIG_PATH replaces ~/.asyncapi-analytics (which it would otherwise create),
# and ASYNCAPI_SKIP_NEW_VERSION_CHECK stops oclif's update check.
state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
printf '{"analyticsEnabled":"false","infoMessageShown":"true","userID":"ci"}\n' >"$state/analytics.json"
export CI=true \
  ASYNCAPI_METRICS_CONFIG_PATH="$state/analytics.json" \
  ASYNCAPI_SKIP_NEW_VERSION_CHECK=true \
  SCARF_ANALYTICS=false \
  XDG_CACHE_HOME="$state/cache" XDG_CONFIG_HOME="$state/config" XDG_DATA_HOME="$state/data" \
  NO_COLOR=1

node_modules/.bin/asyncapi validate "$doc" --fail-severity=error --diagnostics-format=stylish </dev/null
