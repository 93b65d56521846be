#!/usr/bin/env bash
# Builds the real test tools (helm, kube-apiserver, etcd) from their Go modules through the
# module proxy, once, into .tools/bin/. A machine-wide cache (~/.cache/chartsync/tools) keeps
# the binaries across fresh clones on the same machine, so CI does not rebuild them.
# Usage: scripts/tools.sh [helm|helm4|etcd|kube-apiserver|registry|kube-node|coredns|node|all]...
#   kube-node: kubelet, kube-controller-manager, kube-scheduler, kube-proxy, kubectl (+ kube-apiserver)
#   node: kube-node + coredns (the real single-node Kubernetes of test/node)
set -euo pipefail

HELM_VERSION=${HELM_VERSION:-v3.22.0}
HELM4_VERSION=${HELM4_VERSION:-v4.3.1}
ETCD_VERSION=${ETCD_VERSION:-v3.6.8}
KUBE_VERSION=${KUBE_VERSION:-v1.36.3}
REGISTRY_VERSION=${REGISTRY_VERSION:-v3.1.2}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}

root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
cache="${CHARTSYNC_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chartsync/tools}"
mkdir -p "$bin" "$cache"

log() { printf '[tools] %s\n' "$*" >&2; }

# install NAME VERSION BUILD_FN: puts $cache/NAME-VERSION in place as .tools/bin/NAME.
install_tool() {
  local name=$1 version=$2 build=$3 cached="$cache/$1-$2"
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/$name" ]; then
    ln -sf "$KUBEBUILDER_ASSETS/$name" "$bin/$name"; return
  fi
  exec 9>"$cache/.$name.lock"; flock 9
  if [ ! -x "$cached" ]; then
    log "building $name $version from its Go module (first time only)"
    local work; work=$(mktemp -d)
    "$build" "$version" "$work"
    mv -f "$work/$name" "$cached.tmp.$$" && mv -f "$cached.tmp.$$" "$cached"
    rm -rf "$work"
  fi
  cp -f "$cached" "$bin/$name.tmp.$$" && mv -f "$bin/$name.tmp.$$" "$bin/$name"
  flock -u 9
}

build_helm() { GOBIN="$2" CGO_ENABLED=0 go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$1" "helm.sh/helm/v3/cmd/helm@$1"; }
build_helm4() { GOBIN="$2" CGO_ENABLED=0 go install -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$1" "helm.sh/helm/v4/cmd/helm@$1" && mv "$2/helm" "$2/helm4"; }
# The CNCF Distribution registry (the OCI registry the oci:// tests push to and pull from).
build_registry() { GOBIN="$2" CGO_ENABLED=0 go install -ldflags "-s -w" "github.com/distribution/distribution/v3/cmd/registry@$1"; }
# Like k8s.io/kubernetes below, etcd's server module replaces its sibling modules with local
# paths, so it is built from a throwaway module that pins them to the same release.
build_etcd() {
  local v=$1 dir=$2
  (
    cd "$dir"
    printf 'module chartsync.local/etcdtool\ngo 1.25\n' > go.mod
    for m in api/v3 client/pkg/v3 client/v3 pkg/v3; do echo "replace go.etcd.io/etcd/$m => go.etcd.io/etcd/$m $v" >> go.mod; done
    echo 'package main; import _ "go.etcd.io/etcd/server/v3/etcdmain"' > tools.go
    GOFLAGS=-mod=mod go get "go.etcd.io/etcd/server/v3@$v" >&2
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -ldflags "-s -w" -o etcd go.etcd.io/etcd/server/v3
  )
}
# k8s.io/kubernetes replaces its staging modules with local paths, so `go install pkg@v` refuses
# it: a throwaway module pins every staging module to the matching published version instead.
# build_kube VERSION DIR NAME...: one `go build` for all the named commands (they share most
# packages, so building them together costs little more than the largest alone).
build_kube() {
  local v=$1 dir=$2 minor=${1#v1.}; shift 2
  (
    cd "$dir"
    cat > go.mod <<MOD
module chartsync.local/kubetools
go 1.25
MOD
    # Pin every staging module that k8s.io/kubernetes replaces locally to its published v0.<minor>.
    local kgomod; kgomod=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#replace \1 => \1 v0.'"$minor"'#p' "$kgomod" >> go.mod
    # The commands' library packages (a main package cannot be imported) pull in their modules.
    { echo 'package main'; for n in "$@"; do
        case $n in kubectl) echo 'import _ "k8s.io/kubectl/pkg/cmd"' ;; *) echo "import _ \"k8s.io/kubernetes/cmd/$n/app\"" ;; esac
      done; } > tools.go
    GOFLAGS=-mod=mod go get "k8s.io/kubernetes@$v" >&2
    local vpkg=k8s.io/component-base/version pkgs=()
    for n in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$n"); done
    mkdir -p out
    GOFLAGS=-mod=mod CGO_ENABLED=0 go build -ldflags "-s -w -X $vpkg.gitVersion=$v -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=${minor%%.*} -X $vpkg.gitTreeState=clean" \
      -o out/ "${pkgs[@]}"
    for n in "$@"; do mv out/"$n" "$n"; done
  )
}
build_kube_apiserver() { build_kube "$1" "$2" kube-apiserver; }

# The node's Kubernetes commands (kubelet, kube-controller-manager, kube-scheduler, kube-proxy,
# kubectl), built together in one `go build` under one lock; kube-apiserver joins that build
# only when it is not cached yet (its cached binary is kept as is).
KUBE_NODE_TOOLS=(kubelet kube-controller-manager kube-scheduler kube-proxy kubectl)
install_kube_node() {
  local v=$KUBE_VERSION missing=() n
  exec 8>"$cache/.kube-node.lock"; flock 8
  exec 9>"$cache/.kube-apiserver.lock"; flock 9
  for n in kube-apiserver "${KUBE_NODE_TOOLS[@]}"; do [ -x "$cache/$n-$v" ] || missing+=("$n"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "building ${missing[*]} $v from the k8s.io/kubernetes Go module (first time only, ~20 min)"
    local work; work=$(mktemp -d)
    build_kube "$v" "$work" "${missing[@]}"
    for n in "${missing[@]}"; do mv -f "$work/$n" "$cache/$n-$v.tmp.$$" && mv -f "$cache/$n-$v.tmp.$$" "$cache/$n-$v"; done
    rm -rf "$work"
  fi
  for n in kube-apiserver "${KUBE_NODE_TOOLS[@]}"; do
    cp -f "$cache/$n-$v" "$bin/$n.tmp.$$" && mv -f "$bin/$n.tmp.$$" "$bin/$n"
  done
  flock -u 9; flock -u 8
}

# CoreDNS has no local replaces: a plain `go install` of the release.
build_coredns() { GOBIN="$2" CGO_ENABLED=0 go install -ldflags "-s -w" "github.com/coredns/coredns@$1"; }

want=("$@"); [ ${#want[@]} -gt 0 ] || want=(all)
for t in "${want[@]}"; do
  case $t in
    helm) install_tool helm "$HELM_VERSION" build_helm ;;
    helm4) install_tool helm4 "$HELM4_VERSION" build_helm4 ;;
    etcd) install_tool etcd "$ETCD_VERSION" build_etcd ;;
    kube-apiserver) install_tool kube-apiserver "$KUBE_VERSION" build_kube_apiserver ;;
    registry) install_tool registry "$REGISTRY_VERSION" build_registry ;;
    kubelet|kube-controller-manager|kube-scheduler|kube-proxy|kubectl|kube-node) install_kube_node ;;
    coredns) install_tool coredns "$COREDNS_VERSION" build_coredns ;;
    node) install_kube_node; install_tool coredns "$COREDNS_VERSION" build_coredns ;;
    all) "$0" helm etcd kube-apiserver registry; "$0" helm4 || log "helm4 did not build; continuing with helm 3 only" ;;
    *) log "unknown tool $t"; exit 2 ;;
  esac
done
