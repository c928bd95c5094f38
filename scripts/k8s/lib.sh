# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings are used by the scripts that source this file
# Shared settings and helpers for chaosctl's single-machine Kubernetes test node
# (up.sh, down.sh, load-image.sh, smoke.sh source this file).
#
# Everything the node creates carries a chaosctl name or lives under one of its two
# directories, so down.sh can find and remove it:
#   $K8S_DIR  state: PKI, etcd data, containerd root (images), kubelet root, configs, logs
#   $K8S_RUN  runtime: pid files, containerd socket and state (task bundles, netns mounts)

K8S_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
K8S_DIR="${CHAOSCTL_K8S_DIR:-/var/lib/chaosctl-k8s}"
K8S_RUN="${CHAOSCTL_K8S_RUN:-/run/chaosctl-k8s}"
K8S_CACHE="${CHAOSCTL_K8S_CACHE:-$HOME/.cache/chaosctl-k8s}"
K8S_BIN="$K8S_CACHE/$K8S_VERSION/bin"

NODE_NAME="chaosctl-node"
BRIDGE="chaosctl-k8s0"
CNI_NETWORK="chaosctl-k8s"
DOCKER_RULE_COMMENT="chaosctl-k8s: docker bridges"  # up.sh's DOCKER-USER rule (see up.sh)
CLUSTER_CIDR="10.244.0.0/16"   # --cluster-cidr of the controller-manager
NODE_POD_CIDR="10.244.0.0/24"  # the CNI subnet; also the node's allocated podCIDR
NODE_IP="10.244.0.1"           # the bridge's address: node InternalIP and apiserver advertise address
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1"         # ClusterIP of the kubernetes service (certificate SAN)

# Ports: none of them is a Kubernetes/etcd default, so another cluster on the
# machine (kind, a real kubelet, an etcd) does not clash with this one.
ETCD_PORT=23790        # etcd clients, 127.0.0.1, plain HTTP
ETCD_PEER_PORT=23800   # etcd peer, 127.0.0.1
ETCD_METRICS_PORT=23810
APISERVER_PORT=16443   # kube-apiserver, 127.0.0.1, HTTPS
CM_PORT=10357          # kube-controller-manager secure port, 127.0.0.1
SCHED_PORT=10359       # kube-scheduler secure port, 127.0.0.1
KUBELET_PORT=10350     # kubelet API, on $NODE_IP (the bridge)
KUBELET_HEALTHZ_PORT=10348  # kubelet healthz, 127.0.0.1

CONTAINERD_SOCK="$K8S_RUN/containerd.sock"
PAUSE_IMAGE="chaosctl.local/pause:v1"

PKI="$K8S_DIR/pki"
LOGS="$K8S_DIR/logs"
PIDS="$K8S_RUN/pids"
ADMIN_KUBECONFIG="$K8S_DIR/admin.kubeconfig"
APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"

log() { echo "chaosctl-k8s: $*" >&2; }
die() { echo "chaosctl-k8s: error: $*" >&2; exit 1; }

require_root() {
  [[ $(id -u) == 0 ]] || die "$(basename "$0") must run as root (it starts containerd, kubelet and changes iptables)"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ctrd ARGS... runs ctr against this node's containerd, never the system one.
ctrd() { ctr --address "$CONTAINERD_SOCK" "$@"; }

# api METHOD PATH [curl args...] calls the apiserver with the admin client certificate.
api() {
  local method="$1" path="$2"
  shift 2
  curl -fsS --max-time 10 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    -X "$method" "$APISERVER_URL$path" "$@"
}

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND... polls COMMAND every 0.2 s.
wait_for() {
  local what="$1" timeout="$2"
  shift 2
  local deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if (($(date +%s) >= deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# pid_of NAME prints the pid recorded for daemon NAME if that process is alive
# and still runs the binary it was started with.
pid_of() {
  local name="$1" pid exe want
  [[ -f "$PIDS/$name.pid" ]] || return 1
  pid="$(cat "$PIDS/$name.pid")"
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  want="$(cat "$PIDS/$name.exe" 2>/dev/null || true)"
  exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
  exe="${exe% (deleted)}"
  [[ -z "$want" || "$exe" == "$want" ]] || return 1
  echo "$pid"
}

# start_daemon NAME BINARY ARGS... starts BINARY in its own session, logging to
# $LOGS/NAME.log, and records its pid. Does nothing if NAME already runs.
start_daemon() {
  local name="$1" bin="$2"
  shift 2
  if pid_of "$name" >/dev/null; then
    log "$name already running (pid $(pid_of "$name"))"
    return 0
  fi
  mkdir -p "$PIDS" "$LOGS"
  rm -f "$PIDS/$name.pid"
  readlink -f "$bin" >"$PIDS/$name.exe"
  echo "=== $(date -Is) starting $name: $bin $*" >>"$LOGS/$name.log"
  # The inner shell records its own pid and then becomes the daemon (exec).
  # shellcheck disable=SC2016  # $$ and $1 belong to the inner shell
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$PIDS/$name.pid" "$bin" "$@" \
    </dev/null >>"$LOGS/$name.log" 2>&1 &
  local i
  for i in $(seq 50); do
    [[ -s "$PIDS/$name.pid" ]] && break
    sleep 0.02
  done
  log "started $name (pid $(cat "$PIDS/$name.pid"), log $LOGS/$name.log)"
}

# stop_daemon NAME [TIMEOUT] sends SIGTERM, then SIGKILL after TIMEOUT seconds.
stop_daemon() {
  local name="$1" timeout="${2:-10}" pid i t
  if pid="$(pid_of "$name")"; then
    t="$(now)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq $((timeout * 10))); do
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
      log "$name (pid $pid) ignored SIGTERM for ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for i in $(seq 50); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
      done
    fi
    log "stopped $name (pid $pid) in $(elapsed "$t")s"
  fi
  rm -f "$PIDS/$name.pid" "$PIDS/$name.exe"
}

DAEMONS_START_ORDER=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-router)
