#!/usr/bin/env bash
# Installs what the test suite needs when it is missing: Go modules,
# SoftHSM2, a local KMS emulator, HAProxy. Each step runs only when its
# tool is absent, so a prepared machine pays nothing.
set -euo pipefail
go mod download
# SoftHSM2 for the pkcs11 seal tests (internal/seal/pkcs11).
if ! command -v softhsm2-util >/dev/null || [ ! -e /usr/lib/softhsm/libsofthsm2.so ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y softhsm2
fi
# The local-kms AWS KMS emulator for the awskms seal tests, built from the Go
# module proxy into the cache path internal/seal/sealtest/localkms.go uses.
localkms_src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/internal/seal/sealtest/testdata/localkms"
localkms_hash=$(cat "$localkms_src/main.go" "$localkms_src/go.mod" "$localkms_src/go.sum" | sha256sum | cut -c1-16)
localkms_bin="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/strongbox-test/localkms-$localkms_hash/localkms"
if [ ! -x "$localkms_bin" ]; then
  mkdir -p "$(dirname "$localkms_bin")"
  (cd "$localkms_src" && GOWORK=off GOFLAGS=-mod=readonly go build -o "$localkms_bin.tmp.$$" .)
  mv "$localkms_bin.tmp.$$" "$localkms_bin"
fi
# HAProxy for the load-balancer test (deploy/haproxy.cfg, internal/testcluster).
if ! command -v haproxy >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y haproxy
fi
