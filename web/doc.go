// Package web is vneidgw's HTTP face on fasthttp. It owns:
//
//   - the JSON API for the identity system under /api/v1 (bearer API keys,
//     approvals one at a time or streamed as NDJSON in bulk, notices with an
//     Idempotency-Key, message status and per-phone listing, ported-number
//     uploads), with one error renderer mapping core's error codes to HTTP
//     statuses;
//   - /healthz, /readyz and /metrics, a tiny landing page at / and the API
//     description at /api/doc;
//   - the request log, the HTTP metrics and the security headers every
//     response carries;
//   - the signed, retried webhook delivery of final-status reports from
//     core.ReportOutbox (webhook.go).
//
// web holds no business rule: validation, normalisation and idempotency live
// in core.MessageService; web only parses, authenticates and renders.
package web
