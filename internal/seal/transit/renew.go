package transit

import (
	"context"
	"errors"
	"net/http"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Renewal pacing: renew-self when half the TTL has passed, as Vault's
// transit seal does; after a failure, retry at RetryInterval (the token
// may still be valid and the service just down), or at refusedRetry when
// the service refused the token (likely expired or revoked), so a dead
// token is not hammered. minRenewWait keeps a token near its maximum TTL
// from spinning.
const (
	refusedRetry = 30 * time.Second
	minRenewWait = 500 * time.Millisecond
)

// renewLoop keeps the seal's token alive until ctx ends. It learns the
// TTL with lookup-self, then renews at half of each TTL. A token that does
// not expire needs nothing; one that is not renewable is logged and left.
func (w *Wrapper) renewLoop(ctx context.Context) {
	var wait time.Duration
	looked := false
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		var ttl time.Duration
		var renewable bool
		var err error
		if !looked {
			ttl, renewable, err = w.lookupSelf(cctx)
		} else {
			ttl, renewable, err = w.renewSelf(cctx)
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			wait = RetryInterval
			var re *vault.ResponseError
			if errors.As(err, &re) && re.StatusCode == http.StatusForbidden {
				wait = refusedRetry
			}
			if !failing {
				w.logger.Warn("transit seal: token renewal failed; retrying", "address", w.address, "error", err, "retry_in", wait)
			}
			failing = true
			continue
		}
		if failing {
			w.logger.Info("transit seal: token renewal works again", "address", w.address)
		}
		failing = false
		switch {
		case ttl == 0:
			w.logger.Info("transit seal: the token does not expire; no renewal needed", "address", w.address)
			return
		case !renewable:
			w.logger.Warn("transit seal: the token is not renewable; the seal stops working when it expires", "address", w.address, "ttl", ttl)
			return
		}
		if looked {
			w.logger.Info("transit seal: renewed the token", "address", w.address, "ttl", ttl)
		}
		looked = true
		wait = max(ttl/2, minRenewWait)
	}
}

func (w *Wrapper) lookupSelf(ctx context.Context) (time.Duration, bool, error) {
	s, err := w.client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return 0, false, err
	}
	if s == nil {
		return 0, false, errors.New("token lookup-self: empty response")
	}
	ttl, err := s.TokenTTL()
	if err != nil {
		return 0, false, err
	}
	renewable, err := s.TokenIsRenewable()
	if err != nil {
		return 0, false, err
	}
	return ttl, renewable, nil
}

func (w *Wrapper) renewSelf(ctx context.Context) (time.Duration, bool, error) {
	s, err := w.client.Auth().Token().RenewSelfWithContext(ctx, 0)
	if err != nil {
		return 0, false, err
	}
	if s == nil || s.Auth == nil {
		return 0, false, errors.New("token renew-self: empty response")
	}
	return time.Duration(s.Auth.LeaseDuration) * time.Second, s.Auth.Renewable, nil
}
