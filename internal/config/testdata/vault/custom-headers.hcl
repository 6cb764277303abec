# From Vault's "Define custom HTTP headers" tutorial.
storage "inmem" {}
api_addr = "http://127.0.0.1:8200"
cluster_addr = "https://127.0.0.1:8201"
ui = true

listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = "true"
  custom_response_headers {
    "default" = {
      "Content-Security-Policy" = ["connect-src https://cluster.vault.external"],
      "X-Custom-Header" = ["Vault created header to meet security requirements"]
    },
    "200" = {
      "X-Custom-Header" = ["Custom header for 200 status codes"]
    },
    "3xx" = {
      "X-Custom-Header" = ["Custom header for 3xx status codes"]
    }
  }
}
