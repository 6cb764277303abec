#!/usr/bin/env bash
# Installs what the test suite needs when it is missing. Today: the Go
# toolchain's module downloads only; later issues add apt packages
# (haproxy, softhsm2, postgresql) here, each installed only when absent.
set -euo pipefail
go mod download
