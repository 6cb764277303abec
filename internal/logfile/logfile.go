package logfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultName is the file written when the configured path is a directory.
const DefaultName = "strongbox.log"

// Options configure a Writer. Zero values mean: no rotation by age, no
// rotation by size, keep every rotated file.
type Options struct {
	// Path is a file, or an existing directory (then DefaultName inside it).
	Path string
	// MaxAge starts a new file once the current one is this old.
	MaxAge time.Duration
	// MaxBytes starts a new file before a write would take it past this size.
	MaxBytes int64
	// MaxFiles is how many rotated files to keep: 0 keeps all, a negative
	// number keeps none.
	MaxFiles int
	// Now is the clock (time.Now when nil); tests set it.
	Now func() time.Time
}

// Writer appends to the log file, rotating it. It is safe for concurrent use.
type Writer struct {
	opts    Options
	path    string
	mu      sync.Mutex
	f       *os.File
	size    int64
	created time.Time
}

// Open opens (appending) or creates the log file.
func Open(o Options) (*Writer, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	path := o.Path
	if fi, err := os.Stat(path); err == nil && fi.IsDir() || strings.HasSuffix(path, string(os.PathSeparator)) {
		path = filepath.Join(path, DefaultName)
	}
	w := &Writer{opts: o, path: path}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// Path is the file being written.
func (w *Writer) Path() string { return w.path }

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("log_file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("log_file: %w", err)
	}
	w.f, w.size, w.created = f, fi.Size(), w.opts.Now()
	return nil
}

// Write appends p, rotating first when p would take the file past MaxBytes
// or the file is older than MaxAge.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, os.ErrClosed
	}
	tooBig := w.opts.MaxBytes > 0 && w.size > 0 && w.size+int64(len(p)) > w.opts.MaxBytes
	tooOld := w.opts.MaxAge > 0 && w.opts.Now().Sub(w.created) >= w.opts.MaxAge
	if tooBig || tooOld {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

// rotate renames the current file to name-<unix nanos>.ext, opens a new
// one and prunes old files.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("log_file: close for rotation: %w", err)
	}
	w.f = nil
	ext := filepath.Ext(w.path)
	base := strings.TrimSuffix(w.path, ext)
	rotated := fmt.Sprintf("%s-%d%s", base, w.opts.Now().UnixNano(), ext)
	if err := os.Rename(w.path, rotated); err != nil {
		return fmt.Errorf("log_file: rotate: %w", err)
	}
	if err := w.open(); err != nil {
		return err
	}
	return w.prune()
}

// Rotated lists the rotated files, oldest first.
func (w *Writer) Rotated() ([]string, error) {
	ext := filepath.Ext(w.path)
	base := strings.TrimSuffix(w.path, ext)
	matches, err := filepath.Glob(base + "-*" + ext)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range matches {
		stamp := strings.TrimSuffix(strings.TrimPrefix(m, base+"-"), ext)
		if stamp != "" && strings.Trim(stamp, "0123456789") == "" {
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (w *Writer) prune() error {
	if w.opts.MaxFiles == 0 {
		return nil
	}
	files, err := w.Rotated()
	if err != nil {
		return fmt.Errorf("log_file: list rotated files: %w", err)
	}
	keep := max(w.opts.MaxFiles, 0)
	var errs []error
	for len(files) > keep {
		if err := os.Remove(files[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		files = files[1:]
	}
	return errors.Join(errs...)
}

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
