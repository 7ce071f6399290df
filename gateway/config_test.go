package gateway

import (
	"strings"
	"testing"
	"time"

	"vneidgw/core"
)

func TestConfigValidate(t *testing.T) {
	base := func() Config {
		return Config{DefaultRoute: "viettel", Operators: []OperatorConfig{
			{Name: "viettel", Binds: []BindConfig{{Addr: "127.0.0.1:2775", SystemID: "vneid", Password: "pw"}}},
		}}
	}
	c := base()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	b := c.Operators[0].Binds[0]
	if c.Sender != "VneID" || c.MaxAttempts != 5 || c.RetryMin != 200*time.Millisecond || c.RetryMax != 30*time.Second ||
		b.Name != "viettel/0" || b.Mode != ModeTransceiver || b.Window != 64 || b.EnquireLink != 30*time.Second ||
		b.ResponseTimeout != 30*time.Second || b.ReconnectMin != 500*time.Millisecond || b.ReconnectMax != 30*time.Second {
		t.Fatalf("defaults: %+v %+v", c, b)
	}
	for _, tc := range []struct {
		field string
		mut   func(*Config)
	}{
		{"operators", func(c *Config) { c.Operators = nil }},
		{"default_route", func(c *Config) { c.DefaultRoute = "mobifone" }},
		{"operators[0].binds[0].addr", func(c *Config) { c.Operators[0].Binds[0].Addr = "" }},
		{"operators[0].binds[0].system_id", func(c *Config) { c.Operators[0].Binds[0].SystemID = "" }},
		{"operators[0].binds[0].password", func(c *Config) { c.Operators[0].Binds[0].Password = "123456789" }},
		{"operators[0].binds[0].mode", func(c *Config) { c.Operators[0].Binds[0].Mode = "both" }},
		{"operators[0].binds[0].window", func(c *Config) { c.Operators[0].Binds[0].Window = -1 }},
		{"operators[0].binds[0].tps", func(c *Config) { c.Operators[0].Binds[0].TPS = -5 }},
		{"operators[0].binds[0].reconnect_max", func(c *Config) {
			c.Operators[0].Binds[0].ReconnectMin = time.Minute
			c.Operators[0].Binds[0].ReconnectMax = time.Second
		}},
		{"operators[1].name", func(c *Config) { c.Operators = append(c.Operators, c.Operators[0]) }},
		{"retry_min/retry_max", func(c *Config) { c.RetryMin = time.Minute; c.RetryMax = time.Second }},
		{"max_attempts", func(c *Config) { c.MaxAttempts = -1 }},
	} {
		c := base()
		tc.mut(&c)
		err := c.Validate()
		if core.ErrorCode(err) != core.EINVALID || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: got %v", tc.field, err)
		}
	}
}
