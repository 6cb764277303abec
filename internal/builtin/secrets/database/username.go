package database

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// usernameData are the values a username_template sees.
type usernameData struct {
	DisplayName string
	RoleName    string
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// templateFuncs are Vault's username template functions.
var templateFuncs = template.FuncMap{
	"truncate": func(n int, s string) (string, error) {
		if n < 0 {
			return "", fmt.Errorf("truncate: negative length")
		}
		if len(s) > n {
			return s[:n], nil
		}
		return s, nil
	},
	"truncate_sha256": func(n int, s string) string {
		if len(s) <= n {
			return s
		}
		if n <= 8 {
			return s[:n]
		}
		sum := sha256.Sum256([]byte(s))
		return s[:n-8] + hex.EncodeToString(sum[:])[:8]
	},
	"random": func(n int) (string, error) {
		out := make([]byte, n)
		for i := range out {
			v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
			if err != nil {
				return "", err
			}
			out[i] = alnum[v.Int64()]
		}
		return string(out), nil
	},
	"unix_time":        func() string { return strconv.FormatInt(time.Now().Unix(), 10) },
	"unix_time_millis": func() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) },
	"timestamp":        func(layout string) string { return time.Now().UTC().Format(layout) },
	"uuid": func() (string, error) {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
	},
	"lowercase": strings.ToLower,
	"uppercase": strings.ToUpper,
	"replace":   func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
	"sha256":    func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) },
	"base64":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
}

// parseUsernameTemplate checks a username_template (a 400 when it does
// not parse or does not render).
func parseUsernameTemplate(s string) (*template.Template, error) {
	t, err := template.New("username").Option("missingkey=error").Funcs(templateFuncs).Parse(s)
	if err != nil {
		return nil, fmt.Errorf("unable to parse username template: %w", err)
	}
	if _, err := render(t, usernameData{DisplayName: "token", RoleName: "role"}); err != nil {
		return nil, err
	}
	return t, nil
}

func render(t *template.Template, d usernameData) (string, error) {
	var sb strings.Builder
	if err := t.Execute(&sb, d); err != nil {
		return "", fmt.Errorf("unable to render username template: %w", err)
	}
	u := strings.TrimSpace(sb.String())
	if u == "" {
		return "", fmt.Errorf("username template renders an empty username")
	}
	return u, nil
}
