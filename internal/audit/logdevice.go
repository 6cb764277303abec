package audit

import (
	"context"
	"log/slog"
)

// device is the Device every type shares: a formatter (options, salt) in
// front of an output. Types differ only in their output.
type device struct {
	fmt    *formatter
	out    entryWriter
	sink   reopenCloser
	logger *slog.Logger
}

var _ Device = (*device)(nil)

// entryWriter writes whole entries; a nil error means the entry reached
// the operating system.
type entryWriter interface {
	write(line []byte) error
}

// reopenCloser is a device's output.
type reopenCloser interface {
	// reopen re-establishes the output (new file, new connection).
	reopen() error
	// close releases it; writes then fail with ErrClosed.
	close() error
}

// LogRequest implements Device.
func (d *device) LogRequest(ctx context.Context, in *LogInput) error {
	return d.log(ctx, in, false)
}

// LogResponse implements Device.
func (d *device) LogResponse(ctx context.Context, in *LogInput) error {
	return d.log(ctx, in, true)
}

// log formats and writes one entry. The context only bounds loading the
// salt: once formatted, an entry is written even if the client has gone,
// so an operation that happened is never missing from the log.
func (d *device) log(ctx context.Context, in *LogInput, response bool) error {
	lb, err := d.fmt.format(ctx, in, response)
	if err != nil {
		return err
	}
	err = d.out.write(lb.b)
	d.fmt.release(lb)
	return err
}

// Hash implements Device.
func (d *device) Hash(ctx context.Context, s string) (string, error) {
	return d.fmt.salt.hash(ctx, s)
}

// Reload implements Device: it reopens the output.
func (d *device) Reload(context.Context) error {
	if err := d.sink.reopen(); err != nil {
		return err
	}
	d.logger.Debug("audit device output reopened")
	return nil
}

// Close implements Device.
func (d *device) Close() error {
	return d.sink.close()
}
