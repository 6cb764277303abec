package wrapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// Keys of a wrapping token's cubbyhole (cubbyhole/response and
// cubbyhole/wrapinfo, as Vault keeps them).
const (
	responseKey = "response"
	infoKey     = "wrapinfo"
)

// Creation paths with a meaning of their own.
const (
	wrapPath   = "sys/wrapping/wrap"
	rewrapPath = "sys/wrapping/rewrap"
)

// ErrInvalidToken is the 400 every sys/wrapping endpoint answers for a
// token that is unknown, used, expired, revoked or not a wrapping token.
var ErrInvalidToken = logical.BadRequest("wrapping token is not valid or does not exist")

// Manager wraps responses and serves sys/wrapping/*. It keeps no state of
// its own: tokens live in the token store, wrapped responses in cubbyholes.
type Manager struct {
	host Host
	now  func() time.Time
}

// New returns the room over host.
func New(host Host) *Manager {
	return &Manager{host: host, now: time.Now}
}

// stored is a wrapped response as its cubbyhole keeps it. The cubbyhole
// engine reads entries as JSON objects, so reading cubbyhole/response with
// the wrapping token (what old clients do) finds the body under "response".
type stored struct {
	// Response is the body the client would have had.
	Response string `json:"response"`
	// Status and ContentType are set for a response that was not a JSON
	// envelope (a raw body), so unwrapping answers it the same way.
	Status      int    `json:"http_status_code,omitempty"`
	ContentType string `json:"http_content_type,omitempty"`
}

// info is a wrapping token's creation record (cubbyhole/wrapinfo), which
// lookup reports and rewrap keeps.
type info struct {
	CreationTTL  int64  `json:"creation_ttl"` // seconds
	CreationTime string `json:"creation_time"`
	CreationPath string `json:"creation_path"`
}

// WrapTTL is the wrapping a request's answer gets: the shorter positive of
// what the backend asked (resp.WrapInfo) and what the client asked
// (req.WrapInfo); zero for none. path is the creation path to record.
func WrapTTL(req *logical.Request, resp *logical.Response) (ttl time.Duration, path string) {
	path = req.Path
	if resp != nil && resp.WrapInfo != nil && resp.WrapInfo.Token == "" {
		ttl = resp.WrapInfo.TTL
		if resp.WrapInfo.CreationPath != "" {
			path = resp.WrapInfo.CreationPath
		}
	}
	if w := req.WrapInfo; w != nil && w.TTL > 0 && (ttl <= 0 || w.TTL < ttl) {
		ttl = w.TTL
	}
	return max(ttl, 0), path
}

// Wrap returns resp wrapped when the request or the backend asks for it
// (see WrapTTL), resp itself otherwise. The wrapped response carries only
// its WrapInfo; the original is kept, as the JSON body the HTTP layer
// would have written for it (Vault's envelope), in the cubbyhole of a new
// single-use wrapping token. A nil response (204) and a streamed one are
// never wrapped; the caller does not wrap errors.
func (m *Manager) Wrap(ctx context.Context, req *logical.Request, resp *logical.Response, mountType string) (*logical.Response, error) {
	if resp == nil {
		return nil, nil
	}
	ttl, path := WrapTTL(req, resp)
	if ttl == 0 {
		if resp.WrapInfo != nil && resp.WrapInfo.Token == "" {
			resp.WrapInfo = nil
		}
		return resp, nil
	}
	jwt := (req.WrapInfo != nil && req.WrapInfo.Format == logical.WrapFormatJWT) ||
		(resp.WrapInfo != nil && resp.WrapInfo.Format == logical.WrapFormatJWT)
	if req.Path == wrapPath && mountType == "system" {
		// Nobody may mint a JWT wrapping token of their choosing: a JWT
		// one then always holds a response the node produced (Vault's
		// rule for sys/wrapping/wrap).
		jwt = false
	}
	var body stored
	switch {
	case req.Path == rewrapPath && mountType == "system":
		// Rewrap hands back the stored body to wrap again, not a
		// response of its own.
		body.Response, _ = resp.Data["response"].(string)
		body.Status, _ = resp.Data["http_status_code"].(int)
		body.ContentType, _ = resp.Data["http_content_type"].(string)
	case resp.Raw != nil || resp.RawStatus != 0:
		body.Response, body.Status, body.ContentType = string(resp.Raw), resp.RawStatus, resp.RawContentType
		if body.Status == 0 {
			body.Status = http.StatusOK
		}
		if body.ContentType == "" {
			body.ContentType = "application/json"
		}
	default:
		env := logical.EnvelopeOf(req.ID, resp, mountType)
		raw, err := json.Marshal(env)
		if err != nil {
			return nil, fmt.Errorf("wrap: encode response: %w", err)
		}
		body.Response = string(raw)
	}
	wrappedAccessor := ""
	if resp.Auth != nil {
		wrappedAccessor = resp.Auth.Accessor
	}
	wi, err := m.store(ctx, ttl, path, body, jwt, wrappedAccessor)
	if err != nil {
		return nil, err
	}
	return &logical.Response{WrapInfo: wi}, nil
}

// WrapData wraps data as sys/wrapping/wrap does (engines call it through
// their SystemView).
func (m *Manager) WrapData(ctx context.Context, requestID string, data map[string]any, ttl time.Duration, jwt bool) (*logical.ResponseWrapInfo, error) {
	if ttl <= 0 {
		return nil, logical.BadRequest("wrapping TTL must be positive")
	}
	raw, err := json.Marshal(logical.EnvelopeOf(requestID, &logical.Response{Data: data}, "system"))
	if err != nil {
		return nil, fmt.Errorf("wrap: encode data: %w", err)
	}
	return m.store(ctx, ttl, wrapPath, stored{Response: string(raw)}, jwt, "")
}

// store creates the wrapping token and fills its cubbyhole. A token whose
// cubbyhole could not be written is revoked before the error returns.
// With jwt, the token handed out is the wrapping token in a signed JWT.
func (m *Manager) store(ctx context.Context, ttl time.Duration, path string, body stored, jwt bool, wrappedAccessor string) (*logical.ResponseWrapInfo, error) {
	// Tokens live whole seconds; the TTL reported is the token's own.
	if r := ttl % time.Second; r != 0 {
		ttl += time.Second - r
	}
	raw, tok, err := m.host.CreateToken(ctx, ttl, path)
	if err != nil {
		return nil, fmt.Errorf("wrap: create wrapping token: %w", err)
	}
	created := tok.CreationTime
	if created.IsZero() {
		created = m.now()
	}
	err = m.fill(ctx, tok.ID, body, info{
		CreationTTL:  int64(ttl / time.Second),
		CreationTime: created.UTC().Format(time.RFC3339Nano),
		CreationPath: path,
	})
	wi := &logical.ResponseWrapInfo{
		Token: raw, Accessor: tok.Accessor, TTL: ttl, CreationTime: created,
		CreationPath: path, WrappedAccessor: wrappedAccessor, Format: logical.WrapFormatUUID,
	}
	if err == nil && jwt {
		wi.Token, err = m.signJWT(ctx, raw, created, ttl, wrappedAccessor)
		wi.Format = logical.WrapFormatJWT
	}
	if err != nil {
		// A token that cannot carry its response is revoked at once.
		if revoke, ok, serr := m.host.SpendToken(ctx, raw); serr == nil && ok {
			revoke(ctx)
		}
		return nil, fmt.Errorf("wrap: store response: %w", err)
	}
	return wi, nil
}

func (m *Manager) fill(ctx context.Context, id string, body stored, in info) error {
	cubby := m.host.Cubbyhole(id)
	if cubby == nil {
		return errors.New("no cubbyhole is mounted")
	}
	for key, v := range map[string]any{responseKey: body, infoKey: in} {
		buf, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := cubby.Put(ctx, &logical.StorageEntry{Key: key, Value: buf}); err != nil {
			return err
		}
	}
	return nil
}

func secondsToDuration(s int64) time.Duration { return time.Duration(s) * time.Second }
