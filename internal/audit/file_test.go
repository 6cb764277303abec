package audit

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

func TestHashStableAcrossDevices(t *testing.T) {
	ctx := context.Background()
	storage := logical.NewInmemStorage()
	d1, path1 := newDevice(t, nil, storage)
	h1, err := d1.Hash(ctx, secretToken)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, "hmac-sha256:") || len(h1) != len("hmac-sha256:")+64 {
		t.Fatalf("hash %q is not hmac-sha256:<64 hex>", h1)
	}
	if err := d1.LogRequest(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	if got := get(t, readEntries(t, path1, "")[0], "auth", "client_token"); got != h1 {
		t.Errorf("logged token %v, Hash gave %v", got, h1)
	}
	if err := d1.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := storage.Get(ctx, "salt")
	if err != nil || e == nil || len(e.Value) != 32 {
		t.Fatalf("salt entry = %v, %v; want 32 bytes", e, err)
	}

	// Same storage, new device (a restart): same hash, in the log too.
	d2, path2 := newDevice(t, nil, storage)
	h2, err := d2.Hash(ctx, secretToken)
	if err != nil {
		t.Fatal(err)
	}
	if h2 != h1 {
		t.Errorf("hash changed across re-creation: %s then %s", h1, h2)
	}
	if err := d2.LogRequest(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	if got := get(t, readEntries(t, path2, "")[0], "auth", "client_token"); got != h1 {
		t.Errorf("re-created device logged %v, want %v", got, h1)
	}

	// Another storage: another salt, another hash.
	d3, _ := newDevice(t, nil, logical.NewInmemStorage())
	h3, err := d3.Hash(ctx, secretToken)
	if err != nil {
		t.Fatal(err)
	}
	if h3 == h1 {
		t.Error("two salt storages gave the same hash")
	}
}

func TestSaltStorageFailure(t *testing.T) {
	ctx := context.Background()
	st := &failingStorage{InmemStorage: logical.NewInmemStorage(), fail: true}
	d, path := newDevice(t, nil, st)
	if err := d.LogRequest(ctx, sampleInput()); !errors.Is(err, errStorage) {
		t.Fatalf("LogRequest with failing salt storage = %v, want %v", err, errStorage)
	}
	if _, err := d.Hash(ctx, "x"); !errors.Is(err, errStorage) {
		t.Fatalf("Hash with failing salt storage = %v, want %v", err, errStorage)
	}
	if n := len(readEntries(t, path, "")); n != 0 {
		t.Fatalf("%d entries written without a salt", n)
	}
	st.fail = false // the failure is not cached
	if err := d.LogRequest(ctx, sampleInput()); err != nil {
		t.Fatalf("after storage recovered: %v", err)
	}
	if n := len(readEntries(t, path, "")); n != 1 {
		t.Fatalf("%d entries, want 1", n)
	}
}

func TestExistingSaltIsUsedAsIs(t *testing.T) {
	ctx := context.Background()
	st := logical.NewInmemStorage()
	// A salt of another length (Vault stores a UUID string) keeps working.
	if err := st.Put(ctx, &logical.StorageEntry{Key: "salt", Value: []byte("5a4f7a1e-0000-4000-8000-000000000001")}); err != nil {
		t.Fatal(err)
	}
	d, _ := newDevice(t, nil, st)
	got, err := d.Hash(ctx, "foo")
	if err != nil {
		t.Fatal(err)
	}
	want := newSaltKey([]byte("5a4f7a1e-0000-4000-8000-000000000001")).hmac("foo")
	if got != want {
		t.Fatalf("Hash = %s, want %s", got, want)
	}
}

func TestReloadAfterRename(t *testing.T) {
	ctx := context.Background()
	d, path := newDevice(t, nil, nil)
	first := sampleInput()
	first.Request.ID = "before-rotation"
	if err := d.LogRequest(ctx, first); err != nil {
		t.Fatal(err)
	}
	rotated := path + ".1"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	// Until Reload, entries follow the renamed file (the open descriptor).
	mid := sampleInput()
	mid.Request.ID = "during-rotation"
	if err := d.LogRequest(ctx, mid); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	second := sampleInput()
	second.Request.ID = "after-rotation"
	if err := d.LogRequest(ctx, second); err != nil {
		t.Fatal(err)
	}
	ids := func(p string) []any {
		var out []any
		for _, e := range readEntries(t, p, "") {
			out = append(out, get(t, e, "request", "id"))
		}
		return out
	}
	if got := ids(rotated); fmt.Sprint(got) != "[before-rotation during-rotation]" {
		t.Errorf("rotated file has %v", got)
	}
	if got := ids(path); fmt.Sprint(got) != "[after-rotation]" {
		t.Errorf("new file has %v", got)
	}
}

func TestPrefix(t *testing.T) {
	ctx := context.Background()
	for _, format := range []string{"json", "jsonx"} {
		d, path := newDevice(t, map[string]string{"prefix": "@cee: ", "format": format}, nil)
		for i := 0; i < 3; i++ {
			if err := d.LogRequest(ctx, sampleInput()); err != nil {
				t.Fatal(err)
			}
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		if len(lines) != 3 {
			t.Fatalf("%s: %d lines, want 3", format, len(lines))
		}
		for _, l := range lines {
			if !strings.HasPrefix(l, "@cee: ") {
				t.Errorf("%s: line %.40q lacks the prefix", format, l)
			}
		}
		if format == "json" {
			readEntries(t, path, "@cee: ") // fails unless each line is prefix + JSON
		}
	}
}

func TestJSONxIsWellFormedXML(t *testing.T) {
	d, path := newDevice(t, map[string]string{"format": "jsonx"}, nil)
	in := sampleInput()
	in.Request.Data["markup"] = `<a href="x">&</a>`
	in.NonHMACReqDataKeys = []string{"markup"}
	if err := d.LogResponse(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := `<json:object xmlns:json="http://www.ibm.com/xmlns/prod/2009/jsonx">` + string(bytes.TrimSpace(raw)) + `</json:object>`
	dec := xml.NewDecoder(strings.NewReader(doc))
	var strs []string
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("JSONx is not well-formed: %v", err)
		}
		if cd, ok := tok.(xml.CharData); ok {
			strs = append(strs, string(cd))
		}
	}
	joined := strings.Join(strs, "|")
	for _, want := range []string{"response", `<a href="x">&</a>`, "secret/creds/app/lease1"} {
		if !strings.Contains(joined, want) {
			t.Errorf("JSONx text lacks %q", want)
		}
	}
}

func TestFileMode(t *testing.T) {
	tests := []struct {
		name     string
		mode     string // option; "-" for unset
		existing os.FileMode
		want     os.FileMode
	}{
		{"default new file", "-", 0, 0o600},
		{"explicit new file", "0640", 0, 0o640},
		{"default chmods existing", "-", 0o644, 0o600},
		{"explicit chmods existing", "0660", 0o644, 0o660},
		{"0000 keeps existing", "0000", 0o644, 0o644},
		{"0000 new file gets default", "0000", 0, 0o600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "audit.log")
			if tc.existing != 0 {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, nil, tc.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.existing); err != nil {
					t.Fatal(err)
				}
			}
			opts := map[string]string{"file_path": path}
			if tc.mode != "-" {
				opts["mode"] = tc.mode
			}
			d, err := NewFile(context.Background(), &DeviceConfig{Path: "file/", Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.LogRequest(context.Background(), sampleInput()); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != tc.want {
				t.Errorf("mode = %#o, want %#o", got, tc.want)
			}
		})
	}
}

func TestBadOptions(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "regular-file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "audit.log")
	tests := []struct {
		name    string
		opts    map[string]string
		wantMsg string
	}{
		{"no file_path", map[string]string{}, `"file_path" is required`},
		{"empty file_path", map[string]string{"file_path": "  "}, `"file_path" is required`},
		{"mode not octal", map[string]string{"file_path": good, "mode": "rw-r--r--"}, "not an octal file mode"},
		{"mode 9", map[string]string{"file_path": good, "mode": "0698"}, "not an octal file mode"},
		{"mode executable", map[string]string{"file_path": good, "mode": "0755"}, "executable permissions"},
		{"mode setuid", map[string]string{"file_path": good, "mode": "04600"}, "only permission bits"},
		{"log_raw not bool", map[string]string{"file_path": good, "log_raw": "yes please"}, `"log_raw"`},
		{"hmac_accessor not bool", map[string]string{"file_path": good, "hmac_accessor": "nope"}, `"hmac_accessor"`},
		{"elide not bool", map[string]string{"file_path": good, "elide_list_responses": "2"}, `"elide_list_responses"`},
		{"format xml", map[string]string{"file_path": good, "format": "xml"}, `unsupported "format"`},
		{"enterprise filter", map[string]string{"file_path": good, "filter": `mount_type == "kv"`}, "enterprise-only"},
		{"enterprise fallback", map[string]string{"file_path": good, "fallback": "true"}, "enterprise-only"},
		{"unopenable path", map[string]string{"file_path": filepath.Join(notADir, "audit.log")}, "file sink creation failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewFile(context.Background(), &DeviceConfig{Path: "file/", Options: tc.opts})
			if err == nil {
				d.Close()
				t.Fatal("NewFile succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if status, _ := logical.StatusOf(err); status != 400 {
				t.Errorf("status = %d, want 400", status)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
	if _, err := NewFile(context.Background(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil config: %v", err)
	}
}

func TestGoodOptions(t *testing.T) {
	tests := []struct {
		name string
		opts map[string]string
		want fileOptions
	}{
		{"defaults", map[string]string{"file_path": "/x"},
			fileOptions{path: "/x", mode: 0o600, format: formatConfig{hmacAccessor: true, chain: true}}},
		{"stdout any case", map[string]string{"file_path": "StdOut"},
			fileOptions{path: "stdout", mode: 0o600, format: formatConfig{hmacAccessor: true, chain: true}}},
		{"discard", map[string]string{"file_path": "DISCARD"},
			fileOptions{path: "discard", mode: 0o600, format: formatConfig{hmacAccessor: true, chain: true}}},
		{"legacy path option", map[string]string{"path": "/y"},
			fileOptions{path: "/y", mode: 0o600, format: formatConfig{hmacAccessor: true, chain: true}}},
		{"everything", map[string]string{"file_path": "/z", "mode": "0640", "log_raw": "true", "hmac_accessor": "false",
			"elide_list_responses": "1", "prefix": "p:", "format": "JSONX"},
			fileOptions{path: "/z", mode: 0o640, format: formatConfig{raw: true, elideList: true, prefix: "p:", jsonx: true}}},
		{"no chain", map[string]string{"file_path": "/z", "tamper_evident": "false"},
			fileOptions{path: "/z", mode: 0o600, format: formatConfig{hmacAccessor: true}}},
		{"mode 0000", map[string]string{"file_path": "/z", "mode": "0000", "format": "json"},
			fileOptions{path: "/z", mode: 0, format: formatConfig{hmacAccessor: true, chain: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFileOptions(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDiscardDevice(t *testing.T) {
	ctx := context.Background()
	d, err := NewFile(ctx, &DeviceConfig{Path: "discard/", Options: map[string]string{"file_path": "discard"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.LogRequest(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	if err := d.LogResponse(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if h, err := d.Hash(ctx, "x"); err != nil || !strings.HasPrefix(h, "hmac-sha256:") {
		t.Fatalf("Hash = %q, %v", h, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestClosedDevice(t *testing.T) {
	ctx := context.Background()
	d, _ := newDevice(t, nil, nil)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.LogRequest(ctx, sampleInput()); !errors.Is(err, ErrClosed) {
		t.Errorf("LogRequest after Close = %v, want ErrClosed", err)
	}
	if err := d.Reload(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Reload after Close = %v, want ErrClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestNilInput(t *testing.T) {
	d, _ := newDevice(t, nil, nil)
	for _, in := range []*LogInput{nil, {}} {
		if err := d.LogRequest(context.Background(), in); err == nil {
			t.Errorf("LogRequest(%v) succeeded", in)
		}
		if err := d.LogResponse(context.Background(), in); err == nil {
			t.Errorf("LogResponse(%v) succeeded", in)
		}
	}
}

// TestConcurrentWritesStayWhole checks that group commit never interleaves
// or loses lines.
func TestConcurrentWritesStayWhole(t *testing.T) {
	ctx := context.Background()
	d, path := newDevice(t, nil, nil)
	const workers, per = 16, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*per)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				in := sampleInput()
				in.Request.ID = fmt.Sprintf("w%d-%d", w, i)
				if err := d.LogResponse(ctx, in); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	for _, e := range readEntries(t, path, "") {
		seen[get(t, e, "request", "id")] = true
	}
	if len(seen) != workers*per {
		t.Fatalf("%d distinct entries, want %d", len(seen), workers*per)
	}
}

// TestFileGroupSync: entries written to a file device are fsynced in the
// background shortly after; with nothing written, nothing is synced.
func TestFileGroupSync(t *testing.T) {
	d, _ := newDevice(t, nil, nil)
	sink := d.sink.(*fileSink)
	for i := 0; i < 20; i++ {
		if err := d.LogRequest(context.Background(), sampleInput()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for sink.syncs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("written entries were never fsynced")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := sink.syncs.Load()
	if n > 20 {
		t.Errorf("%d fsyncs for 20 entries: not grouped", n)
	}
	sink.sync() // nothing written since: no fsync
	if got := sink.syncs.Load(); got != n {
		t.Errorf("fsyncs went from %d to %d with nothing written", n, got)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
