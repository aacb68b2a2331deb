#!/usr/bin/env bash
# Checks deploy/ without running it (no images can be pulled on CI machines):
#   - the compose file against the Compose specification's JSON Schema (vendored in deploy/schemas/),
#   - the Kubernetes manifests with kubernetes-validate, the Strimzi custom resources against
#     deploy/schemas/strimzi.schema.json (the fields the operator requires),
#   - the Prometheus configs with `promtool check config`, the alert rules with `promtool check rules`
#     and their unit tests with `promtool test rules`,
#   - tests/deploy (pytest): dashboard and alert queries name only exported metrics; a KafkaTopic per
#     registry topic.
# Installs what it needs, skipping what is there: Debian's prometheus package (promtool), and into
# the venv (DSR_VENV, default .venv) the project with its dev extra plus the two validators.
#   bash .ci/deploy-checks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
started=$SECONDS

step() { printf '\n==> %s  [+%ss]\n' "$*" "$((SECONDS - started))"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "system packages (Debian prometheus, for promtool)"
if ! command -v promtool >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool --version 2>&1 | head -1

step "Python tools"
venv="${DSR_VENV:-.venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
py="$venv/bin/python"
if ! "$py" -m pip show -q dsr-pipeline >/dev/null 2>&1 || ! "$py" -c 'import pytest, yaml, jsonschema' 2>/dev/null; then
  "$py" -m pip install -q -e '.[dev]'
fi
# check-jsonschema 0.38+ needs click>=8.4 (0.38.2 declares >=8.5); faust-streaming needs click<8.4.
tools=()
"$venv/bin/check-jsonschema" --version >/dev/null 2>&1 || tools+=('check-jsonschema>=0.37,<0.38')
"$venv/bin/kubernetes-validate" --version >/dev/null 2>&1 || tools+=('kubernetes-validate>=1.31,<2')
if [ ${#tools[@]} -gt 0 ]; then
  "$py" -m pip install -q "${tools[@]}" 'click<8.4'
fi
"$py" -m pip check
"$venv/bin/check-jsonschema" --version
echo "kubernetes-validate $("$venv/bin/kubernetes-validate" --version)"

step "compose file against the Compose specification's JSON Schema"
"$venv/bin/check-jsonschema" --schemafile deploy/schemas/compose-spec.json deploy/docker-compose.yml

step "Grafana provisioning and dashboard parse"
"$py" - <<'PY'
import json, pathlib, yaml
for path in sorted(pathlib.Path("deploy/grafana/provisioning").rglob("*.yml")):
    doc = yaml.safe_load(path.read_text())
    assert doc.get("apiVersion") == 1, f"{path}: apiVersion 1 expected"
    print(f"ok -- {path}")
for path in sorted(pathlib.Path("deploy/grafana/dashboards").glob("*.json")):
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] and dashboard["panels"], f"{path}: uid and panels expected"
    print(f"ok -- {path} ({len(dashboard['panels'])} panels)")
PY

step "Kubernetes manifests (kubernetes-validate --strict)"
# Custom resources (kafka.strimzi.io) have no schema there and are checked in the next step; any
# other warning (e.g. an apiVersion it does not know) fails.
k8s_out="$("$venv/bin/kubernetes-validate" --strict --quiet deploy/k8s/*.yaml 2>&1)" || { echo "$k8s_out"; exit 1; }
others="$(grep -v "with api version kafka.strimzi.io/" <<<"$k8s_out" | grep -v '^$' || true)"
[ -z "$others" ] || { echo "$others"; exit 1; }
echo "ok -- $(grep -c '^kind:' deploy/k8s/*.yaml | awk -F: '{n += $2} END {print n}') resources; $(grep -c "kafka.strimzi.io/" <<<"$k8s_out" || true) custom resources left to the next step"

step "Strimzi custom resources against deploy/schemas/strimzi.schema.json"
"$venv/bin/check-jsonschema" --check-metaschema deploy/schemas/strimzi.schema.json
split="$(mktemp -d)"
trap 'rm -rf "$split"' EXIT
"$py" - "$split" <<'PY'
import json, pathlib, sys, yaml
out, count = pathlib.Path(sys.argv[1]), 0
for path in sorted(pathlib.Path("deploy/k8s").glob("*.yaml")):
    for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
        if doc and str(doc.get("apiVersion", "")).startswith("kafka.strimzi.io/"):
            name = f"{path.stem}-{i}-{doc.get('kind')}-{doc.get('metadata', {}).get('name')}.json"
            (out / name).write_text(json.dumps(doc))
            count += 1
if not count:
    sys.exit("no Strimzi resources found in deploy/k8s")
print(f"{count} Strimzi resources")
PY
"$venv/bin/check-jsonschema" --schemafile deploy/schemas/strimzi.schema.json "$split"/*.json

step "Prometheus config and alert rules (promtool)"
promtool check config deploy/prometheus/prometheus.yml
promtool check config deploy/prometheus/prometheus-k8s.yml
promtool check rules deploy/prometheus/alerts.yml
(cd deploy/prometheus && promtool test rules alerts_test.yml)

step "tests/deploy (pytest)"
"$py" -m pytest -q -p no:cacheprovider tests/deploy -rw

printf '\ndeploy checks passed in %ss\n' "$((SECONDS - started))"
