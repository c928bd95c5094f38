#!/usr/bin/env bash
# Stops chaosctl's Kubernetes test node and removes everything up.sh made at run
# time: daemons, pod containers and their shims, mounts under the state and runtime
# dirs, the kubepods cgroups, the pod bridge and pod network namespaces,
# kube-router's and kubelet's iptables chains and ipsets. Then verifies nothing of
# it is left and exits non-zero naming what is.
#   down.sh           keep the state dir (PKI, etcd data, images in containerd's root)
#   down.sh --purge   also delete the state dir
# Idempotent: succeeds with nothing up and when run twice. Root only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

purge=0
for a in "$@"; do
  case "$a" in
    --purge) purge=1 ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) die "unknown argument $a (usage: down.sh [--purge])" ;;
  esac
done
require_root
t0="$(now)"

# Chains this node creates: kube-router's firewall; kubelet's canaries, hint and
# KUBE-FIREWALL (drops non-loopback packets to 127.0.0.0/8).
OUR_CHAINS='KUBE-ROUTER-[A-Z]+|KUBE-POD-FW-[A-Z0-9]+|KUBE-NWPLCY-[A-Z0-9]+|KUBE-KUBELET-CANARY|KUBE-IPTABLES-HINT|KUBE-FIREWALL'
OUR_IPSETS='^(inet6:)?(KUBE-SRC-|KUBE-DST-)'
CGROUP_NAME="kubepods"

# cgroup_dirs lists the kubepods directory of every cgroup hierarchy that has one.
cgroup_dirs() {
  local d
  for d in /sys/fs/cgroup/*/"$CGROUP_NAME" /sys/fs/cgroup/"$CGROUP_NAME"; do
    [[ -d "$d" ]] && echo "$d"
  done
  return 0
}

# cgroup_pids lists the processes in our kubepods cgroups (pod containers).
cgroup_pids() {
  local d
  for d in $(cgroup_dirs); do
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}

# our_pids lists containerd's shims for our socket and our daemons (binary among
# ours and command line naming our state or runtime dir), never this script.
our_pids() {
  local p cmd exe
  for p in /proc/[0-9]*; do
    [[ "${p#/proc/}" == "$$" ]] && continue
    cmd="$(tr '\0' ' ' 2>/dev/null <"$p/cmdline")" || continue
    exe="$(readlink "$p/exe" 2>/dev/null || true)"
    exe="$(basename "${exe% (deleted)}")"
    case "$cmd" in
      *"-address $CONTAINERD_SOCK"*) echo "${p#/proc/}"; continue ;;
    esac
    case "$exe" in
      etcd | containerd | kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-router)
        case "$cmd" in *"$K8S_RUN"* | *"$K8S_DIR"*) echo "${p#/proc/}" ;; esac ;;
    esac
  done
}

kill_pids() {
  local sig="$1" pid
  shift
  for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null || true; done
}

# --- 1. the node agents first, so nothing restarts pods -------------------------------
stop_daemon kube-router &
stop_daemon kubelet 20 &
wait

# --- 2. pod containers ----------------------------------------------------------------
if pid_of containerd >/dev/null && ctrd version >/dev/null 2>&1; then
  tasks="$(ctrd -n k8s.io tasks ls -q 2>/dev/null || true)"
  for t in $tasks; do ctrd -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  for t in $tasks; do ctrd -n k8s.io tasks delete --force "$t" >/dev/null 2>&1 || true; done
  containers="$(ctrd -n k8s.io containers ls -q 2>/dev/null || true)"
  # shellcheck disable=SC2086
  [[ -z "$containers" ]] || ctrd -n k8s.io containers delete $containers >/dev/null 2>&1 || true
  [[ -z "$tasks$containers" ]] || log "removed $(wc -w <<<"$tasks") task(s), $(wc -w <<<"$containers") container(s)"
fi
# Whatever still runs in the pods' cgroups (containerd down or a task stuck).
for i in $(seq 20); do
  mapfile -t left < <(cgroup_pids)
  ((${#left[@]})) || break
  kill_pids KILL "${left[@]}"
  sleep 0.2
done

# --- 3. containerd and the control plane (etcd last: the apiserver's graceful
# shutdown hangs without it) ----------------------------------------------------------
stop_daemon containerd 15 &
stop_daemon kube-scheduler &
stop_daemon kube-controller-manager &
stop_daemon kube-apiserver 15 &
wait
stop_daemon etcd 15

# Shims left by a containerd that died, daemons whose pid file is gone.
for i in $(seq 20); do
  mapfile -t left < <(our_pids)
  ((${#left[@]})) || break
  ((i == 1)) && log "terminating leftover processes: ${left[*]}"
  kill_pids $((i < 10 ? 15 : 9)) "${left[@]}"
  sleep 0.2
done

# --- 5. mounts (container rootfs, pod volumes, netns bind mounts) -----------------------
our_mounts() {
  { awk '{ print $5 }' /proc/self/mountinfo | grep -E "^($K8S_DIR|$K8S_RUN)(/|$)" || true; } | sort -r
}
for i in 1 2 3; do
  mapfile -t mnts < <(our_mounts)
  ((${#mnts[@]})) || break
  for m in "${mnts[@]}"; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
done

# --- 6. network: pod veths, the bridge, iptables, ipsets ---------------------------------
if ip link show "$BRIDGE" >/dev/null 2>&1; then
  for v in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{ print $2 }' | cut -d@ -f1); do
    ip link del "$v" 2>/dev/null || true
  done
  ip link del "$BRIDGE"
  log "deleted bridge $BRIDGE"
fi

# clean_iptables CMD: removes the jumps to our chains, then the chains, in every table.
clean_iptables() {
  local cmd="$1" table rules chains rule c
  command -v "$cmd" >/dev/null || return 0
  for table in filter nat mangle raw; do
    rules="$("$cmd-save" -t "$table" 2>/dev/null)" || continue
    chains="$(grep -oE "^:($OUR_CHAINS) " <<<"$rules" | tr -d ': ' || true)"
    # Per-container portmap rules of our CNI network (only with hostPort pods).
    while read -r rule; do
      [[ -n "$rule" ]] || continue
      eval "$cmd -w -t $table -D ${rule#-A }" 2>/dev/null || true
    done < <(grep -E "^-A " <<<"$rules" | grep -F "\"$CNI_NETWORK\"" || true)
    while read -r rule; do
      [[ -n "$rule" ]] || continue
      eval "$cmd -w -t $table -D ${rule#-A }" 2>/dev/null || true
    done < <(grep -E "^-A .* -j ($OUR_CHAINS)( |$)" <<<"$rules" | grep -Ev "^-A ($OUR_CHAINS) " || true)
    for c in $chains; do "$cmd" -w -t "$table" -F "$c" 2>/dev/null || true; done
    for c in $chains; do "$cmd" -w -t "$table" -X "$c" 2>/dev/null || true; done
  done
}
clean_iptables iptables
clean_iptables ip6tables
# up.sh's DOCKER-USER rule for Docker's bridges.
while read -r rule; do
  [[ -n "$rule" ]] || continue
  eval "iptables -w -D ${rule#-A }" 2>/dev/null || true
done < <(iptables-save -t filter 2>/dev/null | grep -E "^-A DOCKER-USER " | grep -F "\"$DOCKER_RULE_COMMENT\"" || true)
for s in $(ipset list -n 2>/dev/null | grep -E "$OUR_IPSETS" || true); do
  ipset destroy "$s" 2>/dev/null || true
done

# --- 7. cgroups ------------------------------------------------------------------------------
for i in $(seq 10); do
  dirs="$(cgroup_dirs)"
  [[ -n "$dirs" ]] || break
  for d in $dirs; do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  [[ -z "$(cgroup_dirs)" ]] || sleep 0.2
done

# --- 8. files ------------------------------------------------------------------------------
[[ -z "$(our_mounts)" ]] && rm -rf "$K8S_RUN"
# IPs of pods that died without a CNI DEL; the libcni result cache of our network.
rm -rf "$K8S_DIR/cni/ipam"
rm -f /var/lib/cni/results/"$CNI_NETWORK"-* 2>/dev/null || true
if ((purge)); then
  if [[ -z "$(our_mounts)" ]]; then
    rm -rf "$K8S_DIR"
    log "purged $K8S_DIR"
  fi
fi

# --- 9. verify ------------------------------------------------------------------------------
problems=()
mapfile -t left < <(our_pids; cgroup_pids)
((${#left[@]} == 0)) || problems+=("processes: $(for p in "${left[@]}"; do echo -n "$p($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-60)) "; done)")
for d in "${DAEMONS_START_ORDER[@]}"; do
  p="$(pid_of "$d" || true)"
  [[ -z "$p" ]] || problems+=("daemon $d still running (pid $p)")
done
mnt_list="$(our_mounts | tr '\n' ' ')"
[[ -z "$mnt_list" ]] || problems+=("mounts: $mnt_list")
dirs="$(cgroup_dirs | tr '\n' ' ')"
[[ -z "$dirs" ]] || problems+=("cgroups: $dirs")
! ip link show "$BRIDGE" >/dev/null 2>&1 || problems+=("bridge $BRIDGE")
veths="$(ip -o link show 2>/dev/null | grep -F "master $BRIDGE" | awk -F': ' '{ print $2 }' | tr '\n' ' ' || true)"
[[ -z "$veths" ]] || problems+=("veths on $BRIDGE: $veths")
[[ ! -e "$K8S_RUN" ]] || problems+=("runtime dir $K8S_RUN (netns bind mounts live in it)")
sets="$(ipset list -n 2>/dev/null | grep -E "$OUR_IPSETS" | tr '\n' ' ' || true)"
[[ -z "$sets" ]] || problems+=("ipsets: $sets")
for cmd in iptables ip6tables iptables-legacy ip6tables-legacy; do
  command -v "$cmd-save" >/dev/null || continue
  c="$("$cmd-save" 2>/dev/null | grep -oE "^:($OUR_CHAINS) " | tr -d ': ' | tr '\n' ' ' || true)"
  [[ -z "$c" ]] || problems+=("$cmd chains: $c")
  r="$("$cmd-save" 2>/dev/null | grep -cF "\"$CNI_NETWORK\"" || true)"
  r="$("$cmd-save" 2>/dev/null | grep -cF "\"$DOCKER_RULE_COMMENT\"" || true)"
  [[ "$r" == 0 ]] || problems+=("$cmd: $r rule(s) commented $DOCKER_RULE_COMMENT")
  [[ "$r" == 0 ]] || problems+=("$cmd: $r rule(s) of CNI network $CNI_NETWORK")
done
if command -v nft >/dev/null; then
  n="$(nft list ruleset 2>/dev/null | grep -oE "chain ($OUR_CHAINS) " | sort -u | tr '\n' ' ' || true)"
  [[ -z "$n" ]] || problems+=("nft chains: $n")
fi
((purge == 0)) || [[ ! -e "$K8S_DIR" ]] || problems+=("state dir $K8S_DIR")

if ((${#problems[@]})); then
  for p in "${problems[@]}"; do echo "chaosctl-k8s: left over: $p" >&2; done
  die "down incomplete after $(elapsed "$t0")s"
fi
log "down in $(elapsed "$t0")s: nothing of the node is left$( ((purge)) && echo " (state dir purged)" || echo "; state kept in $K8S_DIR")"
