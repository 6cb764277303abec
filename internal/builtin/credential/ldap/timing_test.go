package ldap

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/strongbox/strongbox/internal/logical"
)

// bindCounter is a TCP proxy to slapd that counts the LDAP bind requests
// going through it.
type bindCounter struct {
	ln    net.Listener
	binds atomic.Int64
	wg    sync.WaitGroup
}

func newBindCounter(t *testing.T, target string) *bindCounter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &bindCounter{ln: ln}
	t.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
			go func() {
				defer p.wg.Done()
				defer up.Close()
				for {
					pkt, err := ber.ReadPacket(c)
					if err != nil {
						return
					}
					if len(pkt.Children) > 1 && pkt.Children[1].ClassType == ber.ClassApplication && pkt.Children[1].Tag == ldap.ApplicationBindRequest {
						p.binds.Add(1)
					}
					if _, err := up.Write(pkt.Bytes()); err != nil {
						return
					}
				}
			}()
		}
	}()
	return p
}

// An unknown user costs the directory as many binds as a wrong password,
// in every way of finding the user, so the round trips do not tell which
// users exist. (The time itself is measured by BenchmarkFailedLogin.)
func TestFailedLoginsBindAlike(t *testing.T) {
	proxy := newBindCounter(t, strings.TrimPrefix(slapd.URL, "ldap://"))
	e := newEnv(t)
	for _, mode := range []map[string]any{
		nil,                              // service account search
		{"binddn": nil, "bindpass": nil}, // built DN
		{"binddn": nil, "bindpass": nil, "discoverdn": true}, // anonymous search
	} {
		e.Storage.Delete(t.Context(), configKey)
		if mode == nil {
			mode = map[string]any{}
		}
		mode["url"] = "ldap://" + proxy.ln.Addr().String()
		e.configure(mode)
		count := func(user string) int64 {
			before := proxy.binds.Load()
			e.Fails(logical.UpdateOperation, "login/"+user, map[string]any{"password": "wrong"}, 400, errUserBindFailed)
			return proxy.binds.Load() - before
		}
		wrong, unknown := count("alice"), count("mallory")
		if wrong == 0 || wrong != unknown {
			t.Fatalf("%v: a wrong password costs %d binds, an unknown user %d", mode, wrong, unknown)
		}
	}
}

// BenchmarkFailedLogin compares an unknown user with a wrong password; the
// two should take about the same time.
//
//	go test -run XXX -bench FailedLogin -benchtime 200x ./internal/builtin/credential/ldap
func BenchmarkFailedLogin(b *testing.B) {
	be := newBackend(slog.New(slog.DiscardHandler)).framework()
	storage := logical.NewInmemStorage()
	ctx := context.Background()
	cfg := baseConfig()
	if _, err := be.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "config", Storage: storage, Data: cfg}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct{ name, user string }{{"wrong-password", "alice"}, {"unknown-user", "mallory"}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				_, err := be.HandleRequest(ctx, &logical.Request{Operation: logical.UpdateOperation, Path: "login/" + tc.user,
					Storage: storage, Data: map[string]any{"password": "wrong"}})
				if status, _ := logical.StatusOf(err); status != 400 {
					b.Fatalf("login: %v", err)
				}
			}
		})
	}
}
