package expiration

import (
	"strings"
	"testing"
	"time"
)

// FuzzTimeKey: any lease id (user input: the request path it was issued
// at) and expiry survive the expiry index key's encoding, and the key is
// always under its bucket with no path separator in its name.
func FuzzTimeKey(f *testing.F) {
	f.Add("db/creds/app/AbC123", int64(1_765_000_000_000_000_000))
	f.Add("auth/userpass/login/bob/ffee", int64(1))
	f.Add("../../x.y/%2F", int64(0))
	f.Fuzz(func(t *testing.T, id string, ns int64) {
		if ns < 0 {
			ns = -ns
		}
		if ns < 0 {
			return
		}
		l := &Lease{ID: id, ExpireTime: time.Unix(0, ns)}
		k := timeKey(l)
		bucket := timePrefix + numKey(bucketOf(l.ExpireTime)) + "/"
		if !strings.HasPrefix(k, bucket) {
			t.Fatalf("key %q not under its bucket %q", k, bucket)
		}
		name := strings.TrimPrefix(k, bucket)
		if strings.Contains(name, "/") {
			t.Fatalf("key name %q holds a separator", name)
		}
		at, got, err := parseTimeKey(name)
		if err != nil {
			t.Fatal(err)
		}
		if got != id || at.UnixNano() != ns {
			t.Fatalf("round trip: %q %d → %q %d", id, ns, got, at.UnixNano())
		}
	})
}
