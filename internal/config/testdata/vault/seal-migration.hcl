# Migrating from an awskms auto-unseal back to Shamir's shares: the old
# seal is marked disabled. service_registration is Vault-only: ignored.
storage "postgresql" {
  connection_url = "postgres://vault:vault@localhost:5432/vault?sslmode=disable"
  ha_enabled     = "true"
  max_parallel   = 128
}

listener "unix" {
  address     = "/run/vault.sock"
  socket_mode = "644"
  tls_disable = true
}

seal "awskms" {
  region     = "us-east-1"
  kms_key_id = "19ec80b0-dfdd-4d97-8164-c6examplekey"
  disabled   = "true"
}

service_registration "kubernetes" {
  namespace = "vault"
}
