package sealtest

import (
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

func TestStartSoftHSM(t *testing.T) {
	h := StartSoftHSM(t, "sealtest-token")
	if os.Getenv("SOFTHSM2_CONF") != h.Conf {
		t.Fatalf("SOFTHSM2_CONF = %q, want %q", os.Getenv("SOFTHSM2_CONF"), h.Conf)
	}
	out, err := exec.Command("softhsm2-util", "--show-slots").CombinedOutput()
	if err != nil {
		t.Fatalf("softhsm2-util --show-slots: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Slot "+h.SlotString()) || !strings.Contains(string(out), "sealtest-token") {
		t.Fatalf("token not listed in slot %d:\n%s", h.Slot, out)
	}
}

func TestStartLocalKMS(t *testing.T) {
	k := StartLocalKMS(t)
	u, err := url.Parse(k.Endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("endpoint %q is not on 127.0.0.1", k.Endpoint)
	}
	keyID, arn := k.CreateKey(t)
	if keyID == "" || !strings.HasPrefix(arn, "arn:aws:kms:"+LocalKMSRegion+":"+LocalKMSAccountID+":key/") {
		t.Fatalf("CreateKey = %q, %q", keyID, arn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	enc, err := k.Client().Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(keyID), Plaintext: []byte("hello")})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	dec, err := k.Client().Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob})
	if err != nil || string(dec.Plaintext) != "hello" {
		t.Fatalf("Decrypt = %q, %v", dec.Plaintext, err)
	}

	k.Stop()
	k.Stop() // idempotent
	if c, err := net.DialTimeout("tcp", u.Host, 5*time.Second); err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after Stop", u.Host)
	}
}
