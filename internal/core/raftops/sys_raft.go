package raftops

import (
	"context"

	"github.com/strongbox/strongbox/internal/logical"
)

// raftPaths serve sys/storage/raft/configuration and remove-peer.
func (o *Ops) raftPaths() []*logical.Path {
	r := o.raftStorage()
	if r == nil {
		return nil
	}
	return []*logical.Path{
		{
			Pattern: "storage/raft/configuration",
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.ReadOperation: func(ctx context.Context, _ *logical.Request, _ *logical.FieldData) (*logical.Response, error) {
					peers, err := r.Peers(ctx)
					if err != nil {
						return nil, err
					}
					servers := make([]map[string]any, 0, len(peers))
					for _, p := range peers {
						servers = append(servers, map[string]any{
							"node_id": p.ID, "address": p.Address, "leader": p.Leader,
							"voter": p.Voter, "protocol_version": "3",
						})
					}
					committed := o.committedIndex()
					return &logical.Response{Data: map[string]any{
						"config": map[string]any{"servers": servers, "index": committed},
					}}, nil
				},
			},
		},
		{
			Pattern: "storage/raft/remove-peer",
			Fields:  map[string]*logical.FieldSchema{"server_id": str("node id to remove"), "dr_operation_token": str("unused")},
			Operations: map[logical.Operation]logical.OperationFunc{
				logical.UpdateOperation: func(ctx context.Context, _ *logical.Request, d *logical.FieldData) (*logical.Response, error) {
					id := d.Get("server_id").(string)
					if id == "" {
						return nil, logical.BadRequest("no server id provided")
					}
					peers, err := r.Peers(ctx)
					if err != nil {
						return nil, err
					}
					found := false
					for _, p := range peers {
						found = found || p.ID == id
					}
					if !found {
						return nil, logical.BadRequest("server %q is not a raft peer", id)
					}
					if err := r.RemovePeer(ctx, id); err != nil {
						return nil, err
					}
					o.logger.Info("removed raft peer", "server_id", id)
					// The removed node's certificate is no use to anyone
					// now, and its established cluster connections end here.
					if err := o.deleteNodeCert(ctx, id); err != nil {
						o.logger.Warn("forgetting a removed node's raft certificate", "server_id", id, "error", err)
					}
					o.recheckCluster()
					return nil, nil
				},
			},
		},
	}
}
