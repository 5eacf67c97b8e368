# shellcheck shell=bash
# Cluster steps of scripts/control-plane.sh: run etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
# kwok on loopback in a directory of their own, and stop them again. Sourced, not executed.
#
# Layout of a control-plane directory DIR:
#   DIR/kubeconfig   admin kubeconfig (static token in system:masters); written mode 0600
#   DIR/ready        exists once the control plane serves requests and its fake node is Ready
#   DIR/apiserver    `running` or `stopped`: the state of kube-apiserver, which fault tests stop and start again
#   DIR/run.pid      pid of the `run` process that owns every component
#   DIR/logs/        one log per component, and run.log for a background start
#   DIR/pki/         generated credentials and the apiserver's self-signed serving certificate
#   DIR/etcd/        etcd data

# Seconds allowed for each wait of the start-up.
STARTUP_TIMEOUT="${CONTROL_PLANE_STARTUP_TIMEOUT:-120}"
FAKE_NODE=kwok-node-0
# Controllers the tests rely on; the node lifecycle controller is left out and the harness removes the not-ready taint
# of the fake node instead, so no controller ever evicts pods from it.
CONTROLLERS=(
  garbage-collector-controller clusterrole-aggregation-controller namespace-controller serviceaccount-controller
  serviceaccount-token-controller root-ca-certificate-publisher-controller deployment-controller
  replicaset-controller statefulset-controller daemonset-controller job-controller cronjob-controller
  ttl-after-finished-controller horizontal-pod-autoscaler-controller disruption-controller endpoints-controller
  endpointslice-controller endpointslice-mirroring-controller resourcequota-controller
  pod-garbage-collector-controller
)

COMPONENT_PIDS=()
COMPONENT_NAMES=()
# Index of kube-apiserver in COMPONENT_PIDS, its flags (to start it again alike), and whether a request stopped it.
APISERVER_INDEX=""
APISERVER_ARGS=()
APISERVER_STOPPED=0
# What SIGUSR1 (stop kube-apiserver) or SIGUSR2 (start it again) asked of the `run` process; handled in its loop.
REQUEST=""

require_binaries() {
  local name
  for name in setpriv setsid ss curl openssl; do
    command -v "$name" >/dev/null ||
      die "$name is required to run the control plane (Debian packages util-linux, iproute2, curl, openssl)"
  done
  for name in etcd "${KUBE_BINARIES[@]}" kwok; do
    [[ -x "$BIN_DIR/$name" ]] || die "$BIN_DIR/$name is missing: run scripts/control-plane.sh build first"
  done
  [[ -d "$KWOK_STAGES_DIR" ]] || die "$KWOK_STAGES_DIR is missing: run scripts/control-plane.sh build first"
}

# Prints $1 free TCP ports on loopback, one a line. They are drawn below the kernel's ephemeral range (32768+) so that
# outgoing connections do not take them between the choice and the bind.
free_ports() {
  local wanted="$1" listening chosen="" port
  listening="$(ss -Htln | awk '{ n = split($4, a, ":"); print a[n] }')"
  while (( $(wc -w <<<"$chosen") < wanted )); do
    port=$((20000 + RANDOM % 12000))
    grep -qx "$port" <<<"$listening" && continue
    [[ " $chosen " == *" $port "* ]] && continue
    chosen+=" $port"
  done
  tr ' ' '\n' <<<"${chosen# }"
}

# Polls a command until it succeeds, failing after $STARTUP_TIMEOUT seconds.
wait_for() {
  local what="$1" deadline=$((SECONDS + STARTUP_TIMEOUT))
  shift
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
      die "timed out after ${STARTUP_TIMEOUT} s waiting for $what"
    fi
    check_components
    sleep 0.2
  done
}

# Starts a component in the background; it gets SIGKILL if this script dies, so no component outlives its owner.
start_component() {
  local name="$1"
  shift
  setpriv --pdeathsig KILL -- "$BIN_DIR/$name" "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null &
  COMPONENT_PIDS+=("$!")
  COMPONENT_NAMES+=("$name")
}

# Fails when a component has exited, showing the end of its log; a kube-apiserver stopped on request is not checked.
check_components() {
  local i
  for i in "${!COMPONENT_PIDS[@]}"; do
    if [[ "$i" == "$APISERVER_INDEX" ]] && (( APISERVER_STOPPED )); then continue; fi
    if ! kill -0 "${COMPONENT_PIDS[$i]}" 2>/dev/null; then
      log "${COMPONENT_NAMES[$i]} exited; last lines of $DIR/logs/${COMPONENT_NAMES[$i]}.log:"
      tail -n 20 "$DIR/logs/${COMPONENT_NAMES[$i]}.log" >&2 || true
      die "${COMPONENT_NAMES[$i]} exited"
    fi
  done
}

# Stops the components (SIGTERM, then SIGKILL after a grace period): first everything that uses etcd, then etcd
# (started first), so the apiserver does not wait on a storage that is already gone.
stop_components() {
  rm -f "$DIR/ready"
  if (( ${#COMPONENT_PIDS[@]} > 1 )); then terminate "${COMPONENT_PIDS[@]:1}"; fi
  if (( ${#COMPONENT_PIDS[@]} > 0 )); then terminate "${COMPONENT_PIDS[0]}"; fi
  COMPONENT_PIDS=()
}

terminate() {
  local pid deadline=$((SECONDS + 10))
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

generate_credentials() {
  local token
  (
    umask 077
    token="$(openssl rand -hex 32)"
    printf '%s,admin,admin,system:masters\n' "$token" >"$DIR/pki/tokens.csv"
    printf '%s' "$token" >"$DIR/pki/admin-token"
    openssl genrsa -out "$DIR/pki/service-account.key" 2048 2>/dev/null
  )
}

write_kubeconfig() {
  local server="$1"
  (
    umask 077
    cat >"$DIR/kubeconfig.tmp" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: ticketing-test
  cluster:
    server: $server
    certificate-authority: $DIR/pki/apiserver.crt
users:
- name: admin
  user:
    token: $(cat "$DIR/pki/admin-token")
contexts:
- name: ticketing-test
  context:
    cluster: ticketing-test
    user: admin
    namespace: default
current-context: ticketing-test
KUBECONFIG
    mv "$DIR/kubeconfig.tmp" "$DIR/kubeconfig"
  )
}

kubectl_admin() {
  "$BIN_DIR/kubectl" --kubeconfig="$DIR/kubeconfig" "$@"
}

create_fake_node() {
  kubectl_admin apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: $FAKE_NODE
  annotations:
    node.alpha.kubernetes.io/ttl: "0"
    kwok.x-k8s.io/node: fake
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $FAKE_NODE
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
NODE
  # The TaintNodesByCondition admission plugin adds the not-ready taint; without the node lifecycle controller
  # nothing would remove it, so the harness does.
  wait_for "the not-ready taint on $FAKE_NODE to be removed" \
    kubectl_admin taint node "$FAKE_NODE" node.kubernetes.io/not-ready:NoSchedule-
}

node_is_ready() {
  [[ "$(kubectl_admin get node "$FAKE_NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}

# Starts every component and returns once the control plane is usable.
start_cluster() {
  local ports etcd_port etcd_peer_port apiserver_port stage stages=()
  mapfile -t ports < <(free_ports 3)
  etcd_port="${ports[0]}" etcd_peer_port="${ports[1]}" apiserver_port="${ports[2]}"
  mkdir -p "$DIR/logs" "$DIR/pki" "$DIR/etcd"
  generate_credentials

  log "starting etcd on 127.0.0.1:$etcd_port"
  start_component etcd --name=ticketing-test --data-dir="$DIR/etcd" --unsafe-no-fsync --log-level=warn \
    --listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
    --listen-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster="ticketing-test=http://127.0.0.1:$etcd_peer_port"
  wait_for "etcd health" curl -sf "http://127.0.0.1:$etcd_port/health"

  log "starting kube-apiserver on https://127.0.0.1:$apiserver_port"
  APISERVER_ARGS=(--etcd-servers="http://127.0.0.1:$etcd_port" --cert-dir="$DIR/pki"
    --secure-port="$apiserver_port" --bind-address=127.0.0.1 --advertise-address=127.0.0.1
    --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true --authorization-mode=RBAC
    --token-auth-file="$DIR/pki/tokens.csv" --service-account-issuer=https://kubernetes.default.svc
    --service-account-key-file="$DIR/pki/service-account.key"
    --service-account-signing-key-file="$DIR/pki/service-account.key" --profiling=false)
  APISERVER_INDEX=${#COMPONENT_PIDS[@]}
  start_component kube-apiserver "${APISERVER_ARGS[@]}"
  wait_for "kube-apiserver readiness" curl -sfk "https://127.0.0.1:$apiserver_port/readyz"
  printf 'running\n' >"$DIR/apiserver"
  write_kubeconfig "https://127.0.0.1:$apiserver_port"

  log "starting kube-controller-manager, kube-scheduler and kwok"
  # Client rate limits above the upstream defaults (20 QPS / burst 30 for the controller manager, 50 / 100 for the
  # scheduler): with them, creating the ReplicaSets and pods of hundreds of Deployments at once waited on the
  # built-in controllers' own throttle, and the operator scale run measured that throttle more than the operator
  # (300 TicketEvents: 73.3 s to steady state with the defaults, 34.8 s with these).
  start_component kube-controller-manager --kubeconfig="$DIR/kubeconfig" --leader-elect=false --secure-port=0 \
    --controllers="$(IFS=,; printf '%s' "${CONTROLLERS[*]}")" \
    --service-account-private-key-file="$DIR/pki/service-account.key" --root-ca-file="$DIR/pki/apiserver.crt" \
    --use-service-account-credentials=false --profiling=false --kube-api-qps=200 --kube-api-burst=400
  start_component kube-scheduler --kubeconfig="$DIR/kubeconfig" --leader-elect=false --secure-port=0 \
    --profiling=false --kube-api-qps=200 --kube-api-burst=400
  for stage in "$KWOK_STAGES_DIR"/*.yaml; do stages+=("--config=$stage"); done
  start_component kwok --kubeconfig="$DIR/kubeconfig" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=10.244.0.0/16 --node-ip=127.0.0.1 "${stages[@]}"

  create_fake_node
  wait_for "node $FAKE_NODE to become Ready" node_is_ready
  wait_for "the default service account (kube-controller-manager)" kubectl_admin get serviceaccount default
  touch "$DIR/ready"
}

# Stops kube-apiserver (SIGTERM, then SIGKILL after a grace period) and leaves etcd and the other components running;
# they lose their connections and watches, as in an apiserver restart. Does nothing when it is already stopped.
stop_apiserver() {
  (( APISERVER_STOPPED )) && return 0
  log "stopping kube-apiserver on request"
  APISERVER_STOPPED=1
  terminate "${COMPONENT_PIDS[$APISERVER_INDEX]}"
  printf 'stopped\n' >"$DIR/apiserver"
}

# Starts kube-apiserver again with the same flags (same port, etcd, certificates and tokens) and returns once it is
# ready. Does nothing when it runs.
start_apiserver() {
  (( APISERVER_STOPPED )) || return 0
  log "starting kube-apiserver again on request"
  local logs="$DIR/logs/kube-apiserver.log" port
  [[ -f "$logs" ]] && mv -f "$logs" "$logs.$(date +%s%N)"
  setpriv --pdeathsig KILL -- "$BIN_DIR/kube-apiserver" "${APISERVER_ARGS[@]}" >"$logs" 2>&1 </dev/null &
  COMPONENT_PIDS[APISERVER_INDEX]=$!
  APISERVER_STOPPED=0
  port="$(printf '%s\n' "${APISERVER_ARGS[@]}" | sed -n 's/^--secure-port=//p')"
  wait_for "kube-apiserver readiness after its restart" curl -sfk "https://127.0.0.1:$port/readyz"
  printf 'running\n' >"$DIR/apiserver"
}

# The pids of the components that should be running.
running_pids() {
  local i
  for i in "${!COMPONENT_PIDS[@]}"; do
    if [[ "$i" == "$APISERVER_INDEX" ]] && (( APISERVER_STOPPED )); then continue; fi
    printf '%s\n' "${COMPONENT_PIDS[$i]}"
  done
}

# True when process $1 exists and is not a zombie waiting to be reaped.
is_alive() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$state" != Z* ]]
}

# Fails when DIR holds a control plane whose run process is still alive.
refuse_if_running() {
  if [[ -f "$DIR/run.pid" ]] && is_alive "$(cat "$DIR/run.pid")"; then
    die "$DIR already holds a running control plane: scripts/control-plane.sh stop $DIR"
  fi
}

# `run DIR`: starts the control plane and keeps it running until SIGTERM or SIGINT, or until a component exits.
run_foreground() {
  require_binaries
  mkdir -p "$1"
  DIR="$(cd "$1" && pwd)"
  refuse_if_running
  # Every start is a fresh cluster, even in a directory used before.
  rm -rf "$DIR/ready" "$DIR/apiserver" "$DIR/etcd" "$DIR/pki" "$DIR/kubeconfig"
  printf '%s\n' "$$" >"$DIR/run.pid"
  trap 'stop_components' EXIT
  trap 'exit 0' TERM INT
  trap 'REQUEST=stop-apiserver' USR1
  trap 'REQUEST=start-apiserver' USR2
  start_cluster
  log "control plane ready: kubeconfig $DIR/kubeconfig"
  local request pids
  while :; do
    # A signal that lands between this test and `wait` is only seen at the next wake-up, so the harness repeats its
    # signal until DIR/apiserver shows the state it asked for; both requests are idempotent.
    if [[ -z "$REQUEST" ]]; then
      mapfile -t pids < <(running_pids)
      wait -n "${pids[@]}" || true
    fi
    request="$REQUEST"
    REQUEST=""
    case "$request" in
      stop-apiserver) stop_apiserver ;;
      start-apiserver) start_apiserver ;;
      *) check_components; break ;;
    esac
  done
}

# `start DIR`: runs the control plane in the background, waits until it is ready and prints its kubeconfig.
start_background() {
  require_binaries
  mkdir -p "$1/logs"
  DIR="$(cd "$1" && pwd)"
  local pid deadline=$((SECONDS + 3 * STARTUP_TIMEOUT))
  refuse_if_running
  rm -f "$DIR/ready"
  setsid "$SCRIPT_DIR/control-plane.sh" run "$DIR" >"$DIR/logs/run.log" 2>&1 </dev/null &
  pid=$!
  until [[ -e "$DIR/ready" ]]; do
    if ! kill -0 "$pid" 2>/dev/null || (( SECONDS >= deadline )); then
      tail -n 30 "$DIR/logs/run.log" >&2 || true
      kill -TERM "$pid" 2>/dev/null || true
      die "the control plane in $DIR did not start"
    fi
    sleep 0.2
  done
  log "control plane running; stop it with: scripts/control-plane.sh stop $DIR"
  cat "$DIR/kubeconfig"
}

# `stop DIR`: stops the control plane of DIR and waits until its processes are gone.
stop_background() {
  local pid deadline=$((SECONDS + 30))
  [[ -f "$1/run.pid" ]] || die "no control plane was started in $1"
  pid="$(cat "$1/run.pid")"
  if kill -TERM "$pid" 2>/dev/null; then
    while is_alive "$pid"; do
      (( SECONDS < deadline )) || die "the control plane (pid $pid) did not stop within 30 s"
      sleep 0.1
    done
  fi
  rm -f "$1/run.pid" "$1/ready"
  log "control plane in $1 stopped"
}
