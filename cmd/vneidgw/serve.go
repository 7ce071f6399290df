package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/core/store"
	"vneidgw/gateway"
	"vneidgw/gateway/smscsim"
	"vneidgw/monitoring"
	"vneidgw/web"
)

// serve runs the whole gateway until ctx ends.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, _, err := LoadConfig(args, getenv)
	var help *HelpError
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.Text)
		return nil
	}
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log, err := monitoring.NewLogger(stderr, cfg.LogLevel, cfg.Demo)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	reg := monitoring.NewRegistry(version)
	if limit, _ := parseBytes(cfg.MemoryLimit); limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	if n := procs(cfg.Procs, getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0)); n > 0 {
		runtime.GOMAXPROCS(n)
	}

	stCfg := store.DefaultConfig(cfg.DataDir)
	stCfg.SyncWrites = cfg.SyncWrites
	if lim, _ := parseBytes(cfg.MappedRSS); lim > 0 {
		stCfg.TrimAbove = lim
	} else {
		stCfg.TrimInterval = -1
	}
	if lim, _ := parseBytes(cfg.KeyFilter); lim > 0 {
		stCfg.KeyFilterBytes = lim
	} else {
		stCfg.KeyFilterBytes = -1
	}
	// Without a webhook URL only messages with a callback_url need reports.
	stCfg.ReportsWanted = cfg.Webhook.URL != ""
	st, err := store.Open(stCfg, log.With().Str("component", "store").Logger(), reg)
	if err != nil {
		return fmt.Errorf("open store %s: %w", cfg.DataDir, err)
	}
	defer st.Close()

	var sim *smscsim.Server
	var demoToken string
	if cfg.Demo {
		sim, err = smscsim.New(smscsim.Config{
			Addr:     cfg.SMSCSim.Addr,
			DLRDelay: cfg.SMSCSim.DLRDelay,
			Log:      log.With().Str("component", "smsc-sim").Logger(),
		}, reg)
		if err != nil {
			return fmt.Errorf("smsc simulator: %w", err)
		}
		if err := sim.Start(); err != nil {
			return fmt.Errorf("smsc simulator: %w", err)
		}
		defer sim.Close()
		if len(cfg.Operators) == 0 {
			cfg.Operators = demoOperators(sim.Addr())
		}
		if demoToken, err = ensureDemoKey(ctx, st, cfg.APIKey); err != nil {
			return err
		}
	}

	prefixes := cfg.Prefixes
	if len(prefixes) == 0 {
		prefixes = core.DefaultPrefixes()
	}
	router, err := core.NewRouter(prefixes, cfg.DefaultRoute)
	if err != nil {
		return fmt.Errorf("configuration: prefixes/default_route: %w", err)
	}
	if err := loadPorted(ctx, st, router, cfg.PortedFile); err != nil {
		return err
	}
	secret, err := serverSecret(cfg)
	if err != nil {
		return err
	}
	act, otp, msgs, err := services(cfg, st, router, secret, log)
	if err != nil {
		return err
	}

	gw, err := gateway.New(gatewayConfig(cfg), st, log.With().Str("component", "gateway").Logger(), reg)
	if err != nil {
		return fmt.Errorf("configuration: operators: %w", err)
	}
	hookSecret := cfg.Webhook.Secret
	if hookSecret == "" {
		// Only per-message callback_urls can receive reports; sign them with a
		// throw-away key rather than not at all.
		hookSecret = core.NewID(time.Now()) + core.NewID(time.Now())
		log.Warn().Msg("webhook.secret not set: callback_url reports are signed with a random per-process key")
	}
	webhooks, err := web.NewWebhookSender(web.WebhookConfig{URL: cfg.Webhook.URL, Secret: hookSecret},
		st, log.With().Str("component", "webhook").Logger(), reg)
	if err != nil {
		return fmt.Errorf("configuration: webhook: %w", err)
	}
	accountHooks, err := web.NewAccountEventSender(web.WebhookConfig{URL: cfg.Webhook.URL, Secret: cfg.Webhook.Secret},
		store.NewAccountEventOutbox(st.DB()), log.With().Str("component", "webhook").Logger(), reg)
	if err != nil {
		return fmt.Errorf("configuration: webhook: %w", err)
	}
	deps := web.Deps{
		OTP:        otp,
		Accounts:   act,
		Messages:   msgs,
		Keys:       st,
		Ready:      readiness(st, gw),
		Gatherer:   reg,
		Registerer: reg,
		Log:        log.With().Str("component", "web").Logger(),
	}
	if sim != nil {
		deps.Inbox = func(phone string) any { return sim.Inbox(phone) }
	}
	srv, err := web.New(web.Config{Addr: cfg.HTTPAddr, Demo: cfg.Demo, Pprof: cfg.DebugPprof}, deps)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http_addr %s: %w", cfg.HTTPAddr, err)
	}
	if cfg.Demo {
		if err := seedDemo(ctx, msgs, demoKeyID(demoToken)); err != nil {
			return fmt.Errorf("demo applications: %w", err)
		}
	}
	announce(stdout, ln.Addr().String(), sim, demoToken)
	log.Info().Str("http_addr", ln.Addr().String()).Bool("demo", cfg.Demo).Str("version", version).Msg("vneidgw started")

	return runAll(ctx, log,
		func(ctx context.Context) error { return gw.Run(ctx) },
		func(ctx context.Context) error { return srv.Serve(ctx, ln) },
		func(ctx context.Context) error { return webhooks.Run(ctx) },
		func(ctx context.Context) error { return accountHooks.Run(ctx) },
	)
}

// runAll runs each part until ctx ends or one part fails, then stops the
// others and waits for all of them.
func runAll(ctx context.Context, log zerolog.Logger, parts ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(parts))
	for i, p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs[i] = err
				log.Error().Err(err).Msg("component stopped")
				cancel()
			}
		}()
	}
	wg.Wait()
	log.Info().Msg("vneidgw stopped")
	return errors.Join(errs...)
}

func readiness(st *store.Store, gw *gateway.Gateway) func() error {
	return func() error {
		if err := st.Ping(); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if gw.BindsUp() == 0 {
			return errors.New("no SMPP bind is up")
		}
		return nil
	}
}

func announce(w io.Writer, httpAddr string, sim *smscsim.Server, token string) {
	fmt.Fprintf(w, "vneidgw listening on http://%s/\n", httpAddr)
	fmt.Fprintf(w, "  API:     http://%s/api/v1/\n  metrics: http://%s/metrics\n  ready:   http://%s/readyz\n", httpAddr, httpAddr, httpAddr)
	if sim != nil {
		fmt.Fprintf(w, "  demo SMSC simulator on %s (every operator's binds point at it)\n", sim.Addr())
		fmt.Fprintf(w, "  demo inbox: http://%s/demo/api/inbox?phone=0912345678\n", httpAddr)
		fmt.Fprintf(w, "  demo API key: %s\n", token)
	}
}

// demoOperators points one transceiver bind per Vietnamese operator at the
// built-in simulator.
func demoOperators(addr string) []OperatorConfig {
	names := []string{"viettel", "vinaphone", "mobifone", "vietnamobile", "gmobile", "itelecom"}
	ops := make([]OperatorConfig, len(names))
	for i, n := range names {
		ops[i] = OperatorConfig{Name: n, Binds: []BindConfig{{Addr: addr, SystemID: n, Password: "demo"}}}
	}
	return ops
}

// ensureDemoKey stores the demo API key: the configured one, or a new random
// one each start. It returns the token to print.
func ensureDemoKey(ctx context.Context, st *store.Store, token string) (string, error) {
	now := time.Now()
	if token != "" {
		k, err := core.APIKeyFromToken("demo", token, now)
		if err != nil {
			return "", fmt.Errorf("VNEIDGW_API_KEY: %w", err)
		}
		return token, st.PutAPIKey(ctx, k)
	}
	token, k, err := core.NewAPIKey("demo", now)
	if err != nil {
		return "", err
	}
	return token, st.PutAPIKey(ctx, k)
}

func loadPorted(ctx context.Context, st *store.Store, router *core.Router, file string) error {
	stored, err := st.Ported(ctx)
	if err != nil {
		return fmt.Errorf("ported numbers: %w", err)
	}
	router.SetPorted(stored)
	if file == "" {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("ported_file: %w", err)
	}
	defer f.Close()
	entries, err := core.ParsePortedCSV(f)
	if err != nil {
		return fmt.Errorf("ported_file %s: %w", file, err)
	}
	if err := st.PutPorted(ctx, entries); err != nil {
		return fmt.Errorf("ported_file: %w", err)
	}
	router.SetPorted(entries)
	return nil
}

func gatewayConfig(cfg Config) gateway.Config {
	gc := gateway.Config{Sender: cfg.Sender, DefaultRoute: cfg.DefaultRoute, ResendOnDrop: cfg.ResendOnDrop}
	for _, op := range cfg.Operators {
		oc := gateway.OperatorConfig{Name: op.Name}
		for _, b := range op.Binds {
			n := max(b.Count, 1)
			for k := 0; k < n; k++ {
				oc.Binds = append(oc.Binds, gateway.BindConfig{
					Name:            fmt.Sprintf("%s/%d", op.Name, len(oc.Binds)),
					Addr:            b.Addr,
					SystemID:        b.SystemID,
					Password:        b.Password,
					SystemType:      b.SystemType,
					Mode:            b.Mode,
					Window:          b.Window,
					TPS:             b.TPS,
					EnquireLink:     b.EnquireLink,
					ResponseTimeout: b.ResponseTimeout,
				})
			}
		}
		gc.Operators = append(gc.Operators, oc)
	}
	return gc
}

// procs is the GOMAXPROCS to set (0: leave it): the configured number, else
// twice the CPUs Go found unless the GOMAXPROCS variable chose. Go runs a
// goroutine that was woken behind the others queued on its processor, for
// up to 10 ms each: under a CPU-bound bulk, each hand-off of an OTP's path
// (HTTP worker, store writer, journal, sender) waited up to 10–20 ms for a
// processor. With more processors than CPUs, the kernel's scheduler, which
// runs a thread that just woke promptly, shares the CPUs instead (bench:
// OTP p99 during the bulk 38–59 ms with 2 on this 2-CPU machine, 24–33 ms
// with 4).
func procs(configured int, env string, found int) int {
	switch {
	case configured > 0:
		return configured
	case env != "":
		return 0
	default:
		return 2 * found
	}
}
