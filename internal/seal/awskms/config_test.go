package awskms

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		conf    map[string]string
		env     map[string]string
		wantErr string
		want    config
	}{
		{
			name: "defaults",
			conf: map[string]string{"kms_key_id": "k"},
			want: config{region: "us-east-1", keyID: "k"},
		},
		{
			name: "stanza",
			conf: map[string]string{"region": "eu-west-1", "access_key": "AK", "secret_key": "SK", "session_token": "ST",
				"kms_key_id": "alias/x", "endpoint": "https://kms.example:8443"},
			want: config{region: "eu-west-1", accessKey: "AK", secretKey: "SK", sessionToken: "ST", keyID: "alias/x", endpoint: "https://kms.example:8443"},
		},
		{
			name: "environment wins",
			conf: map[string]string{"region": "eu-west-1", "access_key": "AK", "secret_key": "SK",
				"kms_key_id": "conf-key", "endpoint": "https://conf.example"},
			env: map[string]string{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ignored", "AWS_ACCESS_KEY_ID": "EAK",
				"AWS_SECRET_ACCESS_KEY": "ESK", "AWS_SESSION_TOKEN": "EST", "VAULT_AWSKMS_SEAL_KEY_ID": "env-key",
				"AWS_KMS_ENDPOINT": "http://127.0.0.1:1"},
			want: config{region: "ap-south-1", accessKey: "EAK", secretKey: "ESK", sessionToken: "EST", keyID: "env-key", endpoint: "http://127.0.0.1:1"},
		},
		{
			name: "default region variable",
			conf: map[string]string{"region": "eu-west-1", "kms_key_id": "k"},
			env:  map[string]string{"AWS_DEFAULT_REGION": "sa-east-1"},
			want: config{region: "sa-east-1", keyID: "k"},
		},
		{
			name: "bare endpoint host means https",
			conf: map[string]string{"kms_key_id": "k", "endpoint": "vpce-1.kms.us-east-1.vpce.amazonaws.com"},
			want: config{region: "us-east-1", keyID: "k", endpoint: "https://vpce-1.kms.us-east-1.vpce.amazonaws.com"},
		},
		{name: "no key", conf: map[string]string{}, wantErr: "kms_key_id is required"},
		{name: "access key alone", conf: map[string]string{"kms_key_id": "k", "access_key": "AK"}, wantErr: "set together"},
		{name: "secret key alone", conf: map[string]string{"kms_key_id": "k"}, env: map[string]string{"AWS_SECRET_ACCESS_KEY": "S"}, wantErr: "set together"},
		{name: "token alone", conf: map[string]string{"kms_key_id": "k", "session_token": "T"}, wantErr: "session_token needs"},
		{name: "bad endpoint", conf: map[string]string{"kms_key_id": "k", "endpoint": "ftp://x"}, wantErr: "not an http(s) URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig(tc.conf, envFrom(tc.env))
			if tc.wantErr != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrConfig with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			if len(c.unknown) != 0 {
				t.Errorf("unknown keys %v", c.unknown)
			}
			c.unknown = nil
			if !reflect.DeepEqual(*c, tc.want) {
				t.Fatalf("config = %+v, want %+v", *c, tc.want)
			}
		})
	}
}

func TestParseConfigUnknownKeys(t *testing.T) {
	c, err := parseConfig(map[string]string{"kms_key_id": "k", "disabled": "false", "kms_key": "typo"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.unknown) != 1 || c.unknown[0] != "kms_key" {
		t.Fatalf("unknown = %v", c.unknown)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add("us-east-1", "AK", "SK", "", "alias/k", "https://kms.example")
	f.Add("", "", "", "tok", "", "")
	f.Add("x", "a", "", "", "k", "::::")
	f.Add("", "", "", "", "k", "http://[::1")
	f.Fuzz(func(t *testing.T, region, ak, sk, token, key, endpoint string) {
		c, err := parseConfig(map[string]string{"region": region, "access_key": ak, "secret_key": sk,
			"session_token": token, "kms_key_id": key, "endpoint": endpoint}, nil)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		if c.keyID == "" || c.region == "" || (c.accessKey == "") != (c.secretKey == "") {
			t.Fatalf("accepted %+v", c)
		}
		if c.endpoint != "" && !strings.HasPrefix(c.endpoint, "http") {
			t.Fatalf("accepted endpoint %q", c.endpoint)
		}
	})
}
