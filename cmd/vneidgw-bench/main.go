// Command vneidgw-bench is the load harness behind `make bench`. It starts
// the SMSC simulator in its own process, runs the real `vneidgw serve` as a
// child process bound to it (Badger on a temp dir, fsync on), and measures:
//
//   - bulk: N approvals (2 SMS parts each) through POST /api/v1/approvals as NDJSON;
//   - single: M one-part notices, one HTTP request each;
//   - while the bulk runs, OTP probes (POST /api/v1/otp when available, else
//     notices) timed from request to arrival at the simulator.
//
// It prints accepted/s, parts submitted/s, DLRs settled/s, accept→submit_sm_resp
// p50/p99, probe p99 and the child's peak RSS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var o options
	flag.StringVar(&o.binary, "binary", "bin/vneidgw", "vneidgw binary to run as the gateway")
	flag.IntVar(&o.approvals, "approvals", 100000, "approvals in the bulk phase (2 parts each)")
	flag.IntVar(&o.notices, "notices", 20000, "one-part notices in the single-request phase")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent HTTP requests in the single-request phase")
	flag.IntVar(&o.chunk, "chunk", 10000, "NDJSON lines per bulk request")
	flag.IntVar(&o.bulkConns, "bulk-conns", 2, "concurrent bulk requests")
	flag.IntVar(&o.binds, "binds", 1, "binds per operator")
	flag.IntVar(&o.window, "window", 64, "window per bind")
	flag.IntVar(&o.backlog, "backlog", 0, "instead of the phases: take the SMSC away and queue this many approvals, then report the gateway's RSS (the backlog must stay on disk)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temp directory and print its path")
	flag.StringVar(&o.profile, "profile", "", "directory for the gateway's CPU profile (bulk phase) and heap profiles")
	flag.StringVar(&o.trace, "trace", "", "file for a 2 s execution trace of the gateway, taken 1 s into the bulk phase (go tool trace)")
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "vneidgw-bench:", err)
		os.Exit(2)
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "vneidgw-bench:", err)
		os.Exit(1)
	}
}

// validate refuses counts that make no run: negative ones, sizes below 1,
// and nothing to send at all.
func (o options) validate() error {
	switch {
	case o.approvals < 0 || o.notices < 0 || o.backlog < 0:
		return errors.New("--approvals, --notices and --backlog must not be negative")
	case o.concurrency < 1 || o.chunk < 1 || o.bulkConns < 1 || o.binds < 1 || o.window < 1:
		return errors.New("--concurrency, --chunk, --bulk-conns, --binds and --window must be at least 1")
	case o.approvals == 0 && o.notices == 0 && o.backlog == 0:
		return errors.New("nothing to send: --approvals, --notices and --backlog are all 0")
	}
	return nil
}
