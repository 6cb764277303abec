package raftops

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/seal"
)

// JoinRequest is sys/storage/raft/join's input (and a retry_join block's).
type JoinRequest struct {
	LeaderAPIAddr string
	// PEM contents, or file paths for the *File variants (config).
	LeaderCACert, LeaderClientCert, LeaderClientKey string
	LeaderCACertFile, LeaderClientCertFile          string
	LeaderClientKeyFile, LeaderTLSServerName        string
	NonVoter                                        bool
	// AllowHTTPLeader lets LeaderAPIAddr be a plaintext http:// URL. Off by
	// default: the join exchanges the wrapped root key and the node's raft
	// credentials, and a joiner talking plaintext cannot tell the real
	// leader from an impostor. Set with leader_allow_http (API, retry_join).
	AllowHTTPLeader bool
}

// CheckJoinRequest validates req as a join would (leader URL, plaintext
// opt-in, TLS material) without contacting the leader.
func CheckJoinRequest(req JoinRequest) error {
	_, err := newJoinTarget(req)
	return err
}

// joinTarget is the API of the node being joined.
type joinTarget struct {
	addr   string
	client *http.Client
}

func newJoinTarget(req JoinRequest) (*joinTarget, error) {
	if !strings.HasPrefix(req.LeaderAPIAddr, "http://") && !strings.HasPrefix(req.LeaderAPIAddr, "https://") {
		return nil, logical.BadRequest("leader_api_addr must be an http:// or https:// URL, got %q", req.LeaderAPIAddr)
	}
	if strings.HasPrefix(req.LeaderAPIAddr, "http://") && !req.AllowHTTPLeader {
		return nil, logical.BadRequest("leader_api_addr %q is a plaintext http:// URL: use https://, or set leader_allow_http=true to join over a network you trust", req.LeaderAPIAddr)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: req.LeaderTLSServerName}
	ca, cert, key := []byte(req.LeaderCACert), []byte(req.LeaderClientCert), []byte(req.LeaderClientKey)
	for _, f := range []struct {
		path string
		dst  *[]byte
	}{{req.LeaderCACertFile, &ca}, {req.LeaderClientCertFile, &cert}, {req.LeaderClientKeyFile, &key}} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, logical.BadRequest("read %s: %v", f.path, err)
		}
		*f.dst = b
	}
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, logical.BadRequest("leader CA certificate: no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	if len(cert) > 0 || len(key) > 0 {
		kp, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, logical.BadRequest("leader client certificate: %v", err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	return &joinTarget{
		addr:   strings.TrimSuffix(req.LeaderAPIAddr, "/"),
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}},
	}, nil
}

// call POSTs a JSON body to a sys path and decodes the response's data.
func (t *joinTarget) call(ctx context.Context, path string, body any, out any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.addr+"/v1/"+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %d %s", path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s: decode: %w", path, err)
	}
	return json.Unmarshal(env.Data, out)
}

// JoinRaft asks the cluster at req.LeaderAPIAddr for a join challenge. The
// node then completes the join when an operator unseals it; under an auto
// seal it completes the join and unseals at once.
func (o *Ops) JoinRaft(ctx context.Context, req JoinRequest) error {
	if o.raftStorage() == nil {
		return logical.BadRequest("raft join requires raft storage")
	}
	if inited, err := o.host.Initialized(ctx); err != nil {
		return err
	} else if inited || o.raftStorage().HasState() {
		return logical.BadRequest("node is already part of a cluster (or initialized)")
	}
	t, err := newJoinTarget(req)
	if err != nil {
		return err
	}
	var out struct {
		Challenge      string      `json:"challenge"`
		SealConfig     seal.Config `json:"seal_config"`
		WrappedRootKey string      `json:"wrapped_root_key"`
	}
	if err := t.call(ctx, "sys/storage/raft/bootstrap/challenge", map[string]any{"server_id": o.raftStorage().NodeID()}, &out); err != nil {
		return fmt.Errorf("raft join %s: %w", req.LeaderAPIAddr, err)
	}
	ch, err1 := base64.StdEncoding.DecodeString(out.Challenge)
	wrapped, err2 := base64.StdEncoding.DecodeString(out.WrappedRootKey)
	if err := errors.Join(err1, err2, out.SealConfig.Validate()); err != nil {
		return fmt.Errorf("raft join %s: bad challenge: %w", req.LeaderAPIAddr, err)
	}
	pj := &PendingJoin{leader: t, config: out.SealConfig, challenge: ch, wrapped: wrapped, nonVoter: req.NonVoter}
	if _, auto := o.host.AutoSealType(); auto {
		return o.joinWithSeal(ctx, req.LeaderAPIAddr, pj)
	}
	if out.SealConfig.Type != "" && out.SealConfig.Type != "shamir" {
		return logical.BadRequest("the cluster at %s uses the %q seal: configure the same seal on this node to join it", req.LeaderAPIAddr, out.SealConfig.Type)
	}
	o.host.SetPendingJoin(pj)
	o.logger.Info("raft join challenge received; unseal this node to complete the join", "leader", req.LeaderAPIAddr)
	return nil
}

// joinWithSeal completes a raft join by itself: the seal decrypts the
// cluster's wrapped root key from the challenge, which answers it; once the
// cluster's data has arrived the node unseals.
func (o *Ops) joinWithSeal(ctx context.Context, leader string, pj *PendingJoin) error {
	sealType, _ := o.host.AutoSealType()
	if pj.config.Type != sealType {
		return logical.BadRequest("the cluster at %s uses the %q seal but this node is configured with the %q seal; both must use the same seal",
			leader, pj.config.Type, sealType)
	}
	root, err := o.host.AutoSealUnwrap(ctx, pj.wrapped)
	if err != nil {
		return fmt.Errorf("raft join %s: %w", leader, err)
	}
	defer clear(root)
	if _, err := o.finishJoin(ctx, pj, root); err != nil {
		return err
	}
	o.logger.Info("raft join completed with the seal; unsealing", "leader", leader, "seal", sealType)
	return o.host.UnsealWithRootKey(ctx, root)
}

// joinRetry is the one retry_join loop a node runs at a time.
type joinRetry struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// StartRetryJoin runs RetryJoin in the background, replacing (canceling)
// the loop a previous call or the configuration started: however often
// sys/storage/raft/join is called with retry, one loop runs. The loop ends
// with ctx, once a join challenge is received, or when replaced.
func (o *Ops) StartRetryJoin(ctx context.Context, targets []JoinRequest) {
	r := &o.joinRetry
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		r.cancel()
	}
	rctx, cancel := context.WithCancel(ctx)
	prev, done := r.done, make(chan struct{})
	r.cancel, r.done = cancel, done
	go func() {
		defer close(done)
		defer cancel()
		if prev != nil {
			// Never two loops at once: the replaced one stops first.
			select {
			case <-prev:
			case <-rctx.Done():
				return
			}
		}
		o.RetryJoin(rctx, targets)
	}()
}

// RetryJoin tries the targets in turn, with backoff, until one answers a
// challenge or ctx ends. Used for retry_join blocks and join with retry.
func (o *Ops) RetryJoin(ctx context.Context, targets []JoinRequest) {
	backoff := time.Second
	for {
		for _, t := range targets {
			if o.host.JoinPending() {
				return
			}
			if inited, _ := o.host.Initialized(ctx); inited {
				return
			}
			err := o.JoinRaft(ctx, t)
			if err == nil {
				return
			}
			o.logger.Info("raft retry_join attempt failed", "leader", t.LeaderAPIAddr, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 10*time.Second {
			backoff *= 2
		}
	}
}
