package gateway

import "fmt"

// CommandStatus is an SMPP command_status. It implements error so callers
// can tell a throttle (retry later) from a permanent refusal with errors.As.
type CommandStatus uint32

// Command statuses the gateway acts on.
const (
	StatusOK              CommandStatus = 0x00
	StatusInvalidMsgLen   CommandStatus = 0x01
	StatusInvalidCmdLen   CommandStatus = 0x02
	StatusInvalidCmdID    CommandStatus = 0x03
	StatusIncorrectBind   CommandStatus = 0x04
	StatusSystemError     CommandStatus = 0x08
	StatusInvalidSource   CommandStatus = 0x0A
	StatusInvalidDest     CommandStatus = 0x0B
	StatusInvalidMsgID    CommandStatus = 0x0C
	StatusBindFailed      CommandStatus = 0x0D
	StatusInvalidPassword CommandStatus = 0x0E
	StatusInvalidSystemID CommandStatus = 0x0F
	StatusQueueFull       CommandStatus = 0x14
	StatusSubmitFailed    CommandStatus = 0x45
	StatusThrottled       CommandStatus = 0x58
	StatusTempAppError    CommandStatus = 0x64
	StatusPermAppError    CommandStatus = 0x65
	StatusRejectMessage   CommandStatus = 0x66
	StatusUnknownError    CommandStatus = 0xFF
)

// statusLookup names the statuses we know. Anything not marked final is
// treated as temporary (retried up to MaxAttempts): vendor-specific codes
// (0x400..0x4FF) included, since they are not clearly permanent.
func statusLookup(s CommandStatus) (name string, final, known bool) {
	switch s {
	case 0x00:
		return "ESME_ROK", false, true
	case 0x01:
		return "ESME_RINVMSGLEN", true, true
	case 0x02:
		return "ESME_RINVCMDLEN", true, true
	case 0x03:
		return "ESME_RINVCMDID", true, true
	case 0x04:
		return "ESME_RINVBNDSTS", false, true
	case 0x05:
		return "ESME_RALYBND", false, true
	case 0x06:
		return "ESME_RINVPRTFLG", true, true
	case 0x07:
		return "ESME_RINVREGDLVFLG", true, true
	case 0x08:
		return "ESME_RSYSERR", false, true
	case 0x0A:
		return "ESME_RINVSRCADR", true, true
	case 0x0B:
		return "ESME_RINVDSTADR", true, true
	case 0x0C:
		return "ESME_RINVMSGID", true, true
	case 0x0D:
		return "ESME_RBINDFAIL", false, true
	case 0x0E:
		return "ESME_RINVPASWD", false, true
	case 0x0F:
		return "ESME_RINVSYSID", false, true
	case 0x14:
		return "ESME_RMSGQFUL", false, true
	case 0x15:
		return "ESME_RINVSERTYP", true, true
	case 0x43:
		return "ESME_RINVESMCLASS", true, true
	case 0x45:
		return "ESME_RSUBMITFAIL", false, true
	case 0x48:
		return "ESME_RINVSRCTON", true, true
	case 0x49:
		return "ESME_RINVSRCNPI", true, true
	case 0x50:
		return "ESME_RINVDSTTON", true, true
	case 0x51:
		return "ESME_RINVDSTNPI", true, true
	case 0x53:
		return "ESME_RINVSYSTYP", false, true
	case 0x58:
		return "ESME_RTHROTTLED", false, true
	case 0x61:
		return "ESME_RINVSCHED", true, true
	case 0x62:
		return "ESME_RINVEXPIRY", true, true
	case 0x64:
		return "ESME_RX_T_APPN", false, true
	case 0x65:
		return "ESME_RX_P_APPN", true, true
	case 0x66:
		return "ESME_RX_R_APPN", true, true
	case 0xC0:
		return "ESME_RINVOPTPARSTREAM", true, true
	case 0xC1:
		return "ESME_ROPTPARNOTALLWD", true, true
	case 0xC2:
		return "ESME_RINVPARLEN", true, true
	case 0xC3:
		return "ESME_RMISSINGOPTPARAM", true, true
	case 0xC4:
		return "ESME_RINVOPTPARAMVAL", true, true
	case 0xFE:
		return "ESME_RDELIVERYFAILURE", true, true
	case 0xFF:
		return "ESME_RUNKNOWNERR", false, true
	}
	return "", false, false
}

// Error implements error.
func (s CommandStatus) Error() string {
	if name, _, ok := statusLookup(s); ok {
		return fmt.Sprintf("smpp status 0x%02X %s", uint32(s), name)
	}
	return fmt.Sprintf("smpp status 0x%02X", uint32(s))
}

// Temporary reports whether resubmitting later may succeed.
func (s CommandStatus) Temporary() bool {
	if s == StatusOK {
		return false
	}
	_, final, _ := statusLookup(s)
	return !final
}

// Throttled reports whether s asks the ESME to slow down (throttling or
// message queue full): retried without counting as a failed attempt.
func (s CommandStatus) Throttled() bool {
	return s == StatusThrottled || s == StatusQueueFull
}
