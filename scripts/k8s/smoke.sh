#!/usr/bin/env bash
# Proves the test node works end to end (needs `up.sh` first; root, for the image
# import):
#   1. loads chaosctl's image (CHAOSCTL_IMAGE_TAR, else builds chaosctl and runs
#      `chaosctl image export`) and starts two pods running `chaosctl proxy`
#      (a toxiproxy API on 8474), timing create -> Running;
#   2. curls both pod IPs from the host;
#   3. creates a toxiproxy proxy in pod A (listen :9000, upstream pod B:8474) and
#      curls B's /version through it: real pod-to-pod traffic;
#   4. applies a NetworkPolicy denying all ingress and egress of pod B and times
#      until A -> B is blocked, then deletes it and times until traffic flows.
# Uses kubectl ($KUBECTL; else $K8S_BIN/kubectl from `build.sh kubectl`; else PATH)
# with the admin kubeconfig.
#   smoke.sh [--keep]   (--keep leaves namespace chaosctl-smoke and its pods)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

keep=0
[[ "${1:-}" == --keep ]] && keep=1
require_root
# kubectl: $KUBECTL, else the version-matched one `build.sh kubectl` makes, else PATH.
if [[ -z "${KUBECTL:-}" ]]; then
  KUBECTL=kubectl
  [[ -x "$K8S_BIN/kubectl" ]] && KUBECTL="$K8S_BIN/kubectl"
fi
command -v "$KUBECTL" >/dev/null || die "kubectl not found: run scripts/k8s/build.sh kubectl, or set KUBECTL=/path/to/kubectl"
export KUBECONFIG="$ADMIN_KUBECONFIG"
k() { "$KUBECTL" "$@"; }
NS=chaosctl-smoke
REPO="$(cd "$K8S_SCRIPTS/../.." && pwd)"
fail() { echo "chaosctl-k8s smoke: FAIL: $*" >&2; k -n "$NS" get pods -o wide >&2 2>&1 || true; exit 1; }

k get node "$NODE_NAME" >/dev/null || fail "node $NODE_NAME not reachable with $KUBECONFIG: run scripts/k8s/up.sh"

# --- image ---------------------------------------------------------------------------
tar="${CHAOSCTL_IMAGE_TAR:-}"
if [[ -z "$tar" ]]; then
  mkdir -p /tmp/k8snode-bin
  log "building chaosctl and exporting its image"
  (cd "$REPO" && CGO_ENABLED=0 go build -o /tmp/k8snode-bin/chaosctl ./cmd/chaosctl) || fail "go build ./cmd/chaosctl"
  tar=/tmp/k8snode-chaosctl.tar
  /tmp/k8snode-bin/chaosctl image export "$tar" >&2 || fail "chaosctl image export"
fi
image="$(tar -xOf "$tar" manifest.json 2>/dev/null | jq -r '.[0].RepoTags[0] // empty' || true)"
loaded="$("$K8S_SCRIPTS/load-image.sh" "$tar")" || fail "load-image.sh $tar"
image="${image:-$(head -n1 <<<"$loaded")}"
log "image $image"

# --- pods --------------------------------------------------------------------------------
k delete namespace "$NS" --ignore-not-found --wait=true --timeout=120s >/dev/null
k create namespace "$NS" >/dev/null
pod() {
  cat <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: smoke-$1
  namespace: $NS
  labels: {app: chaosctl-smoke, role: "$1"}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: proxy
    image: $image
    imagePullPolicy: Never
    command: ["/chaosctl", "proxy", "--listen", "0.0.0.0:8474"]
    ports: [{containerPort: 8474, name: api}]
EOF
}
t="$(now)"
{ pod a; pod b; } | k apply -f - >/dev/null
running() {
  [[ "$(k -n "$NS" get pod smoke-a smoke-b -o jsonpath='{.items[*].status.phase}')" == "Running Running" ]]
}
wait_for "pods Running" 120 running || fail "pods not Running"
t_running="$(elapsed "$t")"
ipa="$(k -n "$NS" get pod smoke-a -o jsonpath='{.status.podIP}')"
ipb="$(k -n "$NS" get pod smoke-b -o jsonpath='{.status.podIP}')"
log "pods Running ${t_running}s after create (smoke-a $ipa, smoke-b $ipb)"

# --- host -> pod ------------------------------------------------------------------------
wait_for "http://$ipa:8474/version" 30 curl -fsS -m 1 "http://$ipa:8474/version" || fail "host -> pod A ($ipa)"
wait_for "http://$ipb:8474/version" 30 curl -fsS -m 1 "http://$ipb:8474/version" || fail "host -> pod B ($ipb)"
log "host -> pods: ok ($(curl -fsS -m 1 "http://$ipa:8474/version"))"

# --- pod A -> pod B through a toxiproxy proxy in A ---------------------------------------
curl -fsS -m 5 -X POST "http://$ipa:8474/proxies" \
  -d "{\"name\":\"to-b\",\"listen\":\"0.0.0.0:9000\",\"upstream\":\"$ipb:8474\",\"enabled\":true}" >/dev/null \
  || fail "creating proxy to-b in pod A"
a_to_b() { curl -fsS -m 0.5 "http://$ipa:9000/version" >/dev/null 2>&1; }
wait_for "pod A -> pod B" 10 a_to_b || fail "pod A -> pod B through the proxy"
log "pod A -> pod B: ok"

# --- NetworkPolicy -----------------------------------------------------------------------
policy="apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: smoke-deny-b, namespace: $NS}
spec:
  podSelector: {matchLabels: {role: b}}
  policyTypes: [Ingress, Egress]"
t="$(now)"
k apply -f - <<<"$policy" >/dev/null
blocked=""
deadline=$(($(date +%s) + 30))
while (($(date +%s) < deadline)); do
  s="$(now)"
  if ! a_to_b; then
    blocked="$(awk -v a="$t" -v b="$s" 'BEGIN { printf "%.2f", b - a }')"
    break
  fi
  sleep 0.05
done
[[ -n "$blocked" ]] || fail "NetworkPolicy applied 30 s ago and pod A still reaches pod B"
# It stays blocked (not a blip).
sleep 1
! a_to_b || fail "pod A reached pod B again while the deny-all policy exists"
log "NetworkPolicy deny-all on B: A -> B blocked ${blocked}s after apply"
if curl -fsS -m 1 "http://$ipb:8474/version" >/dev/null 2>&1; then
  log "host -> pod B still allowed (kube-router always lets the node reach its pods)"
fi

t="$(now)"
k -n "$NS" delete networkpolicy smoke-deny-b >/dev/null
wait_for "pod A -> pod B after the policy's deletion" 30 a_to_b || fail "traffic did not flow again after deleting the policy"
restored="$(elapsed "$t")"
log "policy deleted: A -> B flows again after ${restored}s"

if ((keep == 0)); then
  k delete namespace "$NS" --wait=false >/dev/null
fi
echo "smoke: ok pod_create_to_running=${t_running}s netpol_apply_to_blocked=${blocked}s netpol_delete_to_flowing=${restored}s"
