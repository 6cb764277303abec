package audit

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// syslogListener stands in for /dev/log: a Unix datagram socket the
// device is pointed at through SyslogSocketEnv.
func syslogListener(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	t.Setenv(SyslogSocketEnv, path)
	return conn
}

func readDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 1<<20)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // hang guard
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no syslog message: %v", err)
	}
	return string(buf[:n])
}

func TestSyslogDevice(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		opts       map[string]string
		wantHeader string
	}{
		{map[string]string{}, "<38>"}, // AUTH|INFO
		{map[string]string{"facility": "local0", "tag": "sbaudit"}, "<134>"},
	} {
		conn := syslogListener(t)
		d, err := NewSyslog(ctx, &DeviceConfig{Path: "syslog/", Options: tc.opts})
		if err != nil {
			t.Fatal(err)
		}
		tag := tc.opts["tag"]
		if tag == "" {
			tag = "strongbox"
		}
		var msgs [][]byte
		for i := 0; i < 3; i++ {
			if err := d.LogRequest(ctx, sampleInput()); err != nil {
				t.Fatal(err)
			}
			m := readDatagram(t, conn)
			if !strings.HasPrefix(m, tc.wantHeader) || !strings.Contains(m, " "+tag+"[") {
				t.Fatalf("message %q lacks priority %s or tag %s", m, tc.wantHeader, tag)
			}
			if strings.Contains(m, secretToken) || !strings.Contains(m, `"type":"request"`) {
				t.Fatalf("message is not an HMAC'd request entry: %.200s", m)
			}
			msgs = append(msgs, []byte(strings.TrimRight(m, "\n")))
		}
		// The chain holds over the messages as a syslog daemon stores them,
		// header included.
		if rep, err := VerifyChain(bytes.NewReader(append(bytes.Join(msgs, []byte("\n")), '\n')), nil); err != nil || rep.Entries != 3 {
			t.Fatalf("chain over syslog messages: %+v, %v", rep, err)
		}
		_ = d.Close()
	}
}

func TestSyslogBadOptions(t *testing.T) {
	syslogListener(t)
	_, err := NewSyslog(context.Background(), &DeviceConfig{Options: map[string]string{"facility": "nope"}})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("bad facility: %v", err)
	}
	t.Setenv(SyslogSocketEnv, filepath.Join(t.TempDir(), "missing.sock"))
	if _, err := NewSyslog(context.Background(), &DeviceConfig{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("no daemon: %v", err)
	}
}
