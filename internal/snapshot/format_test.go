package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/strongbox/strongbox/internal/physical/raft"
)

func TestWriteReadRoundTrip(t *testing.T) {
	key := testKey(t)
	data := archive(t, key)
	var state bytes.Buffer
	a, err := Read(bytes.NewReader(data), &state)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !bytes.Equal(state.Bytes(), stream(t)) {
		t.Fatal("state.bin differs from the raft stream written")
	}
	info, _ := raft.ReadSnapshotInfo(bytes.NewReader(stream(t)))
	m := a.Meta
	if m.Version != FormatVersion || m.Index != info.Index || m.Term != info.Term || m.Size != int64(len(stream(t))) ||
		m.ClusterID != "cluster-1" || m.KeyID != key.ID || m.CreatedAt.IsZero() || m.ID == "" {
		t.Fatalf("meta %+v (stream index %d term %d)", m, info.Index, info.Term)
	}
	if err := a.Verify(key); err != nil {
		t.Fatalf("Verify(own key): %v", err)
	}
	if err := a.Verify(testKey(t)); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Verify(other key): %v", err)
	}
	if err := a.Verify(nil); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Verify(nil): %v", err)
	}
	// A key with the same ID but another secret does not verify either.
	forged := &Key{ID: key.ID, Secret: bytes.Repeat([]byte{1}, 32)}
	if err := a.Verify(forged); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("Verify(forged): %v", err)
	}
}

// TestArchiveShape: the archive is what Vault's API client checks for: a
// gzip'd tar whose SHA256SUMS.sealed is present and not empty.
func TestArchiveShape(t *testing.T) {
	gz, err := gzip.NewReader(bytes.NewReader(archive(t, testKey(t))))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if h.Name == fileSealed && len(b) == 0 {
			t.Fatal("empty SHA256SUMS.sealed")
		}
		names = append(names, h.Name)
	}
	if got := strings.Join(names, ","); got != "meta.json,state.bin,SHA256SUMS,SHA256SUMS.sealed" {
		t.Fatalf("files %s", got)
	}
}

func TestReadRejectsDamage(t *testing.T) {
	good := archive(t, testKey(t))
	flip := func(at int) []byte {
		d := bytes.Clone(good)
		d[at] ^= 0x55
		return d
	}
	rebuild := func(edit func(name string, body []byte) (string, []byte, bool)) []byte {
		t.Helper()
		gz, _ := gzip.NewReader(bytes.NewReader(good))
		tr := tar.NewReader(gz)
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		tw := tar.NewWriter(zw)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			b, _ := io.ReadAll(tr)
			name, body, keep := edit(h.Name, b)
			if !keep {
				continue
			}
			_ = tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), Typeflag: tar.TypeReg})
			_, _ = tw.Write(body)
		}
		_ = tw.Close()
		_ = zw.Close()
		return out.Bytes()
	}
	cases := map[string][]byte{
		"empty":             nil,
		"not gzip":          []byte("definitely not a snapshot"),
		"truncated half":    good[:len(good)/2],
		"truncated 1 byte":  good[:len(good)-1],
		"truncated trailer": good[:len(good)-8],
		"flipped early":     flip(40),
		"flipped middle":    flip(len(good) / 2),
		"flipped late":      flip(len(good) - 20),
		"trailing garbage":  append(bytes.Clone(good), []byte("garbage")...),
		"state edited": rebuild(func(n string, b []byte) (string, []byte, bool) {
			if n == fileState {
				b[len(b)/2] ^= 1
			}
			return n, b, true
		}),
		"sealed missing": rebuild(func(n string, b []byte) (string, []byte, bool) { return n, b, n != fileSealed }),
		"state missing":  rebuild(func(n string, b []byte) (string, []byte, bool) { return n, b, n != fileState }),
		"extra file": rebuild(func(n string, b []byte) (string, []byte, bool) {
			if n == fileSums {
				return "evil.sh", b, true
			}
			return n, b, true
		}),
		"sums lie": rebuild(func(n string, b []byte) (string, []byte, bool) {
			if n == fileSums {
				b = bytes.Replace(b, []byte("state.bin"), []byte("other.bin"), 1)
			}
			return n, b, true
		}),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Read(bytes.NewReader(data), io.Discard); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Read: err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestWriteProducerErrors(t *testing.T) {
	boom := errors.New("not the leader")
	var out bytes.Buffer
	_, err := Write(context.Background(), &out, Meta{}, testKey(t), func(io.Writer) error { return boom })
	if !errors.Is(err, boom) || out.Len() != 0 {
		t.Fatalf("early failure: err %v, %d bytes written", err, out.Len())
	}
	// A failure mid-stream is reported, and the partial archive does not read.
	_, err = Write(context.Background(), &out, Meta{}, testKey(t), func(w io.Writer) error {
		if _, err := w.Write(stream(t)[:len(stream(t))/2]); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("mid-stream failure: %v", err)
	}
	if _, err := Read(bytes.NewReader(out.Bytes()), io.Discard); !errors.Is(err, ErrInvalid) {
		t.Fatalf("partial archive read: %v", err)
	}
	// A producer writing more than its header announces is caught.
	_, err = Write(context.Background(), io.Discard, Meta{}, testKey(t), func(w io.Writer) error {
		_, err := w.Write(append(bytes.Clone(stream(t)), 1, 2, 3))
		return err
	})
	if err == nil {
		t.Fatal("overlong stream accepted")
	}
	if _, err := Write(context.Background(), io.Discard, Meta{}, nil, func(io.Writer) error { return nil }); err == nil {
		t.Fatal("Write without a key succeeded")
	}
}

// FuzzRead: no input makes Read panic, and what it accepts has a state.bin
// of the size its meta states.
func FuzzRead(f *testing.F) {
	good := archive(f, testKey(f))
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add([]byte("SHA256SUMS"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var state bytes.Buffer
		a, err := Read(bytes.NewReader(data), &state)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not wrapping ErrInvalid: %v", err)
			}
			return
		}
		if int64(state.Len()) != a.Meta.Size {
			t.Fatalf("state %d bytes, meta says %d", state.Len(), a.Meta.Size)
		}
	})
}
