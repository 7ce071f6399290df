package smscsim

import (
	"time"

	"github.com/rs/zerolog"

	"vneidgw/core"
)

// Config configures a Server. The zero value is usable: it listens on
// 127.0.0.1:0, accepts any credentials and writes hex message ids.
type Config struct {
	Addr        string        // listen address, default "127.0.0.1:0"
	SystemID    string        // "" = accept any system_id
	Password    string        // "" = accept any password
	DLRDelay    time.Duration // delay before sending a DLR for each accepted part (0 = right after the resp)
	IDFormat    string        // "hex" (default) or "decimal": how message ids are written in submit_sm_resp
	DLRIDFormat string        // "" = same as IDFormat; else "hex"/"decimal"
	Faults      Faults
	Log         zerolog.Logger
}

// Faults makes the simulator misbehave. Shares are probabilities in [0, 1]
// drawn per submit_sm (or per accepted part where noted).
type Faults struct {
	ThrottleShare    float64       // share of submit_sm answered ESME_RTHROTTLED (0x58)
	QueueFullShare   float64       // share answered ESME_RMSGQFUL (0x14)
	RejectShare      float64       // share answered ESME_RINVDSTADR (0x0B), final
	UndelivShare     float64       // share of accepted parts whose DLR is UNDELIV (err:001)
	ResponseDelay    time.Duration // delay before each submit_sm_resp (responses may go out of order)
	NoResponseShare  float64       // share of accepted submits never answered (their DLR is still sent)
	DLRBeforeResp    float64       // share of accepted parts whose DLR is sent before the submit_sm_resp
	DLRSeqCollide    bool          // DLR deliver_sm reuses the sequence number of a submit_sm still awaiting its resp on that connection
	UnknownPDUEvery  int           // every N submits on a connection, also send the client an unknown PDU (data_sm, alert_notification, 0x0000FFFF in turn)
	DropAfterSubmits int           // close the connection on its Nth submit (unanswered); 0 = never
	MaxTPS           int           // per bind; submits beyond it within one second get 0x58
	DLRTLVOnly       bool          // DLRs carry receipted_message_id + message_state TLVs and an empty text
}

// Limits that keep memory bounded whatever the load.
const (
	maxFrame          = 64 << 10  // largest PDU accepted (command_length)
	maxInboxPerPhone  = 100       // messages kept per phone
	maxInboxPhones    = 50_000    // phones kept; the oldest phone is forgotten first
	maxDedupe         = 1_000_000 // part hashes kept for duplicate detection; reset when full
	maxAssemblies     = 100_000   // incomplete concatenated texts kept
	maxPendingDLRs    = 1_000_000 // DLRs waiting for a receiver bind, per system_id
	maxWriteBacklog   = 64 << 20  // bytes queued to a client that does not read; beyond it the connection is dropped
	maxDLRRetransmits = 3
	defaultDLRRetry   = 10 * time.Second
	ussdReplyBuffer   = 1024
)

func (c *Config) validate() error {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	switch c.IDFormat {
	case "":
		c.IDFormat = "hex"
	case "hex", "decimal":
	default:
		return core.Errorf(core.EINVALID, "smscsim: id format %q: want hex or decimal", c.IDFormat)
	}
	switch c.DLRIDFormat {
	case "":
		c.DLRIDFormat = c.IDFormat
	case "hex", "decimal":
	default:
		return core.Errorf(core.EINVALID, "smscsim: DLR id format %q: want hex or decimal", c.DLRIDFormat)
	}
	if c.DLRDelay < 0 {
		return core.Errorf(core.EINVALID, "smscsim: negative DLR delay")
	}
	return c.Faults.validate()
}

func (f *Faults) validate() error {
	for _, s := range []float64{f.ThrottleShare, f.QueueFullShare, f.RejectShare, f.UndelivShare, f.NoResponseShare, f.DLRBeforeResp} {
		if s < 0 || s > 1 || s != s {
			return core.Errorf(core.EINVALID, "smscsim: fault share %v outside [0,1]", s)
		}
	}
	if f.ThrottleShare+f.QueueFullShare+f.RejectShare > 1.0000001 {
		return core.Errorf(core.EINVALID, "smscsim: throttle+queue-full+reject shares exceed 1")
	}
	if f.ResponseDelay < 0 || f.UnknownPDUEvery < 0 || f.DropAfterSubmits < 0 || f.MaxTPS < 0 {
		return core.Errorf(core.EINVALID, "smscsim: negative fault setting")
	}
	return nil
}
