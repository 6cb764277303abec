// Package testlog is a log sink for tests: a buffer that a server, core or
// room writes its logs to while the test reads them. Only tests import it.
package testlog
