package socktab

import "testing"

// The ring's counters run freely and wrap at 2^32.
func TestRingCounts(t *testing.T) {
	r := Ring{Buf: 1, Size: 16}
	for _, tc := range []struct{ head, tail, len, room uint32 }{
		{0, 0, 0, 16},
		{0, 16, 16, 0},
		{5, 9, 4, 12},
		{0xfffffffe, 2, 4, 12}, // across the wrap
	} {
		r.Head.Store(tc.head)
		r.Tail.Store(tc.tail)
		if r.Len() != tc.len || r.Room() != tc.room {
			t.Errorf("head %d tail %d: len %d room %d, want %d %d", tc.head, tc.tail, r.Len(), r.Room(), tc.len, tc.room)
		}
	}
	r.Clear()
	if r.Buf != 0 || r.Size != 0 || r.Len() != 0 {
		t.Errorf("after Clear: %+v", &r)
	}
}

// A configuration option longer than a value holds, or past the table,
// is refused rather than cut.
func TestAddConfig(t *testing.T) {
	NConfig = 0
	defer func() { NConfig = 0 }()
	if AddConfig(CfgDNS, make([]byte, CfgValueMax+1)) {
		t.Error("an oversized value was taken")
	}
	for i := 0; i < CfgMax; i++ {
		if !AddConfig(CfgDNS, []byte("10.0.0.1")) {
			t.Fatalf("entry %d refused", i)
		}
	}
	if AddConfig(CfgDNS, []byte("10.0.0.1")) {
		t.Error("an entry past the table was taken")
	}
	if e := Config[0]; e.Kind != CfgDNS || string(e.Val[:e.Len]) != "10.0.0.1" {
		t.Errorf("entry 0: %+v", e)
	}
}
