#!/usr/bin/env bash
# Installs what the test suite needs when it is missing: Go modules,
# SoftHSM2, a local KMS emulator, HAProxy, OpenLDAP (slapd, ldap-utils).
# Each step runs only when its tool is absent, so a prepared machine pays
# nothing.
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
# OpenLDAP's slapd and ldap-utils for the LDAP auth method's tests
# (internal/builtin/credential/ldap/ldaptest starts a private slapd on
# 127.0.0.1). The package's postinst must not start a system slapd on port
# 389: when the machine has no policy-rc.d, one that refuses every service
# start is put in place for the install and removed afterwards.
if [ ! -x /usr/sbin/slapd ] || ! command -v ldapsearch >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod 755 /usr/sbin/policy-rc.d
    trap '$sudo_cmd rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo_cmd apt-get update && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends slapd ldap-utils
fi
# PostgreSQL and MariaDB for the database secrets engine's tests
# (internal/builtin/secrets/database/dbtest runs private servers on
# 127.0.0.1 with data in a temporary directory). As for slapd, the
# packages' postinst must not leave system services running: a policy-rc.d
# refusing every start is put in place for the install when there is none.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || [ ! -x /usr/sbin/mariadbd ] || ! command -v mariadb-install-db >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod 755 /usr/sbin/policy-rc.d
    trap '$sudo_cmd rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo_cmd apt-get update && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends postgresql mariadb-server
fi
# Prometheus for the telemetry test that scrapes /v1/sys/metrics with a real
# server (internal/server/metrics_prom_test.go starts a private one on
# 127.0.0.1 with a temporary config and storage). The package's postinst must
# not leave a system prometheus running: same policy-rc.d guard as above.
if ! command -v prometheus >/dev/null; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod 755 /usr/sbin/policy-rc.d
    trap '$sudo_cmd rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo_cmd apt-get update && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends prometheus
fi
