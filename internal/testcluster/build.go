package testcluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// mainPackage is the import path of the strongbox command.
const mainPackage = "github.com/strongbox/strongbox/cmd/strongbox"

// buildTimeout bounds `go build`; a cold build cache can take a while.
const buildTimeout = 5 * time.Minute

// built is the one binary of this test binary. It is package state on
// purpose: the whole point is to build once per test binary, not per test.
var built struct {
	once sync.Once
	dir  string // removed by Main
	path string
	out  string
	err  error
}

// Build returns the path of a strongbox binary: $STRONGBOX_BINARY when set,
// otherwise one built with `go build` the first time it is called in this
// test binary, into a temporary directory that Main removes. A build failure
// fails every test that asks.
func Build(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("STRONGBOX_BINARY"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("STRONGBOX_BINARY: %v", err)
		}
		return p
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "strongbox-testcluster-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		built.path = filepath.Join(dir, "strongbox")
		goTool, err := exec.LookPath("go")
		if err != nil {
			goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, goTool, "build", "-o", built.path, mainPackage).CombinedOutput()
		built.out, built.err = string(out), err
	})
	if built.err != nil {
		t.Fatalf("build strongbox: %v\n%s", built.err, built.out)
	}
	return built.path
}

// Main runs the tests of a package that uses the process runner and removes
// the binary Build made. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testcluster.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}
