# shellcheck shell=bash
# Build steps of scripts/control-plane.sh: every binary is built from the Go module proxy into $BIN_DIR and
# recorded with a version stamp, so a second run skips what is already there. Sourced, not executed.

# True when $1 is in $BIN_DIR with a stamp recording version $2.
is_built() {
  [[ -x "$BIN_DIR/$1" && "$(cat "$BIN_DIR/.$1.version" 2>/dev/null)" == "$2" ]]
}

# Moves a freshly built binary into $BIN_DIR and stamps it with its version.
install_binary() {
  local built="$1" name="$2" version="$3"
  mv -f "$built" "$BIN_DIR/$name"
  printf '%s\n' "$version" >"$BIN_DIR/.$name.version"
}

# Prints one field (Dir, GoMod, ...) of `go mod download -json` for a module, downloading it if needed.
module_field() {
  local module="$1" field="$2"
  go mod download -json "$module" | sed -n "s/^[[:space:]]*\"$field\": \"\(.*\)\",\{0,1\}$/\1/p"
}

# Runs build step $2 for binary $3 unless version $4 of it is cached.
build_unless_cached() {
  if is_built "$3" "$4"; then log "$1 is cached"; else timed "$1" "$2"; fi
}

# Runs a build step and logs how long it took.
timed() {
  local what="$1" started=$SECONDS
  shift
  log "building $what ..."
  # A failing command ends the script through errexit; say which step it was.
  trap 'log "ERROR: building '"$what"' failed (see the output above)"' EXIT
  "$@"
  trap - EXIT
  log "built $what in $((SECONDS - started)) s"
}

build_etcd() {
  local dir="$BUILD_DIR/etcd"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$SCRIPT_DIR/control-plane/etcd/main.go" "$dir/"
  (
    cd "$dir" || exit
    go mod init ticketing.local/etcd >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    go mod tidy
    go build -trimpath -o "$dir/etcd" .
  )
  install_binary "$dir/etcd" etcd "$ETCD_VERSION"
}

# Prints the -ldflags that stamp the Kubernetes version into component-base and client-go; without them the binaries
# report v0.0.0-master, which kubectl and version checks in clients cannot parse.
kube_version_ldflags() {
  local major minor package flags=""
  major="${KUBE_VERSION#v}"
  major="${major%%.*}"
  minor="${KUBE_VERSION#v"$major".}"
  minor="${minor%%.*}"
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $package.gitVersion=$KUBE_VERSION -X $package.gitMajor=$major -X $package.gitMinor=$minor"
    flags+=" -X $package.gitTreeState=clean -X $package.buildDate=1970-01-01T00:00:00Z"
  done
  printf '%s' "-s -w$flags"
}

# Builds the Kubernetes commands from k8s.io/kubernetes in a wrapper module. That module requires every k8s.io
# staging module at v0.0.0, so the wrapper replaces each of them with the published staging version.
build_kube() {
  local dir="$BUILD_DIR/kubernetes" gomod staging name
  rm -rf "$dir"
  mkdir -p "$dir/out"
  gomod="$(module_field "k8s.io/kubernetes@$KUBE_VERSION" GoMod)"
  [[ -f "$gomod" ]] || die "could not download the go.mod of k8s.io/kubernetes@$KUBE_VERSION"
  (
    cd "$dir" || exit
    go mod init ticketing.local/kubernetes >/dev/null 2>&1
    staging="$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod" | sort -u)"
    [[ -n "$staging" ]] || die "found no v0.0.0 staging requirements in $gomod"
    for name in $staging; do
      go mod edit -replace="$name=$name@$KUBE_STAGING_VERSION"
    done
    go get -tool \
      "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$KUBE_VERSION" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$KUBE_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$KUBE_VERSION"
    go build -trimpath -ldflags "$(kube_version_ldflags)" -o "$dir/out/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  )
  for name in "${KUBE_BINARIES[@]}"; do
    install_binary "$dir/out/$name" "$name" "$KUBE_VERSION"
  done
}

# Installs kwok and copies the stage definitions it needs (fast node and pod lifecycles, node heartbeats) from the
# module source, since kwok ships them as kustomize files rather than in the binary.
build_kwok() {
  local dir="$BUILD_DIR/kwok" source stage
  rm -rf "$dir"
  mkdir -p "$dir/bin" "$dir/stages"
  GOBIN="$dir/bin" go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  source="$(module_field "sigs.k8s.io/kwok@$KWOK_VERSION" Dir)"
  for stage in node/fast node/heartbeat pod/fast; do
    [[ -d "$source/kustomize/stage/$stage" ]] || die "kwok $KWOK_VERSION has no stage directory $stage"
    find "$source/kustomize/stage/$stage" -maxdepth 1 -name '*.yaml' ! -name 'kustomization.yaml' \
      -exec cp {} "$dir/stages/" \;
  done
  rm -rf "$KWOK_STAGES_DIR"
  mv "$dir/stages" "$KWOK_STAGES_DIR"
  chmod -R u+w "$KWOK_STAGES_DIR"
  install_binary "$dir/bin/kwok" kwok "$KWOK_VERSION"
}

build_helm() {
  local dir="$BUILD_DIR/helm"
  rm -rf "$dir"
  mkdir -p "$dir"
  GOBIN="$dir" go install -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
  install_binary "$dir/helm" helm "$HELM_VERSION"
}

build_all() {
  # Go is often installed in /usr/local/go without being on the PATH of a non-login shell.
  if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
  command -v go >/dev/null || die "Go is required to build the control plane (https://go.dev/dl/)"
  mkdir -p "$BIN_DIR"
  # Two builds at once (say, a test run and a human) would share $BUILD_DIR; the second waits for the first.
  exec 9>"$CACHE_ROOT/.build.lock"
  flock -n 9 || { log "waiting for another build of the control plane to finish ..."; flock 9; }
  mkdir -p "$BUILD_DIR"
  local started=$SECONDS name kube_built=true
  build_unless_cached "etcd $ETCD_VERSION" build_etcd etcd "$ETCD_VERSION"
  for name in "${KUBE_BINARIES[@]}"; do is_built "$name" "$KUBE_VERSION" || kube_built=false; done
  if $kube_built; then log "Kubernetes $KUBE_VERSION is cached"; else timed "Kubernetes $KUBE_VERSION" build_kube; fi
  if [[ -d "$KWOK_STAGES_DIR" ]]; then
    build_unless_cached "kwok $KWOK_VERSION" build_kwok kwok "$KWOK_VERSION"
  else
    timed "kwok $KWOK_VERSION" build_kwok
  fi
  build_unless_cached "helm $HELM_VERSION" build_helm helm "$HELM_VERSION"
  rm -rf "$BUILD_DIR"
  log "all binaries are in $BIN_DIR ($((SECONDS - started)) s)"
}
