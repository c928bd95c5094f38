#!/usr/bin/env bash
# Builds the Kubernetes node binaries chaosctl's test node runs (kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet) from k8s.io/kubernetes through
# the Go module proxy, and kube-router from its module. The binaries go to a cache
# outside the repository, so a machine builds them once:
#   ${CHAOSCTL_K8S_CACHE:-$HOME/.cache/chaosctl-k8s}/<version>/bin
# Prints that directory on stdout.
#   build.sh [kubectl]   also builds kubectl (optional: only smoke.sh uses it, and
#                        only when there is no kubectl in PATH)
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
CACHE="${CHAOSCTL_K8S_CACHE:-$HOME/.cache/chaosctl-k8s}"
BIN="$CACHE/$K8S_VERSION/bin"
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
GO="${GO:-go}"

want=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-router)
extra=()
for a in "$@"; do
  case "$a" in
    kubectl) extra+=(kubectl); want+=(kubectl) ;;
    *) echo "k8s-build: unknown argument $a (usage: build.sh [kubectl])" >&2; exit 2 ;;
  esac
done
missing=0
for b in "${want[@]}"; do [[ -x "$BIN/$b" ]] || missing=1; done
if [[ $missing == 0 ]]; then echo "$BIN"; exit 0; fi

mkdir -p "$BIN"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

log() { echo "k8s-build: $*" >&2; }

# k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
# ./staging paths, which a dependent cannot see: point each at its published
# release instead.
"$GO" mod init chaosctl.local/k8sbuild >/dev/null 2>&1
modfile="$("$GO" mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
{
  echo "require k8s.io/kubernetes $K8S_VERSION"
  echo "replace ("
  sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\t\1 => \1 '"$STAGING_VERSION"'#p' "$modfile"
  echo ")"
} >>go.mod
cat >tools.go <<'GO'
//go:build tools

package k8sbuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GO
for x in "${extra[@]}"; do
  sed -i "s#^)\$#\t_ \"k8s.io/kubernetes/cmd/$x\"\n)#" tools.go
done
log "resolving k8s.io/kubernetes $K8S_VERSION (staging modules at $STAGING_VERSION)"
"$GO" mod tidy -e >&2

# The version must be linked in: without it the components report v0.0.0 and
# refuse each other.
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet "${extra[@]}"; do
  if [[ -x "$BIN/$b" ]]; then continue; fi
  log "building $b"
  CGO_ENABLED=0 "$GO" build -trimpath -tags tools -ldflags "$ldflags" -o "$BIN/$b.tmp" "k8s.io/kubernetes/cmd/$b"
  mv "$BIN/$b.tmp" "$BIN/$b"
done

if [[ ! -x "$BIN/kube-router" ]]; then
  log "building kube-router $KUBE_ROUTER_VERSION"
  mkdir -p "$work/kr" && cd "$work/kr"
  GOFLAGS=-mod=mod CGO_ENABLED=0 "$GO" install "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION" >&2 || {
    # go install refuses modules with replace directives: build in a module instead.
    "$GO" mod init chaosctl.local/krbuild >/dev/null 2>&1
    "$GO" get "github.com/cloudnativelabs/kube-router/v2@$KUBE_ROUTER_VERSION" >&2
    CGO_ENABLED=0 "$GO" build -trimpath -ldflags "-s -w" -o "$BIN/kube-router.tmp" github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
    mv "$BIN/kube-router.tmp" "$BIN/kube-router"
  }
  if [[ ! -x "$BIN/kube-router" && -x "$("$GO" env GOPATH)/bin/kube-router" ]]; then
    cp "$("$GO" env GOPATH)/bin/kube-router" "$BIN/kube-router"
  fi
fi
echo "$BIN"
