package gateway

import (
	"fmt"
	"time"

	"vneidgw/core"
)

// Bind modes.
const (
	ModeTransceiver = "transceiver"
	ModeTransmitter = "transmitter"
	ModeReceiver    = "receiver"
)

// Config configures the gateway.
type Config struct {
	Sender       string // source address of every SMS, alphanumeric (default "VneID")
	DefaultRoute string // operator taking the traffic of operators with no bind up or no configuration ("" = none)
	Operators    []OperatorConfig
	MaxAttempts  int           // submit attempts ending in a system error before a message is rejected (default 5)
	RetryMin     time.Duration // back-off after a throttle / system error (default 200ms)
	RetryMax     time.Duration // back-off cap (default 30s)
	USSDTimeout  time.Duration // deadline of one USSDHandler call (default 5s)
	// ResendOnDrop: parts outstanding when a connection drops go back to
	// the queue and are resent (at least once: duplicates bounded by the
	// window) instead of becoming unknown (at most once, the default).
	ResendOnDrop bool
}

// OperatorConfig is one mobile operator and its SMPP binds.
type OperatorConfig struct {
	Name  string
	Binds []BindConfig
}

// BindConfig is one SMPP bind (one TCP connection).
type BindConfig struct {
	Name            string // default "<operator>/<index>"
	Addr            string // host:port of the SMSC
	SystemID        string
	Password        string
	SystemType      string
	Mode            string        // "transceiver" (default), "transmitter" or "receiver"
	Window          int           // outstanding submit_sm per bind (default 64)
	TPS             int           // parts per second on this bind, 0 = unlimited
	EnquireLink     time.Duration // idle interval before an enquire_link (default 30s)
	ResponseTimeout time.Duration // wait for any response (default 30s)
	ReconnectMin    time.Duration // default 500ms
	ReconnectMax    time.Duration // default 30s
}

// Validate applies defaults and reports the first bad field (core.EINVALID).
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return core.Errorf(core.EINVALID, "gateway config: %s: %s", field, fmt.Sprintf(format, args...))
	}
	if c.Sender == "" {
		c.Sender = "VneID"
	}
	if len(c.Sender) > 11 {
		return bad("sender", "an alphanumeric sender has at most 11 characters")
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.MaxAttempts < 1 {
		return bad("max_attempts", "must be at least 1")
	}
	if c.RetryMin == 0 {
		c.RetryMin = 200 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.RetryMin < 0 || c.RetryMax < c.RetryMin {
		return bad("retry_min/retry_max", "need 0 < retry_min <= retry_max")
	}
	if c.USSDTimeout == 0 {
		c.USSDTimeout = 5 * time.Second
	}
	if c.USSDTimeout < 0 {
		return bad("ussd_timeout", "must be positive")
	}
	if len(c.Operators) == 0 {
		return bad("operators", "at least one operator is needed")
	}
	ops := map[string]bool{}
	binds := map[string]bool{}
	for i := range c.Operators {
		op := &c.Operators[i]
		of := fmt.Sprintf("operators[%d]", i)
		if op.Name == "" {
			return bad(of+".name", "empty")
		}
		if ops[op.Name] {
			return bad(of+".name", "duplicate operator %q", op.Name)
		}
		ops[op.Name] = true
		if len(op.Binds) == 0 {
			return bad(of+".binds", "operator %q has no bind", op.Name)
		}
		for j := range op.Binds {
			if err := op.Binds[j].validate(op.Name, j, fmt.Sprintf("%s.binds[%d]", of, j)); err != nil {
				return err
			}
			if binds[op.Binds[j].Name] {
				return bad(fmt.Sprintf("%s.binds[%d].name", of, j), "duplicate bind %q", op.Binds[j].Name)
			}
			binds[op.Binds[j].Name] = true
		}
	}
	if c.DefaultRoute != "" && !ops[c.DefaultRoute] {
		return bad("default_route", "operator %q is not configured", c.DefaultRoute)
	}
	return nil
}

func (b *BindConfig) validate(op string, idx int, f string) error {
	bad := func(field, format string, args ...any) error {
		return core.Errorf(core.EINVALID, "gateway config: %s.%s: %s", f, field, fmt.Sprintf(format, args...))
	}
	if b.Name == "" {
		b.Name = fmt.Sprintf("%s/%d", op, idx)
	}
	if b.Addr == "" {
		return bad("addr", "empty")
	}
	if b.SystemID == "" || len(b.SystemID) > 15 {
		return bad("system_id", "must be 1..15 characters")
	}
	if len(b.Password) > 8 {
		return bad("password", "longer than 8 characters (SMPP 3.4)")
	}
	if len(b.SystemType) > 12 {
		return bad("system_type", "longer than 12 characters")
	}
	switch b.Mode {
	case "":
		b.Mode = ModeTransceiver
	case ModeTransceiver, ModeTransmitter, ModeReceiver:
	default:
		return bad("mode", "%q is not transceiver, transmitter or receiver", b.Mode)
	}
	if b.Window == 0 {
		b.Window = 64
	}
	if b.Window < 1 || b.Window > 10000 {
		return bad("window", "must be 1..10000")
	}
	if b.TPS < 0 {
		return bad("tps", "must not be negative")
	}
	def := func(d *time.Duration, v time.Duration, name string) error {
		if *d == 0 {
			*d = v
		}
		if *d < 0 {
			return bad(name, "must be positive")
		}
		return nil
	}
	for _, x := range []struct {
		d    *time.Duration
		v    time.Duration
		name string
	}{
		{&b.EnquireLink, 30 * time.Second, "enquire_link"},
		{&b.ResponseTimeout, 30 * time.Second, "response_timeout"},
		{&b.ReconnectMin, 500 * time.Millisecond, "reconnect_min"},
		{&b.ReconnectMax, 30 * time.Second, "reconnect_max"},
	} {
		if err := def(x.d, x.v, x.name); err != nil {
			return err
		}
	}
	if b.ReconnectMax < b.ReconnectMin {
		return bad("reconnect_max", "below reconnect_min")
	}
	return nil
}

func (b *BindConfig) canTransmit() bool { return b.Mode != ModeReceiver }
func (b *BindConfig) canReceive() bool  { return b.Mode != ModeTransmitter }
