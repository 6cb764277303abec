package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"time"
)

// runTransit measures transit on one-node raft storage at concurrency 32:
// encrypt of 128 bytes one per request and 100 per request (batch_input),
// decrypt, and ed25519 signing, with token creation as a yardstick.
func runTransit(dur time.Duration, dir string) error {
	ctx := context.Background()
	r := &report{}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "strongbox-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	node, err := startNodeOn(ctx, dir, "raft")
	if err != nil {
		return err
	}
	defer node.stop()
	if err := node.call(ctx, "POST", "sys/mounts/transit", map[string]any{"type": "transit"}, nil); err != nil {
		return err
	}
	for name, typ := range map[string]string{"aes": "aes256-gcm96", "ed": "ed25519"} {
		if err := node.call(ctx, "POST", "transit/keys/"+name, map[string]any{"type": typ}, nil); err != nil {
			return err
		}
	}
	pt := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 128))
	one := []byte(`{"plaintext":"` + pt + `"}`)
	var batch bytes.Buffer
	batch.WriteString(`{"batch_input":[`)
	for i := range 100 {
		if i > 0 {
			batch.WriteByte(',')
		}
		batch.WriteString(`{"plaintext":"` + pt + `"}`)
	}
	batch.WriteString(`]}`)
	var enc struct {
		Data struct {
			Ciphertext string `json:"ciphertext"`
		} `json:"data"`
	}
	if err := node.call(ctx, "POST", "transit/encrypt/aes", map[string]any{"plaintext": pt}, &enc); err != nil {
		return err
	}
	dec := []byte(`{"ciphertext":"` + enc.Data.Ciphertext + `"}`)
	sign := []byte(`{"input":"` + pt + `"}`)
	post := func(path string, body []byte) op {
		return func(ctx context.Context, c *http.Client, _ int, _ int64) error {
			return do(ctx, c, http.MethodPost, node.url+"/v1/"+path, node.token, body)
		}
	}
	stop := profileIf(true)
	r.add("raft: transit encrypt 128 B c=32", load(ctx, 32, dur, post("transit/encrypt/aes", one)))
	stop()
	res := load(ctx, 32, dur, post("transit/encrypt/aes", batch.Bytes()))
	r.add("raft: transit encrypt batch of 100 x 128 B c=32 (requests)", res)
	r.note(fmt.Sprintf("batch of 100: %.0f encrypts/s (requests/s x 100)", res.rate()*100))
	r.add("raft: transit decrypt 128 B c=32", load(ctx, 32, dur, post("transit/decrypt/aes", dec)))
	r.add("raft: transit sign ed25519 c=32", load(ctx, 32, dur, post("transit/sign/ed", sign)))
	create := []byte(`{"policies":["default"],"ttl":"10m"}`)
	r.add("raft: token create c=32 (yardstick)", load(ctx, 32, dur, post("auth/token/create", create)))
	r.printRows(os.Stdout)
	for _, n := range r.notes {
		fmt.Println(n)
	}
	fmt.Printf("\nGOMAXPROCS %d\n", runtime.GOMAXPROCS(0))
	return nil
}
