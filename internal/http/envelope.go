package http

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/strongbox/strongbox/internal/logical"
)

// respondEnvelope writes resp in Vault's envelope (logical.EnvelopeBody,
// shared with the core, which keeps wrapped responses in the same shape).
func respondEnvelope(w http.ResponseWriter, status int, req *logical.Request, resp *logical.Response, mountType string) {
	for k, v := range resp.Headers {
		w.Header()[k] = v
	}
	respondJSON(w, status, logical.EnvelopeBody(req.ID, resp, mountType))
}

func respondJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(body)
}

// respondError writes Vault's error shape: {"errors":["..."]}.
func respondError(w http.ResponseWriter, status int, err error) {
	msgs := []string{}
	if err != nil && err.Error() != "" {
		msgs = append(msgs, err.Error())
	}
	respondJSON(w, status, map[string]any{"errors": msgs})
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
