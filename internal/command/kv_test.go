package command

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func kvV2Read() map[string]any {
	return map[string]any{
		"request_id": "r1", "lease_id": "", "lease_duration": 0, "renewable": false,
		"data": map[string]any{
			"data": map[string]any{"admin": "password"},
			"metadata": map[string]any{
				"created_time": "2024-01-02T03:04:05Z", "custom_metadata": nil,
				"deletion_time": "", "destroyed": false, "version": 1,
			},
		},
		"mount_type": "kv",
	}
}

func kvWriteMeta(version int) map[string]any {
	return map[string]any{"data": map[string]any{
		"created_time": "2024-01-02T03:04:05Z", "custom_metadata": nil,
		"deletion_time": "", "destroyed": false, "version": version,
	}}
}

func TestKVGetV2(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.on("GET /v1/secret/data/creds", 200, kvV2Read())
	c := newCLI(t, f.srv.URL)

	res := c.run("", "kv", "get", "secret/creds").want(t, 0)
	want := `== Secret Path ==
secret/data/creds

======= Metadata =======
Key                Value
---                -----
created_time       2024-01-02T03:04:05Z
custom_metadata    <nil>
deletion_time      n/a
destroyed          false
version            1

==== Data ====
Key      Value
---      -----
admin    password
`
	if res.stdout != want {
		t.Errorf("kv get:\n%s\nwant:\n%s", res.stdout, want)
	}
	if f.requests("GET /v1/sys/internal/ui/mounts/secret/creds") == nil {
		t.Error("no preflight request")
	}

	res = c.run("", "kv", "get", "-format=json", "secret/creds").want(t, 0)
	var env map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &env); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"request_id", "lease_id", "lease_duration", "renewable", "data", "warnings", "mount_type"} {
		if _, ok := env[k]; !ok {
			t.Errorf("json lacks %q: %s", k, res.stdout)
		}
	}
	if env["data"].(map[string]any)["data"].(map[string]any)["admin"] != "password" {
		t.Errorf("json data %v", env["data"])
	}

	if res := c.run("", "kv", "get", "-field=admin", "secret/creds").want(t, 0); res.stdout != "password" {
		t.Errorf("-field = %q", res.stdout)
	}
	res = c.run("", "kv", "get", "-field=nope", "secret/creds").want(t, 1)
	if !strings.Contains(res.stderr, `Field "nope" not present in secret`) {
		t.Errorf("stderr %q", res.stderr)
	}

	c.run("", "kv", "get", "-version=3", "-mount=secret", "creds").want(t, 0)
	rs := f.requests("GET /v1/secret/data/creds")
	if got := rs[len(rs)-1].Query["version"]; len(got) != 1 || got[0] != "3" {
		t.Errorf("version param %v", got)
	}
	if f.requests("GET /v1/sys/internal/ui/mounts/secret") == nil {
		t.Error("-mount preflight should ask about the mount")
	}

	res = c.run("", "kv", "get", "secret/missing").want(t, 2)
	if res.stderr != "No value found at secret/data/missing\n" {
		t.Errorf("missing: %q", res.stderr)
	}
}

func TestKVGetV1AndPreflightErrors(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("kv1/", 1)
	f.on("GET /v1/kv1/creds", 200, map[string]any{"lease_duration": 2764800, "data": map[string]any{"admin": "password"}})
	f.on("GET /v1/sys/internal/ui/mounts/denied*", 403, map[string]any{"errors": []string{"permission denied"}})
	c := newCLI(t, f.srv.URL)
	res := c.run("", "kv", "get", "kv1/creds").want(t, 0)
	want := "==== Data ====\nKey      Value\n---      -----\nadmin    password\n"
	if res.stdout != want {
		t.Errorf("v1 get:\n%q\nwant\n%q", res.stdout, want)
	}
	res = c.run("", "kv", "get", "denied/x").want(t, 2)
	if !strings.Contains(res.stderr, `preflight capability check returned 403, please ensure client's policies grant access to path "denied/x/"`) {
		t.Errorf("stderr %q", res.stderr)
	}
	// An old server without the preflight endpoint is KV v1.
	f.on("GET /v1/old/x", 200, map[string]any{"data": map[string]any{"a": "b"}})
	c.run("", "kv", "get", "old/x").want(t, 0)
}

func TestKVPut(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.kvMount("kv1/", 1)
	f.on("PUT /v1/secret/data/creds", 200, kvWriteMeta(2))
	f.on("PUT /v1/kv1/creds", 204, nil)
	c := newCLI(t, f.srv.URL)

	res := c.run("", "kv", "put", "secret/creds", "admin=password").want(t, 0)
	want := `== Secret Path ==
secret/data/creds

======= Metadata =======
Key                Value
---                -----
created_time       2024-01-02T03:04:05Z
custom_metadata    <nil>
deletion_time      n/a
destroyed          false
version            2
`
	if res.stdout != want {
		t.Errorf("kv put:\n%s\nwant:\n%s", res.stdout, want)
	}
	body := f.only("PUT /v1/secret/data/creds").Body
	if body["data"].(map[string]any)["admin"] != "password" || len(body["options"].(map[string]any)) != 0 {
		t.Errorf("v2 body %v", body)
	}

	c.run("s3cret\n", "kv", "put", "-cas=2", "-mount=secret", "creds", "pw=-").want(t, 0)
	body = f.requests("PUT /v1/secret/data/creds")[1].Body
	if body["options"].(map[string]any)["cas"] != num("2") || body["data"].(map[string]any)["pw"] != "s3cret\n" {
		t.Errorf("cas body %v", body)
	}

	res = c.run("", "kv", "put", "kv1/creds", "admin=password").want(t, 0)
	if res.stdout != "Success! Data written to: kv1/creds\n" {
		t.Errorf("v1 put: %q", res.stdout)
	}
	if b := f.only("PUT /v1/kv1/creds").Body; b["admin"] != "password" || b["data"] != nil {
		t.Errorf("v1 body %v", b)
	}

	res = c.run("", "kv", "put", "secret/creds").want(t, 1)
	if !strings.Contains(res.stderr, "Must supply data") {
		t.Errorf("stderr %q", res.stderr)
	}
	c.run("", "kv", "put").want(t, 1)
	res = c.run("", "kv", "put", "secret/creds", "junk").want(t, 1)
	if !strings.Contains(res.stderr, "Failed to parse K=V data") {
		t.Errorf("stderr %q", res.stderr)
	}
	res = c.run("", "kv", "put", "-format=json", "secret/creds", "a=b").want(t, 0)
	if !strings.Contains(res.stdout, `"version": 2`) {
		t.Errorf("json put: %s", res.stdout)
	}
}

func TestKVPatch(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.kvMount("kv1/", 1)
	f.onFunc("PATCH /v1/secret/data/creds", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/merge-patch+json" {
			writeJSON(w, 400, map[string]any{"errors": []string{"bad content type"}})
			return
		}
		writeJSON(w, 200, kvWriteMeta(3))
	})
	c := newCLI(t, f.srv.URL)
	c.run("", "kv", "patch", "-remove-data=old", "secret/creds", "admin=new").want(t, 0)
	body := f.only("PATCH /v1/secret/data/creds").Body
	data := body["data"].(map[string]any)
	if data["admin"] != "new" || data["old"] != nil {
		t.Errorf("patch body %v", body)
	}
	if _, ok := data["old"]; !ok {
		t.Error("removed key must be sent as null")
	}

	// A server refusing PATCH gets read-then-write with check-and-set.
	f.on("PATCH /v1/secret/data/other", 405, map[string]any{"errors": []string{"unsupported operation"}})
	f.on("GET /v1/secret/data/other", 200, kvV2Read())
	f.on("PUT /v1/secret/data/other", 200, kvWriteMeta(2))
	c.run("", "kv", "patch", "secret/other", "extra=1").want(t, 0)
	body = f.only("PUT /v1/secret/data/other").Body
	if d := body["data"].(map[string]any); d["admin"] != "password" || d["extra"] != "1" {
		t.Errorf("rw data %v", d)
	}
	if body["options"].(map[string]any)["cas"] != num("1") {
		t.Errorf("rw cas %v", body["options"])
	}
	// With -method=patch given, no fallback.
	c.run("", "kv", "patch", "-method=patch", "secret/other", "extra=1").want(t, 2)

	res := c.run("", "kv", "patch", "kv1/x", "a=b").want(t, 2)
	if !strings.Contains(res.stderr, "K/V engine mount must be version 2 for patch support") {
		t.Errorf("stderr %q", res.stderr)
	}
	c.run("", "kv", "patch", "-method=bogus", "secret/creds", "a=b").want(t, 1)
	res = c.run("", "kv", "patch", "-method=rw", "secret/missing", "a=b").want(t, 2)
	if !strings.Contains(res.stderr, "No value found at secret/data/missing") {
		t.Errorf("stderr %q", res.stderr)
	}
}

func TestKVDeleteUndeleteDestroy(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.kvMount("kv1/", 1)
	f.on("DELETE /v1/secret/data/creds", 204, nil)
	f.on("PUT /v1/secret/delete/creds", 204, nil)
	f.on("PUT /v1/secret/undelete/creds", 204, nil)
	f.on("PUT /v1/secret/destroy/creds", 204, nil)
	f.on("DELETE /v1/kv1/creds", 204, nil)
	c := newCLI(t, f.srv.URL)

	if res := c.run("", "kv", "delete", "secret/creds").want(t, 0); res.stdout != "Success! Data deleted (if it existed) at: secret/data/creds\n" {
		t.Errorf("delete: %q", res.stdout)
	}
	c.run("", "kv", "delete", "-versions=1,2", "-versions=4", "secret/creds").want(t, 0)
	if v := f.only("PUT /v1/secret/delete/creds").Body["versions"]; len(v.([]any)) != 3 || v.([]any)[2] != "4" {
		t.Errorf("delete versions %v", v)
	}
	if res := c.run("", "kv", "undelete", "-versions=2", "secret/creds").want(t, 0); res.stdout != "Success! Data written to: secret/undelete/creds\n" {
		t.Errorf("undelete: %q", res.stdout)
	}
	c.run("", "kv", "destroy", "-versions=1", "-mount=secret", "creds").want(t, 0)
	if v := f.only("PUT /v1/secret/destroy/creds").Body["versions"]; v.([]any)[0] != "1" {
		t.Errorf("destroy versions %v", v)
	}
	res := c.run("", "kv", "undelete", "secret/creds").want(t, 1)
	if !strings.Contains(res.stderr, `No versions provided, use the "-versions" flag to specify the version to undelete.`) {
		t.Errorf("stderr %q", res.stderr)
	}
	res = c.run("", "kv", "destroy", "-versions=1", "kv1/creds").want(t, 1)
	if !strings.Contains(res.stderr, "Destroy not supported on KV Version 1") {
		t.Errorf("stderr %q", res.stderr)
	}
	c.run("", "kv", "delete", "-versions=x", "secret/creds").want(t, 1)
	if res := c.run("", "kv", "delete", "kv1/creds").want(t, 0); !strings.Contains(res.stdout, "kv1/creds") {
		t.Errorf("v1 delete: %q", res.stdout)
	}
}

func TestKVList(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.on("LIST /v1/secret/metadata/app", 200, map[string]any{"data": map[string]any{"keys": []string{"b", "a/"}}})
	f.on("LIST /v1/secret/metadata", 200, map[string]any{"data": map[string]any{"keys": []string{"app/"}}})
	c := newCLI(t, f.srv.URL)
	if res := c.run("", "kv", "list", "secret/app").want(t, 0); res.stdout != "Keys\n----\na/\nb\n" {
		t.Errorf("list: %q", res.stdout)
	}
	if res := c.run("", "kv", "list", "-format=json", "secret/app/").want(t, 0); res.stdout != "[\n  \"b\",\n  \"a/\"\n]\n" {
		t.Errorf("json list: %q", res.stdout)
	}
	if res := c.run("", "kv", "list", "-mount=secret").want(t, 0); res.stdout != "Keys\n----\napp/\n" {
		t.Errorf("mount list: %q", res.stdout)
	}
	res := c.run("", "kv", "list", "secret/none").want(t, 2)
	if res.stderr != "No value found at secret/metadata/none\n" {
		t.Errorf("empty list: %q", res.stderr)
	}
	if res := c.run("", "kv", "list", "-format=json", "secret/none").want(t, 2); res.stdout != "{}\n" {
		t.Errorf("empty json list: %q", res.stdout)
	}
}

func TestKVMetadata(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.on("GET /v1/secret/metadata/creds", 200, map[string]any{"data": map[string]any{
		"cas_required": false, "created_time": "2024-01-01T00:00:00Z", "current_version": 2,
		"delete_version_after": "0s", "max_versions": 0, "oldest_version": 0, "updated_time": "2024-01-02T00:00:00Z",
		"custom_metadata": nil,
		"versions": map[string]any{
			"10": map[string]any{"created_time": "2024-01-03T00:00:00Z", "deletion_time": "", "destroyed": false},
			"2":  map[string]any{"created_time": "2024-01-02T00:00:00Z", "deletion_time": "", "destroyed": true},
		},
	}})
	f.on("PUT /v1/secret/metadata/creds", 204, nil)
	f.on("DELETE /v1/secret/metadata/creds", 204, nil)
	c := newCLI(t, f.srv.URL)

	res := c.run("", "kv", "metadata", "get", "secret/creds").want(t, 0)
	for _, want := range []string{"=== Metadata Path ===\nsecret/metadata/creds\n", "current_version         2",
		"====== Version 2 ======", "destroyed        true"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("metadata get lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Index(res.stdout, "Version 2 ") > strings.Index(res.stdout, "Version 10 ") {
		t.Errorf("versions not in numeric order:\n%s", res.stdout)
	}

	c.run("", "kv", "metadata", "put", "-max-versions=5", "-cas-required", "-delete-version-after=1h",
		"-custom-metadata=owner=ops", "secret/creds").want(t, 0)
	body := f.only("PUT /v1/secret/metadata/creds").Body
	if body["max_versions"] != num("5") || body["cas_required"] != true || body["delete_version_after"] != "1h" ||
		body["custom_metadata"].(map[string]any)["owner"] != "ops" {
		t.Errorf("metadata put body %v", body)
	}
	c.run("", "kv", "metadata", "put", "-mount=secret", "creds").want(t, 0)
	if b := f.requests("PUT /v1/secret/metadata/creds")[1].Body; len(b) != 0 {
		t.Errorf("unset flags must not be sent: %v", b)
	}
	if res := c.run("", "kv", "metadata", "delete", "secret/creds").want(t, 0); res.stdout != "Success! Data deleted (if it existed) at: secret/metadata/creds\n" {
		t.Errorf("metadata delete: %q", res.stdout)
	}
}

func TestKVRollback(t *testing.T) {
	f := newFakeVault(t)
	f.kvMount("secret/", 2)
	f.onFunc("GET /v1/secret/data/creds", func(w http.ResponseWriter, r *http.Request) {
		body := kvV2Read()
		d := body["data"].(map[string]any)
		if r.URL.Query().Get("version") == "1" {
			d["data"] = map[string]any{"admin": "old"}
		} else {
			d["metadata"].(map[string]any)["version"] = 3
		}
		writeJSON(w, 200, body)
	})
	f.on("PUT /v1/secret/data/creds", 200, kvWriteMeta(4))
	c := newCLI(t, f.srv.URL)
	c.run("", "kv", "rollback", "-version=1", "secret/creds").want(t, 0)
	body := f.only("PUT /v1/secret/data/creds").Body
	if body["data"].(map[string]any)["admin"] != "old" || body["options"].(map[string]any)["cas"] != num("3") {
		t.Errorf("rollback body %v", body)
	}
	c.run("", "kv", "rollback", "secret/creds").want(t, 1)
}
