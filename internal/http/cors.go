package http

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
)

// CORSPolicy is the cross-origin policy in force: the listener's cors_*
// settings, or sys/config/cors.
type CORSPolicy struct {
	Enabled        bool
	AllowedOrigins []string
	AllowedHeaders []string
}

// corsStdHeaders are the headers Vault always allows cross-origin.
var corsStdHeaders = []string{
	"Content-Type", "X-Requested-With", "X-Vault-AWS-IAM-Server-ID", "X-Vault-MFA",
	"X-Vault-No-Request-Forwarding", "X-Vault-Wrap-Format", "X-Vault-Wrap-TTL",
	"X-Vault-Policy-Override", "Authorization", "X-Vault-Token", "X-Vault-Namespace",
	"X-Vault-Request",
}

// corsMethods are the methods a preflight may ask for.
var corsMethods = []string{http.MethodDelete, http.MethodGet, http.MethodOptions, http.MethodPost, http.MethodPut, "LIST"}

func (p CORSPolicy) allows(origin string) bool {
	if len(p.AllowedOrigins) == 1 && p.AllowedOrigins[0] == "*" {
		return true
	}
	return slices.Contains(p.AllowedOrigins, origin)
}

// withCORS answers preflights and marks allowed cross-origin responses, as
// Vault does: a request from an origin not allowed gets 403, a preflight for
// a method not allowed 405, a good preflight 204 with the allowed methods
// and headers.
func withCORS(next http.Handler, policy func(context.Context) CORSPolicy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			next.ServeHTTP(w, r)
			return
		}
		p := policy(r.Context())
		if !p.Enabled {
			next.ServeHTTP(w, r)
			return
		}
		if !p.allows(origin) {
			respondError(w, http.StatusForbidden, errors.New("origin not allowed"))
			return
		}
		if r.Method == http.MethodOptions {
			if m := r.Header.Get("Access-Control-Request-Method"); m != "" && !slices.Contains(corsMethods, strings.ToUpper(m)) {
				respondError(w, http.StatusMethodNotAllowed, errors.New("method not allowed"))
				return
			}
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
		if r.Method == http.MethodOptions {
			h.Set("Access-Control-Allow-Methods", strings.Join(corsMethods, ","))
			h.Set("Access-Control-Allow-Headers", strings.Join(append(slices.Clone(corsStdHeaders), p.AllowedHeaders...), ","))
			h.Set("Access-Control-Max-Age", "300")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
