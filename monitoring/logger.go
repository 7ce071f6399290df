package monitoring

import (
	"io"
	"time"

	"github.com/rs/zerolog"
)

// NewLogger returns a zerolog logger writing JSON to w, or a human-friendly
// console form when pretty is set. level is a zerolog level name ("debug",
// "info", "warn", "error"); an unknown name is an error.
func NewLogger(w io.Writer, level string, pretty bool) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), &LevelError{Level: level}
	}
	if pretty {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Str("service", "vneidgw").Logger(), nil
}

// LevelError reports an unknown log level.
type LevelError struct{ Level string }

func (e *LevelError) Error() string {
	return "log level " + `"` + e.Level + `"` + ": want debug, info, warn or error"
}
