# A three-node raft cluster member in the style of Vault's HA-with-TLS
# examples, braces of retry_join on their own line.
storage "raft" {
  path    = "/opt/raft"
  node_id = "node1"
  performance_multiplier = 1
  autopilot_redundancy_zone = "zone-a"

  retry_join
  {
    leader_api_addr         = "https://node2.example.com:8200"
    leader_ca_cert_file     = "/etc/vault.d/ssl/tls_ca.pem"
    leader_client_cert_file = "/etc/vault.d/ssl/tls.crt"
    leader_client_key_file  = "/etc/vault.d/ssl/tls.key"
  }
  retry_join
  {
    leader_api_addr         = "https://node3.example.com:8200"
    leader_tls_servername   = "vault.example.com"
  }
  retry_join {
    auto_join        = "provider=k8s label_selector=\"app.kubernetes.io/name=vault,component=server\""
    auto_join_scheme = "https"
  }
}

listener "tcp" {
  address            = "0.0.0.0:8200"
  cluster_address    = "0.0.0.0:8201"
  tls_disable        = false
  tls_cert_file      = "/etc/vault.d/ssl/tls.crt"
  tls_key_file       = "/etc/vault.d/ssl/tls.key"
  tls_client_ca_file = "/etc/vault.d/ssl/tls_ca.pem"
  tls_min_version    = "tls12"
}

api_addr      = "https://node1.example.com:8200"
cluster_addr  = "https://node1.example.com:8201"
disable_mlock = true
ui            = true
