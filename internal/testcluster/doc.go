// Package testcluster is the test-only harness for cluster and fault tests:
// other packages' tests start Strongbox nodes with it, break them (kill -9,
// SIGSTOP, cut or slow the cluster links), drive a client workload and check
// the recorded history for linearizability with porcupine. Production code
// must never import it.
//
// The pieces:
//
//   - Cluster and Node are the shape a scenario is written against, so the
//     same scenario can run on real processes (this package's process
//     runner, NewCluster) and, later, on in-process nodes.
//   - The process runner builds the strongbox binary once per test binary
//     (Build), writes each node's HCL config (file or raft storage, free
//     127.0.0.1 ports), starts `strongbox server -config` with its output in
//     a log file, and kills every process in t.Cleanup even when the test
//     fails.
//   - Proxy is a TCP fault proxy placed between a node's advertised
//     cluster_addr and its real cluster listener: Cut, Heal and Delay its
//     traffic, per direction, without root. On Linux it also knows which
//     node opened each connection, which is what Cluster.Partition needs.
//   - Recorder, Workload and Check: clients doing put/get on a few KV v2
//     keys, every operation recorded with its invoke and return times and
//     outcome, then checked against a per-key register model, plus the
//     plain "no acknowledged write lost" check.
//
// Environment: STRONGBOX_BINARY names a prebuilt binary (skips the build);
// STRONGBOX_TEST_ARTIFACTS names a directory that keeps the visualization
// of a failed check (otherwise a fresh directory under os.TempDir is kept
// and its path logged). Packages using the runner should call Main from
// their TestMain so the built binary is removed at exit.
package testcluster
