package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// runUserpass measures userpass logins against a real server with file
// storage, next to the machine's bcrypt ceiling: every login (and every
// failed one) costs one bcrypt comparison at cost 10, which bounds the rate
// whatever the server does around it.
func runUserpass(dur time.Duration, dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "strongbox-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	ctx := context.Background()
	r := &report{}
	r.add("ceiling: bcrypt cost-10 compare, 32 goroutines", bcryptCeiling(32, dur))

	node, err := startNode(ctx, dir)
	if err != nil {
		return err
	}
	defer node.stop()
	if err := node.call(ctx, "POST", "sys/auth/userpass", map[string]any{"type": "userpass"}, nil); err != nil {
		return err
	}
	if err := node.call(ctx, "POST", "auth/userpass/users/bench", map[string]any{"password": "bench-password", "token_policies": "default", "token_ttl": "10m"}, nil); err != nil {
		return err
	}
	login := func(user, password string) op {
		body := []byte(`{"password":"` + password + `"}`)
		return func(ctx context.Context, c *http.Client, _ int, _ int64) error {
			return do(ctx, c, http.MethodPost, node.url+"/v1/auth/userpass/login/"+user, "", body)
		}
	}
	for _, c := range []int{1, 32} {
		r.add(fmt.Sprintf("userpass login c=%d", c), load(ctx, c, dur, login("bench", "bench-password")))
	}
	// A failed login is the expected 400 here; anything else is an error.
	refused := func(user string) op {
		body := []byte(`{"password":"not-the-password"}`)
		return func(ctx context.Context, c *http.Client, _ int, _ int64) error {
			err := do(ctx, c, http.MethodPost, node.url+"/v1/auth/userpass/login/"+user, "", body)
			if err == nil || !strings.Contains(err.Error(), ": 400 ") {
				return fmt.Errorf("want 400, got %v", err)
			}
			return nil
		}
	}
	r.add("userpass failed login, wrong password c=32", load(ctx, 32, dur, refused("bench")))
	r.add("userpass failed login, unknown user c=32", load(ctx, 32, dur, refused("nobody")))
	r.add("token lookup-self c=32", load(ctx, 32, dur, getter(node.url+"/v1/auth/token/lookup-self", node.token)))
	// The machine is shared: the ceiling again, to bracket the run.
	r.add("ceiling again, after the scenarios", bcryptCeiling(32, dur))

	r.printRows(os.Stdout)
	fmt.Printf("\nuserpass login c=32 / bcrypt ceiling (before, after):  %s, %s\n",
		r.ratio("userpass login c=32", "ceiling: bcrypt cost-10 compare, 32 goroutines"),
		r.ratio("userpass login c=32", "ceiling again, after the scenarios"))

	// On a shared machine the CPU left to us moves from second to second:
	// pair each login measurement with a ceiling measurement right next to
	// it, and report the median of the ratios.
	const rounds = 7
	slice := max(dur/3, time.Second)
	var ratios, logins, ceilings []float64
	for i := 0; i < rounds; i++ {
		c1 := bcryptCeiling(32, slice)
		l := load(ctx, 32, slice, login("bench", "bench-password"))
		c2 := bcryptCeiling(32, slice)
		ceil := (c1.rate() + c2.rate()) / 2
		logins, ceilings = append(logins, l.rate()), append(ceilings, ceil)
		if ceil > 0 {
			ratios = append(ratios, l.rate()/ceil)
		}
	}
	fmt.Printf("paired rounds (%d x [ceiling %s, login c=32 %s, ceiling %s]):\n", rounds, slice, slice, slice)
	fmt.Printf("  login c=32 logins/s   median %.1f  (all %s)\n", median(logins), fmtAll(logins))
	fmt.Printf("  bcrypt ceiling /s     median %.1f  (all %s)\n", median(ceilings), fmtAll(ceilings))
	fmt.Printf("  login / ceiling       median %.2f  (all %s)\n", median(ratios), fmtAll(ratios))
	fmt.Printf("GOMAXPROCS %d; bcrypt cost %d (Vault's default)\n", runtime.GOMAXPROCS(0), bcrypt.DefaultCost)
	return nil
}

// bcryptCeiling runs conc goroutines comparing a password against a
// cost-10 hash for dur.
func bcryptCeiling(conc int, dur time.Duration) result {
	hash, err := bcrypt.GenerateFromPassword([]byte("bench-password"), bcrypt.DefaultCost)
	if err != nil {
		return result{sample: err.Error(), errs: 1, dur: time.Second}
	}
	var n atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				_ = bcrypt.CompareHashAndPassword(hash, []byte("bench-password"))
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return result{ops: n.Load(), dur: time.Since(start)}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtAll(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(parts, " ")
}
