package microguest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/unimon/unimon/guestabi"
)

// Every guest Build knows is a valid Solo5 executable with both notes, a
// manifest declaring what its doc comment says, its data where the code
// expects it, and few enough instructions for KVM's emulator.
func TestCatalogueELFs(t *testing.T) {
	fixed := []string{"hello", "exit", "walltime", "poll", "block-roundtrip", "net-echo", "triple-fault",
		"write-text", "bad-port", "bad-port-size", "spin", "puts-loop", "walltime-loop", "raw-exit-loop"}
	names := Names()
	if want := len(fixed) + len(HostileCases()) + len(ReadOnlyCases()); len(names) != want || !slices.IsSorted(names) {
		t.Errorf("Names() has %d names (sorted: %v), want %d", len(names), slices.IsSorted(names), want)
	}
	for _, n := range fixed {
		if !slices.Contains(names, n) {
			t.Errorf("Names() lacks %q", n)
		}
	}
	params := Params{Status: 7, N: 1000, Timeout: 1000}
	for _, name := range names {
		b, err := Build(name, params)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		s, err := checkSolo5(b, testMem)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if s.abi == nil || s.abi.Check() != nil || s.manifest == nil {
			t.Errorf("%s: ABI note %v, manifest %v", name, s.abi, s.manifest)
			continue
		}
		var want []guestabi.Entry
		switch {
		case name == "block-roundtrip" || strings.HasPrefix(name, "hostile-block-"):
			want = []guestabi.Entry{{Name: BlockDeviceName, Type: guestabi.DeviceBlockBasic}}
		case name == "net-echo" || strings.HasPrefix(name, "hostile-net-"):
			want = []guestabi.Entry{{Name: NetDeviceName, Type: guestabi.DeviceNetBasic}}
		}
		if got := guestabi.NewManifest(want...); !reflect.DeepEqual(s.manifest, got) {
			t.Errorf("%s: manifest %+v, want %+v", name, s.manifest.Entries, got.Entries)
		}
		for _, l := range s.loads {
			if l.Flags&0x2 != 0 && l.Vaddr != CatalogueDataAddr {
				t.Errorf("%s: data segment at %#x, want %#x", name, l.Vaddr, CatalogueDataAddr)
			}
		}
		if n := buildProg(named[name](params)).a.Instructions(); n > 100 {
			t.Errorf("%s: %d instructions, want at most 100", name, n)
		}
	}
	if _, err := Build("nonesuch", Params{}); !errors.Is(err, ErrUnknownGuest) {
		t.Errorf("Build(nonesuch): %v", err)
	}
}

// The exported constructors and Build produce the same bytes.
func TestConstructorsMatchNames(t *testing.T) {
	p := Params{Status: 3, N: 5, Timeout: 99}
	for name, b := range map[string][]byte{
		"hello": Hello(), "exit": Exit(3), "walltime": Walltime(), "poll": PollTimeout(99),
		"block-roundtrip": BlockRoundTrip(), "net-echo": NetEcho(), "triple-fault": TripleFault(),
		"write-text": WriteText(), "bad-port": BadPort(), "bad-port-size": BadPortSize(), "spin": Spin(),
		"puts-loop": PutsLoop(5), "walltime-loop": WalltimeLoop(5), "raw-exit-loop": RawExitLoop(5),
	} {
		if got, err := Build(name, p); err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: Build differs from the constructor (%v)", name, err)
		}
	}
}

// run simulates a guest in 4 MiB and fails the test on an unexpected end.
func run(t *testing.T, b []byte, cmdline string, h *host) {
	t.Helper()
	if err := simulate(b, 4<<20, cmdline, h); err != nil {
		t.Fatalf("guest did not halt: %v", err)
	}
}

func TestHello(t *testing.T) {
	long := strings.Repeat("x", guestabi.CmdlineSize+100)
	for _, tc := range []struct{ cmdline, want string }{
		{"", "Hello, world\n\n"},
		{"a b  c", "Hello, world\na b  c\n"},
		{"--solo5:quiet arg", "Hello, world\n--solo5:quiet arg\n"},
		// A monitor always NUL-terminates within 8192 bytes; if one did
		// not, the guest still stops after 8191.
		{long, "Hello, world\n" + long[:guestabi.CmdlineSize-1] + "\n"},
	} {
		var h host
		run(t, Hello(), tc.cmdline, &h)
		if got := h.stdout.String(); got != tc.want || h.status != 0 {
			t.Errorf("cmdline %.20q: output %.40q status %d, want %.40q status 0", tc.cmdline, got, h.status, tc.want)
		}
	}
}

func TestExit(t *testing.T) {
	for _, st := range []int32{0, 1, 3, 255, -1, 1<<31 - 1} {
		var h host
		run(t, Exit(st), "", &h)
		if h.status != st || h.stdout.Len() != 0 || !reflect.DeepEqual(h.calls, []guestabi.Hypercall{guestabi.HypercallHalt}) {
			t.Errorf("Exit(%d): status %d, output %q, calls %v", st, h.status, h.stdout.String(), h.calls)
		}
	}
}

func TestWalltime(t *testing.T) {
	var h host
	run(t, Walltime(), "", &h)
	if got := h.stdout.Bytes(); len(got) != 8 || le.Uint64(got) != simNsecs || h.status != 0 {
		t.Errorf("output %x status %d, want the 8 bytes of %#x and 0", got, h.status, uint64(simNsecs))
	}
}

func TestPollTimeout(t *testing.T) {
	var h host
	run(t, PollTimeout(123456789), "", &h)
	var p guestabi.Poll
	if h.stdout.Len() != guestabi.PollSize {
		t.Fatalf("output %x, want a %d-byte struct", h.stdout.Bytes(), guestabi.PollSize)
	}
	p.Decode(h.stdout.Bytes())
	if p != (guestabi.Poll{TimeoutNsecs: 123456789}) || !reflect.DeepEqual(h.polls, []uint64{123456789}) || h.status != 0 {
		t.Errorf("struct %+v, host saw timeouts %v, status %d", p, h.polls, h.status)
	}
}

func TestBlockRoundTrip(t *testing.T) {
	h := host{disk: bytes.Repeat([]byte{0xee}, 1024)}
	run(t, BlockRoundTrip(), "", &h)
	out := h.stdout.Bytes()
	if len(out) != 512+2*guestabi.BlockIOSize || h.status != 0 {
		t.Fatalf("%d bytes of output, status %d; want 592 and 0", len(out), h.status)
	}
	if !bytes.Equal(out[:512], BlockPattern[:]) {
		t.Errorf("read back %x", out[:512])
	}
	for i, s := range [][]byte{out[512:552], out[552:592]} {
		var io guestabi.BlockIO
		io.Decode(s)
		if io.Handle != 1 || io.Offset != 512 || io.Len != 512 || io.Ret != guestabi.ResultOK {
			t.Errorf("struct %d: %+v", i, io)
		}
	}
	if !bytes.Equal(h.disk[512:], BlockPattern[:]) || !bytes.Equal(h.disk[:512], bytes.Repeat([]byte{0xee}, 512)) {
		t.Error("disk does not hold the pattern at 512 and nothing else")
	}
	if BlockPattern[0] != 0x5a || BlockPattern[0xff] != 0xa5 || BlockPattern[0x100] != 0x5a {
		t.Errorf("pattern starts % x", BlockPattern[:4])
	}
}

func TestNetEcho(t *testing.T) {
	reply := []byte("a reply frame of some length, at least 14 bytes long")
	t.Run("reply", func(t *testing.T) {
		h := host{reply: reply}
		run(t, NetEcho(), "", &h)
		if h.stdout.String() != string(reply) || h.status != 0 {
			t.Errorf("output %q status %d", h.stdout.String(), h.status)
		}
		if len(h.sent) != 1 || !bytes.Equal(h.sent[0], NetEchoFrame[:]) {
			t.Errorf("sent %x", h.sent)
		}
		if !reflect.DeepEqual(h.polls, []uint64{NetEchoPollTimeout}) {
			t.Errorf("polls %v", h.polls)
		}
	})
	t.Run("silence", func(t *testing.T) {
		var h host
		run(t, NetEcho(), "", &h)
		if h.stdout.Len() != 0 || h.status != 1 || len(h.polls) != NetEchoMaxPolls {
			t.Errorf("output %q status %d after %d polls; want none, 1, %d", h.stdout.String(), h.status, len(h.polls), NetEchoMaxPolls)
		}
	})
	t.Run("again", func(t *testing.T) {
		// Readiness followed by AGAIN (a spurious wake-up) must not end
		// the loop: the guest polls again and reads the frame then.
		h := host{reply: reply, againReads: 1}
		run(t, NetEcho(), "", &h)
		if h.stdout.String() != string(reply) || h.status != 0 || len(h.polls) != 2 {
			t.Errorf("output %q status %d polls %d", h.stdout.String(), h.status, len(h.polls))
		}
		want := []guestabi.Hypercall{guestabi.HypercallNetWrite, guestabi.HypercallPoll, guestabi.HypercallNetRead,
			guestabi.HypercallPoll, guestabi.HypercallNetRead, guestabi.HypercallPuts, guestabi.HypercallHalt}
		if !reflect.DeepEqual(h.calls, want) {
			t.Errorf("calls %v, want %v", h.calls, want)
		}
	})
}

func TestFailingGuests(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want error
		msg  string
	}{
		{"triple fault", TripleFault(), errTripleFault, "#UD"},
		{"write text", WriteText(), errWriteFault, "gpa 0x1000"},
		{"bad port", BadPort(), errBadPort, "port=0x509 size=4"},
		{"bad port size", BadPortSize(), errBadPort, "port=0x501 size=1"},
		{"spin", Spin(), errSteps, ""},
		{"raw exit without floor", RawExitLoop(3), errBadPort, "port=0x4ff size=4"},
	}
	for _, tt := range tests {
		var h host
		err := simulate(tt.b, 4<<20, "", &h)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
		if h.stdout.Len() != 0 || len(h.calls) != 0 {
			t.Errorf("%s: output %q, calls %v", tt.name, h.stdout.String(), h.calls)
		}
	}
}

func TestLoops(t *testing.T) {
	for _, n := range []uint32{0, 1, 7, 1000} {
		for _, tc := range []struct {
			name string
			b    []byte
			call guestabi.Hypercall
		}{
			{"puts", PutsLoop(n), guestabi.HypercallPuts},
			{"walltime", WalltimeLoop(n), guestabi.HypercallWalltime},
			{"raw", RawExitLoop(n), 0},
		} {
			h := host{rawPort: true}
			run(t, tc.b, "", &h)
			want := slices.Repeat([]guestabi.Hypercall{tc.call}, int(n))
			if tc.call == 0 {
				want = nil
				if h.rawExits != int(n) {
					t.Errorf("%s(%d): %d raw exits", tc.name, n, h.rawExits)
				}
			}
			want = append(want, guestabi.HypercallHalt)
			if !reflect.DeepEqual(h.calls, want) || h.status != 0 || h.stdout.Len() != 0 {
				t.Errorf("%s(%d): %d calls, status %d, output %q", tc.name, n, len(h.calls), h.status, h.stdout.String())
			}
		}
	}
}

func TestHostileCases(t *testing.T) {
	cs := HostileCases()
	// 8 calls with a bad struct (2 kinds), 6 with a buffer (3 kinds), 4
	// device calls with a bad handle.
	if len(cs) != 8*2+6*3+4 {
		t.Errorf("%d cases", len(cs))
	}
	seen := map[string]bool{}
	for _, c := range cs {
		if seen[c.Name()] {
			t.Errorf("duplicate name %s", c.Name())
		}
		seen[c.Name()] = true
	}
	if n := (HostileCase{guestabi.HypercallBlockWrite, HostileBufPastEnd}).Name(); n != "hostile-block-write-buf-past-end" {
		t.Errorf("name %q", n)
	}
	for _, bad := range []HostileCase{
		{guestabi.HypercallWalltime, HostileBufPastEnd}, {guestabi.HypercallPoll, HostileOverflow},
		{guestabi.HypercallPuts, HostileHandle}, {guestabi.HypercallHalt, HostileHandle},
		{0, HostileArgPastEnd}, {9, HostileArgPastEnd}, {guestabi.HypercallPuts, 0}, {guestabi.HypercallPuts, 99},
	} {
		if _, err := Hostile(bad.Call, bad.Kind); !errors.Is(err, ErrNoSuchCase) {
			t.Errorf("Hostile(%v, %v): %v", bad.Call, bad.Kind, err)
		}
	}
	if HostileKind(99).String() != "HostileKind(99)" {
		t.Error(HostileKind(99).String())
	}
}

// Each hostile guest, run against a host that behaves as upstream does, is
// stopped at the bad address when HostileCase.Fatal says so, and otherwise
// gets EINVAL back for every call, at whatever size memory has.
func TestHostileGuests(t *testing.T) {
	for _, mem := range []uint64{2 << 20, 6 << 20} {
		for _, c := range HostileCases() {
			t.Run(fmt.Sprintf("%s/%dMiB", c.Name(), mem>>20), func(t *testing.T) {
				b, err := Hostile(c.Call, c.Kind)
				if err != nil {
					t.Fatal(err)
				}
				h := host{disk: make([]byte, 2048)}
				err = simulate(b, mem, "", &h)
				arg := hostileArgOf(c.Call)
				if c.Fatal() {
					if !errors.Is(err, errBadAccess) {
						t.Fatalf("got %v, want an invalid guest access", err)
					}
					if last := h.calls[len(h.calls)-1]; last != c.Call || h.stdout.Len() != 0 {
						t.Errorf("stopped at %v with output %q, want %v and none", last, h.stdout.String(), c.Call)
					}
					want := map[HostileKind]uint64{
						HostileArgPastEnd:  0xfffffff0,
						HostileArgStraddle: mem - 4,
						HostileBufPastEnd:  mem,
						HostileBufStraddle: mem - arg.bufLen/2,
						HostileOverflow:    TextAddr,
					}[c.Kind]
					if c.Kind == HostileOverflow && c.Call == guestabi.HypercallHalt {
						want = 0xffffffffffffff00
					}
					if h.badGPA != want {
						t.Errorf("bad address %#x, want %#x", h.badGPA, want)
					}
					return
				}
				if err != nil || h.status != 0 {
					t.Fatalf("got %v, status %d; want a clean halt", err, h.status)
				}
				n := 1
				if c.Kind == HostileHandle {
					n = len(HostileHandles)
				}
				out := h.stdout.Bytes()
				if len(out) != n*arg.size {
					t.Fatalf("%d bytes of output, want %d structs of %d", len(out), n, arg.size)
				}
				retOff := arg.size - 8 // ret is the last field, followed by padding
				for i := 0; i < n; i++ {
					s := out[i*arg.size:][:arg.size]
					if ret := le.Uint32(s[retOff:]); ret != uint32(guestabi.ResultEINVAL) {
						t.Errorf("struct %d: ret %d, want EINVAL", i, ret)
					}
					if c.Kind == HostileHandle {
						if hd := le.Uint64(s); hd != HostileHandles[i] {
							t.Errorf("struct %d: handle %#x, want %#x", i, hd, HostileHandles[i])
						}
					}
				}
				if len(h.sent) != 0 || !bytes.Equal(h.disk, make([]byte, 2048)) {
					t.Error("a rejected call reached the device")
				}
			})
		}
	}
}
