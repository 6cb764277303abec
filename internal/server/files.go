package server

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/strongbox/strongbox/internal/config"
	"github.com/strongbox/strongbox/internal/logfile"
)

// defaultLogRotateDuration is Vault's log_rotate_duration default.
const defaultLogRotateDuration = 24 * time.Hour

// openLogFile opens log_file with its rotation settings; nil when unset.
func openLogFile(cfg *config.Config) (*logfile.Writer, error) {
	if cfg.LogFile == "" {
		return nil, nil
	}
	return logfile.Open(logfile.Options{
		Path:     cfg.LogFile,
		MaxAge:   orDefault(cfg.LogRotateDuration, defaultLogRotateDuration),
		MaxBytes: cfg.LogRotateBytes,
		MaxFiles: int(cfg.LogRotateMaxFiles),
	})
}

// teeLogger sends every record to the log file as well as to logger, in the
// configured format, as Vault writes both to stderr and log_file.
func teeLogger(logger *slog.Logger, w io.Writer, format string, level slog.Leveler) *slog.Logger {
	hopts := &slog.HandlerOptions{Level: level}
	var fh slog.Handler = slog.NewTextHandler(w, hopts)
	if format == "json" {
		fh = slog.NewJSONHandler(w, hopts)
	}
	return slog.New(slog.NewMultiHandler(logger.Handler(), fh))
}

// writePIDFile writes the process id to pid_file and returns the function
// that removes it at exit.
func writePIDFile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("pid_file: %w", err)
	}
	return func() {
		// Only our own pid file: another server may have taken the path.
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
			_ = os.Remove(path)
		}
	}, nil
}
