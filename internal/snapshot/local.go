package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoSpace: a local snapshot would exceed the configured local_max_space.
var ErrNoSpace = errors.New("snapshot exceeds the space allowed for local snapshots")

// LocalTarget keeps snapshots as files in a directory of the active node.
type LocalTarget struct {
	// Dir is an absolute directory; it is created (0700) when missing.
	Dir string
	// FilePrefix and MaxSpace bound the space the snapshots of this prefix
	// may use together, in bytes (0: no bound). A Write that would exceed
	// it fails with ErrNoSpace and leaves nothing behind.
	FilePrefix string
	MaxSpace   int64
}

var _ Target = (*LocalTarget)(nil)

// Write implements Target: the snapshot goes to a hidden temporary file in
// Dir, which is fsync'd, renamed to name, and the directory fsync'd, so a
// crash leaves either the whole file or no file under name.
func (l *LocalTarget) Write(ctx context.Context, name string, write func(io.Writer) error) (Object, error) {
	if err := checkName(name); err != nil {
		return Object{}, err
	}
	if err := os.MkdirAll(l.Dir, 0o700); err != nil {
		return Object{}, fmt.Errorf("snapshot directory: %w", err)
	}
	var allowance int64 = -1
	if l.MaxSpace > 0 {
		used, err := l.used(ctx)
		if err != nil {
			return Object{}, err
		}
		allowance = l.MaxSpace - used
		if allowance <= 0 {
			return Object{}, fmt.Errorf("%w: %d of %d bytes already used", ErrNoSpace, used, l.MaxSpace)
		}
	}
	f, err := os.CreateTemp(l.Dir, "."+name+".tmp-*")
	if err != nil {
		return Object{}, fmt.Errorf("create snapshot file: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	cw := &limitedWriter{w: f, left: allowance}
	if err := write(cw); err != nil {
		if cw.over {
			return Object{}, fmt.Errorf("%w (local_max_space %d bytes)", ErrNoSpace, l.MaxSpace)
		}
		return Object{}, err
	}
	if err := f.Sync(); err != nil {
		return Object{}, fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return Object{}, fmt.Errorf("close %s: %w", tmp, err)
	}
	final := filepath.Join(l.Dir, name)
	if err := os.Rename(tmp, final); err != nil {
		return Object{}, fmt.Errorf("rename snapshot into place: %w", err)
	}
	ok = true
	if err := syncDir(l.Dir); err != nil {
		return Object{}, fmt.Errorf("fsync %s: %w", l.Dir, err)
	}
	return Object{Name: name, Size: cw.n, URL: fileURL(final)}, nil
}

// used is the space the snapshots of FilePrefix take now.
func (l *LocalTarget) used(ctx context.Context) (int64, error) {
	objs, err := Snapshots(ctx, l, l.FilePrefix)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, o := range objs {
		n += o.Size
	}
	return n, nil
}

// List implements Target (regular files only; temporary files are hidden
// and never match a snapshot prefix).
func (l *LocalTarget) List(_ context.Context, prefix string) ([]Object, error) {
	entries, err := os.ReadDir(l.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	var out []Object
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Object{Name: e.Name(), Size: fi.Size(), URL: fileURL(filepath.Join(l.Dir, e.Name()))})
	}
	return out, nil
}

// Delete implements Target.
func (l *LocalTarget) Delete(_ context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(l.Dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete snapshot: %w", err)
	}
	return syncDir(l.Dir)
}

func checkName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("invalid snapshot name %q", name)
	}
	return nil
}

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: path}).String()
}

// limitedWriter counts bytes and fails once more than left would be
// written (left < 0: no limit).
type limitedWriter struct {
	w    io.Writer
	left int64
	n    int64
	over bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.left >= 0 && int64(len(p)) > l.left {
		l.over = true
		return 0, ErrNoSpace
	}
	n, err := l.w.Write(p)
	l.n += int64(n)
	if l.left >= 0 {
		l.left -= int64(n)
	}
	return n, err
}

// syncDir fsyncs a directory, so a rename or removal in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
