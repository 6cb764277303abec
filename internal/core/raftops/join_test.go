package raftops

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strongbox/strongbox/internal/barrier"
	"github.com/strongbox/strongbox/internal/logical"
)

// challenge asks r's active node for a join challenge for id and returns its
// nonce and the decrypted value (as a joiner holding the root key would).
func challenge(t *testing.T, r *activeNode, id string) (nonce, answer string) {
	t.Helper()
	res, err := r.do("storage/raft/bootstrap/challenge", map[string]any{"server_id": id})
	if err != nil {
		t.Fatalf("challenge: %v", err)
	}
	ct, err := base64.StdEncoding.DecodeString(res.Data["challenge"].(string))
	if err != nil {
		t.Fatal(err)
	}
	value, err := barrier.Decrypt(r.root, challengeAAD(id), ct)
	if err != nil {
		t.Fatal(err)
	}
	nonce, _ = res.Data["nonce"].(string)
	return nonce, base64.StdEncoding.EncodeToString(value)
}

func answer(t *testing.T, r *activeNode, id, nonce, value string) error {
	t.Helper()
	_, err := r.do("storage/raft/bootstrap/answer", map[string]any{
		"server_id": id, "nonce": nonce, "answer": value,
		"cluster_addr": "https://127.0.0.1:1", "non_voter": true,
	})
	return err
}

func statusOf(err error) int {
	var ce *logical.CodedError
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}

// Another caller asking for a challenge in a joiner's name does not replace
// the joiner's: the joiner still answers its own.
func TestJoinChallengeNotReplaceable(t *testing.T) {
	r := newActiveNode(t)
	nonce, value := challenge(t, r, "n2")
	challenge(t, r, "n2") // someone else, in n2's name
	if err := answer(t, r, "n2", nonce, value); err != nil {
		t.Fatalf("the joiner's answer was refused after another challenge in its name: %v", err)
	}
	// The answer handed n2 its own certificate, stored for it.
	nc, err := r.o.readNodeCert(context.Background(), "n2")
	if err != nil || nc == nil {
		t.Fatalf("no certificate stored for the joiner (%v)", err)
	}
	// A challenge is answered once, and only in its own node's name.
	if err := answer(t, r, "n2", nonce, value); statusOf(err) != 400 {
		t.Errorf("second answer with the same nonce: %v, want 400", err)
	}
	n3nonce, n3value := challenge(t, r, "n3")
	if err := answer(t, r, "n4", n3nonce, n3value); statusOf(err) != 400 {
		t.Errorf("answer in another node's name: %v, want 400", err)
	}
	if err := answer(t, r, "n3", "", n3value); statusOf(err) != 400 {
		t.Errorf("answer without a nonce: %v, want 400", err)
	}
}

// The pending challenges are bounded in number and in time.
func TestJoinChallengesBounded(t *testing.T) {
	r := newActiveNode(t)
	for i := range maxPendingChallenges + 50 {
		challenge(t, r, fmt.Sprintf("node-%d", i))
	}
	if n := r.o.challenges.len(); n != maxPendingChallenges {
		t.Fatalf("%d pending challenges, want the bound %d", n, maxPendingChallenges)
	}
	// The newest survive; the oldest went first.
	nonce, value := challenge(t, r, "late")
	if err := answer(t, r, "late", nonce, value); err != nil {
		t.Fatalf("newest challenge not answerable: %v", err)
	}

	// An expired challenge is refused, and dropped at the next one.
	var cs challenges
	past := time.Now().Add(-2 * challengeTTL)
	old := cs.add("n9", []byte("v"), past)
	if _, ok := cs.take(old, "n9", time.Now()); ok {
		t.Error("an expired challenge was accepted")
	}
	cs.add("n9", []byte("v"), past)
	cs.add("n10", []byte("w"), time.Now())
	if n := cs.len(); n != 1 {
		t.Errorf("%d challenges kept after one expired, want 1", n)
	}
}
