package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// maxBody bounds a request or response body the proxy reads into memory.
const maxBody = 32 << 20

// proxy forwards API requests to the server, adding the auto-auth token
// when configured and, with a cache, replaying responses that created
// tokens or leased secrets.
type proxy struct {
	target   *url.URL
	client   *http.Client
	useToken string // "", "true" or "force"
	cache    *responseCache
	log      *slog.Logger

	mu    sync.RWMutex
	token string // the current auto-auth token
}

func newProxy(cfg *Config, vc *vault.Client, log *slog.Logger) (*proxy, error) {
	u, err := url.Parse(vc.Address())
	if err != nil {
		return nil, fmt.Errorf("proxy: vault address: %w", err)
	}
	hc := vc.CloneConfig().HttpClient
	p := &proxy{target: u, client: &http.Client{Transport: hc.Transport, Timeout: hc.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		useToken: cfg.UseAutoAuthToken, log: log}
	if cfg.Cache {
		p.cache = newResponseCache()
	}
	return p, nil
}

// setToken installs a new auto-auth token. What the old one created is
// evicted: the agent logs in again when the old token was revoked or is
// about to expire, and its child tokens and leases go with it.
func (p *proxy) setToken(tok string) {
	p.mu.Lock()
	old := p.token
	p.token = tok
	p.mu.Unlock()
	if p.cache != nil && old != "" && old != tok {
		p.cache.evictToken(old)
	}
}

func (p *proxy) autoToken() string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.token
}

func writeErrors(w http.ResponseWriter, status int, msgs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": msgs})
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/agent/v1/cache-clear" {
		p.cacheClear(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeErrors(w, http.StatusRequestEntityTooLarge, "request body too large or unreadable")
		return
	}
	token := r.Header.Get("X-Vault-Token")
	if token == "" {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
			token = strings.TrimPrefix(a, "Bearer ")
		}
	}
	switch {
	case p.useToken == "force", p.useToken == "true" && token == "":
		if t := p.autoToken(); t != "" {
			token = t
		}
	}
	var key string
	if p.cache != nil {
		key = cacheKey(r, token, body)
		if e := p.cache.get(key); e != nil {
			for k, vs := range e.header {
				w.Header()[k] = vs
			}
			w.Header().Set("X-Cache", "HIT")
			w.WriteHeader(e.status)
			_, _ = w.Write(e.body)
			return
		}
	}
	// Keep the path as the client escaped it (a KV key may hold %2F).
	u := *p.target
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, "bad request")
		return
	}
	for k, vs := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "X-Vault-Token":
			continue
		}
		out.Header[k] = vs
	}
	if token != "" {
		out.Header.Set("X-Vault-Token", token)
	}
	resp, err := p.client.Do(out)
	if err != nil {
		p.log.Warn("proxy: forwarding failed", "path", r.URL.Path, "error", err)
		writeErrors(w, http.StatusBadGateway, "strongbox agent: the server is unreachable")
		return
	}
	defer resp.Body.Close()
	rbody, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		writeErrors(w, http.StatusBadGateway, "strongbox agent: reading the server's response failed")
		return
	}
	if p.cache != nil && resp.StatusCode < 300 {
		p.afterResponse(r, token, body, resp, rbody, key)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	if p.cache != nil {
		w.Header().Set("X-Cache", "MISS")
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(rbody)
}

// afterResponse caches a response that created a token or a leased
// secret, and evicts entries a successful revocation made stale.
func (p *proxy) afterResponse(r *http.Request, token string, reqBody []byte, resp *http.Response, rbody []byte, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	var in map[string]any
	_ = json.Unmarshal(reqBody, &in)
	str := func(k string) string { s, _ := in[k].(string); return s }
	switch {
	case path == "auth/token/revoke-self":
		p.cache.evictToken(token)
		return
	case path == "auth/token/revoke" || path == "auth/token/revoke-orphan":
		p.cache.evictToken(str("token"))
		return
	case path == "auth/token/revoke-accessor":
		// The accessor does not name the token; drop everything rather
		// than replay a revoked token.
		p.cache.evict(func(*cachedResponse) bool { return true })
		return
	case path == "sys/leases/revoke" || path == "sys/revoke" || strings.HasPrefix(path, "sys/leases/revoke/") || strings.HasPrefix(path, "sys/revoke/"):
		id := str("lease_id")
		if id == "" {
			id = strings.TrimPrefix(strings.TrimPrefix(path, "sys/leases/revoke/"), "sys/revoke/")
		}
		p.cache.evictLease(id, false)
		return
	case strings.HasPrefix(path, "sys/leases/revoke-prefix/") || strings.HasPrefix(path, "sys/revoke-prefix/") ||
		strings.HasPrefix(path, "sys/leases/revoke-force/") || strings.HasPrefix(path, "sys/revoke-force/"):
		prefix := path[strings.Index(path, "revoke-")+len("revoke-"):]
		prefix = prefix[strings.Index(prefix, "/")+1:]
		p.cache.evictLease(prefix, true)
		return
	}
	// Renewals and sys/ calls answer about something that already exists:
	// replaying one would stop a token or lease from being renewed.
	if strings.HasPrefix(path, "sys/") || strings.Contains(path, "renew") {
		return
	}
	var out struct {
		LeaseID       string `json:"lease_id"`
		LeaseDuration int    `json:"lease_duration"`
		Auth          *struct {
			ClientToken   string `json:"client_token"`
			LeaseDuration int    `json:"lease_duration"`
		} `json:"auth"`
	}
	if json.Unmarshal(rbody, &out) != nil {
		return
	}
	e := &cachedResponse{status: resp.StatusCode, header: resp.Header.Clone(), body: rbody, reqToken: token, path: path}
	now := p.cache.now()
	switch {
	case out.Auth != nil && out.Auth.ClientToken != "":
		e.token = out.Auth.ClientToken
		if out.Auth.LeaseDuration > 0 {
			e.expires = now.Add(time.Duration(out.Auth.LeaseDuration) * time.Second)
		}
	case out.LeaseID != "" && out.LeaseDuration > 0:
		e.lease = out.LeaseID
		e.expires = now.Add(time.Duration(out.LeaseDuration) * time.Second)
	default:
		return
	}
	p.cache.put(key, e)
}

// cacheClear is POST /agent/v1/cache-clear {"type": "all"|"token"|"lease"|"request_path", "value": …}.
func (p *proxy) cacheClear(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		writeErrors(w, http.StatusMethodNotAllowed, "cache-clear takes POST")
		return
	}
	if p.cache == nil {
		writeErrors(w, http.StatusBadRequest, "caching is not enabled (no cache stanza)")
		return
	}
	var in struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		writeErrors(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return
	}
	if in.Type != "all" && in.Value == "" {
		writeErrors(w, http.StatusBadRequest, "value is required for type "+in.Type)
		return
	}
	switch in.Type {
	case "all":
		p.cache.evict(func(*cachedResponse) bool { return true })
	case "token":
		p.cache.evictToken(in.Value)
	case "lease":
		p.cache.evictLease(in.Value, false)
	case "request_path":
		v := strings.TrimPrefix(strings.TrimPrefix(in.Value, "/"), "v1/")
		p.cache.evict(func(e *cachedResponse) bool { return strings.HasPrefix(e.path, v) })
	default:
		writeErrors(w, http.StatusBadRequest, fmt.Sprintf("invalid type %q (all, token, lease, request_path)", in.Type))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// serve runs the proxy on every listener until ctx is done.
func (p *proxy) serve(ctx context.Context, ls []Listener, ready func(addrs []string)) error {
	var servers []*http.Server
	var addrs []string
	errc := make(chan error, len(ls))
	for _, l := range ls {
		ln, err := listen(l)
		if err != nil {
			for _, s := range servers {
				s.Close()
			}
			return err
		}
		addrs = append(addrs, ln.Addr().String())
		s := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		p.log.Info("proxy listening", "type", l.Type, "address", ln.Addr().String(), "cache", p.cache != nil)
	}
	if ready != nil {
		ready(addrs)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	return err
}

func listen(l Listener) (net.Listener, error) {
	var ln net.Listener
	var err error
	switch l.Type {
	case "unix":
		_ = os.Remove(l.Address)
		ln, err = net.Listen("unix", l.Address)
	default:
		ln, err = net.Listen("tcp", l.Address)
	}
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", l.Type, err)
	}
	if l.TLSDisable {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(l.TLSCertFile, l.TLSKeyFile)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("listener %s: tls: %w", l.Type, err)
	}
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), nil
}
