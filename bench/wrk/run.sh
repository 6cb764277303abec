#!/usr/bin/env bash
# Issue 27's measurement shape: wrk (2 threads, 32 connections) against a
# one-node raft Strongbox built from this tree, on 127.0.0.1. Prints
# requests/s for transit encrypt (128 B), AppRole login and token create.
# Usage: bench/wrk/run.sh [duration, default 10s]
set -euo pipefail
dur=${1:-10s}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill $(cat "$tmp/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/strongbox" ./cmd/strongbox)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cport=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
mkdir -p "$tmp/raft"
cat > "$tmp/config.hcl" <<HCL
storage "raft" {
  path    = "$tmp/raft"
  node_id = "wrk"
}
listener "tcp" {
  address         = "127.0.0.1:$port"
  cluster_address = "127.0.0.1:$cport"
  tls_disable     = true
}
api_addr      = "http://127.0.0.1:$port"
cluster_addr  = "https://127.0.0.1:$cport"
disable_mlock = true
HCL
"$tmp/strongbox" server -config "$tmp/config.hcl" >"$tmp/server.log" 2>&1 &
echo $! >"$tmp/pid"
export VAULT_ADDR="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$VAULT_ADDR/v1/sys/seal-status" >/dev/null && break; sleep 0.1; done
init=$(curl -sf -X PUT -d '{"secret_shares":1,"secret_threshold":1}' "$VAULT_ADDR/v1/sys/init")
key=$(echo "$init" | python3 -c 'import json,sys;print(json.load(sys.stdin)["keys"][0])')
export WRK_TOKEN=$(echo "$init" | python3 -c 'import json,sys;print(json.load(sys.stdin)["root_token"])')
curl -sf -X PUT -d "{\"key\":\"$key\"}" "$VAULT_ADDR/v1/sys/unseal" >/dev/null
for _ in $(seq 300); do
  curl -sf -H "X-Vault-Token: $WRK_TOKEN" -X POST -d '{"type":"transit"}' "$VAULT_ADDR/v1/sys/mounts/transit" && break; sleep 0.1
done
h=(-H "X-Vault-Token: $WRK_TOKEN")
curl -sf "${h[@]}" -X POST -d '{}' "$VAULT_ADDR/v1/transit/keys/bench" >/dev/null
curl -sf "${h[@]}" -X POST -d '{"type":"approle"}' "$VAULT_ADDR/v1/sys/auth/approle"
curl -sf "${h[@]}" -X POST -d '{"token_policies":"default","token_ttl":"10m"}' "$VAULT_ADDR/v1/auth/approle/role/bench"
rid=$(curl -sf "${h[@]}" "$VAULT_ADDR/v1/auth/approle/role/bench/role-id" | python3 -c 'import json,sys;print(json.load(sys.stdin)["data"]["role_id"])')
sid=$(curl -sf "${h[@]}" -X POST "$VAULT_ADDR/v1/auth/approle/role/bench/secret-id" | python3 -c 'import json,sys;print(json.load(sys.stdin)["data"]["secret_id"])')
pt=$(head -c 128 /dev/zero | tr '\0' x | base64 -w0)
run() { # name path body
  printf '%-28s ' "$1"
  WRK_BODY="$3" wrk -t2 -c32 -d"$dur" -s "$here/post.lua" "$VAULT_ADDR/v1/$2" | awk '/Requests\/sec/{rps=$2} /Non-2xx/{bad=$NF} END{printf "%s req/s  non-2xx %s\n", rps, (bad==""?0:bad)}'
}
run "transit encrypt 128 B" transit/encrypt/bench "{\"plaintext\":\"$pt\"}"
run "approle login" auth/approle/login "{\"role_id\":\"$rid\",\"secret_id\":\"$sid\"}"
run "token create" auth/token/create '{"policies":["default"],"ttl":"10m"}'
