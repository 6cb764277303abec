package raftops

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// rawSnapshotPaths serve sys/storage/raft/snapshot (read: stream a
// snapshot out; update: restore one) and sys/storage/raft/snapshot-force,
// through the same request pipeline as every other endpoint (token, ACL
// with sudo, leader check, audit of request and response). Their bodies
// are streams: the HTTP layer hands them over in req.ResponseWriter and
// req.Body, and the stream itself runs once the state lock is released.
func (o *Ops) rawSnapshotPaths() []*logical.Path {
	if o.snapshotStorage() == nil {
		return nil
	}
	restore := func(force bool) logical.OperationFunc {
		return func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
			if req.Body == nil {
				return nil, logical.BadRequest("a snapshot restore takes the snapshot file as the request body")
			}
			body := req.Body
			o.host.WhenUnlocked(ctx, func(ctx context.Context) (*logical.Response, error) {
				return nil, o.RestoreSnapshot(ctx, body, force)
			})
			return nil, nil
		}
	}
	return []*logical.Path{
		{
			Pattern: "storage/raft/snapshot",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(ctx context.Context, req *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					if req.ResponseWriter == nil {
						return nil, logical.BadRequest("a snapshot is a stream: GET it as /v1/sys/storage/raft/snapshot")
					}
					// Called with stateLock held by the pipeline.
					src, err := o.snapshotSourceLocked(ctx, o.host.StateLocked())
					if err != nil {
						return nil, err
					}
					w := req.ResponseWriter
					o.host.WhenUnlocked(ctx, func(ctx context.Context) (*logical.Response, error) {
						meta, err := src.write(ctx, w)
						if err == nil {
							o.logger.Info("snapshot streamed", "index", meta.Index, "term", meta.Term, "bytes", meta.Size)
						}
						return nil, err
					})
					return nil, nil
				},
				logical.UpdateOperation: restore(false),
			},
		},
		{
			Pattern:    "storage/raft/snapshot-force",
			Operations: map[logical.Operation]logical.OperationFunc{logical.UpdateOperation: restore(true)},
		},
	}
}
