package gateway

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCommandStatus(t *testing.T) {
	for _, tc := range []struct {
		s                   CommandStatus
		temporary, throttle bool
		name                string
	}{
		{StatusThrottled, true, true, "ESME_RTHROTTLED"},
		{StatusQueueFull, true, true, "ESME_RMSGQFUL"},
		{StatusSystemError, true, false, "ESME_RSYSERR"},
		{StatusSubmitFailed, true, false, "ESME_RSUBMITFAIL"},
		{StatusTempAppError, true, false, "ESME_RX_T_APPN"},
		{StatusPermAppError, false, false, "ESME_RX_P_APPN"},
		{StatusInvalidSource, false, false, "ESME_RINVSRCADR"},
		{StatusInvalidDest, false, false, "ESME_RINVDSTADR"},
		{StatusInvalidMsgID, false, false, "ESME_RINVMSGID"},
		{0x0400, true, false, "0x400"}, // vendor specific: not clearly permanent
		{StatusOK, false, false, "ESME_ROK"},
	} {
		if tc.s.Temporary() != tc.temporary || tc.s.Throttled() != tc.throttle || !strings.Contains(tc.s.Error(), tc.name) {
			t.Errorf("%#x: temporary %v throttled %v %q", uint32(tc.s), tc.s.Temporary(), tc.s.Throttled(), tc.s.Error())
		}
		var got CommandStatus
		if err := fmt.Errorf("submit: %w", tc.s); !errors.As(err, &got) || got != tc.s {
			t.Errorf("errors.As failed for %#x", uint32(tc.s))
		}
	}
	if statusCode(0x0B) != "smpp_0x0B" || statusCode(0x401) != "smpp_0x00000401" {
		t.Fatal(statusCode(0x0B), statusCode(0x401))
	}
}
