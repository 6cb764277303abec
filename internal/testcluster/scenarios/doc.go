// Package scenarios holds the cluster and fault tests: real strongbox
// processes on 127.0.0.1 driven through internal/testcluster, each scenario
// bounded in time, recording a client history and checking it for
// linearizability and lost acknowledged writes.
package scenarios
