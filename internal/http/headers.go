package http

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// withResponseHeaders sets the listener's custom_response_headers, the
// X-Vault-Hostname header and logs completed requests, all of which need the
// response's status.
func withResponseHeaders(next http.Handler, o ListenerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, opts: &o}
		next.ServeHTTP(sw, r)
		if !sw.wrote {
			sw.WriteHeader(http.StatusOK)
		}
		if o.LogRequests != nil && o.Logger != nil {
			o.Logger.Log(r.Context(), *o.LogRequests, "completed request",
				"method", r.Method, "path", r.URL.Path, "status", sw.status,
				"remote_address", r.RemoteAddr, "duration", time.Since(start))
		}
	})
}

// statusWriter adds headers once the status is known.
type statusWriter struct {
	http.ResponseWriter
	opts   *ListenerOptions
	status int
	wrote  bool
}

func (s *statusWriter) WriteHeader(code int) {
	if s.wrote {
		s.ResponseWriter.WriteHeader(code)
		return
	}
	s.wrote, s.status = true, code
	h := s.Header()
	if s.opts.Hostname != "" {
		h.Set("X-Vault-Hostname", s.opts.Hostname)
	}
	if s.opts.RaftNodeID != "" {
		h.Set("X-Vault-Raft-Node-ID", s.opts.RaftNodeID)
	}
	// The most specific setting wins: the code, then its class, then
	// default. As in Vault, a header's list of values is sent as one value
	// joined with "; ".
	c := strconv.Itoa(code)
	for _, key := range []string{"default", c[:1] + "xx", c} {
		for name, values := range s.opts.CustomHeaders[key] {
			h.Set(name, strings.Join(values, "; "))
		}
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(p)
}

// Flush lets streamed responses (snapshots) through.
func (s *statusWriter) Flush() {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
