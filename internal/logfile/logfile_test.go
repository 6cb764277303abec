package logfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRotateBySizeAndPrune(t *testing.T) {
	for _, tc := range []struct {
		maxFiles int
		want     int
	}{{0, 4}, {2, 2}, {-1, 0}} {
		dir := t.TempDir()
		w, err := Open(Options{Path: dir, MaxBytes: 10})
		if err != nil {
			t.Fatal(err)
		}
		w.opts.MaxFiles = tc.maxFiles
		if w.Path() != filepath.Join(dir, DefaultName) {
			t.Fatalf("path = %s", w.Path())
		}
		clock := time.Unix(1000, 0)
		w.opts.Now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
		for i := range 5 {
			if _, err := w.Write([]byte(strings.Repeat(string(rune('a'+i)), 8))); err != nil {
				t.Fatal(err)
			}
		}
		rotated, err := w.Rotated()
		if err != nil {
			t.Fatal(err)
		}
		if len(rotated) != tc.want {
			t.Errorf("max files %d: %d rotated files %q, want %d", tc.maxFiles, len(rotated), rotated, tc.want)
		}
		cur, _ := os.ReadFile(w.Path())
		if string(cur) != "eeeeeeee" {
			t.Errorf("current file = %q", cur)
		}
		if tc.want > 0 {
			last, _ := os.ReadFile(rotated[len(rotated)-1])
			if string(last) != "dddddddd" {
				t.Errorf("newest rotated file = %q", last)
			}
		}
		w.Close()
	}
}

func TestRotateByAge(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1000, 0)
	w, err := Open(Options{Path: filepath.Join(dir, "x.log"), MaxAge: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("one\n"))
	now = now.Add(59 * time.Minute)
	w.Write([]byte("two\n"))
	if r, _ := w.Rotated(); len(r) != 0 {
		t.Fatalf("rotated too early: %q", r)
	}
	now = now.Add(2 * time.Minute)
	w.Write([]byte("three\n"))
	r, _ := w.Rotated()
	if len(r) != 1 {
		t.Fatalf("rotated = %q", r)
	}
	old, _ := os.ReadFile(r[0])
	cur, _ := os.ReadFile(w.Path())
	if string(old) != "one\ntwo\n" || string(cur) != "three\n" {
		t.Fatalf("old %q, current %q", old, cur)
	}
}

func TestAppendsToExisting(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.log")
	os.WriteFile(p, []byte("before\n"), 0o600)
	w, err := Open(Options{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("after\n"))
	w.Close()
	if b, _ := os.ReadFile(p); string(b) != "before\nafter\n" {
		t.Fatalf("file = %q", b)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}
