package snapshot

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Target is where automated snapshots are kept: a local directory
// (LocalTarget) or an S3 bucket (S3Target).
type Target interface {
	// Write stores a new snapshot named name, streamed by write. It is
	// atomic: the snapshot appears whole once Write returns nil, and not
	// at all if write or the store fails.
	Write(ctx context.Context, name string, write func(io.Writer) error) (Object, error)
	// List returns the stored objects whose names start with prefix.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes the named object.
	Delete(ctx context.Context, name string) error
}

// Object is one stored snapshot.
type Object struct {
	Name string
	Size int64
	// URL locates it: file:///dir/name or s3://bucket/key.
	URL string
}

// snapshotSuffix ends every automated snapshot's name.
const snapshotSuffix = ".snap"

// ObjectName names an automated snapshot taken at t: Vault's
// "<file_prefix>-<unix nanoseconds>.snap".
func ObjectName(filePrefix string, t time.Time) string {
	return fmt.Sprintf("%s-%d%s", filePrefix, t.UnixNano(), snapshotSuffix)
}

// snapshotTime parses a name made by ObjectName with filePrefix.
func snapshotTime(filePrefix, name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, filePrefix+"-")
	if !ok {
		return 0, false
	}
	digits, ok := strings.CutSuffix(rest, snapshotSuffix)
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 0
}

// Snapshots lists the automated snapshots of filePrefix in t, oldest first.
// Other objects sharing the prefix are not snapshots and are left alone.
func Snapshots(ctx context.Context, t Target, filePrefix string) ([]Object, error) {
	objs, err := t.List(ctx, filePrefix+"-")
	if err != nil {
		return nil, err
	}
	type dated struct {
		Object
		at int64
	}
	var found []dated
	for _, o := range objs {
		if at, ok := snapshotTime(filePrefix, o.Name); ok {
			found = append(found, dated{o, at})
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].at != found[j].at {
			return found[i].at < found[j].at
		}
		return found[i].Name < found[j].Name
	})
	out := make([]Object, len(found))
	for i, d := range found {
		out[i] = d.Object
	}
	return out, nil
}

// Prune deletes the oldest automated snapshots of filePrefix until at most
// retain remain, and returns the names it deleted.
func Prune(ctx context.Context, t Target, filePrefix string, retain int) ([]string, error) {
	objs, err := Snapshots(ctx, t, filePrefix)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for len(objs) > retain {
		if err := t.Delete(ctx, objs[0].Name); err != nil {
			return deleted, err
		}
		deleted = append(deleted, objs[0].Name)
		objs = objs[1:]
	}
	return deleted, nil
}
