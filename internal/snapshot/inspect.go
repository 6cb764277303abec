package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/strongbox/strongbox/internal/physical/raft"
)

// InspectOptions shape Inspect's key breakdown, as Vault's
// `operator raft snapshot inspect` flags do.
type InspectOptions struct {
	// Depth is how many path segments group keys ("logical/<uuid>" at 2);
	// 0 means whole keys.
	Depth int
	// Filter, when set, counts only keys with this prefix.
	Filter string
	// TempDir receives the database while it is read (default os.TempDir).
	TempDir string
}

// Stat counts the keys under one prefix and their bytes (key and value).
type Stat struct {
	Name  string
	Count int
	Size  int
}

// Info is what Inspect learns of a snapshot file.
type Info struct {
	Meta       Meta
	Stats      []Stat
	TotalCount int
	TotalSize  int
}

// Inspect reads a snapshot file offline, without a server and without any
// key: it checks the file's integrity as Read does, and counts the keys of
// its data by prefix (values stay encrypted; only their sizes are seen).
// Stats are sorted by count, then name.
func Inspect(ctx context.Context, r io.Reader, opts InspectOptions) (*Info, error) {
	if opts.Depth < 0 {
		return nil, errors.New("depth must be 0 or more")
	}
	dir := opts.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	byName := map[string]*Stat{}
	info := &Info{}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := raft.InspectSnapshot(ctx, pr, dir, func(key string, value []byte) error {
			if opts.Filter != "" && !strings.HasPrefix(key, opts.Filter) {
				return nil
			}
			name := keyPrefix(key, opts.Depth)
			s := byName[name]
			if s == nil {
				s = &Stat{Name: name}
				byName[name] = s
			}
			s.Count++
			s.Size += len(key) + len(value)
			info.TotalCount++
			info.TotalSize += len(key) + len(value)
			return nil
		})
		// Whatever the walker did not read fails the archive reader.
		_ = pr.CloseWithError(fmt.Errorf("raft snapshot: %w", errInspectStopped(err)))
		done <- err
	}()
	a, rerr := Read(r, pw)
	_ = pw.CloseWithError(rerr) // nil: the walker sees EOF after state.bin
	werr := <-done
	switch {
	case rerr != nil:
		// The archive's own error names the cause (and includes the
		// walker's when it stopped first).
		return nil, rerr
	case errors.Is(werr, raft.ErrInvalidSnapshot):
		return nil, fmt.Errorf("%w: %w", ErrInvalid, werr)
	case werr != nil:
		return nil, werr
	}
	info.Meta = a.Meta
	for _, s := range byName {
		info.Stats = append(info.Stats, *s)
	}
	sort.Slice(info.Stats, func(i, j int) bool {
		if info.Stats[i].Count != info.Stats[j].Count {
			return info.Stats[i].Count > info.Stats[j].Count
		}
		return info.Stats[i].Name < info.Stats[j].Name
	})
	return info, nil
}

func errInspectStopped(err error) error {
	if err == nil {
		return errors.New("stopped reading")
	}
	return err
}

// keyPrefix is key cut to its first depth segments ("a/b/c" at 2: "a/b").
func keyPrefix(key string, depth int) string {
	if depth == 0 {
		return key
	}
	parts := strings.SplitN(key, "/", depth+1)
	if len(parts) <= depth {
		return key
	}
	return strings.Join(parts[:depth], "/")
}
