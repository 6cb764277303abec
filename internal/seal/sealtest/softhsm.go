package sealtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// SoftHSMLibPaths are the places the SoftHSM2 PKCS#11 module is looked for,
// Debian's first.
var SoftHSMLibPaths = []string{
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// SoftHSM is an initialized token in a private SoftHSM2 token directory.
type SoftHSM struct {
	// Lib is the path of the PKCS#11 module.
	Lib string
	// Conf is the SOFTHSM2_CONF file; the test's environment points at it.
	Conf string
	// TokenLabel, PIN and SOPIN are what the token was initialized with.
	TokenLabel string
	PIN        string
	SOPIN      string
	// Slot is the slot ID SoftHSM reassigned the token to.
	Slot uint
}

// SlotString is Slot as the seal configuration takes it.
func (h *SoftHSM) SlotString() string { return strconv.FormatUint(uint64(h.Slot), 10) }

var reassigned = regexp.MustCompile(`reassigned to slot (\d+)`)

// StartSoftHSM creates a token directory and SOFTHSM2_CONF under
// t.TempDir(), points the process environment at it with t.Setenv (so the
// test must not be parallel: the PKCS#11 module reads SOFTHSM2_CONF when it
// is initialized), and initializes one token labelled label.
//
// A PKCS#11 module loaded earlier in the process keeps the configuration it
// read at C_Initialize, so every Wrapper of the previous test must be closed
// (the module finalized) before this is called.
func StartSoftHSM(t testing.TB, label string) *SoftHSM {
	t.Helper()
	lib := findSoftHSMLib()
	util, lookErr := exec.LookPath("softhsm2-util")
	if lib == "" || lookErr != nil {
		t.Fatal("sealtest: SoftHSM2 is not installed (softhsm2-util or libsofthsm2.so is missing): run scripts/test-deps.sh")
	}
	// Not t.TempDir(): subtest names may put '=' in its path, which
	// SoftHSM's configuration parser cuts values at.
	dir, err := os.MkdirTemp("", "softhsm-")
	if err != nil {
		t.Fatalf("sealtest: temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		t.Fatalf("sealtest: token dir: %v", err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatalf("sealtest: write softhsm2.conf: %v", err)
	}
	t.Setenv("SOFTHSM2_CONF", conf)

	h := &SoftHSM{Lib: lib, Conf: conf, TokenLabel: label, PIN: "1234-user", SOPIN: "5678-so"}
	out, err := exec.Command(util, "--init-token", "--free", "--label", label,
		"--pin", h.PIN, "--so-pin", h.SOPIN).CombinedOutput()
	if err != nil {
		t.Fatalf("sealtest: softhsm2-util --init-token: %v\n%s", err, out)
	}
	m := reassigned.FindSubmatch(out)
	if m == nil {
		t.Fatalf("sealtest: softhsm2-util printed no slot:\n%s", out)
	}
	slot, err := strconv.ParseUint(string(m[1]), 10, 64)
	if err != nil {
		t.Fatalf("sealtest: slot %q: %v", m[1], err)
	}
	h.Slot = uint(slot)
	return h
}

func findSoftHSMLib() string {
	for _, p := range SoftHSMLibPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
