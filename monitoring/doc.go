// Package monitoring holds what every other package shares for being
// observed: the zerolog logger set-up (JSON, or console-pretty for the demo)
// and the Prometheus registry with the Go and process collectors. Each
// package registers its own metrics on the registry passed to it.
package monitoring
