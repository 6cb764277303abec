// Package cluster is the cluster port: one mutual-TLS listener on
// cluster_addr whose ALPN protocol picks the handler (raft RPCs, request
// forwarding, replication). The core opens it after unseal and registers the
// protocols; physical/raft takes its RaftStreamLayer, and the HTTP layer of a
// standby forwards client requests to the active node through a Forwarder.
//
// Every connection is mutually authenticated. Which certificates and client CAs
// apply is asked of a TLSProvider on every handshake, so a leader change or a
// keyring rotation takes effect for the next connection without a restart.
//
// It also holds the certificate material the cluster needs: GenerateCert for
// the active node's advertised forwarding certificate, and Keyring, the CA
// from which raft node certificates are issued.
package cluster
