package audit

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
)

// Options of the file device, as in Vault.
const (
	optFilePath   = "file_path"
	optLegacyPath = "path" // accepted by Vault before file_path existed
	optMode       = "mode"
)

// Special values of file_path, compared case-insensitively as in Vault.
const (
	pathStdout  = "stdout"
	pathDiscard = "discard"
)

// fileOptions are the parsed options of a file device.
type fileOptions struct {
	path   string // file path; "stdout" or "discard" for the special sinks
	mode   os.FileMode
	format formatConfig
}

// parseMode parses the mode option: an octal string, "" for the default,
// "0000" to leave the file's mode alone. Executable bits are refused, as in
// Vault.
func parseMode(s string) (os.FileMode, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return defaultFileMode, nil
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("%w: unable to parse %q %q: not an octal file mode", ErrInvalidConfig, optMode, s)
	}
	m := os.FileMode(v)
	switch {
	case m&^os.ModePerm != 0:
		return 0, fmt.Errorf("%w: %q %q: only permission bits (at most 0777) are allowed", ErrInvalidConfig, optMode, s)
	case m&0o111 != 0:
		return 0, fmt.Errorf("%w: %q %q: file audit devices cannot use file modes with executable permissions", ErrInvalidConfig, optMode, s)
	}
	return m, nil
}

// parseFileOptions validates the options of a file device.
func parseFileOptions(opts map[string]string) (fileOptions, error) {
	var fo fileOptions
	path, ok := opts[optFilePath]
	if !ok {
		path, ok = opts[optLegacyPath]
	}
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return fo, fmt.Errorf("%w: %q is required", ErrInvalidConfig, optFilePath)
	}
	switch {
	case strings.EqualFold(path, pathStdout):
		path = pathStdout
	case strings.EqualFold(path, pathDiscard):
		path = pathDiscard
	}
	fo.path = path
	var err error
	if fo.mode, err = parseMode(opts[optMode]); err != nil {
		return fo, err
	}
	if fo.format, err = parseFormatOptions(opts); err != nil {
		return fo, err
	}
	return fo, nil
}

// NewFile is the Factory of the "file" device. It opens (creating if need
// be) the file right away, so a path that cannot be written is refused
// when the device is enabled rather than on the first request.
func NewFile(_ context.Context, conf *DeviceConfig) (Device, error) {
	if conf == nil {
		return nil, fmt.Errorf("%w: no configuration", ErrInvalidConfig)
	}
	fo, err := parseFileOptions(conf.Options)
	if err != nil {
		return nil, err
	}
	logger := conf.Logger
	if logger == nil {
		logger = slog.Default()
	}
	sink := &fileSink{mode: fo.mode}
	switch fo.path {
	case pathStdout:
		sink.out = os.Stdout
	case pathDiscard:
		sink.out = io.Discard
	default:
		sink.path = fo.path
		if err := sink.open(); err != nil {
			return nil, fmt.Errorf("%w: file sink creation failed for path %q: %w", ErrInvalidConfig, fo.path, err)
		}
		sink.startSyncer()
	}
	salt := newSalter(conf.SaltStorage)
	out := newBatchWriter(sink)
	if fo.format.chain {
		out.chain = newChain(salt.sign)
		if sink.path != "" {
			out.chain.resume(sink.path)
		}
	}
	return &device{
		fmt:    newFormatter(fo.format, salt),
		out:    out,
		sink:   sink,
		logger: logger.With("audit_device", conf.Path),
	}, nil
}
