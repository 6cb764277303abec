// Package raftops is the room of the core that runs integrated raft storage:
// the join handshake (challenge, answer, keyring hand-over, the join client
// and its retry loop), the raft TLS keyring and per-node certificates, the
// cluster port's TLS provider, autopilot, snapshots and automated snapshots,
// and the sys/storage/raft/* endpoints. The core builds one Ops with New and
// calls it; the room reaches back only through the Host interface the core
// implements, and never imports the core.
package raftops
