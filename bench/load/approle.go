package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

// runAppRole measures AppRole logins (role_id + secret_id, a token of each
// asked type per login: service tokens are stored with their lease, batch
// tokens are not stored at all) against a real server on each storage
// (file, one-node raft), with token creation and a trivial JSON handler as
// yardsticks.
func runAppRole(dur time.Duration, dir string, storages, tokenTypes []string) error {
	for _, tt := range tokenTypes {
		if tt != "service" && tt != "batch" {
			return fmt.Errorf("-token-type %q: want service or batch", tt)
		}
	}
	ctx := context.Background()
	r := &report{}
	trivial, err := startTrivial()
	if err != nil {
		return err
	}
	defer trivial.Close()
	r.add("ceiling: trivial JSON handler c=32", load(ctx, 32, dur, getter(trivial.URL+"/v1/x", "")))
	for _, storage := range storages {
		d := dir
		if d == "" {
			tmp, err := os.MkdirTemp("", "strongbox-load-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			d = tmp
		} else {
			d = fmt.Sprintf("%s/%s", dir, storage)
			if err := os.MkdirAll(d, 0o700); err != nil {
				return err
			}
		}
		if err := approleScenarios(ctx, r, d, storage, dur, tokenTypes); err != nil {
			return fmt.Errorf("%s: %w", storage, err)
		}
	}
	r.add("ceiling again: trivial JSON handler c=32", load(ctx, 32, dur, getter(trivial.URL+"/v1/x", "")))
	r.printRows(os.Stdout)
	fmt.Printf("\nGOMAXPROCS %d\n", runtime.GOMAXPROCS(0))
	return nil
}

func approleScenarios(ctx context.Context, r *report, dir, storage string, dur time.Duration, tokenTypes []string) error {
	node, err := startNodeOn(ctx, dir, storage)
	if err != nil {
		return err
	}
	defer node.stop()
	if err := node.call(ctx, "POST", "sys/auth/approle", map[string]any{"type": "approle"}, nil); err != nil {
		return err
	}
	var failed op
	for _, tt := range tokenTypes {
		role := "bench-" + tt
		if err := node.call(ctx, "POST", "auth/approle/role/"+role, map[string]any{"token_policies": "default", "token_ttl": "10m", "token_type": tt}, nil); err != nil {
			return err
		}
		var rid struct {
			Data struct {
				RoleID string `json:"role_id"`
			} `json:"data"`
		}
		if err := node.call(ctx, "GET", "auth/approle/role/"+role+"/role-id", nil, &rid); err != nil {
			return err
		}
		var sid struct {
			Data struct {
				SecretID string `json:"secret_id"`
			} `json:"data"`
		}
		if err := node.call(ctx, "POST", "auth/approle/role/"+role+"/secret-id", nil, &sid); err != nil {
			return err
		}
		login := func(secretID string) op {
			body := []byte(`{"role_id":"` + rid.Data.RoleID + `","secret_id":"` + secretID + `"}`)
			return func(ctx context.Context, c *http.Client, _ int, _ int64) error {
				return do(ctx, c, http.MethodPost, node.url+"/v1/auth/approle/login", "", body)
			}
		}
		for _, c := range []int{1, 32} {
			// -cpuprofile: the raft login at c=32, the comparison
			// (the first token type's).
			stop := profileIf(c == 32 && storage == "raft" && tt == tokenTypes[0])
			r.add(fmt.Sprintf("%s: approle login (%s token) c=%d", storage, tt, c), load(ctx, c, dur, login(sid.Data.SecretID)))
			stop()
		}
		if failed == nil {
			failed = login("not-a-secret-id")
		}
	}
	// A failed login is the expected 400 here; anything else is an error.
	r.add(fmt.Sprintf("%s: approle failed login c=32", storage), load(ctx, 32, dur, func(ctx context.Context, c *http.Client, w int, i int64) error {
		if err := failed(ctx, c, w, i); err == nil || !strings.Contains(err.Error(), ": 400 ") {
			return fmt.Errorf("want 400, got %v", err)
		}
		return nil
	}))
	create := []byte(`{"policies":["default"],"ttl":"10m"}`)
	r.add(fmt.Sprintf("%s: token create c=32", storage), load(ctx, 32, dur, func(ctx context.Context, c *http.Client, _ int, _ int64) error {
		return do(ctx, c, http.MethodPost, node.url+"/v1/auth/token/create", node.token, create)
	}))
	return nil
}
