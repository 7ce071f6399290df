package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"vneidgw/core"
	"vneidgw/core/store"
)

// apikey runs `vneidgw apikey create --name NAME [--data-dir DIR]`. The token
// is printed once; only its hash is stored. The gateway must not be running
// on the same data directory (Badger allows one process).
func apikey(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: vneidgw apikey create --name NAME [--data-dir DIR]")
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := DefaultConfig().DataDir
	if v := getenv("VNEIDGW_DATA_DIR"); v != "" {
		dataDir = v
	}
	name := fs.String("name", "", "what the key is for, e.g. identity-system")
	dir := fs.String("data-dir", dataDir, "directory of the Badger store")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	token, key, err := core.NewAPIKey(*name, time.Now())
	if err != nil {
		return err
	}
	st, err := store.Open(store.DefaultConfig(*dir), zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		return fmt.Errorf("open store %s: %w", *dir, err)
	}
	defer st.Close()
	if err := st.PutAPIKey(ctx, key); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "API key %q created (id %s). Shown once; store it now:\n%s\n", key.Name, key.ID, token)
	return nil
}
