package microguest

import (
	"bytes"
	"testing"

	"github.com/unimon/unimon/guestabi"
)

// NetReadLoop takes exactly n frames, polling only while none is queued,
// and gives up (status 1) once its polls run out.
func TestNetReadLoop(t *testing.T) {
	frame := bytes.Repeat([]byte{0xab}, 60)
	for _, tc := range []struct {
		name          string
		n             uint32
		queued, again int
		status        int32
		polls, left   int
	}{
		{"queued", 3, 5, 0, 0, 0, 2},
		{"none wanted", 0, 2, 0, 0, 0, 2},
		{"again", 2, 2, 1, 0, 1, 0},
		{"silence", 3, 1, 0, 1, NetReadLoopMaxPolls - 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := host{againReads: tc.again}
			for range tc.queued {
				h.inbox = append(h.inbox, frame)
			}
			run(t, NetReadLoop(tc.n), "", &h)
			if h.status != tc.status || len(h.polls) != tc.polls || len(h.inbox) != tc.left {
				t.Errorf("status %d, %d polls, %d frames left; want %d, %d, %d", h.status, len(h.polls), len(h.inbox), tc.status, tc.polls, tc.left)
			}
			for _, c := range h.calls {
				if c != guestabi.HypercallNetRead && c != guestabi.HypercallPoll && c != guestabi.HypercallHalt {
					t.Errorf("unexpected call %v", c)
				}
			}
		})
	}
}
