#!/usr/bin/env bash
# Starts chaosctl's single-machine Kubernetes test node (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, a private containerd, kubelet and
# kube-router as NetworkPolicy firewall) and returns when node chaosctl-node is
# Ready and the default ServiceAccount exists. Idempotent: components already
# running are left alone. Root only. Logs go to stderr; the last line on stdout is
#   export KUBECONFIG=<state dir>/admin.kubeconfig
# See scripts/k8s/README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
require_root

t0="$(now)"
for tool in etcd containerd containerd-shim-runc-v2 runc ctr openssl curl jq iptables ipset ip; do
  command -v "$tool" >/dev/null || die "$tool not found (see scripts/k8s/README.md for the packages)"
done
for p in bridge host-local portmap loopback; do
  [[ -x /usr/lib/cni/$p ]] || die "CNI plugin /usr/lib/cni/$p missing (apt-get install containernetworking-plugins)"
done
if [[ -n "${CHAOSCTL_K8S_BIN:-}" ]]; then
  K8S_BIN="$CHAOSCTL_K8S_BIN"
else
  K8S_BIN="$("$K8S_SCRIPTS/build.sh")" || die "building the Kubernetes binaries failed (scripts/k8s/build.sh)"
fi
for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-router; do
  [[ -x "$K8S_BIN/$b" ]] || die "$K8S_BIN/$b missing after build.sh"
done

mkdir -p "$K8S_DIR" "$PKI" "$LOGS" "$K8S_DIR/etcd" "$K8S_DIR/containerd" "$K8S_DIR/kubelet" \
  "$K8S_DIR/cni/net.d" "$K8S_DIR/cni/ipam" "$K8S_DIR/pod-logs" "$K8S_RUN" "$PIDS"
chmod 0700 "$K8S_DIR/etcd" "$PKI"

# --- kernel settings -------------------------------------------------------------
# Bridged pod-to-pod packets must traverse iptables for kube-router's policies.
[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || modprobe br_netfilter 2>/dev/null || true
[[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]] || die "br_netfilter is not available (no /proc/sys/net/bridge)"
[[ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables) == 1 ]] || sysctl -qw net.bridge.bridge-nf-call-iptables=1

# --- the pod bridge ----------------------------------------------------------------
# Created here (not only by the CNI plugin) because its address is the node IP:
# kubelet and the apiserver's advertise address need it before the first pod.
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
fi
ip addr show dev "$BRIDGE" | grep -q "inet $NODE_IP/24" || ip addr add "$NODE_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up

# --- PKI ---------------------------------------------------------------------------
# mkcert NAME SUBJECT EXTENSIONS: ECDSA P-256 key and certificate signed by our CA.
mkcert() {
  local name="$1" subj="$2" ext="$3"
  [[ -s "$PKI/$name.crt" && -s "$PKI/$name.key" ]] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -extfile "$PKI/$name.ext" \
    -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
  chmod 0600 "$PKI/$name.key"
}
if [[ ! -s "$PKI/ca.crt" || ! -s "$PKI/ca.key" ]]; then
  log "creating the PKI in $PKI"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 -subj "/CN=chaosctl-k8s-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  chmod 0600 "$PKI/ca.key"
fi
client_ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
mkcert apiserver "/CN=kube-apiserver" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:$NODE_NAME,IP:127.0.0.1,IP:$NODE_IP,IP:$SERVICE_IP"
mkcert admin "/O=system:masters/CN=chaosctl-admin" "$client_ext"
mkcert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client_ext"
mkcert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "$client_ext"
mkcert controller-manager "/CN=system:kube-controller-manager" "$client_ext"
mkcert scheduler "/CN=system:kube-scheduler" "$client_ext"
mkcert kube-router "/O=system:masters/CN=chaosctl-kube-router" "$client_ext"
if [[ ! -s "$PKI/sa.key" ]]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key"
  chmod 0600 "$PKI/sa.key"
fi
[[ -s "$PKI/sa.pub" ]] || openssl ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null

# kubeconfig FILE CERTNAME
kubeconfig() {
  local file="$1" cert="$2"
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chaosctl-k8s
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$cert.crt")
    client-key-data: $(base64 -w0 "$PKI/$cert.key")
contexts:
- name: chaosctl-k8s
  context:
    cluster: chaosctl-k8s
    user: $cert
    namespace: default
current-context: chaosctl-k8s
EOF
  chmod 0600 "$file.tmp"
  mv "$file.tmp" "$file"
}
kubeconfig "$ADMIN_KUBECONFIG" admin
kubeconfig "$K8S_DIR/kubelet.kubeconfig" kubelet
kubeconfig "$K8S_DIR/controller-manager.kubeconfig" controller-manager
kubeconfig "$K8S_DIR/scheduler.kubeconfig" scheduler
kubeconfig "$K8S_DIR/kube-router.kubeconfig" kube-router

# --- configuration files -------------------------------------------------------------
cat >"$K8S_DIR/cni/net.d/10-chaosctl-k8s.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$K8S_DIR/cni/ipam",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
cat >"$K8S_DIR/cni/net.d/99-loopback.conf" <<EOF
{"cniVersion": "0.4.0", "name": "chaosctl-k8s-lo", "type": "loopback"}
EOF

cat >"$K8S_DIR/containerd.toml" <<EOF
# containerd of chaosctl's Kubernetes test node: its own root, state and socket,
# never the system's (/run/containerd) or docker's.
version = 2
root = "$K8S_DIR/containerd/root"
state = "$K8S_RUN/containerd"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$K8S_DIR/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: never lower a container's oom_score_adj below ours.
  restrict_oom_score_adj = true
  # Network namespaces are bind-mounted under the state dir, not /run/netns.
  netns_mounts_under_state_dir = true
  enable_selinux = false
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$K8S_RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_DIR/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
EOF

cat >"$K8S_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
cgroupsPerQOS: true
cgroupRoot: /
enforceNodeAllocatable: ["pods"]
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
imageServiceEndpoint: unix://$CONTAINERD_SOCK
podLogsDir: $K8S_DIR/pod-logs
staticPodPath: ""
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
rotateCertificates: false
serverTLSBootstrap: false
registerNode: true
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "50Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
  imagefs.inodesFree: "1%"
nodeStatusUpdateFrequency: 5s
syncFrequency: 10s
fileCheckFrequency: 10s
maxPods: 60
EOF

# --- etcd ------------------------------------------------------------------------------
start_daemon etcd "$(command -v etcd)" \
  --name chaosctl-k8s --data-dir "$K8S_DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "chaosctl-k8s=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
  --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT" \
  --snapshot-count 10000 --quota-backend-bytes 2147483648 --log-level warn

# --- containerd (independent of the control plane: start it now) -----------------------
start_daemon containerd "$(command -v containerd)" --config "$K8S_DIR/containerd.toml"

wait_for "etcd on 127.0.0.1:$ETCD_PORT" 30 curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" \
  || die "etcd did not become healthy; see $LOGS/etcd.log"

# --- kube-apiserver ----------------------------------------------------------------------
start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" --etcd-prefix /chaosctl-k8s \
  --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --advertise-address "$NODE_IP" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --client-ca-file "$PKI/ca.crt" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --allow-privileged=true --profiling=false --event-ttl 1h

# --- the sandbox image (while the apiserver starts) --------------------------------------
wait_for "containerd on $CONTAINERD_SOCK" 30 ctrd version || die "containerd did not start; see $LOGS/containerd.log"
if ! ctrd -n k8s.io images ls -q | grep -qx "$PAUSE_IMAGE"; then
  pause_tar="$(mktemp /tmp/k8snode-pause.XXXXXX.tar)"
  "$K8S_SCRIPTS/pause-image.sh" "$pause_tar"
  ctrd -n k8s.io images import "$pause_tar" >&2 || { rm -f "$pause_tar"; die "importing the pause image failed"; }
  rm -f "$pause_tar"
fi

api_ready() { api GET /readyz >/dev/null; }
wait_for "kube-apiserver /readyz" 90 api_ready || die "kube-apiserver not ready; see $LOGS/kube-apiserver.log"
log "kube-apiserver ready after $(elapsed "$t0")s"

# --- controller-manager and scheduler ------------------------------------------------------
start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$K8S_DIR/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$CM_PORT" --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr "$CLUSTER_CIDR" --node-cidr-mask-size 24 \
  --service-cluster-ip-range "$SERVICE_CIDR" --controllers '*' --profiling=false
start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --authentication-kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --authorization-kubeconfig "$K8S_DIR/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --leader-elect=false --profiling=false

# --- kubelet ----------------------------------------------------------------------------
start_daemon kubelet "$K8S_BIN/kubelet" \
  --config "$K8S_DIR/kubelet.yaml" --kubeconfig "$K8S_DIR/kubelet.kubeconfig" \
  --root-dir "$K8S_DIR/kubelet" --cert-dir "$K8S_DIR/kubelet/pki" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"

node_registered() { api GET "/api/v1/nodes/$NODE_NAME" >/dev/null; }
wait_for "node $NODE_NAME to register" 90 node_registered || die "kubelet did not register; see $LOGS/kubelet.log"
log "node registered after $(elapsed "$t0")s"

# --- Docker's bridges beside kube-router ---------------------------------------------------
# kube-router's firewall rewrites the whole filter table at each sync (iptables-save, edit,
# iptables-restore; kube-router issue 1248), so the rules dockerd adds for a network created
# inside that window are lost. With br_netfilter on, frames between two containers of one
# Docker network traverse FORWARD, whose policy dockerd sets to DROP: such a network's
# containers could not reach each other. This rule, added before kube-router's first sync
# and so in every table it restores, accepts what dockerd's own per-network rules accept
# (frames bridged within one user-defined Docker bridge, br-*) and nothing more: traffic
# between two Docker networks or to the pod bridge is not bridged and does not match it.
# down.sh removes it. Skipped when dockerd is not running (no DOCKER-USER chain).
DOCKER_BRIDGED_RULE=(-i br-+ -o br-+ -m physdev --physdev-is-bridged -m comment --comment "$DOCKER_RULE_COMMENT" -j ACCEPT)
if iptables -w -S DOCKER-USER >/dev/null 2>&1; then
  iptables -w -C DOCKER-USER "${DOCKER_BRIDGED_RULE[@]}" 2>/dev/null ||
    iptables -w -I DOCKER-USER 1 "${DOCKER_BRIDGED_RULE[@]}"
  log "DOCKER-USER accepts frames bridged within a Docker network (kube-router's restores cannot drop them)"
fi

# --- kube-router: NetworkPolicy firewall only ----------------------------------------------
start_daemon kube-router "$K8S_BIN/kube-router" \
  --kubeconfig "$K8S_DIR/kube-router.kubeconfig" --hostname-override "$NODE_NAME" \
  --run-firewall=true --run-router=false --run-service-proxy=false \
  --enable-ipv4=true --enable-ipv6=false \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --health-port 0 --metrics-port 0

# Ready as posted by the running kubelet: after a down/up the node object still
# carries the previous kubelet's (stale) Ready condition.
kubelet_started="$(stat -c %Y "$PIDS/kubelet.pid")"
node_ready() {
  [[ "$(api GET "/api/v1/nodes/$NODE_NAME" |
    jq -r --argjson since "$kubelet_started" '.status.conditions[] | select(.type=="Ready")
      | "\(.status) \((.lastHeartbeatTime | fromdate) >= $since)"')" == "True true" ]]
}
wait_for "node $NODE_NAME Ready" 120 node_ready || die "node not Ready; see $LOGS/kubelet.log and $LOGS/containerd.log"
log "node Ready after $(elapsed "$t0")s"
wait_for "ServiceAccount default/default" 60 api GET /api/v1/namespaces/default/serviceaccounts/default \
  || die "no default ServiceAccount; see $LOGS/kube-controller-manager.log"
log "ServiceAccount default/default after $(elapsed "$t0")s"
# kube-router's health server would listen on every interface: it is off, and the
# firewall's top-level chain (made by its first sync) tells it works.
kr_synced() { iptables -w -S KUBE-ROUTER-FORWARD 1 && pid_of kube-router; }
wait_for "kube-router's first firewall sync" 60 kr_synced || die "kube-router did not sync; see $LOGS/kube-router.log"
for d in "${DAEMONS_START_ORDER[@]}"; do
  pid_of "$d" >/dev/null || die "$d exited; see $LOGS/$d.log"
done
log "up in $(elapsed "$t0")s: node $NODE_NAME Ready, logs in $LOGS"
echo "export KUBECONFIG=$ADMIN_KUBECONFIG"
