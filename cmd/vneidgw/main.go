// Command vneidgw is the VNeID SMS/USSD gateway. Subcommands:
//
//	vneidgw serve [--demo] [--config file.yaml] [--http-addr …]  run the gateway
//	vneidgw smsc-sim [--addr 127.0.0.1:2775] [--dlr-delay 1s] …  run the SMSC simulator alone
//	vneidgw apikey create --name NAME [--data-dir ./data]       create an API key (printed once)
//	vneidgw version
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `usage: vneidgw <command> [flags]

commands:
  serve      run the gateway (add --demo for the embedded demo with an SMSC simulator)
  smsc-sim   run the SMSC simulator on its own
  apikey     manage API keys: apikey create --name NAME
  version    print the version

Settings come from --config FILE (YAML), then VNEIDGW_<NAME> environment
variables, then flags; run 'vneidgw serve --help' to list them.
`

// run is the testable main: it returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr, getenv)
	case "smsc-sim":
		err = smscSim(ctx, args[1:], stdout, stderr)
	case "apikey":
		err = apikey(ctx, args[1:], stdout, stderr, getenv)
	case "version":
		fmt.Fprintln(stdout, "vneidgw", version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "vneidgw: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "vneidgw:", err)
		return 1
	}
	return 0
}
