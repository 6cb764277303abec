package seal

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/physical"
)

// Switch is what a seal migration writes to the clear area: the root key
// wrapped under the new seal, the new seal's configuration and the recovery
// configuration (nil removes it: the Shamir seal has none).
type Switch struct {
	Config   Config
	Wrapped  []byte
	Recovery *Config
}

// CommitSwitch stores a Switch. The three writes go in one transaction
// when the storage offers them (every backend Strongbox ships does): the
// seal configuration names the seal that reads the wrapped key, so the two
// must never be seen apart.
func CommitSwitch(ctx context.Context, b physical.Backend, sw *Switch) error {
	sraw, err := json.Marshal(&sw.Config)
	if err != nil {
		return err
	}
	ops := []*physical.TxnOp{
		{Op: physical.PutOp, Entry: &physical.Entry{Key: rootKeyKey, Value: sw.Wrapped}},
	}
	if sw.Recovery != nil {
		rconf := *sw.Recovery
		rconf.Type = RecoveryType
		rraw, err := json.Marshal(&rconf)
		if err != nil {
			return err
		}
		ops = append(ops, &physical.TxnOp{Op: physical.PutOp, Entry: &physical.Entry{Key: recoveryConfigKey, Value: rraw}})
	} else {
		ops = append(ops, &physical.TxnOp{Op: physical.DeleteOp, Entry: &physical.Entry{Key: recoveryConfigKey}})
	}
	ops = append(ops, &physical.TxnOp{Op: physical.PutOp, Entry: &physical.Entry{Key: configKey, Value: sraw}})
	if tx, ok := b.(physical.Transactional); ok {
		if err := tx.Transaction(ctx, ops); err != nil {
			return fmt.Errorf("seal: store the new seal: %w", err)
		}
		return nil
	}
	for _, op := range ops {
		var err error
		if op.Op == physical.DeleteOp {
			err = b.Delete(ctx, op.Entry.Key)
		} else {
			err = b.Put(ctx, op.Entry)
		}
		if err != nil {
			return fmt.Errorf("seal: store the new seal: %w", err)
		}
	}
	return nil
}

// WrapWithUnsealKey wraps rootKey under a Shamir unseal key, as the Shamir
// seal stores it: after a migration to Shamir the recovery key becomes the
// unseal key, so its shares unseal.
func WrapWithUnsealKey(unsealKey, rootKey []byte) ([]byte, error) {
	ct, err := barrier.Encrypt(unsealKey, []byte(rootKeyKey), rootKey)
	if err != nil {
		return nil, fmt.Errorf("seal: wrap root key: %w", err)
	}
	return ct, nil
}

// BlobKeyID returns the key-service key that encrypted a stored root key
// blob; ok is false when wrapped is not a key-service blob (a Shamir seal's
// wrapped key).
func BlobKeyID(wrapped []byte) (keyID string, ok bool) {
	var blob BlobInfo
	if err := json.Unmarshal(wrapped, &blob); err != nil || len(blob.Ciphertext) == 0 {
		return "", false
	}
	return blob.KeyID, true
}

// KeyID is the key service's current key, the one Wrap encrypts with.
func (a *AutoSeal) KeyID(ctx context.Context) (string, error) {
	id, err := a.wrapper.KeyID(ctx)
	if err != nil {
		return "", fmt.Errorf("seal: %s: current key: %w", a.Type(), err)
	}
	return id, nil
}

// StoredKeyID returns the key that encrypted the stored root key blob;
// ok is false when the stored wrapped key is not a key-service blob.
func (a *AutoSeal) StoredKeyID(ctx context.Context) (keyID string, ok bool, err error) {
	wrapped, err := WrappedRootKey(ctx, a.storage)
	if err != nil {
		return "", false, err
	}
	keyID, ok = BlobKeyID(wrapped)
	return keyID, ok, nil
}
