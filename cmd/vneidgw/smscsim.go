package main

import (
	"context"
	"flag"
	"io"

	"vneidgw/gateway/smscsim"
	"vneidgw/monitoring"
)

// smscSim runs `vneidgw smsc-sim`: the SMSC simulator on its own, for
// benchmarks, crash tests and trying a real deployment's configuration.
func smscSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("smsc-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := smscsim.Config{}
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:2775", "listen address")
	fs.StringVar(&cfg.SystemID, "system-id", "", "required system_id (empty = any)")
	fs.StringVar(&cfg.Password, "password", "", "required password (empty = any)")
	fs.DurationVar(&cfg.DLRDelay, "dlr-delay", 0, "delay before each delivery receipt")
	fs.StringVar(&cfg.IDFormat, "id-format", "hex", "message ids in submit_sm_resp: hex or decimal")
	fs.Float64Var(&cfg.Faults.ThrottleShare, "throttle", 0, "share of submits answered ESME_RTHROTTLED")
	fs.Float64Var(&cfg.Faults.UndelivShare, "undeliv", 0, "share of accepted parts reported UNDELIV")
	fs.IntVar(&cfg.Faults.MaxTPS, "max-tps", 0, "submits per second per bind before throttling (0 = no cap)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := monitoring.NewLogger(stderr, *level, false)
	if err != nil {
		return err
	}
	cfg.Log = log
	return smscsim.Run(ctx, cfg)
}
