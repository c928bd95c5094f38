#!/usr/bin/env bash
# Builds the sandbox ("pause") image of chaosctl's Kubernetes test node without a
# registry and without docker: compiles pause.go.txt statically and writes a
# `docker save`-format archive (one layer holding /pause) by hand.
#   pause-image.sh OUT.tar [IMAGE_REF]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

out="${1:?usage: pause-image.sh OUT.tar [IMAGE_REF]}"
ref="${2:-$PAUSE_IMAGE}"
work="$(mktemp -d /tmp/k8snode-pause.XXXXXX)"
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src" "$work/root" "$work/img"
cp "$K8S_SCRIPTS/pause.go.txt" "$work/src/main.go"
printf 'module chaosctl.local/pause\n\ngo 1.21\n' >"$work/src/go.mod"
(cd "$work/src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$work/root/pause" .) \
  || die "building the pause program failed"
chmod 0755 "$work/root/pause"

tar --create --file "$work/layer.tar" --directory "$work/root" \
  --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name pause
layer_sha="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
mkdir -p "$work/img/$layer_sha"
mv "$work/layer.tar" "$work/img/$layer_sha/layer.tar"
arch="$(go env GOARCH)"
printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Entrypoint":["/pause"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"chaosctl scripts/k8s/pause-image.sh"}]}' \
  "$arch" "$layer_sha" >"$work/config.json"
config_sha="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
mv "$work/config.json" "$work/img/$config_sha.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
  "$config_sha" "$ref" "$layer_sha" >"$work/img/manifest.json"
tar --create --file "$out" --directory "$work/img" --owner=0 --group=0 --numeric-owner --mtime=@0 --sort=name .
log "pause image $ref written to $out"
