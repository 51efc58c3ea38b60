#!/usr/bin/env bash
# controlplane.sh: build the real control plane used by the integration tests
# (kube-apiserver, kube-controller-manager, etcd) from Go modules, once, into a
# cache outside the checkout, and stage the CRDs the tests install.
#
#   hack/controlplane.sh          build what is missing, print the asset dir
#   MLSCALE_SKIP_INTEGRATION=1    skip: build nothing, exit 0
#   MLSCALE_SKIP_CLUSTER_TESTS=1  the same (the name issue 6 uses)
#   MLSCALE_K8S_ASSETS=<dir>      use <dir> instead of the default cache path
#   MLSCALE_KEDA_ASSETS=<dir>     the same for the KEDA operator's and metrics
#                                 server's directory
#   MLSCALE_BUILD_NICE=<n>        nice level of the builds (default 10)
#
# Default asset dirs: ${XDG_CACHE_HOME:-$HOME/.cache}/mlscale/k8s-<version>
# and .../mlscale/keda-<version>/{keda-operator,keda-adapter} (internal/testenv
# computes the same paths; KEDA has its own directory so that a Kubernetes bump
# does not rebuild it, nor a KEDA bump the control plane). A fresh clone on
# the same machine reuses them. Each binary has a stamp (<bin>.stamp) recording the module
# version, the Go version and a hash of the tools module's go.mod/go.sum; a
# binary is rebuilt only when it or its stamp is missing or the stamp differs.
#
# Versions come from the tools modules, the single source of truth:
#   hack/k8sbin/go.mod       k8s.io/kubernetes (+ 33 staging replaces)
#   hack/k8sbin/etcd/go.mod  go.etcd.io/etcd/server/v3
#   hack/kedabin/go.mod      github.com/kedacore/keda/v2 (cmd/operator and
#                            cmd/adapter, the metrics server; KEDA's
#                            k8s v0.35 pins copied from its go.mod)
# CRDs: github.com/kedacore/keda/v2 (the version in the main go.mod when it has
# one, else $KEDA_VERSION) and github.com/prometheus-operator/prometheus-operator
# ($PROMETHEUS_OPERATOR_VERSION), fetched with `go mod download` (Go proxy).
set -euo pipefail

for _skip in MLSCALE_SKIP_INTEGRATION MLSCALE_SKIP_CLUSTER_TESTS; do
	if [[ "${!_skip:-}" == "1" ]]; then
		echo "controlplane: $_skip=1: integration (cluster) tests are skipped; not building the control plane"
		exit 0
	fi
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K8SBIN="$ROOT/hack/k8sbin"
ETCDBIN="$ROOT/hack/k8sbin/etcd"
KEDABIN="$ROOT/hack/kedabin"
KEDA_VERSION_DEFAULT=v2.20.2
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}

# Builds run with the local toolchain, against the committed go.mod/go.sum of
# the tools modules (readonly: a stale go.sum is an error, not a silent edit),
# niced so they do not starve other work on small machines.
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export GOWORK=off
NICE=(nice -n "${MLSCALE_BUILD_NICE:-10}")

log() { printf 'controlplane: %s\n' "$*"; }
now() { date +%s; }
elapsed() { local s=$(($(now) - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
modversion() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }
modhash() { cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -c1-16; }

T0=$(now)
K8S_VERSION=$(modversion "$K8SBIN" k8s.io/kubernetes)
ETCD_VERSION=$(modversion "$ETCDBIN" go.etcd.io/etcd/server/v3)
KEDA_OPERATOR_VERSION=$(modversion "$KEDABIN" github.com/kedacore/keda/v2)
GO_VERSION=$(go env GOVERSION)
if [[ ! "$K8S_VERSION" =~ ^v1\.([0-9]+)\.[0-9]+$ ]]; then
	log "unexpected k8s.io/kubernetes version '$K8S_VERSION' in hack/k8sbin/go.mod" >&2
	exit 1
fi
K8S_MINOR=${BASH_REMATCH[1]}

CACHE_BASE=${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}
ASSETS=${MLSCALE_K8S_ASSETS:-$CACHE_BASE/mlscale/k8s-$K8S_VERSION}
KEDA_ASSETS=${MLSCALE_KEDA_ASSETS:-$CACHE_BASE/mlscale/keda-$KEDA_OPERATOR_VERSION}
mkdir -p "$ASSETS" "$KEDA_ASSETS"
log "asset dir $ASSETS (kubernetes $K8S_VERSION, etcd $ETCD_VERSION, $GO_VERSION)"
log "asset dir $KEDA_ASSETS (keda operator and metrics server $KEDA_OPERATOR_VERSION)"

# Serialise concurrent runs (two clones running `make test` at once) so the
# ~3 GB links never run in parallel and no one sees a half-written binary.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$ASSETS/.lock"
	if ! flock -n 9; then
		log "another controlplane.sh holds $ASSETS/.lock; waiting"
		flock 9
	fi
fi

K8S_LDFLAGS="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$K8S_MINOR"

# build NAME MODULE_DIR PACKAGE STAMP LDFLAGS [DEST_DIR [CGO_ENABLED]]
build() {
	local name=$1 dir=$2 pkg=$3 stamp=$4 ldflags=$5 dest=${6:-$ASSETS} cgo=${7:-$(go env CGO_ENABLED)}
	local bin="$dest/$name"
	if [[ -x "$bin" && -f "$bin.stamp" && "$(cat "$bin.stamp")" == "$stamp" ]]; then
		log "$name: up to date ($stamp)"
		return
	fi
	if [[ -e "$bin" ]]; then
		log "$name: stamp missing or different (want '$stamp'); rebuilding"
	fi
	log "$name: building $pkg (first build takes minutes)"
	local t tmp
	t=$(now)
	tmp="$bin.tmp.$$"
	rm -f "$bin.stamp"
	if ! (cd "$dir" && CGO_ENABLED=$cgo "${NICE[@]}" go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
		rm -f "$tmp"
		log "$name: build FAILED after $(elapsed "$t")" >&2
		exit 1
	fi
	mv -f "$tmp" "$bin"
	printf '%s\n' "$stamp" >"$bin.stamp"
	log "$name: built in $(elapsed "$t") ($(du -h "$bin" | cut -f1))"
}

# One after another, never in parallel: peak link memory is about 3 GB each.
build kube-apiserver "$K8SBIN" k8s.io/kubernetes/cmd/kube-apiserver \
	"k8s.io/kubernetes $K8S_VERSION $GO_VERSION $(modhash "$K8SBIN")" "$K8S_LDFLAGS"
build kube-controller-manager "$K8SBIN" k8s.io/kubernetes/cmd/kube-controller-manager \
	"k8s.io/kubernetes $K8S_VERSION $GO_VERSION $(modhash "$K8SBIN")" "$K8S_LDFLAGS"
build etcd "$ETCDBIN" go.etcd.io/etcd/server/v3 \
	"go.etcd.io/etcd/server/v3 $ETCD_VERSION $GO_VERSION $(modhash "$ETCDBIN")" "-s -w"
# The KEDA operator, as KEDA releases it: CGO_ENABLED=0 (its Makefile's
# default), version stamped without the v (its release workflow). About 11
# minutes cold on 2 cores, 2.3 GB peak.
KEDA_STAMP="github.com/kedacore/keda/v2 $KEDA_OPERATOR_VERSION $GO_VERSION $(modhash "$KEDABIN")"
KEDA_LDFLAGS="-s -w -X github.com/kedacore/keda/v2/version.Version=${KEDA_OPERATOR_VERSION#v}"
build keda-operator "$KEDABIN" github.com/kedacore/keda/v2/cmd/operator "$KEDA_STAMP" "$KEDA_LDFLAGS" "$KEDA_ASSETS" 0
# KEDA's metrics server (keda-operator-metrics-apiserver; KEDA's cmd/adapter,
# released as keda-adapter), the same way. It shares most packages with the
# operator, so after the operator (same build cache) it takes about 2
# minutes on 2 cores.
build keda-adapter "$KEDABIN" github.com/kedacore/keda/v2/cmd/adapter "$KEDA_STAMP" "$KEDA_LDFLAGS" "$KEDA_ASSETS" 0

# CRDs. The KEDA version follows the main module's go.mod when it requires
# github.com/kedacore/keda/v2; `go mod download mod@version` does not edit it.
KEDA_VERSION=${KEDA_VERSION:-$( (cd "$ROOT" && go list -m -f '{{.Version}}' github.com/kedacore/keda/v2 2>/dev/null) || true)}
KEDA_VERSION=${KEDA_VERSION:-$KEDA_VERSION_DEFAULT}
if [[ "$KEDA_VERSION" != "$KEDA_OPERATOR_VERSION" ]]; then
	log "WARNING: the KEDA CRDs are $KEDA_VERSION but hack/kedabin/go.mod builds the operator $KEDA_OPERATOR_VERSION; keep them equal" >&2
fi
# Run outside any module so no go.mod/go.sum is touched.
moddir() { (cd / && GOFLAGS= go mod download -json "$1@$2") | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'; }

# stage NAME SRC_DIR STAMP FILE...: copy CRD files into $ASSETS/crds/NAME.
stage() {
	local name=$1 src=$2 stamp=$3
	shift 3
	local dst="$ASSETS/crds/$name"
	if [[ -f "$dst/.stamp" && "$(cat "$dst/.stamp")" == "$stamp" ]]; then
		log "crds/$name: up to date ($stamp)"
		return
	fi
	rm -rf "$dst.tmp.$$"
	mkdir -p "$dst.tmp.$$"
	local f
	for f in "$@"; do
		cp "$src/$f" "$dst.tmp.$$/"
	done
	chmod -R u+w "$dst.tmp.$$"
	printf '%s\n' "$stamp" >"$dst.tmp.$$/.stamp"
	rm -rf "$dst"
	mv "$dst.tmp.$$" "$dst"
	log "crds/$name: staged $# files from $stamp"
}

t=$(now)
if [[ ! -f "$ASSETS/crds/keda/.stamp" || "$(cat "$ASSETS/crds/keda/.stamp")" != "github.com/kedacore/keda/v2 $KEDA_VERSION" ]]; then
	dir=$(moddir github.com/kedacore/keda/v2 "$KEDA_VERSION")
	[[ -n "$dir" ]] || { log "cannot download github.com/kedacore/keda/v2@$KEDA_VERSION" >&2; exit 1; }
	stage keda "$dir/config/crd/bases" "github.com/kedacore/keda/v2 $KEDA_VERSION" \
		keda.sh_scaledobjects.yaml keda.sh_scaledjobs.yaml \
		keda.sh_triggerauthentications.yaml keda.sh_clustertriggerauthentications.yaml
else
	log "crds/keda: up to date (github.com/kedacore/keda/v2 $KEDA_VERSION)"
fi
# The eventing.keda.sh CRDs: not used by the tests, but the KEDA operator
# watches them and does not start without them.
if [[ ! -f "$ASSETS/crds/keda-eventing/.stamp" || "$(cat "$ASSETS/crds/keda-eventing/.stamp")" != "github.com/kedacore/keda/v2 $KEDA_VERSION" ]]; then
	dir=$(moddir github.com/kedacore/keda/v2 "$KEDA_VERSION")
	[[ -n "$dir" ]] || { log "cannot download github.com/kedacore/keda/v2@$KEDA_VERSION" >&2; exit 1; }
	stage keda-eventing "$dir/config/crd/bases" "github.com/kedacore/keda/v2 $KEDA_VERSION" \
		eventing.keda.sh_cloudeventsources.yaml eventing.keda.sh_clustercloudeventsources.yaml
else
	log "crds/keda-eventing: up to date (github.com/kedacore/keda/v2 $KEDA_VERSION)"
fi
if [[ ! -f "$ASSETS/crds/prometheus-operator/.stamp" || "$(cat "$ASSETS/crds/prometheus-operator/.stamp")" != "github.com/prometheus-operator/prometheus-operator $PROMETHEUS_OPERATOR_VERSION" ]]; then
	dir=$(moddir github.com/prometheus-operator/prometheus-operator "$PROMETHEUS_OPERATOR_VERSION")
	[[ -n "$dir" ]] || { log "cannot download github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" >&2; exit 1; }
	stage prometheus-operator "$dir/example/prometheus-operator-crd" \
		"github.com/prometheus-operator/prometheus-operator $PROMETHEUS_OPERATOR_VERSION" \
		monitoring.coreos.com_servicemonitors.yaml
else
	log "crds/prometheus-operator: up to date (github.com/prometheus-operator/prometheus-operator $PROMETHEUS_OPERATOR_VERSION)"
fi

log "crds: done in $(elapsed "$t")"
log "ready in $(elapsed "$T0"): MLSCALE_K8S_ASSETS=$ASSETS MLSCALE_KEDA_ASSETS=$KEDA_ASSETS"
