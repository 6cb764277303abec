package testcluster

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// canIdentifySources reports whether socketOwner can work here.
func canIdentifySources() bool {
	_, err := os.Stat("/proc/net/tcp")
	return err == nil
}

// socketOwner returns which of pids holds the TCP socket whose local address
// is addr — the remote end of a connection a proxy accepted. It reads the
// kernel's socket table for the socket's inode, then the processes' open
// files; no root needed for processes of our own user.
func socketOwner(addr net.Addr, pids []int) (int, error) {
	ta, ok := addr.(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("socket owner: %v is not a TCP address", addr)
	}
	inode, err := socketInode(ta)
	if err != nil {
		return 0, err
	}
	want := "socket:[" + inode + "]"
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // exited meanwhile
		}
		for _, e := range ents {
			if l, err := os.Readlink(dir + "/" + e.Name()); err == nil && l == want {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("socket owner of %v: not one of the given processes", addr)
}

var errNoSocket = errors.New("no such socket")

// socketInode finds the inode of the socket bound locally to ta.
func socketInode(ta *net.TCPAddr) (string, error) {
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		inode, err := scanSockets(bufio.NewScanner(f), ta)
		f.Close()
		if err == nil {
			return inode, nil
		}
	}
	return "", fmt.Errorf("socket inode of %v: %w", ta, errNoSocket)
}

// scanSockets reads a /proc/net/tcp table: "sl local rem st … uid timeout
// inode", addresses as hex words in host byte order, then :PORT in hex.
func scanSockets(sc *bufio.Scanner, ta *net.TCPAddr) (string, error) {
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] == "sl" {
			continue
		}
		ip, port, ok := parseProcAddr(f[1])
		if ok && port == ta.Port && ip.Equal(ta.IP) && f[9] != "0" {
			return f[9], nil
		}
	}
	return "", errNoSocket
}

func parseProcAddr(s string) (net.IP, int, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return nil, 0, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return nil, 0, false
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(ip[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	return ip, int(port), true
}
