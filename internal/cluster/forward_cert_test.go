package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestForwardClientCertificate: the client's TLS state crosses the
// forwarding hop (no TLS, TLS without a certificate, a chain), a client
// cannot forge it with the header, and the standby's own node certificate
// never reaches the handler as if it were the client's.
func TestForwardClientCertificate(t *testing.T) {
	s := newForwardSetup(t, func(w http.ResponseWriter, r *http.Request) {
		state := "none"
		if r.TLS != nil {
			names := []string{}
			for _, c := range r.TLS.PeerCertificates {
				names = append(names, c.Subject.CommonName)
			}
			state = "tls:" + strings.Join(names, ",")
		}
		w.Header().Set("X-Echo-TLS", state)
		w.Header().Set("X-Echo-Header", strconv.Quote(r.Header.Get(HeaderForwardedClientCert)))
	}, ForwarderOptions{})
	leaf, inter := certNamed(t, "client-leaf"), certNamed(t, "client-inter")
	for _, tc := range []struct {
		name  string
		state *tls.ConnectionState
		want  string
	}{
		{"plain HTTP", nil, "none"},
		{"TLS without a certificate", &tls.ConnectionState{}, "tls:"},
		{"a chain", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf, inter}}, "tls:client-leaf,client-inter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := clientRequest(t, "POST", "/v1/auth/cert/login", []byte("{}"))
			r.TLS = tc.state
			// A client's forgery attempt: the header is replaced or dropped.
			r.Header.Set(HeaderForwardedClientCert, encodeClientCerts([]*x509.Certificate{inter}))
			resp, err := s.fwd.Forward(testContext(t), r)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if got := resp.Header.Get("X-Echo-TLS"); got != tc.want {
				t.Fatalf("handler saw TLS %q, want %q", got, tc.want)
			}
			if got := resp.Header.Get("X-Echo-Header"); got != `""` {
				t.Fatalf("the header reached the handler: %s", got)
			}
		})
	}
	if got := decodeClientCerts("junk," + encodeClientCerts([]*x509.Certificate{leaf})); len(got) != 0 {
		t.Fatalf("a chain starting with junk decoded to %d certificates", len(got))
	}
}

func certNamed(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	certPEM, _, err := GenerateCert(cn, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(certPEM)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
