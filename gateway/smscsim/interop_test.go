package smscsim

import (
	"strings"
	"testing"
	"time"

	"github.com/fiorix/go-smpp/smpp"
	"github.com/fiorix/go-smpp/smpp/pdu"
	"github.com/fiorix/go-smpp/smpp/pdu/pdufield"
	"github.com/fiorix/go-smpp/smpp/pdu/pdutext"
)

// TestGoSMPPClientInterop binds go-smpp's own Transceiver to the simulator,
// submits, and receives (and acknowledges) the DLR.
func TestGoSMPPClientInterop(t *testing.T) {
	s := startServer(t, Config{SystemID: "vneid", Password: "secret"})
	dlrs := make(chan pdu.Body, 4)
	tx := &smpp.Transceiver{
		Addr: s.Addr(), User: "vneid", Passwd: "secret",
		RespTimeout: 2 * time.Second,
		Handler: func(p pdu.Body) {
			if p.Header().ID == pdu.DeliverSMID {
				dlrs <- p
			}
		},
	}
	status := tx.Bind()
	defer tx.Close()
	select {
	case st := <-status:
		if st.Status() != smpp.Connected {
			t.Fatalf("bind: %v %v", st.Status(), st.Error())
		}
	case <-time.After(wait):
		t.Fatal("no bind status")
	}
	sm, err := tx.Submit(&smpp.ShortMessage{
		Src: "VneID", Dst: phone, Text: pdutext.Raw("Ma OTP 123456"),
		Register: pdufield.FinalDeliveryReceipt, SourceAddrTON: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := sm.RespID()
	if id == "" {
		t.Fatal("no message id")
	}
	select {
	case d := <-dlrs:
		if txt := d.Fields()[pdufield.ShortMessage].String(); !strings.HasPrefix(txt, "id:"+id+" ") {
			t.Fatalf("DLR %q for id %q", txt, id)
		}
	case <-time.After(wait):
		t.Fatal("no DLR")
	}
	waitFor(t, func() bool { return s.Stats().DLRsAcked == 1 })
	if in := s.Inbox(phone); len(in) != 1 || in[0].Text != "Ma OTP 123456" {
		t.Fatalf("inbox %+v", in)
	}
}
