package testcluster

import (
	"fmt"
	"sync"
	"time"
)

// Kind is what a recorded operation did.
type Kind int

// Operation kinds on a per-key register.
const (
	Put Kind = iota // write a value
	Get             // read the current value ("" when absent)
)

// String is "put" or "get".
func (k Kind) String() string {
	if k == Get {
		return "get"
	}
	return "put"
}

// Outcome is what the client learned about an operation.
type Outcome int

// Outcomes. Only Fail may be recorded for a write the system certainly did
// not apply (a refused connection, a 4xx); anything ambiguous — a timeout,
// a connection reset after the request was sent, a 5xx — is Unknown.
const (
	Pending Outcome = iota // not returned yet; checked like Unknown
	OK                     // acknowledged (a get's value is its result)
	Fail                   // definitely not applied
	Unknown                // may or may not have taken effect
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Fail:
		return "fail"
	case Unknown:
		return "unknown"
	}
	return "pending"
}

// Op is one recorded client operation. Times are measured on the
// recorder's monotonic clock from its creation.
type Op struct {
	Client  int
	Kind    Kind
	Key     string
	Value   string // put: the value written; get: the value read
	Call    time.Duration
	Return  time.Duration // set when Outcome is not Pending
	Outcome Outcome
	// Final marks a read made after the workload, for LostWrites.
	Final bool
}

// String describes the operation for failure messages.
func (o Op) String() string {
	v := fmt.Sprintf("%s(%s, %q)", o.Kind, o.Key, o.Value)
	if o.Kind == Get {
		v = fmt.Sprintf("get(%s) -> %q", o.Key, o.Value)
	}
	return fmt.Sprintf("client %d %s %s [%v, %v]", o.Client, v, o.Outcome, o.Call, o.Return)
}

// Recorder is a concurrent-safe history of client operations: Put, Get or
// FinalGet when the request is about to be sent, Call.Done when its outcome
// is known.
type Recorder struct {
	start time.Time

	mu      sync.Mutex
	ops     []Op
	clients int
}

// NewRecorder starts an empty history whose clock starts now.
func NewRecorder() *Recorder { return &Recorder{start: time.Now()} }

// NewClient returns a fresh client id. A client whose operation ended
// Unknown should take a new id (as a crashed process would): its old
// operation may still be in flight.
func (r *Recorder) NewClient() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	id := r.clients
	r.clients++
	return id
}

// Put records the invocation of a write of value to key.
func (r *Recorder) Put(client int, key, value string) *Call {
	return r.invoke(Op{Client: client, Kind: Put, Key: key, Value: value})
}

// Get records the invocation of a read of key.
func (r *Recorder) Get(client int, key string) *Call {
	return r.invoke(Op{Client: client, Kind: Get, Key: key})
}

// FinalGet records a read of key made once the workload is over; the last
// successful one per key is what LostWrites compares with.
func (r *Recorder) FinalGet(client int, key string) *Call {
	return r.invoke(Op{Client: client, Kind: Get, Key: key, Final: true})
}

func (r *Recorder) invoke(op Op) *Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	op.Call = time.Since(r.start)
	r.ops = append(r.ops, op)
	return &Call{r: r, i: len(r.ops) - 1}
}

// Call is an operation in flight.
type Call struct {
	r *Recorder
	i int
}

// Done records the operation's return: its outcome and, for a get that is
// OK, the value read ("" when the key does not exist). A second Done is
// ignored.
func (c *Call) Done(outcome Outcome, value string) {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	op := &c.r.ops[c.i]
	if op.Outcome != Pending {
		return
	}
	op.Return = time.Since(c.r.start)
	op.Outcome = outcome
	if op.Kind == Get {
		op.Value = value
	}
}

// Operations returns a copy of the history in invocation order.
func (r *Recorder) Operations() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Op(nil), r.ops...)
}

// countOps returns how many writes were acknowledged and how many
// operations ended (or are still) unknown.
func countOps(ops []Op) (acked, unknown int) {
	for _, op := range ops {
		switch {
		case op.Kind == Put && op.Outcome == OK:
			acked++
		case op.Outcome == Unknown || op.Outcome == Pending:
			unknown++
		}
	}
	return acked, unknown
}
