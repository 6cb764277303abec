package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strongbox/strongbox/internal/logical"
)

// formatConfig holds the options every device type shares.
type formatConfig struct {
	raw          bool   // log_raw: write secrets in clear
	hmacAccessor bool   // hmac_accessor: hash token accessors too
	elideList    bool   // elide_list_responses
	prefix       string // prefix: written before each entry
	jsonx        bool   // format=jsonx
	chain        bool   // tamper_evident: add the chain field (chain.go)
}

// formatter turns LogInputs into encoded log lines.
type formatter struct {
	cfg  formatConfig
	salt *salter
	bufs sync.Pool // *lineBuffer
}

func newFormatter(cfg formatConfig, s *salter) *formatter {
	f := &formatter{cfg: cfg, salt: s}
	f.bufs.New = func() any { return &lineBuffer{b: make([]byte, 0, 2048)} }
	return f
}

// lineBuffer is a reusable output buffer.
type lineBuffer struct {
	b []byte
}

// maxPooledLine bounds the buffers kept for reuse, so one huge entry does
// not pin its memory for the life of the process.
const maxPooledLine = 64 << 10

// release returns lb to the pool.
func (f *formatter) release(lb *lineBuffer) {
	if cap(lb.b) > maxPooledLine {
		return
	}
	f.bufs.Put(lb)
}

var errNilRequest = errors.New("audit: cannot log an entry without a request")

// format builds the request (response=false) or response entry for in and
// encodes it, with the prefix and a trailing newline, into a pooled buffer
// the caller must release. Nothing reachable from in is modified: tokens
// are hashed on the entry's own fields and data is hashed as it is written.
func (f *formatter) format(ctx context.Context, in *LogInput, response bool) (*lineBuffer, error) {
	if in == nil || in.Request == nil {
		return nil, errNilRequest
	}
	key, err := f.salt.get(ctx)
	if err != nil {
		return nil, err
	}
	e := f.build(in, response, key)

	reqData := dataEncoder{nonHMAC: in.NonHMACReqDataKeys}
	respData := dataEncoder{nonHMAC: in.NonHMACRespDataKeys}
	if !f.cfg.raw {
		reqData.key, respData.key = key, key
	}
	lb := f.bufs.Get().(*lineBuffer)
	b := append(lb.b[:0], f.cfg.prefix...)
	b, err = appendEntry(b, e, &reqData, &respData)
	if err != nil {
		f.release(lb)
		return nil, fmt.Errorf("audit: encode %s entry: %w", e.Type, err)
	}
	if f.cfg.jsonx {
		if b, err = toJSONx(b, len(f.cfg.prefix)); err != nil {
			f.release(lb)
			return nil, err
		}
	} else {
		b = append(b, '\n')
	}
	lb.b = b
	return lb, nil
}

// build assembles the entry. Token fields are hashed here (on the entry's
// own copies); data maps are the caller's, hashed by the encoder.
func (f *formatter) build(in *LogInput, response bool, key *saltKey) *entry {
	req := in.Request
	e := &entry{Time: time.Now().UTC().Format(time.RFC3339Nano), Type: "request"}
	if in.OuterErr != nil {
		e.Error = in.OuterErr.Error()
	}
	e.Auth = callerAuth(in)
	f.hashAuth(e.Auth, key)

	e.Request = requestEntry(req)
	headerCfg := in.AuditedHeaders
	if headerCfg == nil {
		headerCfg = DefaultAuditedHeaders()
	}
	// Headers configured with hmac are hashed even when logging raw, as in
	// Vault: the header configuration is explicit about them.
	e.Request.Headers = auditedHeaders(req.Headers, headerCfg, key.hmac)
	e.Request.Data = req.Data
	if !f.cfg.raw {
		e.Request.ClientToken = key.hmacToken(e.Request.ClientToken)
		if f.cfg.hmacAccessor {
			e.Request.ClientTokenAccessor = key.hmacToken(e.Request.ClientTokenAccessor)
		}
	}
	if response {
		e.Type = "response"
		e.Response = f.responseEntry(in, key)
	}
	return e
}

func (f *formatter) responseEntry(in *LogInput, key *saltKey) *entryResponse {
	req, resp := in.Request, in.Response
	if resp == nil {
		resp = &logical.Response{}
	}
	r := &entryResponse{
		MountPoint: req.MountPoint,
		MountType:  req.MountType,
		Warnings:   resp.Warnings,
		Headers:    resp.Headers,
		Data:       resp.Data,
	}
	if f.cfg.elideList && req.Operation == logical.ListOperation {
		r.Data = elideListData(r.Data)
	}
	if resp.Auth != nil {
		r.Auth = authEntry(resp.Auth)
		f.hashAuth(r.Auth, key)
	}
	if resp.Secret != nil {
		// Lease ids are in clear, as in Vault: they grant nothing alone.
		r.Secret = &entrySecret{LeaseID: resp.Secret.LeaseID}
	}
	if w := in.WrapInfo; w != nil {
		r.WrapInfo = &entryWrapInfo{
			TTL:             int(w.TTL / time.Second),
			Token:           w.Token,
			Accessor:        w.Accessor,
			CreationPath:    w.CreationPath,
			WrappedAccessor: w.WrappedAccessor,
		}
		if !w.CreationTime.IsZero() {
			r.WrapInfo.CreationTime = w.CreationTime.UTC().Format(time.RFC3339Nano)
		}
		if !f.cfg.raw {
			r.WrapInfo.Token = key.hmacToken(r.WrapInfo.Token)
			if f.cfg.hmacAccessor {
				r.WrapInfo.Accessor = key.hmacToken(r.WrapInfo.Accessor)
				r.WrapInfo.WrappedAccessor = key.hmacToken(r.WrapInfo.WrappedAccessor)
			}
		}
	}
	return r
}

// hashAuth replaces the token (and, with hmac_accessor, the accessor) of a
// by their HMAC; a is the entry's own copy.
func (f *formatter) hashAuth(a *entryAuth, key *saltKey) {
	if f.cfg.raw {
		return
	}
	a.ClientToken = key.hmacToken(a.ClientToken)
	if f.cfg.hmacAccessor {
		a.Accessor = key.hmacToken(a.Accessor)
	}
}

// elideListData replaces, in a shallow copy of data, the "keys" list by its
// length and the "key_info" map by its size (elide_list_responses).
func elideListData(data map[string]any) map[string]any {
	if data == nil {
		return nil
	}
	out := make(map[string]any, len(data))
	for k, v := range data {
		out[k] = v
		switch k {
		case "keys":
			switch l := v.(type) {
			case []string:
				out[k] = len(l)
			case []any:
				out[k] = len(l)
			}
		case "key_info":
			switch m := v.(type) {
			case map[string]any:
				out[k] = len(m)
			case map[string]map[string]any:
				out[k] = len(m)
			}
		}
	}
	return out
}
