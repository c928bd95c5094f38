#!/usr/bin/env bash
# Imports an image archive (`docker save` format, e.g. written by
# `chaosctl image export FILE`, or an OCI archive) into the k8s.io namespace of
# the test node's own containerd, where the kubelet finds it. Pods must use
# imagePullPolicy: Never (the node has no registry). Prints the imported image
# names (normalized, e.g. docker.io/library/chaosctl:dev-0123456789ab) on stdout.
#   load-image.sh ARCHIVE
set -euo pipefail
source "$(dirname "$0")/lib.sh"

archive="${1:-}"
[[ -n "$archive" && $# == 1 ]] || die "usage: load-image.sh ARCHIVE"
[[ -r "$archive" ]] || die "cannot read $archive"
require_root
if ! pid_of containerd >/dev/null || ! ctrd version >/dev/null 2>&1; then
  die "the node's containerd ($CONTAINERD_SOCK) is not running: run scripts/k8s/up.sh first"
fi
t0="$(now)"
out="$(ctrd -n k8s.io images import "$archive" 2>&1)" || die "import of $archive failed: $out"
# ctr prints "unpacking <name> (sha256:...)...done" for each image.
names="$(sed -n 's/^unpacking \([^ ]*\) (.*/\1/p' <<<"$out")"
[[ -n "$names" ]] || die "no image imported from $archive: $out"
log "imported $(wc -w <<<"$names") image(s) in $(elapsed "$t0")s"
echo "$names"
