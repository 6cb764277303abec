package keyops

import (
	"context"
	"errors"
	"fmt"

	"github.com/strongbox/strongbox/internal/core/token"
	"github.com/strongbox/strongbox/internal/logical"
	"github.com/strongbox/strongbox/internal/pgp"
	"github.com/strongbox/strongbox/internal/seal"
)

// GenerateRootOTPLength is the otp_length sys/generate-root reports: the
// length of the root tokens the token store makes ("hvs." and 33 base62
// characters), which the one-time pad must match byte for byte. Vault's
// root tokens are 28 characters; clients read otp_length, so they follow.
const GenerateRootOTPLength = len(token.TokenPrefix) + 33

// GenerateRootStatus is sys/generate-root/attempt's answer.
type GenerateRootStatus struct {
	Started        bool
	Nonce          string
	Progress       int
	Required       int
	PGPFingerprint string
	OTPLength      int
	// OTP is set only in GenerateRootInit's answer, when the server made
	// the one-time pad; it is never shown again.
	OTP string
}

// GenerateRootResult is GenerateRootUpdate's answer.
type GenerateRootResult struct {
	Nonce          string
	Progress       int
	Required       int
	Complete       bool
	PGPFingerprint string
	// EncodedToken is, once complete, the new root token XORed with the
	// OTP (base64, unpadded) or encrypted to the PGP key (base64).
	EncodedToken string
}

// genRootAttempt is the one root generation in progress.
type genRootAttempt struct {
	epoch    *token.Store // see rekeyAttempt.epoch
	nonce    string
	otp      string
	pgpKey   *pgp.PublicKey
	progress [][]byte
}

func (a *genRootAttempt) wipe() {
	seal.WipeShares(a.progress)
	a.progress, a.otp = nil, ""
}

// GenerateRootStatus reports the root generation in progress, if any.
func (o *Ops) GenerateRootStatus(ctx context.Context) (*GenerateRootStatus, error) {
	o.host.RLockState()
	defer o.host.RUnlockState()
	conf, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.genRootMu.Lock()
	defer o.genRootMu.Unlock()
	return genRootStatusOf(o.genRootLocked(tokens), conf), nil
}

func genRootStatusOf(a *genRootAttempt, conf *seal.Config) *GenerateRootStatus {
	st := &GenerateRootStatus{Required: conf.SecretThreshold, OTPLength: GenerateRootOTPLength}
	if a != nil {
		st.Started, st.Nonce, st.Progress = true, a.nonce, len(a.progress)
		if a.pgpKey != nil {
			st.PGPFingerprint = a.pgpKey.Fingerprint
		}
	}
	return st
}

// GenerateRootInit starts a root generation. The new token will be
// returned masked with otp (GenerateRootOTPLength characters) or encrypted
// to pgpKey (Vault's pgp_key format); with neither, the server makes an
// OTP and returns it in the status, once (Vault ≥ 1.10).
func (o *Ops) GenerateRootInit(ctx context.Context, otp, pgpKey string) (*GenerateRootStatus, error) {
	a := &genRootAttempt{otp: otp}
	generated := false
	switch {
	case otp != "" && pgpKey != "":
		return nil, logical.BadRequest("only one of otp and pgp_key may be given")
	case otp != "":
		if len(otp) != GenerateRootOTPLength {
			return nil, logical.BadRequest("OTP string is wrong length: it must be %d characters (otp_length)", GenerateRootOTPLength)
		}
	case pgpKey != "":
		k, err := pgp.ParsePublicKey(pgpKey)
		if err != nil {
			return nil, logical.BadRequest("error parsing PGP key: %s", err)
		}
		a.pgpKey = k
	default:
		gen, err := pgp.GenerateOTP(GenerateRootOTPLength)
		if err != nil {
			return nil, fmt.Errorf("generate root: %w", err)
		}
		a.otp, generated = gen, true
	}

	o.host.RLockState()
	defer o.host.RUnlockState()
	conf, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.genRootMu.Lock()
	defer o.genRootMu.Unlock()
	if o.genRootLocked(tokens) != nil {
		return nil, logical.BadRequest("root generation already in progress")
	}
	a.epoch, a.nonce = tokens, newUUID()
	o.genRoot = a
	o.logger.Info("root generation initialized", "nonce", a.nonce)
	st := genRootStatusOf(a, conf)
	if generated {
		st.OTP = a.otp
	}
	return st, nil
}

// GenerateRootCancel ends the root generation and forgets the shares.
func (o *Ops) GenerateRootCancel(ctx context.Context) error {
	o.host.RLockState()
	defer o.host.RUnlockState()
	_, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return err
	}
	o.genRootMu.Lock()
	defer o.genRootMu.Unlock()
	if a := o.genRootLocked(tokens); a != nil {
		a.wipe()
		o.genRoot = nil
		o.logger.Info("root generation canceled", "nonce", a.nonce)
	}
	return nil
}

// GenerateRootUpdate adds one current share (a recovery key share under an
// auto seal). At the threshold the shares must prove a quorum (else
// progress resets and no token is made); then a new root token is created
// and returned encoded.
func (o *Ops) GenerateRootUpdate(ctx context.Context, key []byte, nonce string) (*GenerateRootResult, error) {
	if err := checkShareLen(key); err != nil {
		return nil, err
	}
	o.host.RLockState()
	defer o.host.RUnlockState()
	conf, tokens, err := o.keyOpConfig(ctx)
	if err != nil {
		return nil, err
	}
	o.genRootMu.Lock()
	defer o.genRootMu.Unlock()
	a := o.genRootLocked(tokens)
	switch {
	case a == nil:
		return nil, logical.BadRequest("no root generation in progress")
	case nonce != a.nonce:
		return nil, logical.BadRequest("incorrect nonce supplied; nonce for this root generation operation is %q", a.nonce)
	case seal.ContainsShare(a.progress, key):
		return nil, logical.BadRequest("given key has already been provided during this generation operation")
	}
	a.progress = append(a.progress, append([]byte(nil), key...))
	res := &GenerateRootResult{Nonce: a.nonce, Progress: len(a.progress), Required: conf.SecretThreshold}
	if a.pgpKey != nil {
		res.PGPFingerprint = a.pgpKey.Fingerprint
	}
	if len(a.progress) < conf.SecretThreshold {
		return res, nil
	}
	shares := a.progress
	a.progress = nil
	defer seal.WipeShares(shares)
	if err := o.authorizeShares(ctx, shares); err != nil {
		if errors.Is(err, seal.ErrInvalidKey) {
			o.logger.Warn("root generation: key shares are not a quorum; progress reset", "nonce", a.nonce)
			return nil, logical.BadRequest("root generation aborted: the key shares are not a quorum of the current %s keys; progress was reset", o.authorizingKeys())
		}
		return nil, fmt.Errorf("generate root: %w", err)
	}

	tok, entry, err := tokens.CreateRoot(ctx)
	if err != nil {
		return nil, fmt.Errorf("generate root: create token: %w", err)
	}
	if a.pgpKey != nil {
		res.EncodedToken, err = a.pgpKey.EncryptBase64([]byte(tok))
	} else {
		res.EncodedToken, err = pgp.EncodeToken(tok, a.otp)
	}
	if err != nil {
		// Nobody can use a token nobody can read: take it back.
		if rerr := tokens.RevokeOrphan(ctx, entry); rerr != nil {
			o.logger.Error("generate root: revoking the unreturned token failed", "error", rerr)
		}
		return nil, fmt.Errorf("generate root: encode token: %w", err)
	}
	res.Complete = true
	a.wipe()
	o.genRoot = nil
	o.logger.Info("root generation finished", "nonce", a.nonce)
	return res, nil
}

// genRootLocked returns the attempt in progress, dropping one left from an
// earlier active term (tokens is the current one's). The caller holds the
// state lock (read) and genRootMu.
func (o *Ops) genRootLocked(tokens *token.Store) *genRootAttempt {
	if o.genRoot != nil && o.genRoot.epoch != tokens {
		o.genRoot.wipe()
		o.genRoot = nil
	}
	return o.genRoot
}
