package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/strongbox/strongbox/internal/logical"
)

// minRotationPeriod is the shortest rotation_period Vault accepts.
const minRotationPeriod = 5 * time.Second

// staticRole is a static role, static-role/<name>: an existing user whose
// password the engine rotates.
type staticRole struct {
	DBName             string    `json:"db_name"`
	Username           string    `json:"username"`
	RotationPeriod     int64     `json:"rotation_period"` // seconds; 0 with a schedule
	RotationSchedule   string    `json:"rotation_schedule,omitempty"`
	RotationWindow     int64     `json:"rotation_window,omitempty"` // seconds
	RotationStatements []string  `json:"rotation_statements"`
	CredentialType     string    `json:"credential_type"`
	Password           string    `json:"password"`
	LastVaultRotation  time.Time `json:"last_vault_rotation"`
	// PendingPassword is written ahead of a rotation (Vault's WAL): if the
	// node dies between the database change and the final write, the next
	// rotation sets this password again instead of losing it.
	PendingPassword string `json:"pending_password,omitempty"`
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// maxCatchUp bounds the walk over missed schedule occurrences.
const maxCatchUp = 100000

// nextRotation is when the role is due at now: the period after the last
// rotation; for a schedule, the first occurrence after the last rotation,
// unless a rotation_window is set and that occurrence's window has closed
// (the node was down): then the latest occurrence whose window is still
// open, else the next one to come.
func (s *staticRole) nextRotation(now time.Time) time.Time {
	if s.PendingPassword != "" {
		return time.Time{}
	}
	if s.RotationSchedule == "" {
		return s.LastVaultRotation.Add(time.Duration(s.RotationPeriod) * time.Second)
	}
	sched, err := cronParser.Parse(s.RotationSchedule)
	if err != nil {
		return time.Time{}
	}
	next := sched.Next(s.LastVaultRotation)
	if s.RotationWindow <= 0 || next.After(now) {
		return next
	}
	window := time.Duration(s.RotationWindow) * time.Second
	// The latest occurrence at or before now.
	latest := next
	for i := 0; i < maxCatchUp; i++ {
		n := sched.Next(latest)
		if n.After(now) {
			break
		}
		latest = n
	}
	if !now.After(latest.Add(window)) {
		return latest
	}
	return sched.Next(now)
}

func readStaticRole(ctx context.Context, s logical.Storage, name string) (*staticRole, error) {
	e, err := s.Get(ctx, staticRolePrefix+name)
	if err != nil {
		return nil, fmt.Errorf("database: read static role: %w", err)
	}
	if e == nil {
		return nil, nil
	}
	var r staticRole
	if err := json.Unmarshal(e.Value, &r); err != nil {
		return nil, fmt.Errorf("database: decode static role %q: %w", name, err)
	}
	return &r, nil
}

func writeStaticRole(ctx context.Context, s logical.Storage, name string, r *staticRole) error {
	raw, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.Put(ctx, &logical.StorageEntry{Key: staticRolePrefix + name, Value: raw}); err != nil {
		return fmt.Errorf("database: write static role: %w", err)
	}
	return nil
}

var staticRoleFields = map[string]*logical.FieldSchema{
	"name":                {Type: logical.TypeString, Description: "Name of the role."},
	"db_name":             {Type: logical.TypeString, Description: "Name of the database connection."},
	"username":            {Type: logical.TypeString, Description: "The existing database user whose password is rotated."},
	"rotation_period":     {Type: logical.TypeDurationSecond, Description: "Time between rotations (at least 5s)."},
	"rotation_schedule":   {Type: logical.TypeString, Description: "Cron schedule (5 fields) of rotations."},
	"rotation_window":     {Type: logical.TypeDurationSecond, Description: "How long after a scheduled time a rotation may still start (at least 1h)."},
	"rotation_statements": {Type: logical.TypeStringSlice, Description: "Statements setting the password: {{name}}, {{password}}."},
	"credential_type":     {Type: logical.TypeString, Default: "password", Description: "Only \"password\"."},
}

func (b *backend) pathStaticRolesList() *logical.Path {
	return &logical.Path{
		Pattern:    "static-roles/?",
		Operations: map[logical.Operation]logical.OperationFunc{logical.ListOperation: listPrefix(staticRolePrefix)},
	}
}

func (b *backend) pathStaticRoles() *logical.Path {
	return &logical.Path{
		Pattern: "static-roles/" + nameRe,
		Fields:  staticRoleFields,
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation:   b.readStaticRole,
			logical.UpdateOperation: b.writeStaticRole,
			logical.DeleteOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				name := d.Get("name").(string)
				defer b.lock(staticRolePrefix + name)()
				return nil, req.Storage.Delete(ctx, staticRolePrefix+name)
			},
		},
		ExistenceCheck: existsAt(staticRolePrefix),
		HelpSynopsis:   "Manage the roles whose existing user's password the engine rotates.",
	}
}

func (s *staticRole) data() map[string]any {
	m := map[string]any{
		"db_name":             s.DBName,
		"username":            s.Username,
		"rotation_statements": nonNil(s.RotationStatements),
		"credential_type":     s.CredentialType,
		"last_vault_rotation": s.LastVaultRotation.Format(time.RFC3339Nano),
	}
	if s.RotationSchedule != "" {
		m["rotation_schedule"] = s.RotationSchedule
		if s.RotationWindow > 0 {
			m["rotation_window"] = s.RotationWindow
		}
	} else {
		m["rotation_period"] = s.RotationPeriod
	}
	return m
}

func (b *backend) readStaticRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	r, err := readStaticRole(ctx, req.Storage, d.Get("name").(string))
	if err != nil || r == nil {
		return nil, err
	}
	return &logical.Response{Data: r.data()}, nil
}

// writeStaticRole creates a static role, setting a new password on the
// user at once (a failure stores nothing), or updates one (the username
// and database are fixed).
func (b *backend) writeStaticRole(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
	b.startRotationLoop(req.Storage)
	name := d.Get("name").(string)
	defer b.lock(staticRolePrefix + name)()
	if dr, err := readRole(ctx, req.Storage, name); err != nil {
		return nil, err
	} else if dr != nil {
		return nil, logical.BadRequest("role %q already exists as a dynamic role", name)
	}
	old, err := readStaticRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	r := &staticRole{CredentialType: "password"}
	if old != nil {
		cp := *old
		r = &cp
	}
	if v, ok := d.GetOk("db_name"); ok {
		if old != nil && v.(string) != old.DBName {
			return nil, logical.BadRequest("cannot update static role db_name")
		}
		r.DBName = v.(string)
	}
	if v, ok := d.GetOk("username"); ok {
		if old != nil && v.(string) != old.Username {
			return nil, logical.BadRequest("cannot update static account username")
		}
		r.Username = v.(string)
	}
	if r.DBName == "" {
		return nil, logical.BadRequest("empty database name attribute")
	}
	if r.Username == "" {
		return nil, logical.BadRequest("username is a required field to create a static account")
	}
	period, hasPeriod := d.GetOk("rotation_period")
	sched, hasSched := d.GetOk("rotation_schedule")
	if hasPeriod && hasSched && sched.(string) != "" && period.(int) != 0 {
		return nil, logical.BadRequest("mutually exclusive fields rotation_period and rotation_schedule were both specified; only one of them can be provided")
	}
	if hasPeriod && period.(int) != 0 {
		if time.Duration(period.(int))*time.Second < minRotationPeriod {
			return nil, logical.BadRequest("rotation_period must be %d seconds or more", int(minRotationPeriod/time.Second))
		}
		r.RotationPeriod, r.RotationSchedule, r.RotationWindow = int64(period.(int)), "", 0
	}
	if hasSched && sched.(string) != "" {
		if _, err := cronParser.Parse(sched.(string)); err != nil {
			return nil, logical.BadRequest("could not parse rotation_schedule: %v", err)
		}
		r.RotationSchedule, r.RotationPeriod = sched.(string), 0
	}
	if r.RotationPeriod == 0 && r.RotationSchedule == "" {
		return nil, logical.BadRequest("one of rotation_schedule or rotation_period must be provided to create a static account")
	}
	if v, ok := d.GetOk("rotation_window"); ok {
		if r.RotationSchedule == "" {
			return nil, logical.BadRequest("rotation_window is invalid with use of rotation_period")
		}
		if v.(int) != 0 && v.(int) < 3600 {
			return nil, logical.BadRequest("rotation_window must be 3600 seconds or more")
		}
		r.RotationWindow = int64(v.(int))
	}
	if v, ok := d.GetOk("rotation_statements"); ok {
		r.RotationStatements = v.([]string)
	}
	if v, ok := d.GetOk("credential_type"); ok {
		r.CredentialType = v.(string)
	}
	if r.CredentialType != "password" {
		return nil, logical.BadRequest("credential_type %q is not supported: only \"password\"", r.CredentialType)
	}
	_, cfg, err := b.driver(ctx, req.Storage, r.DBName)
	if err != nil {
		return nil, err
	}
	if !cfg.allows(name) {
		return nil, logical.BadRequest("%q is not an allowed role", name)
	}
	if old != nil {
		return nil, writeStaticRole(ctx, req.Storage, name, r)
	}
	// Creating the role takes the user over: it gets a password only the
	// engine knows, now. The role is stored only if that works.
	if err := b.rotate(ctx, req.Storage, name, r, false); err != nil {
		var coded *logical.CodedError
		if errors.As(err, &coded) {
			return nil, err
		}
		return nil, logical.BadRequest("error setting credentials: %v", err)
	}
	return nil, nil
}

// rotate gives the role's user a new password and stores it. persistAhead
// writes the pending password before touching the database, so a crash
// in between is finished by the next rotation.
func (b *backend) rotate(ctx context.Context, s logical.Storage, name string, r *staticRole, persistAhead bool) error {
	drv, cfg, err := b.driver(ctx, s, r.DBName)
	if err != nil {
		return err
	}
	pw := r.PendingPassword
	if pw == "" {
		if pw, err = b.generatePassword(ctx, cfg.PasswordPolicy); err != nil {
			return err
		}
	}
	if persistAhead {
		r.PendingPassword = pw
		if err := writeStaticRole(ctx, s, name, r); err != nil {
			return err
		}
	}
	if err := drv.SetPassword(ctx, r.RotationStatements, r.Username, pw); err != nil {
		return dbError("set password", err)
	}
	r.Password, r.PendingPassword, r.LastVaultRotation = pw, "", b.now().UTC()
	return writeStaticRole(ctx, s, name, r)
}

func (b *backend) pathStaticCreds() *logical.Path {
	return &logical.Path{
		Pattern: "static-creds/" + nameRe,
		Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.ReadOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				name := d.Get("name").(string)
				r, err := readStaticRole(ctx, req.Storage, name)
				if err != nil {
					return nil, err
				}
				if r == nil {
					return nil, logical.BadRequest("unknown role: %s", name)
				}
				ttl := int64(time.Until(r.nextRotation(time.Now())).Seconds())
				if ttl < 0 {
					ttl = 0
				}
				data := map[string]any{
					"username":            r.Username,
					"password":            r.Password,
					"last_vault_rotation": r.LastVaultRotation.Format(time.RFC3339Nano),
					"ttl":                 ttl,
				}
				if r.RotationSchedule != "" {
					data["rotation_schedule"] = r.RotationSchedule
					if r.RotationWindow > 0 {
						data["rotation_window"] = r.RotationWindow
					}
				} else {
					data["rotation_period"] = r.RotationPeriod
				}
				return &logical.Response{Data: data}, nil
			},
		},
		HelpSynopsis: "The current password of a static role's user.",
	}
}

func (b *backend) pathRotateRole() *logical.Path {
	return &logical.Path{
		Pattern: "rotate-role/" + nameRe,
		Fields:  map[string]*logical.FieldSchema{"name": {Type: logical.TypeString}},
		Operations: map[logical.Operation]logical.OperationFunc{
			logical.UpdateOperation: func(ctx context.Context, req *logical.Request, d *logical.FieldData) (*logical.Response, error) {
				name := d.Get("name").(string)
				defer b.lock(staticRolePrefix + name)()
				r, err := readStaticRole(ctx, req.Storage, name)
				if err != nil {
					return nil, err
				}
				if r == nil {
					return nil, logical.BadRequest("no static role found for role name %q", name)
				}
				return nil, b.rotate(ctx, req.Storage, name, r, true)
			},
		},
		HelpSynopsis: "Rotate a static role's password now.",
	}
}

// rotateDue is the periodic job: every static role whose time has come
// (or whose last rotation was interrupted) is rotated. One failure does
// not stop the others; it is retried at the next run.
func (b *backend) rotateDue(ctx context.Context, req *logical.Request) error {
	b.startRotationLoop(req.Storage)
	return b.rotateDueIn(ctx, req.Storage)
}

// defaultRotationTick is Vault's rotation queue tick.
const defaultRotationTick = 5 * time.Second

// startRotationLoop starts, once per backend, the loop that rotates due
// static roles every rotationTick until Clean.
func (b *backend) startRotationLoop(s logical.Storage) {
	b.loopOnce.Do(func() {
		tick := b.rotationTick
		if tick <= 0 {
			tick = defaultRotationTick
		}
		ctx, cancel := context.WithCancel(context.Background())
		b.loopStop, b.loopDone = cancel, make(chan struct{})
		go func() {
			defer close(b.loopDone)
			t := time.NewTicker(tick)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				if err := b.rotateDueIn(ctx, s); err != nil && ctx.Err() == nil {
					b.logger.Warn("static role rotation failed", "error", err)
				}
			}
		}()
	})
}

// stopRotationLoop stops the loop and waits for it (a rotation under way
// sees its context cancelled).
func (b *backend) stopRotationLoop() {
	b.loopOnce.Do(func() {}) // no loop may start after this
	if b.loopStop != nil {
		b.loopStop()
		<-b.loopDone
	}
}

func (b *backend) rotateDueIn(ctx context.Context, s logical.Storage) error {
	names, err := s.List(ctx, staticRolePrefix)
	if err != nil {
		return fmt.Errorf("database: list static roles: %w", err)
	}
	var errs []error
	now := b.now()
	for _, name := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := b.rotateIfDue(ctx, s, name, now); err != nil {
			errs = append(errs, fmt.Errorf("static role %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (b *backend) rotateIfDue(ctx context.Context, s logical.Storage, name string, now time.Time) error {
	defer b.lock(staticRolePrefix + name)()
	r, err := readStaticRole(ctx, s, name)
	if err != nil || r == nil {
		return err
	}
	if r.nextRotation(now).After(now) {
		return nil
	}
	return b.rotate(ctx, s, name, r, true)
}
