package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of `vneidgw serve`. Precedence, lowest first:
// defaults, the YAML file (--config), environment variables VNEIDGW_<NAME>
// (NAME is the YAML path upper-cased and joined by "_", e.g.
// VNEIDGW_WEBHOOK_URL), then command-line flags (--webhook-url).
type Config struct {
	HTTPAddr     string `yaml:"http_addr" help:"listen address of the web UI, API and /metrics"`
	DataDir      string `yaml:"data_dir" help:"directory of the Badger store"`
	LogLevel     string `yaml:"log_level" help:"debug, info, warn or error"`
	Demo         bool   `yaml:"demo" help:"run the embedded demo: built-in SMSC simulator, demo API key, pretty logs"`
	APIKey       string `yaml:"api_key" help:"demo mode only: use this API key (vgw_<16 hex>_<secret>) instead of a random one"`
	SyncWrites   bool   `yaml:"sync_writes" help:"fsync every store commit (grouped); turn off only for throwaway runs"`
	Sender       string `yaml:"sender" help:"source address (TON 5 alphanumeric) of every SMS"`
	DefaultRoute string `yaml:"default_route" help:"operator used for unknown prefixes and when an operator's binds are down"`
	ResendOnDrop bool   `yaml:"resend_on_drop" help:"resend parts in flight when a bind drops (at most its window twice) instead of marking them unknown"`
	PortedFile   string `yaml:"ported_file" help:"CSV of ported numbers (msisdn,operator) loaded at start"`
	MemoryLimit  string `yaml:"memory_limit" help:"Go soft memory limit (e.g. 192MiB; 0 = none): the GC works harder before the heap grows past it"`
	Procs        int    `yaml:"procs" help:"Go processors (GOMAXPROCS); 0 = twice the CPUs available, unless GOMAXPROCS is set: under a CPU-bound bulk an OTP's goroutines then wait less for a turn"`
	MappedRSS    string `yaml:"mapped_rss_limit" help:"page out the store's memory-mapped files every 50ms once their resident share passes this (e.g. 64MiB; 0 = never): Badger maps its tables and they would count in RSS"`
	KeyFilter    string `yaml:"key_filter_limit" help:"memory for the filter of existing applications, idempotency keys, ID numbers and phones, which lets new ones skip a database lookup (e.g. 32MiB, about 22 million keys; 0 = no filter); past it the filter turns itself off"`
	DebugPprof   bool   `yaml:"debug_pprof" help:"serve Go profiles at /debug/pprof/ on http_addr (unauthenticated: loopback only)"`
	SecretKey    string `yaml:"secret_key" help:"server secret (32+ characters) keying OTP hashes and peppering password hashes; keep it stable (demo: generated under data_dir)"`

	OTP OTPSettings `yaml:"otp"`

	Webhook  WebhookConfig     `yaml:"webhook"`
	SMSCSim  SMSCSimConfig     `yaml:"smsc_sim"`
	Prefixes map[string]string `yaml:"prefixes" help:"national prefix (032) → operator; empty = Vietnamese defaults"`

	Operators []OperatorConfig `yaml:"operators"`
}

// WebhookConfig is where final delivery reports go.
type WebhookConfig struct {
	URL    string `yaml:"url" help:"URL receiving signed delivery reports (empty = none)"`
	Secret string `yaml:"secret" help:"HMAC-SHA256 key for X-Vneidgw-Signature"`
}

// OTPSettings are the one-time-code rules (core.OTPConfig).
type OTPSettings struct {
	Lifetime         time.Duration `yaml:"lifetime" help:"how long a code is valid (at most 10m)"`
	Cooldown         time.Duration `yaml:"cooldown" help:"least time between two codes for one phone and purpose"`
	MaxAttempts      int           `yaml:"max_attempts" help:"wrong tries that burn a code"`
	DailyPerPhone    int           `yaml:"daily_per_phone" help:"codes a phone may receive a day, per purpose"`
	DailyPerIDNumber int           `yaml:"daily_per_id_number" help:"codes requested for one ID number a day"`
	DailyPerClient   int           `yaml:"daily_per_client" help:"codes requested from one client address a day"`
}

// SMSCSimConfig configures the built-in simulator started under --demo.
type SMSCSimConfig struct {
	Addr     string        `yaml:"addr" help:"listen address of the built-in SMSC simulator (demo)"`
	DLRDelay time.Duration `yaml:"dlr_delay" help:"delay before the simulator sends each DLR"`
}

// OperatorConfig is one mobile operator's SMPP account.
type OperatorConfig struct {
	Name  string       `yaml:"name"`
	Binds []BindConfig `yaml:"binds"`
}

// BindConfig is one SMPP connection.
type BindConfig struct {
	Addr            string        `yaml:"addr"`
	SystemID        string        `yaml:"system_id"`
	Password        string        `yaml:"password"`
	SystemType      string        `yaml:"system_type"`
	Mode            string        `yaml:"mode"` // transceiver | transmitter | receiver
	Window          int           `yaml:"window"`
	TPS             int           `yaml:"tps"`
	Count           int           `yaml:"count"` // identical binds to open (default 1)
	EnquireLink     time.Duration `yaml:"enquire_link"`
	ResponseTimeout time.Duration `yaml:"response_timeout"`
}

// DefaultConfig returns the settings used when nothing is configured.
func DefaultConfig() Config {
	return Config{
		HTTPAddr:     "127.0.0.1:8080",
		DataDir:      "./data",
		LogLevel:     "info",
		MemoryLimit:  "176MiB",
		MappedRSS:    "64MiB",
		KeyFilter:    "32MiB",
		SyncWrites:   true,
		ResendOnDrop: true,
		Sender:       "VneID",
		DefaultRoute: "viettel",
		SMSCSim:      SMSCSimConfig{Addr: "127.0.0.1:0", DLRDelay: 200 * time.Millisecond},
		OTP: OTPSettings{Lifetime: 5 * time.Minute, Cooldown: 60 * time.Second, MaxAttempts: 5,
			DailyPerPhone: 5, DailyPerIDNumber: 5, DailyPerClient: 50},
	}
}

// LoadConfig builds the configuration from defaults, the file named by
// --config (or VNEIDGW_CONFIG), the environment and args. A wrong setting is
// an error that names it.
func LoadConfig(args []string, getenv func(string) string) (Config, []string, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(&bytes.Buffer{})
	configPath := fs.String("config", getenv("VNEIDGW_CONFIG"), "YAML configuration file")
	// Flags are declared for every scalar setting; they are applied after the
	// file and the environment, so parse into a side table first.
	flagVals := map[string]*string{}
	leaves := scalarLeaves(reflect.ValueOf(&cfg).Elem(), "")
	for _, l := range leaves {
		name := strings.ReplaceAll(l.path, "_", "-")
		name = strings.ReplaceAll(name, ".", "-")
		if l.kind == reflect.Bool {
			b := new(boolFlag)
			fs.Var(b, name, l.help)
			flagVals[l.path] = &b.s
			continue
		}
		flagVals[l.path] = fs.String(name, "\x00", l.help)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, nil, &HelpError{Text: settingsHelp(leaves)}
		}
		return cfg, nil, fmt.Errorf("flags: %w", err)
	}
	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return cfg, nil, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return cfg, nil, fmt.Errorf("config file %s: %w", *configPath, err)
		}
	}
	leaves = scalarLeaves(reflect.ValueOf(&cfg).Elem(), "")
	for _, l := range leaves {
		env := "VNEIDGW_" + strings.ToUpper(strings.ReplaceAll(l.path, ".", "_"))
		if v := getenv(env); v != "" {
			if err := setScalar(l.v, v); err != nil {
				return cfg, nil, fmt.Errorf("%s: %w", env, err)
			}
		}
	}
	for _, l := range leaves {
		p := flagVals[l.path]
		if p == nil || *p == "\x00" || (l.kind == reflect.Bool && *p == "") {
			continue
		}
		if err := setScalar(l.v, *p); err != nil {
			return cfg, nil, fmt.Errorf("--%s: %w", strings.NewReplacer("_", "-", ".", "-").Replace(l.path), err)
		}
	}
	return cfg, fs.Args(), cfg.Validate()
}

// Validate checks every setting and names the first wrong one.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return fmt.Errorf("http_addr %q: %w", c.HTTPAddr, err)
	}
	if c.DataDir == "" {
		return errors.New("data_dir: required")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log_level %q: want debug, info, warn or error", c.LogLevel)
	}
	if _, err := parseBytes(c.MemoryLimit); err != nil {
		return fmt.Errorf("memory_limit %q: %w", c.MemoryLimit, err)
	}
	if c.Procs < 0 || c.Procs > 1024 {
		return fmt.Errorf("procs %d: want 0 (automatic) to 1024", c.Procs)
	}
	if _, err := parseBytes(c.KeyFilter); err != nil {
		return fmt.Errorf("key_filter_limit %q: %w", c.KeyFilter, err)
	}
	if _, err := parseBytes(c.MappedRSS); err != nil {
		return fmt.Errorf("mapped_rss_limit %q: %w", c.MappedRSS, err)
	}
	if c.APIKey != "" && !c.Demo {
		return errors.New("api_key: only used with --demo; create real keys with `vneidgw apikey create`")
	}
	if c.Sender == "" || len(c.Sender) > 11 {
		return fmt.Errorf("sender %q: 1 to 11 characters (alphanumeric sender id)", c.Sender)
	}
	if !c.Demo && len(c.SecretKey) < 32 {
		return errors.New("secret_key: required outside --demo, at least 32 characters (keys OTP hashes and peppers password hashes; keep it stable)")
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		return errors.New("secret_key: at least 32 characters")
	}
	if c.OTP.Lifetime <= 0 || c.OTP.Lifetime > 10*time.Minute {
		return fmt.Errorf("otp.lifetime %s: between 1s and 10m", c.OTP.Lifetime)
	}
	if c.OTP.Cooldown < 0 || c.OTP.MaxAttempts < 1 || c.OTP.DailyPerPhone < 1 || c.OTP.DailyPerIDNumber < 1 || c.OTP.DailyPerClient < 1 {
		return errors.New("otp: cooldown >= 0; max_attempts and the daily caps at least 1")
	}
	if c.Webhook.URL != "" && c.Webhook.Secret == "" {
		return errors.New("webhook.secret: required when webhook.url is set")
	}
	if _, _, err := net.SplitHostPort(c.SMSCSim.Addr); err != nil {
		return fmt.Errorf("smsc_sim.addr %q: %w", c.SMSCSim.Addr, err)
	}
	if !c.Demo && len(c.Operators) == 0 {
		return errors.New("operators: at least one operator with binds is required (or run with --demo)")
	}
	seen := map[string]bool{}
	for i, op := range c.Operators {
		if op.Name == "" {
			return fmt.Errorf("operators[%d].name: required", i)
		}
		if seen[op.Name] {
			return fmt.Errorf("operators[%d].name %q: listed twice", i, op.Name)
		}
		seen[op.Name] = true
		if len(op.Binds) == 0 {
			return fmt.Errorf("operators[%d] (%s).binds: at least one bind", i, op.Name)
		}
		for j, b := range op.Binds {
			where := fmt.Sprintf("operators[%d] (%s).binds[%d]", i, op.Name, j)
			if _, _, err := net.SplitHostPort(b.Addr); err != nil {
				return fmt.Errorf("%s.addr %q: %w", where, b.Addr, err)
			}
			switch b.Mode {
			case "", "transceiver", "transmitter", "receiver":
			default:
				return fmt.Errorf("%s.mode %q: want transceiver, transmitter or receiver", where, b.Mode)
			}
			if b.Window < 0 || b.Window > 1024 || b.TPS < 0 || b.Count < 0 || b.Count > 16 {
				return fmt.Errorf("%s: window 0..1024, tps >= 0, count 0..16", where)
			}
		}
	}
	if len(c.Operators) > 0 && !seen[c.DefaultRoute] {
		return fmt.Errorf("default_route %q: not one of the configured operators", c.DefaultRoute)
	}
	return nil
}

type leaf struct {
	path, help string
	kind       reflect.Kind
	v          reflect.Value
}

// scalarLeaves lists the settable scalar fields of a struct (strings, bools,
// ints, durations), recursing into nested structs but not slices or maps.
func scalarLeaves(v reflect.Value, prefix string) []leaf {
	var out []leaf
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			out = append(out, scalarLeaves(fv, path)...)
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
			out = append(out, leaf{path: path, help: f.Tag.Get("help"), kind: fv.Kind(), v: fv})
		}
	}
	return out
}

func setScalar(v reflect.Value, s string) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Int64: // time.Duration
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 200ms or 5s", s)
		}
		v.SetInt(int64(d))
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(int64(n))
	}
	return nil
}

// boolFlag lets `--demo` and `--demo=false` work while remembering whether
// the flag was given at all.
type boolFlag struct{ s string }

func (b *boolFlag) String() string   { return b.s }
func (b *boolFlag) IsBoolFlag() bool { return true }
func (b *boolFlag) Set(s string) error {
	if _, err := strconv.ParseBool(s); err != nil {
		return err
	}
	b.s = s
	return nil
}

// parseBytes reads a size such as 192MiB, 1GiB, 500MB or a plain number of
// bytes; "0" or "" means no limit.
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a size such as 192MiB, 1GiB or 0 for none")
	}
	return n * mult, nil
}

// HelpError carries the text `vneidgw serve --help` prints.
type HelpError struct{ Text string }

func (e *HelpError) Error() string { return "help requested" }

// settingsHelp lists every scalar setting with its YAML path, environment
// variable and flag.
func settingsHelp(leaves []leaf) string {
	var b strings.Builder
	b.WriteString("usage: vneidgw serve [--config file.yaml] [flags]\n\n")
	b.WriteString("Every setting, lowest precedence first: YAML key (file given by --config or VNEIDGW_CONFIG),\n")
	b.WriteString("environment variable, flag. Operators and their binds are set in the YAML file only\n")
	b.WriteString("(see docs/config.example.yaml).\n\n")
	for _, l := range leaves {
		env := "VNEIDGW_" + strings.ToUpper(strings.ReplaceAll(l.path, ".", "_"))
		fl := "--" + strings.NewReplacer("_", "-", ".", "-").Replace(l.path)
		fmt.Fprintf(&b, "  %-24s %-30s %s\n", l.path, env, fl)
		if l.help != "" {
			fmt.Fprintf(&b, "      %s\n", l.help)
		}
	}
	return b.String()
}
