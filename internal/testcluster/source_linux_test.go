package testcluster

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	word := func(b ...byte) string { return fmt.Sprintf("%08X", binary.NativeEndian.Uint32(b)) }
	tests := []struct {
		in   string
		ip   string
		port int
		ok   bool
	}{
		{word(127, 0, 0, 1) + ":1F90", "127.0.0.1", 8080, true},
		{word(10, 1, 2, 3) + ":0016", "10.1.2.3", 22, true},
		{word(0, 0, 0, 0) + word(0, 0, 0, 0) + word(0, 0, 0xff, 0xff) + word(127, 0, 0, 1) + ":0050", "127.0.0.1", 80, true},
		{"zz:0050", "", 0, false},
		{word(127, 0, 0, 1), "", 0, false},
		{word(127, 0, 0, 1) + ":XYZ", "", 0, false},
	}
	for _, tc := range tests {
		ip, port, ok := parseProcAddr(tc.in)
		if ok != tc.ok || (ok && (!ip.Equal(net.ParseIP(tc.ip)) || port != tc.port)) {
			t.Errorf("parseProcAddr(%q) = %v, %d, %v; want %s, %d, %v", tc.in, ip, port, ok, tc.ip, tc.port, tc.ok)
		}
	}
}

// TestSocketOwner finds this very process as the owner of a connection it
// opened, as a proxy finds which node dialed it.
func TestSocketOwner(t *testing.T) {
	if !canIdentifySources() {
		t.Fatal("no /proc/net/tcp on Linux")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	me := os.Getpid()
	if pid, err := socketOwner(s.RemoteAddr(), []int{me + 1_000_000, me}); err != nil || pid != me {
		t.Fatalf("socketOwner = %d, %v; want %d", pid, err, me)
	}
	if pid, err := socketOwner(s.RemoteAddr(), []int{me + 1_000_000}); err == nil {
		t.Fatalf("socketOwner among strangers = %d, want an error", pid)
	}
	if _, err := socketOwner(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, []int{me}); err == nil {
		t.Fatal("socketOwner of a socket that does not exist succeeded")
	}
}
