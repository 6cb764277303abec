package server

import (
	"io"
	"log/slog"
	"time"
)

// Options are what the `server` command hands to Run.
type Options struct {
	// ConfigPaths are -config files or directories, merged in order.
	ConfigPaths []string
	// Dev starts an in-memory, initialized, unsealed server with KV v2 at secret/.
	Dev              bool
	DevRootTokenID   string
	DevListenAddress string
	// LogLevel overrides the config's log_level when set.
	LogLevel string
	// Out receives the start-up banner (dev credentials); Logs the structured log.
	Out  io.Writer
	Logs io.Writer
	// Logger, when set, is used instead of building one from LogLevel and Logs.
	Logger *slog.Logger
	// Ready, when set, is called with the listener addresses once serving.
	Ready func(addrs []string)
	// Now, when set, is the core's clock for key-operation time rules
	// (tests move it instead of waiting).
	Now func() time.Time
}
