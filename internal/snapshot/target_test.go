package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// exerciseTarget runs the Target contract against tgt: atomic writes,
// listing by prefix, pruning oldest first, failed writes leaving nothing.
func exerciseTarget(t *testing.T, tgt Target, read func(name string) string) {
	t.Helper()
	ctx := context.Background()
	base := time.Unix(1_700_000_000, 0)
	var names []string
	for i := range 5 {
		name := ObjectName("vault-snapshot", base.Add(time.Duration(i)*time.Second))
		obj, err := tgt.Write(ctx, name, writeString(fmt.Sprintf("snapshot %d", i)))
		if err != nil {
			t.Fatalf("Write %s: %v", name, err)
		}
		if obj.Name != name || obj.Size != int64(len(fmt.Sprintf("snapshot %d", i))) || obj.URL == "" {
			t.Fatalf("object %+v", obj)
		}
		names = append(names, name)
	}
	// Not snapshots of this prefix: never listed as such, never pruned.
	if _, err := tgt.Write(ctx, "vault-snapshot-notes.txt", writeString("keep me")); err != nil {
		t.Fatal(err)
	}
	if _, err := tgt.Write(ctx, "other-1.snap", writeString("keep me too")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("stream broke")
	if _, err := tgt.Write(ctx, ObjectName("vault-snapshot", base.Add(time.Hour)), func(w io.Writer) error {
		_, _ = io.WriteString(w, "half a snap")
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	snaps, err := Snapshots(ctx, tgt, "vault-snapshot")
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 5 {
		t.Fatalf("snapshots %+v, want the 5 written (the failed one must not appear)", snaps)
	}
	for i, s := range snaps {
		if s.Name != names[i] {
			t.Fatalf("order: %v", snaps)
		}
	}
	deleted, err := Prune(ctx, tgt, "vault-snapshot", 3)
	if err != nil || len(deleted) != 2 || deleted[0] != names[0] || deleted[1] != names[1] {
		t.Fatalf("Prune: %v %v", deleted, err)
	}
	snaps, _ = Snapshots(ctx, tgt, "vault-snapshot")
	if len(snaps) != 3 || snaps[0].Name != names[2] {
		t.Fatalf("after prune: %v", snaps)
	}
	if got := read(names[4]); got != "snapshot 4" {
		t.Fatalf("content %q", got)
	}
	all, _ := tgt.List(ctx, "")
	if len(all) != 5 {
		t.Fatalf("everything listed: %v (want 3 snapshots + 2 other objects)", all)
	}
	if _, err := tgt.Write(ctx, "../escape.snap", writeString("x")); err == nil {
		t.Fatal("a name with a slash was accepted")
	}
}

func TestLocalTarget(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "snaps")
	tgt := &LocalTarget{Dir: dir, FilePrefix: "vault-snapshot"}
	exerciseTarget(t, tgt, func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	})
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v", fi.Mode())
	}
}

func TestLocalTargetMaxSpace(t *testing.T) {
	dir := t.TempDir()
	tgt := &LocalTarget{Dir: dir, FilePrefix: "p", MaxSpace: 25}
	ctx := context.Background()
	if _, err := tgt.Write(ctx, ObjectName("p", time.Unix(1, 0)), writeString(strings.Repeat("a", 20))); err != nil {
		t.Fatal(err)
	}
	// 20 used, 5 left: a 10-byte snapshot does not fit.
	if _, err := tgt.Write(ctx, ObjectName("p", time.Unix(2, 0)), writeString(strings.Repeat("b", 10))); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("over the allowance: %v", err)
	}
	if _, err := tgt.Write(ctx, ObjectName("p", time.Unix(3, 0)), writeString("ccc")); err != nil {
		t.Fatalf("within the allowance: %v", err)
	}
	// Other prefixes do not count against it.
	if _, err := (&LocalTarget{Dir: dir, FilePrefix: "q", MaxSpace: 25}).Write(ctx, ObjectName("q", time.Unix(4, 0)), writeString(strings.Repeat("d", 20))); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("files %v, want 3 (nothing left of the refused one)", entries)
	}
}

func TestS3Target(t *testing.T) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket("snaps"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tgt, err := NewS3Target(ctx, S3Config{
		Bucket: "snaps", Region: "us-east-1", Prefix: "/cluster-a/daily/", Endpoint: strings.TrimPrefix(srv.URL, "http://"),
		DisableTLS: true, ForcePathStyle: true, AccessKeyID: "AKID", SecretAccessKey: "secret", TempDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	exerciseTarget(t, tgt, func(name string) string {
		rc, err := tgt.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		return string(b)
	})
	snaps, _ := Snapshots(ctx, tgt, "vault-snapshot")
	if !strings.HasPrefix(snaps[0].URL, "s3://snaps/cluster-a/daily/vault-snapshot-") {
		t.Fatalf("url %s", snaps[0].URL)
	}
}

func TestNewS3TargetValidation(t *testing.T) {
	for name, conf := range map[string]S3Config{
		"no bucket":      {Region: "r"},
		"no region":      {Bucket: "b"},
		"half a key":     {Bucket: "b", Region: "r", AccessKeyID: "x"},
		"both encryptns": {Bucket: "b", Region: "r", ServerSideEncryption: true, EnableKMS: true},
	} {
		if _, err := NewS3Target(context.Background(), conf); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
