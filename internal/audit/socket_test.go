package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// lineServer accepts stream connections and sends every line received.
func lineServer(t *testing.T, network, addr string) (net.Listener, <-chan string) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	lines := make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
		}
	}()
	return ln, lines
}

// receive waits (bounded) for the next line.
func receive(t *testing.T, lines <-chan string) map[string]any {
	t.Helper()
	select {
	case l := <-lines:
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("received %q: %v", l, err)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no entry received")
		return nil
	}
}

func TestSocketDeviceStreams(t *testing.T) {
	tests := []struct {
		name, network, addr string
	}{
		{"tcp", "tcp", "127.0.0.1:0"},
		{"unix", "unix", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			addr := tc.addr
			if tc.network == "unix" {
				addr = filepath.Join(t.TempDir(), "audit.sock")
			}
			ln, lines := lineServer(t, tc.network, addr)
			d, err := NewSocket(ctx, &DeviceConfig{Path: "socket/", Options: map[string]string{
				"address": ln.Addr().String(), "socket_type": tc.network,
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.LogRequest(ctx, sampleInput()); err != nil {
				t.Fatal(err)
			}
			if err := d.LogResponse(ctx, sampleInput()); err != nil {
				t.Fatal(err)
			}
			want, _ := d.Hash(ctx, secretToken)
			for _, typ := range []string{"request", "response"} {
				e := receive(t, lines)
				if e["type"] != typ {
					t.Errorf("type = %v, want %s", e["type"], typ)
				}
				if got := get(t, e, "auth", "client_token"); got != want {
					t.Errorf("client_token = %v, want %v", got, want)
				}
			}
			// Reload reconnects; entries keep flowing.
			if err := d.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			if err := d.LogRequest(ctx, sampleInput()); err != nil {
				t.Fatal(err)
			}
			if e := receive(t, lines); e["type"] != "request" {
				t.Errorf("after reload: %v", e)
			}
		})
	}
}

func TestSocketDeviceUDP(t *testing.T) {
	ctx := context.Background()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d, err := NewSocket(ctx, &DeviceConfig{Path: "udp/", Options: map[string]string{
		"address": pc.LocalAddr().String(), "socket_type": "udp", "log_raw": "true",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.LogRequest(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	if err := pc.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	if err := json.Unmarshal(buf[:n], &e); err != nil {
		t.Fatalf("datagram is not one JSON entry: %v", err)
	}
	if got := get(t, e, "request", "data", "password"); got != secretReqValue {
		t.Errorf("log_raw password = %v", got)
	}
}

func TestSocketDeviceFailures(t *testing.T) {
	ctx := context.Background()
	ln, lines := lineServer(t, "tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	d, err := NewSocket(ctx, &DeviceConfig{Path: "socket/", Options: map[string]string{"address": addr}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.LogRequest(ctx, sampleInput()); err != nil {
		t.Fatal(err)
	}
	receive(t, lines)
	_ = ln.Close() // the collector goes away: reconnecting fails

	if err := d.Reload(ctx); err == nil {
		t.Error("Reload to a closed listener succeeded")
	}
	b := NewBroker(quietLogger)
	if err := b.Register("socket/", d, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.LogRequest(ctx, sampleInput()); !errors.Is(err, ErrAuditFailed) {
		t.Errorf("only device unreachable: %v, want ErrAuditFailed", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.LogRequest(ctx, sampleInput()); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestSocketBadOptions(t *testing.T) {
	ln, _ := lineServer(t, "tcp", "127.0.0.1:0")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	_ = closed.Close()
	tests := []struct {
		name    string
		opts    map[string]string
		wantMsg string
	}{
		{"no address", map[string]string{}, `"address" is required`},
		{"bad type", map[string]string{"address": ln.Addr().String(), "socket_type": "sctp"}, `unsupported "socket_type"`},
		{"bad timeout", map[string]string{"address": ln.Addr().String(), "write_timeout": "soon"}, `"write_timeout"`},
		{"zero timeout", map[string]string{"address": ln.Addr().String(), "write_timeout": "0s"}, `"write_timeout"`},
		{"bad format", map[string]string{"address": ln.Addr().String(), "format": "yaml"}, `unsupported "format"`},
		{"unreachable", map[string]string{"address": deadAddr}, "connect to tcp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewSocket(context.Background(), &DeviceConfig{Options: tc.opts})
			if err == nil {
				d.Close()
				t.Fatal("NewSocket succeeded")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("%v does not wrap ErrInvalidConfig", err)
			}
			if status, _ := logical.StatusOf(err); status != 400 {
				t.Errorf("status %d, want 400", status)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
	if _, err := NewSocket(context.Background(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("nil config: %v", err)
	}
}

func TestFactories(t *testing.T) {
	f := Factories()
	for _, name := range []string{"file", "socket"} {
		if f[name] == nil {
			t.Errorf("no %q factory", name)
		}
	}
	d, err := f["file"](context.Background(), &DeviceConfig{Path: "file/", Options: map[string]string{"file_path": "discard"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
