#!/usr/bin/env bash
# Checks the Helm chart (helm/ticketing), the Dockerfiles and the release packaging:
#   static    README values table and CRD / RBAC copies match their generators; the dashboard queries only
#             recorded metrics; `helm package` carries what the templates read; `helm lint --strict` and
#             `helm template` over ci/{default,minimal,production,cluster}-values.yaml; bad values are refused;
#             checkov over the chart, the rendered manifests and the Dockerfiles
#   cluster   on a loopback control plane (scripts/control-plane.sh): server-side dry run of every rendering;
#             `helm install --wait` (kwok makes the pods ready); the example TicketEvents are accepted; the real
#             operator, run locally with a token of the chart's ServiceAccount and the chart's own arguments,
#             reconciles an example in the one-namespace mode (so the chart's Role suffices, and grants nothing
#             beyond the namespace) and leaves a Service of the chart alone when a TicketEvent takes its name; an
#             upgrade keeps the generated secrets; `helm uninstall` keeps the CRD and the TicketEvents; installed
#             again in the cluster mode (ClusterRole) the operator takes the kept events back and reconciles one in
#             another namespace; the pre-delete hook's command, run as the hook's ServiceAccount, deletes every
#             TicketEvent through the running operator, and `helm uninstall` then removes the CRD
#
# Usage: scripts/test-helm.sh
# Tools are built or installed once into $TICKETING_CACHE (default ~/.cache/ticketing); a warm run takes about a
# minute. Prints one line per check and ends with `helm checks: N passed, M failed`; exits non-zero on any failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TICKETING_CACHE="${TICKETING_CACHE:-$HOME/.cache/ticketing}"
CHECKOV_VERSION=3.3.30
CHECKOV_VENV="$TICKETING_CACHE/checkov-$CHECKOV_VERSION"
CHART="$ROOT/helm/ticketing"
RELEASE=ticketing
NAMESPACE=ticketing
VALUES_SETS=(default minimal production cluster)
# A namespace of TicketEvents that only an operator of the cluster mode watches.
TENANT_NAMESPACE=tenant
# The example whose children prove that the operator, holding only the chart's RBAC, reconciles.
PROBE_EVENT=spring-concert
WAIT_SECONDS=120

log() { printf '[test-helm] %s\n' "$*"; }
die() { printf '[test-helm] ERROR: %s\n' "$*" >&2; exit 1; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/test-helm.XXXXXX")"
mkdir -p "$WORK/logs" "$WORK/pids"
CONTROL_PLANE_DIR="$WORK/control-plane"
PASSED=0
FAILED=0

# Stops every process this script started (the local operator and service, then the control plane). A pid file
# names a process of ours only while that process still runs our binary, so a recycled pid is left alone.
cleanup() {
  local status=$? pidfile pid pids=()
  for pidfile in "$WORK"/pids/*; do
    [[ -e "$pidfile" ]] || continue
    pid="$(cat "$pidfile")"
    if [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == */ticketing-* ]]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ -f "$CONTROL_PLANE_DIR/run.pid" ]]; then
    "$ROOT/scripts/control-plane.sh" stop "$CONTROL_PLANE_DIR" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to 10 s for a process to exit.
wait_gone() {
  local deadline=$((SECONDS + 10))
  while kill -0 "$1" 2>/dev/null; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

# Polls a command until it succeeds, failing after WAIT_SECONDS.
poll() {
  local what="$1" deadline=$((SECONDS + WAIT_SECONDS))
  shift
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
      echo "timed out after ${WAIT_SECONDS} s waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

# Runs one named check with errexit in force (a background subshell, since `if f` would switch errexit off inside
# f), logs its output to a file and shows the end of it on failure.
check() {
  local name="$1"
  shift
  ( set -euo pipefail; "$@" ) >"$WORK/logs/$name.log" 2>&1 </dev/null &
  if wait $!; then
    PASSED=$((PASSED + 1))
    log "ok    $name"
  else
    FAILED=$((FAILED + 1))
    log "FAIL  $name; last lines of its output:"
    tail -n 40 "$WORK/logs/$name.log" | sed 's/^/        /'
  fi
}

# ---------------------------------------------------------------------------------------------------------------
# Tools.

install_checkov() {
  if [[ "$("$CHECKOV_VENV/bin/checkov" --version 2>/dev/null || true)" == "$CHECKOV_VERSION" ]]; then
    return
  fi
  log "installing checkov $CHECKOV_VERSION into $CHECKOV_VENV"
  rm -rf "$CHECKOV_VENV"
  python3 -m venv "$CHECKOV_VENV"
  "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  [[ "$("$CHECKOV_VENV/bin/checkov" --version)" == "$CHECKOV_VERSION" ]] || die "checkov $CHECKOV_VERSION did not install"
}

# The binaries come from the same build as scripts/test.sh's `cargo test --workspace --all-features` (the packages'
# integration tests need them), so after that stage this is a no-op; a narrower `cargo build -p` would resolve other
# dependency features and compile much of the workspace a second time.
build_binaries() {
  log "building ticketing-operator and ticketing-service (cargo test --no-run)"
  (cd "$ROOT" && cargo test --workspace --all-features --locked --no-run --quiet)
  TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
  OPERATOR_BIN="$TARGET_DIR/debug/ticketing-operator"
  SERVICE_BIN="$TARGET_DIR/debug/ticketing-service"
  [[ -x "$OPERATOR_BIN" && -x "$SERVICE_BIN" ]] || die "cargo built no ticketing-operator / ticketing-service"
}

log "work directory $WORK"
log "building the control-plane binaries and helm (scripts/control-plane.sh build)"
"$ROOT/scripts/control-plane.sh" build >"$WORK/logs/control-plane-build.log" 2>&1 \
  || { tail -n 30 "$WORK/logs/control-plane-build.log" >&2; die "scripts/control-plane.sh build failed"; }
BIN_DIR="$("$ROOT/scripts/control-plane.sh" bin-dir)"
HELM="$BIN_DIR/helm"
KUBECTL="$BIN_DIR/kubectl"
install_checkov
PYTHON="$CHECKOV_VENV/bin/python"
build_binaries
log "tools: $("$HELM" version --short), kubectl $("$KUBECTL" version --client -o json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'), checkov $CHECKOV_VERSION"

# ---------------------------------------------------------------------------------------------------------------
# Static checks.

check_values_table() {
  "$PYTHON" "$ROOT/helm/helm-docs.py" --check
}

check_crd_copy() {
  "$OPERATOR_BIN" crd >"$WORK/crd-generated.yaml"
  diff -u "$WORK/crd-generated.yaml" "$CHART/files/crds/ticketevents.yaml"
  diff -u "$ROOT/crds/ticketevents.yaml" "$CHART/files/crds/ticketevents.yaml"
  # What the chart installs is the same object, plus the chart's labels and the keep policy.
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" --show-only templates/crd.yaml >"$WORK/crd-rendered.yaml"
  "$PYTHON" - "$WORK/crd-rendered.yaml" "$WORK/crd-generated.yaml" <<'PY'
import sys, yaml
rendered, generated = (yaml.safe_load(open(path)) for path in sys.argv[1:])
assert rendered["metadata"].pop("annotations") == {"helm.sh/resource-policy": "keep"}, "the CRD lacks the keep policy"
assert rendered["metadata"].pop("labels")["app.kubernetes.io/managed-by"] == "Helm"
assert rendered == generated, "the chart renders a CRD that differs from `ticketing-operator crd`"
PY
}

check_rbac_copy() {
  "$OPERATOR_BIN" rbac >"$WORK/rbac-generated.yaml"
  diff -u "$WORK/rbac-generated.yaml" "$CHART/files/operator-rbac.yaml"
}

# Every metric the Grafana dashboard queries is one that the service or the operator records.
check_dashboard_metrics() {
  "$PYTHON" - "$CHART/files/dashboards/ticketing.json" "$ROOT/service/src" "$ROOT/operator/src" <<'PY'
import json, pathlib, re, sys
dashboard = json.load(open(sys.argv[1]))
sources = "".join(p.read_text() for root in sys.argv[2:] for p in pathlib.Path(root).rglob("*.rs"))
queried = {name for panel in dashboard["panels"] for target in panel["targets"]
           for name in re.findall(r"\b((?:http|ticketing)_[a-z_]+)", target["expr"])}
recorded = lambda name: any(f'"{base}"' in sources for base in
                            {name, re.sub(r"_(bucket|count|sum)$", "", name)})
missing = sorted(name for name in queried if not recorded(name))
print(f"{len(queried)} metrics queried; not recorded anywhere: {missing}")
sys.exit(1 if missing or not queried else 0)
PY
}

check_lint() {
  "$HELM" lint --strict "$CHART" --namespace "$NAMESPACE" -f "$CHART/ci/$1-values.yaml"
}

check_template() {
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" -f "$CHART/ci/$1-values.yaml" \
    >"$WORK/rendered-$1.yaml"
  grep -q '^kind: Deployment' "$WORK/rendered-$1.yaml"
}

# The packaged chart (what the release workflow pushes) carries the files its templates read, and no CI values.
check_package() {
  "$HELM" package "$CHART" --destination "$WORK/package"
  tar -tzf "$WORK"/package/ticketing-*.tgz >"$WORK/package.list"
  for file in values.schema.json files/crds/ticketevents.yaml files/operator-rbac.yaml files/dashboards/ticketing.json \
    examples/ticketevent-basic.yaml; do
    grep -qx "ticketing/$file" "$WORK/package.list" || { echo "the package lacks $file"; return 1; }
  done
  if grep -q '^ticketing/ci/' "$WORK/package.list"; then
    echo "the package carries ci/"
    return 1
  fi
}

# Each bad value set must be refused, and for the stated reason.
BAD_VALUES=(
  "operator.replicas=0|/operator/replicas"
  "bogusKey=1|additional properties 'bogusKey'"
  "image.digest=latest|/image/digest"
  "routing.baseDomain=Not_A_Domain|/routing/baseDomain"
  "jwt.secret=too-short|/jwt/secret"
  "admin.token=too-short|/admin/token"
  "api.service.type=External|/api/service/type"
  "operator.resources.limits=null|/operator/resources"
  "metrics.serviceMonitor.interval=often|/metrics/serviceMonitor/interval"
  "api.autoscaling.minReplicas=5,api.autoscaling.maxReplicas=2|minReplicas must not exceed"
  "operator.pdb.minAvailable=2|operator.pdb.minAvailable must be below"
  "config.existingSecret=ticketing-env,database.url=mysql://u:p@db/t|config.existingSecret is set"
  "api.enabled=false|set operator.apiUrl"
  "eventService.env.DATABASE_URL=mysql://u:p@db/t|/eventService/env"
  "operator.scope=everywhere|/operator/scope"
  "eventService.zoneSpread=sometimes|/eventService/zoneSpread"
  "eventService.preStopSeconds=600|/eventService/preStopSeconds"
)

check_bad_values_refused() {
  local entry set expected
  for entry in "${BAD_VALUES[@]}"; do
    set="${entry%%|*}"
    expected="${entry#*|}"
    if "$HELM" template "$RELEASE" "$CHART" --set "$set" >/dev/null 2>"$WORK/bad.err"; then
      echo "accepted bad values: $set"
      return 1
    fi
    grep -qF -- "$expected" "$WORK/bad.err" || { echo "refused $set, but not for '$expected':"; cat "$WORK/bad.err"; return 1; }
    echo "refused: $set"
  done
}

# checkov reads its skips from helm/checkov.yaml (each justified there); per-resource skips are annotations.
checkov() {
  BC_SKIP_MAPPING=TRUE "$CHECKOV_VENV/bin/checkov" --config-file "$ROOT/helm/checkov.yaml" "$@"
}

check_checkov_rendered() {
  checkov --framework kubernetes -f "$WORK/rendered-$1.yaml"
}

check_checkov_chart() {
  local skips
  skips="$("$PYTHON" -c 'import sys, yaml; print(",".join(yaml.safe_load(open(sys.argv[1]))["skip-check"]))' \
    "$ROOT/helm/checkov.yaml")"
  # checkov renders the chart itself, always into the namespace "default"; CKV_K8S_21 (no default namespace) is
  # checked on the renderings into $NAMESPACE above. A --skip-check replaces the config file's list, so both go here.
  PATH="$BIN_DIR:$PATH" checkov --framework helm -d "$CHART" --skip-check "$skips,CKV_K8S_21"
}

check_checkov_dockerfiles() {
  checkov --framework dockerfile -f "$ROOT/docker/service.Dockerfile" -f "$ROOT/docker/operator.Dockerfile"
}

log "static checks"
check values-table check_values_table
check crd-copy check_crd_copy
check rbac-copy check_rbac_copy
check dashboard-metrics check_dashboard_metrics
for values in "${VALUES_SETS[@]}"; do
  check "lint-$values" check_lint "$values"
  check "template-$values" check_template "$values"
done
check bad-values-refused check_bad_values_refused
check package check_package
for values in "${VALUES_SETS[@]}"; do
  check "checkov-rendered-$values" check_checkov_rendered "$values"
done
check checkov-chart check_checkov_chart
check checkov-dockerfiles check_checkov_dockerfiles

# ---------------------------------------------------------------------------------------------------------------
# Cluster checks.

log "starting a control plane (scripts/control-plane.sh start)"
"$ROOT/scripts/control-plane.sh" start "$CONTROL_PLANE_DIR" >"$WORK/logs/control-plane-start.log" 2>&1 \
  || { tail -n 30 "$WORK/logs/control-plane-start.log" >&2; die "the control plane did not start"; }
export KUBECONFIG="$CONTROL_PLANE_DIR/kubeconfig"
kubectl() { "$KUBECTL" "$@"; }
kubectl create namespace "$NAMESPACE" >/dev/null
# The production values render ServiceMonitors; a stand-in CRD lets the API server validate everything else.
kubectl apply -f "$ROOT/helm/test-fixtures/servicemonitor-crd.yaml" >/dev/null
poll "the ServiceMonitor stand-in CRD" kubectl get --raw /apis/monitoring.coreos.com/v1 >/dev/null \
  || die "the ServiceMonitor stand-in CRD was not served"

check_dry_run() {
  kubectl apply --server-side --dry-run=server --field-manager=helm-test -f "$WORK/rendered-$1.yaml"
}

check_install() {
  "$HELM" install "$RELEASE" "$CHART" --namespace "$NAMESPACE" --wait --timeout "${WAIT_SECONDS}s"
  kubectl -n "$NAMESPACE" rollout status "deployment/$RELEASE-operator" --timeout=10s
  [[ "$(kubectl -n "$NAMESPACE" get deployment "$RELEASE-operator" -o jsonpath='{.status.readyReplicas}')" == 2 ]]
  kubectl -n "$NAMESPACE" rollout status "deployment/$RELEASE-api" --timeout=10s
  kubectl get crd ticketevents.ticketing.dev -o jsonpath='{.metadata.annotations.helm\.sh/resource-policy}' | grep -qx keep
  kubectl -n "$NAMESPACE" get secret "$RELEASE-config" "$RELEASE-admin" >/dev/null
}

check_examples() {
  poll "the TicketEvent API" kubectl get ticketevents -n "$NAMESPACE"
  kubectl -n "$NAMESPACE" apply -f "$CHART/examples/"
  [[ "$(kubectl -n "$NAMESPACE" get ticketevents -o name | wc -l)" -eq "$(ls "$CHART"/examples/*.yaml | wc -l)" ]]
}

# Prints the arguments of the first container of the $2 named $3 exactly as the chart renders it in file $1, one a
# line.
rendered_args() {
  "$PYTHON" - "$@" <<'PY'
import sys, yaml
path, kind, name = sys.argv[1:]
for doc in yaml.safe_load_all(open(path)):
    if doc and doc["kind"] == kind and doc["metadata"]["name"] == name:
        for arg in doc["spec"]["template"]["spec"]["containers"][0]["args"]:
            print(arg)
PY
}

# Writes to $2 a kubeconfig that authenticates as the release's ServiceAccount $1, through a TokenRequest.
write_kubeconfig_for() {
  local account="$1" path="$2" server ca token
  server="$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}')"
  ca="$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')"
  token="$(kubectl -n "$NAMESPACE" create token "$account" --duration=1h)"
  (
    umask 077
    cat >"$path" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $server
    certificate-authority: $ca
users:
- name: $account
  user:
    token: $token
contexts:
- name: $account
  context:
    cluster: test
    user: $account
    namespace: $NAMESPACE
current-context: $account
KUBECONFIG
  )
  KUBECONFIG="$path" "$KUBECTL" auth whoami -o jsonpath='{.status.userInfo.username}' \
    | grep -qx "system:serviceaccount:$NAMESPACE:$account"
}

# Starts the real service on a free loopback port with the chart's admin token and JWT key and its embedded
# database; writes its URL to $WORK/service-url. It gets SIGTERM when the calling check's shell exits.
start_local_service() {
  local line deadline=$((SECONDS + WAIT_SECONDS))
  # A service of an earlier check wrote the same file; its address must not be read for this one's.
  rm -f "$WORK/service.out"
  kubectl -n "$NAMESPACE" get secret "$RELEASE-admin" -o jsonpath='{.data.admin-token}' | base64 -d \
    >"$WORK/admin-token"
  TICKETING_JWT_SECRET="$(kubectl -n "$NAMESPACE" get secret "$RELEASE-config" \
    -o jsonpath='{.data.TICKETING_JWT_SECRET}' | base64 -d)" \
    setpriv --pdeathsig TERM -- env -u DATABASE_URL -u REDIS_URL "$SERVICE_BIN" serve --bind 127.0.0.1:0 --data-dir "$WORK/service-data" \
    --admin-token-file "$WORK/admin-token" >"$WORK/service.out" 2>"$WORK/logs/service.log" </dev/null &
  echo $! >"$WORK/pids/service"
  until line="$(grep -m1 -o 'listening on http://[0-9.:]*' "$WORK/service.out")"; do
    (( SECONDS < deadline )) && kill -0 "$(cat "$WORK/pids/service")" || { cat "$WORK/logs/service.log"; return 1; }
    sleep 0.2
  done
  echo "${line#listening on }" >"$WORK/service-url"
}

# Succeeds once the operator has finished a reconcile of TicketEvent $1 (in namespace $2, the release's by
# default): every kind of child it builds exists and is owned by the event, and the event's status reports a phase
# for its current generation.
event_reconciled() {
  local namespace="${2:-$NAMESPACE}" kinds="configmaps,deployments,services,horizontalpodautoscalers,poddisruptionbudgets,ingresses"
  kubectl -n "$namespace" get "$kinds" -o json >"$WORK/children.json"
  kubectl -n "$namespace" get ticketevent "$1" -o json >"$WORK/event.json"
  "$PYTHON" - "$1" "$WORK/children.json" "$WORK/event.json" <<'PY'
import json, sys
name, children, event = sys.argv[1], json.load(open(sys.argv[2]))["items"], json.load(open(sys.argv[3]))
owned = {c["kind"] for c in children
         if any(r["kind"] == "TicketEvent" and r["name"] == name for r in c["metadata"].get("ownerReferences", []))}
wanted = {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress"}
status = event.get("status", {})
print(f"owned children: {sorted(owned)}; phase {status.get('phase')}; observed generation "
      f"{status.get('observedGeneration')} of {event['metadata']['generation']}")
done = (owned == wanted and status.get("phase") not in (None, "", "Pending", "Failed")
        and status.get("observedGeneration") == event["metadata"]["generation"])
sys.exit(0 if done else 1)
PY
}

# Starts the real service and the real operator locally, the operator as the release's ServiceAccount and with the
# arguments the chart renders in file $1 for its Deployment, the in-cluster addresses and paths replaced by local
# ones. Both get SIGTERM when the calling check's shell exits.
start_local_operator() {
  local rendering="$1" api_url metrics_port arg args=()
  write_kubeconfig_for "$RELEASE-operator" "$WORK/operator-kubeconfig"
  start_local_service
  api_url="$(cat "$WORK/service-url")"
  metrics_port="$(comm -23 <(seq 20000 32000 | sort) <(ss -Htln | awk '{n=split($4,a,":"); print a[n]}' | sort -u) \
    | shuf -n1)"
  while IFS= read -r arg; do
    case "$arg" in
      --api-url=*) args+=("--api-url=$api_url") ;;
      --admin-token-file=*) args+=("--admin-token-file=$WORK/admin-token") ;;
      --metrics-bind=*) args+=("--metrics-bind=127.0.0.1:$metrics_port") ;;
      *) args+=("$arg") ;;
    esac
  done < <(rendered_args "$rendering" Deployment "$RELEASE-operator")
  echo "running: ticketing-operator ${args[*]}"
  KUBECONFIG="$WORK/operator-kubeconfig" POD_NAME=test-helm-operator POD_NAMESPACE="$NAMESPACE" \
    setpriv --pdeathsig TERM -- "$OPERATOR_BIN" "${args[@]}" >>"$WORK/logs/operator.log" 2>&1 </dev/null &
  echo $! >"$WORK/pids/operator"
}

# Waits until the local operator has reconciled TicketEvent $1 in namespace $2, showing its log otherwise.
wait_reconciled() {
  if ! poll "the operator to reconcile $1 in ${2:-$NAMESPACE}" event_reconciled "$@"; then
    event_reconciled "$@" || true
    tail -n 40 "$WORK/logs/operator.log"
    return 1
  fi
  event_reconciled "$@"
}

# Stops the local operator and service.
stop_local_operator() {
  local pid
  if grep -i forbidden "$WORK/logs/operator.log"; then
    echo "the operator was refused something by the API server"
    return 1
  fi
  for pid in "$(cat "$WORK/pids/operator")" "$(cat "$WORK/pids/service")"; do
    kill -TERM "$pid"
    wait "$pid" || true
  done
  rm -f "$WORK/pids/operator" "$WORK/pids/service"
}

# Whether the release's operator ServiceAccount may do $1 (a verb and a resource, then kubectl flags).
operator_can() {
  kubectl auth can-i "$@" --as="system:serviceaccount:$NAMESPACE:$RELEASE-operator"
}

# Succeeds once TicketEvent $1 reports a name conflict naming $2.
name_conflict_reported() {
  kubectl -n "$NAMESPACE" get ticketevent "$1" \
    -o jsonpath='{.status.conditions[?(@.type=="Degraded")].reason} {.status.conditions[?(@.type=="Degraded")].message}' \
    | tee /dev/stderr | grep -q "^NameConflict .*$2"
}

# The one-namespace mode (the default): the operator reconciles with the chart's Role, can do nothing outside the
# release namespace, and leaves the chart's own API Service alone when a TicketEvent is named like it.
check_operator_with_chart_rbac() {
  start_local_operator "$WORK/rendered-default.yaml"
  wait_reconciled "$PROBE_EVENT"
  [[ "$(operator_can list ticketevents.ticketing.dev -n "$NAMESPACE")" == yes ]]
  [[ "$(operator_can list ticketevents.ticketing.dev --all-namespaces)" == no ]] \
    || { echo "the one-namespace mode grants TicketEvents in every namespace"; return 1; }
  [[ "$(operator_can patch services -n default)" == no ]] \
    || { echo "the one-namespace mode grants Services outside the release namespace"; return 1; }
  local service="$RELEASE-api" before
  before="$(kubectl -n "$NAMESPACE" get service "$service" -o jsonpath='{.metadata.uid} {.metadata.resourceVersion}')"
  sed "s/name: $PROBE_EVENT/name: $service/" "$CHART/examples/ticketevent-basic.yaml" | kubectl -n "$NAMESPACE" apply -f -
  poll "a name conflict with the chart's Service" name_conflict_reported "$service" "Service $NAMESPACE/$service"
  kubectl -n "$NAMESPACE" delete ticketevent "$service" --wait --timeout=60s
  [[ "$(kubectl -n "$NAMESPACE" get service "$service" -o jsonpath='{.metadata.uid} {.metadata.resourceVersion}')" == "$before" ]] \
    || { echo "the chart's Service $service was changed or replaced"; return 1; }
  [[ -z "$(kubectl -n "$NAMESPACE" get service "$service" -o jsonpath='{.metadata.ownerReferences}')" ]] \
    || { echo "the chart's Service $service got an owner"; return 1; }
  stop_local_operator
}

# An upgrade keeps the generated admin token and JWT key (the templates look the live Secrets up), so it neither
# locks the operator out nor invalidates buyers' tokens.
check_upgrade_keeps_generated_secrets() {
  local before after
  secrets() {
    kubectl -n "$NAMESPACE" get secret "$RELEASE-admin" -o jsonpath='{.data.admin-token}'
    kubectl -n "$NAMESPACE" get secret "$RELEASE-config" -o jsonpath='{.data.TICKETING_JWT_SECRET}'
  }
  before="$(secrets)"
  "$HELM" upgrade "$RELEASE" "$CHART" --namespace "$NAMESPACE" --wait --timeout "${WAIT_SECONDS}s" \
    --set api.logLevel=debug
  [[ "$("$HELM" status "$RELEASE" --namespace "$NAMESPACE" -o json | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["version"])')" == 2 ]]
  after="$(secrets)"
  [[ -n "$before" && "$before" == "$after" ]] || { echo "the upgrade changed the generated secrets"; return 1; }
}

# The cluster mode, installed again over the kept CRD and TicketEvents: the operator, with the chart's ClusterRole,
# takes the kept events back and reconciles one in another namespace (which has the configuration Secret it needs).
check_cluster_mode_reconciles_every_namespace() {
  "$HELM" install "$RELEASE" "$CHART" --namespace "$NAMESPACE" "${CLUSTER_MODE[@]}" --wait --timeout "${WAIT_SECONDS}s"
  "$HELM" template "$RELEASE" "$CHART" --namespace "$NAMESPACE" "${CLUSTER_MODE[@]}" >"$WORK/rendered-cluster-mode.yaml"
  kubectl get clusterrolebinding "$RELEASE-operator" >/dev/null
  kubectl create namespace "$TENANT_NAMESPACE"
  kubectl -n "$NAMESPACE" get secret "$RELEASE-config" -o json | "$PYTHON" -c '
import json, sys
secret = json.load(sys.stdin)
secret["metadata"] = {"name": secret["metadata"]["name"]}
print(json.dumps(secret))' | kubectl -n "$TENANT_NAMESPACE" apply -f -
  kubectl -n "$TENANT_NAMESPACE" apply -f "$CHART/examples/ticketevent-basic.yaml"
  start_local_operator "$WORK/rendered-cluster-mode.yaml"
  wait_reconciled "$PROBE_EVENT" "$TENANT_NAMESPACE"
  wait_reconciled "$PROBE_EVENT" "$NAMESPACE"
  [[ "$(operator_can list ticketevents.ticketing.dev --all-namespaces)" == yes ]]
  stop_local_operator
}

# Succeeds once the TicketEvent CRD is gone.
crd_gone() {
  ! kubectl get crd ticketevents.ticketing.dev
}

# With crds.keep=false: the pre-delete hook's command, run as the hook's ServiceAccount while the operator runs,
# deletes every TicketEvent in every namespace after the operator closed their sales; `helm uninstall` then removes
# the CRD, which no finalizer holds back. (kwok would only mark the hook's pod complete, so its command runs here.)
check_uninstall_hook_deletes_events_first() {
  local args=()
  start_local_operator "$WORK/rendered-cluster-mode.yaml"
  wait_reconciled "$PROBE_EVENT" "$TENANT_NAMESPACE"
  write_kubeconfig_for "$RELEASE-uninstall" "$WORK/uninstall-kubeconfig"
  mapfile -t args < <(rendered_args "$WORK/rendered-cluster-mode.yaml" Job "$RELEASE-uninstall")
  [[ "${args[0]:-}" == delete-events ]] || { echo "no pre-delete hook rendered: ${args[*]}"; return 1; }
  echo "running: ticketing-operator ${args[*]}"
  KUBECONFIG="$WORK/uninstall-kubeconfig" "$OPERATOR_BIN" "${args[@]}"
  [[ -z "$(kubectl get ticketevents --all-namespaces -o name)" ]]
  curl -fsS -H "Authorization: Bearer $(cat "$WORK/admin-token")" "$(cat "$WORK/service-url")/api/events" \
    | "$PYTHON" -c '
import json, sys
events = json.load(sys.stdin)["data"]
open_sales = [e["eventName"] for e in events if e["status"] != "CLOSED"]
print(f"{len(events)} events in the service, still open: {open_sales}")
sys.exit(1 if open_sales or not events else 0)'
  stop_local_operator
  "$HELM" uninstall "$RELEASE" --namespace "$NAMESPACE" --wait --timeout "${WAIT_SECONDS}s"
  poll "the CRD to be deleted" crd_gone
}

check_uninstall_keeps_events() {
  local before
  before="$(kubectl -n "$NAMESPACE" get ticketevents -o name | sort)"
  [[ -n "$before" ]]
  "$HELM" uninstall "$RELEASE" --namespace "$NAMESPACE" --wait --timeout "${WAIT_SECONDS}s"
  kubectl get crd ticketevents.ticketing.dev
  [[ "$(kubectl -n "$NAMESPACE" get ticketevents -o name | sort)" == "$before" ]]
  if kubectl -n "$NAMESPACE" get deployment "$RELEASE-operator" 2>/dev/null; then
    echo "the operator Deployment outlived the release"
    return 1
  fi
}

log "cluster checks"
for values in "${VALUES_SETS[@]}"; do
  check "dry-run-$values" check_dry_run "$values"
done
check helm-install check_install
check examples-applied check_examples
check operator-with-chart-rbac check_operator_with_chart_rbac
check upgrade-keeps-generated-secrets check_upgrade_keeps_generated_secrets
check uninstall-keeps-events check_uninstall_keeps_events
CLUSTER_MODE=(--set operator.scope=cluster --set crds.keep=false)
check cluster-mode-reconciles-every-namespace check_cluster_mode_reconciles_every_namespace
check uninstall-hook-deletes-events-first check_uninstall_hook_deletes_events_first

echo "helm checks: $PASSED passed, $FAILED failed"
(( FAILED == 0 ))
