# Vault's transit auto-unseal example, with file storage.
storage "file" {
  path = "/var/lib/vault"
}

listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}

seal "transit" {
  address         = "https://vault:8200"
  token           = "s.Qf1s5zigZ4OX6akYjQXJC1jY"
  disable_renewal = "false"
  key_name        = "transit_key_name"
  mount_path      = "transit/"
  namespace       = "ns1/"
  tls_ca_cert     = "/etc/vault/ca_cert.pem"
  tls_client_cert = "/etc/vault/client_cert.pem"
  tls_client_key  = "/etc/vault/ca_cert.pem"
  tls_server_name = "vault"
  tls_skip_verify = "false"
}
