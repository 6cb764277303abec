package testcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// pollInterval is how often the waits below ask again.
const pollInterval = 50 * time.Millisecond

// probeTimeout bounds one health request, so a frozen node cannot stall a
// wait past its deadline.
const probeTimeout = 2 * time.Second

// prober asks nodes for their health over HTTP. The cluster helpers here
// use only the Node interface, so every runner shares them.
type prober struct {
	hc *http.Client
}

func newProber() *prober {
	// No keep-alive: a killed node must not leave a dead pooled connection
	// behind that turns the next probe into a confusing error.
	return &prober{hc: &http.Client{Timeout: probeTimeout, Transport: &http.Transport{DisableKeepAlives: true}}}
}

// healthCode returns the status code of GET /v1/sys/health on n: 200 active,
// 429 standby, 473 performance standby, 501 uninitialized, 503 sealed.
func (p *prober) healthCode(ctx context.Context, n Node) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.APIAddr()+"/v1/sys/health", nil)
	if err != nil {
		return 0, fmt.Errorf("health %s: %w", n.ID(), err)
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("health %s: %w", n.ID(), err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// leader asks every running node once.
func (p *prober) leader(ctx context.Context, nodes []Node) (Node, error) {
	var active []Node
	for _, n := range nodes {
		if n.State() != Running {
			continue
		}
		if code, err := p.healthCode(ctx, n); err == nil && code == http.StatusOK {
			active = append(active, n)
		}
	}
	switch len(active) {
	case 0:
		return nil, ErrNoActive
	case 1:
		return active[0], nil
	}
	return nil, fmt.Errorf("%w: %s", ErrManyActive, ids(active))
}

// waitForActive polls until exactly one running node is active.
func (p *prober) waitForActive(ctx context.Context, nodes []Node) (Node, error) {
	var last error
	for {
		n, err := p.leader(ctx, nodes)
		if err == nil {
			return n, nil
		}
		last = err
		if err := pause(ctx); err != nil {
			return nil, fmt.Errorf("wait for an active node: %w (last: %w)", err, last)
		}
	}
}

// waitForStandbys polls until every running node but one active answers as
// a standby.
func (p *prober) waitForStandbys(ctx context.Context, nodes []Node) ([]Node, error) {
	var last string
	for {
		var standbys []Node
		active, other := 0, []string{}
		for _, n := range nodes {
			if n.State() != Running {
				continue
			}
			code, err := p.healthCode(ctx, n)
			switch {
			case err != nil:
				other = append(other, fmt.Sprintf("%s: %v", n.ID(), err))
			case code == http.StatusOK:
				active++
			case code == http.StatusTooManyRequests || code == 473:
				standbys = append(standbys, n)
			default:
				other = append(other, fmt.Sprintf("%s: %d", n.ID(), code))
			}
		}
		if active == 1 && len(other) == 0 {
			return standbys, nil
		}
		last = fmt.Sprintf("%d active, %d standby, others [%s]", active, len(standbys), strings.Join(other, "; "))
		if err := pause(ctx); err != nil {
			return nil, fmt.Errorf("wait for standbys: %w (last: %s)", err, last)
		}
	}
}

// initialize runs sys/init on n.
func initialize(ctx context.Context, n Node, shares, threshold int) ([]string, string, error) {
	c := n.Client("")
	res, err := c.Sys().InitWithContext(ctx, &vault.InitRequest{SecretShares: shares, SecretThreshold: threshold})
	if err != nil {
		return nil, "", fmt.Errorf("init %s: %w", n.ID(), err)
	}
	return res.Keys, res.RootToken, nil
}

// unseal submits threshold keys to n until it reports unsealed. A node
// still joining a raft cluster may refuse keys for a while; each failed
// round resets the unseal progress and tries again.
func unseal(ctx context.Context, n Node, keys []string, threshold int) error {
	if len(keys) < threshold {
		return fmt.Errorf("unseal %s: have %d keys, threshold is %d (Init first)", n.ID(), len(keys), threshold)
	}
	c := n.Client("")
	var last error
	for {
		st, err := c.Sys().SealStatusWithContext(ctx)
		if err == nil && !st.Sealed {
			return nil
		}
		if err == nil {
			last = submitKeys(ctx, c, keys[:threshold])
			if last == nil {
				continue // re-read the status
			}
		} else {
			last = err
		}
		if err := pause(ctx); err != nil {
			return fmt.Errorf("unseal %s: %w (last: %w)", n.ID(), err, last)
		}
	}
}

func submitKeys(ctx context.Context, c *vault.Client, keys []string) error {
	for _, k := range keys {
		st, err := c.Sys().UnsealWithContext(ctx, k)
		if err != nil {
			_, _ = c.Sys().ResetUnsealProcessWithContext(ctx)
			return err
		}
		if !st.Sealed {
			return nil
		}
	}
	return errors.New("still sealed after the threshold of keys")
}

// pause waits one poll interval, or returns ctx's error.
func pause(ctx context.Context) error {
	t := time.NewTimer(pollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func ids(nodes []Node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.ID()
	}
	return strings.Join(s, ", ")
}

// deadline returns a context bounded by timeout, ended with the test.
func deadline(t testing.TB, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(t.Context(), timeout)
}
