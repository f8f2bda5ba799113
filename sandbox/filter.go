package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Filter is a seccomp-BPF program: the allowlist LockDown installs.
type Filter struct {
	// Program is the classic BPF program the kernel runs on every system
	// call's struct seccomp_data, in the kernel's form; its value is the
	// SECCOMP_RET_* action. Disassemble gives x/net/bpf's instructions.
	Program []bpf.RawInstruction

	arch *arch
}

// Policy is the allowlist LockDown installs, with extra calls allowed:
// every call not in it raises SIGSYS (SECCOMP_RET_TRAP), and an unknown
// name in extra is an error.
func Policy(extra ...string) (*Filter, error) {
	if native == nil {
		return nil, errUnsupportedArch()
	}
	return newFilter(native, os.Getpid(), extra)
}

// Offsets in struct seccomp_data (linux/seccomp.h).
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// Values the program returns: SECCOMP_RET_ERRNO's data is the errno.
const (
	retAllow  = unix.SECCOMP_RET_ALLOW
	retTrap   = unix.SECCOMP_RET_TRAP
	retKill   = unix.SECCOMP_RET_KILL_PROCESS
	retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
)

// newFilter assembles the allowlist for architecture a and process pid.
// The program, in order:
//   - a call of another ABI (seccomp_data.arch) kills the process: its
//     numbers mean other calls, so neither the allowlist nor the SIGSYS
//     message could speak of it;
//   - on amd64, an x32 call gets ENOSYS;
//   - ioctl's argument filter: KVM_RUN is the call the vCPU loop makes
//     on every exit, and the kernel's cache of verdicts that do not
//     depend on the arguments (Linux 5.11 and later) spares the filter
//     run for the calls allowed outright, never for this one;
//   - a search on the number (dispatch) that finds the other calls: the
//     calls allowed outright; the argument-filtered ones, each a block
//     that allows when one set of its conditions holds and otherwise
//     returns the default action (the accumulator then holds an
//     argument, not the number, so no later test of the number may see
//     it); and clone3, which gets ENOSYS: glibc's pthread_create (a cgo
//     binary's new threads) tries it first, with every signal blocked,
//     so a trap would kill the process without a word, and its flags are
//     in memory, where seccomp cannot look, while ENOSYS makes glibc fall
//     back to clone, whose flags the filter checks;
//   - anything else traps (or, in the sandbox_measure build, is allowed).
//
// A search rather than a list of tests: the kernel runs the program for
// every number when it installs it, to fill that cache, and installing a
// list of 30 tests took a third longer here (120 µs against 90).
func newFilter(a *arch, pid int, extra []string) (*Filter, error) {
	names := make([]string, 0, len(Calls)+len(extra))
	for _, c := range Calls {
		names = append(names, c.Name)
	}
	for _, n := range extra {
		if _, ok := a.number(n); !ok {
			return nil, fmt.Errorf("sandbox: Allow(%q): no such system call on %s", n, a.goarch)
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	deflt := uint32(retTrap)
	if defaultAllowForMeasurement {
		deflt = retAllow
	}
	// About two instructions a call, and a few dozen for the rest.
	p := prog{raw: make([]bpf.RawInstruction, 0, 2*len(names)+96)}
	p.add(bpf.LoadAbsolute{Off: offArch, Size: 4}.Assemble())
	p.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: a.audit, SkipTrue: 1}.Assemble())
	p.add(bpf.RetConstant{Val: retKill}.Assemble())
	p.add(bpf.LoadAbsolute{Off: offNr, Size: 4}.Assemble())
	if a.x32 {
		p.add(bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32Bit, SkipFalse: 1}.Assemble())
		p.add(bpf.RetConstant{Val: retENOSYS}.Assemble())
	}
	entries := make([]entry, 0, len(names)+8)
	for _, n := range names {
		entries = append(entries, entry{nr: number(a, n)})
	}
	if !slices.Contains(names, "clone3") {
		var enosys prog
		enosys.add(bpf.RetConstant{Val: retENOSYS}.Assemble())
		entries = append(entries, entry{number(a, "clone3"), enosys.raw})
	}
	for _, c := range argCalls(a, pid) {
		if slices.Contains(names, c.Name) {
			continue // allowed outright by Allow
		}
		var block prog
		argBlock(&block, c.Any, deflt)
		if block.err != nil {
			return nil, fmt.Errorf("sandbox: the filter for %s: %w", c.Name, block.err)
		}
		if c.Name != "ioctl" {
			entries = append(entries, entry{number(a, c.Name), block.raw})
			continue
		}
		if len(block.raw) > 255 {
			return nil, fmt.Errorf("sandbox: the filter for %s is %d instructions, more than a jump spans", c.Name, len(block.raw))
		}
		p.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: number(a, c.Name), SkipFalse: uint8(len(block.raw))}.Assemble())
		p.raw = append(p.raw, block.raw...)
	}
	sort.Sort(byNumber(entries))
	dispatch(&p, entries, deflt)
	if p.err != nil {
		return nil, fmt.Errorf("sandbox: assembling the filter: %w", p.err)
	}
	return &Filter{Program: p.raw, arch: a}, nil
}

// prog is a program being written. x/net/bpf encodes every instruction
// (no opcode is written here); the first error it or the layout gives is
// kept for the end.
type prog struct {
	raw []bpf.RawInstruction
	err error
}

// add appends an instruction's encoding (as Assemble returns it).
func (p *prog) add(r bpf.RawInstruction, err error) {
	p.raw = append(p.raw, r)
	p.fail(err)
}

// fail keeps err if it is the first.
func (p *prog) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

// entry is a system call the search on the number finds, and what
// decides it once found: instructions ending in a return, or nil for a
// call allowed outright.
type entry struct {
	nr   uint32
	then []bpf.RawInstruction
}

// byNumber sorts entries by number, for the search.
type byNumber []entry

func (b byNumber) Len() int           { return len(b) }
func (b byNumber) Less(i, j int) bool { return b[i].nr < b[j].nr }
func (b byNumber) Swap(i, j int)      { b[i], b[j] = b[j], b[i] }

// number is the number of system call name on a. Every name reaching it
// is in a's table: the package's own (TestCallsKnown checks), and
// Allow's, which newFilter checked.
func number(a *arch, name string) uint32 {
	nr, _ := a.number(name)
	return uint32(nr)
}

// leafCalls is how many calls the search tests one by one, at most.
const leafCalls = 4

// dispatch appends to p a binary search of the loaded number over
// entries, sorted by number; a number none of them has gets deflt. Jumps
// go forward only: a split tests the middle number, falls through to the
// lower half and jumps over it to the upper half.
func dispatch(p *prog, entries []entry, deflt uint32) {
	if len(entries) <= leafCalls {
		// A leaf: the calls allowed outright jump to one return at its
		// end, past the others (each a test and its block) and the
		// default.
		allowed, rest := 0, 1
		for _, e := range entries {
			if e.then == nil {
				allowed++
			} else {
				rest += 1 + len(e.then)
			}
		}
		if allowed+rest > 256 {
			p.fail(fmt.Errorf("a leaf of the search spans %d instructions, more than a jump does", allowed+rest))
			return
		}
		i := 0
		for _, e := range entries {
			if e.then == nil {
				i++
				p.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: e.nr, SkipTrue: uint8(allowed - i + rest)}.Assemble())
			}
		}
		for _, e := range entries {
			if e.then != nil {
				p.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: e.nr, SkipFalse: uint8(len(e.then))}.Assemble())
				p.raw = append(p.raw, e.then...)
			}
		}
		p.add(bpf.RetConstant{Val: deflt}.Assemble())
		if allowed > 0 {
			p.add(bpf.RetConstant{Val: retAllow}.Assemble())
		}
		return
	}
	mid := len(entries) / 2
	split := len(p.raw)
	p.raw = append(p.raw, bpf.RawInstruction{}) // the split, once its distance is known
	dispatch(p, entries[:mid], deflt)
	var err error
	if lower := len(p.raw) - split - 1; lower <= 255 {
		p.raw[split], err = bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: entries[mid].nr, SkipTrue: uint8(lower)}.Assemble()
	} else {
		// Too far for a conditional jump: through an unconditional one,
		// put in after the split.
		var ja bpf.RawInstruction
		ja, err = bpf.Jump{Skip: uint32(lower)}.Assemble()
		p.fail(err)
		p.raw = slices.Insert(p.raw, split+1, ja)
		p.raw[split], err = bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: entries[mid].nr, SkipFalse: 1}.Assemble()
	}
	p.fail(err)
	dispatch(p, entries[mid:], deflt)
}

// argBlock appends to p the program for a call with argument filters,
// once its number matched: each set of conditions in turn allows if all
// of them hold; if none does, the block returns deflt.
func argBlock(p *prog, sets [][]cond, deflt uint32) {
	for _, set := range sets {
		n := 1 // the set's instructions: its tests and the allow
		for _, c := range set {
			n += c.len()
		}
		if n > 256 {
			p.fail(fmt.Errorf("a set of %d instructions, more than a jump spans", n))
			return
		}
		// fail is how far a failing test added now jumps: to the next
		// set, right after this one's allow.
		end := len(p.raw) + n
		fail := func() uint8 { return uint8(end - len(p.raw) - 1) }
		load := func(arg int, hi bool) {
			off := uint32(offArgs + 8*arg) // the low half: both arches are little-endian
			if hi {
				off += 4
			}
			p.add(bpf.LoadAbsolute{Off: off, Size: 4}.Assemble())
		}
		for _, c := range set {
			hi, lo := uint32(c.val>>32), uint32(c.val)
			switch c.op {
			case equal:
				load(c.arg, true)
				p.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: hi, SkipFalse: fail()}.Assemble())
				load(c.arg, false)
				p.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: lo, SkipFalse: fail()}.Assemble())
			case noBitSet:
				// A half of val that is zero tests nothing: left out.
				if hi != 0 {
					load(c.arg, true)
					p.add(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: hi, SkipTrue: fail()}.Assemble())
				}
				if lo != 0 {
					load(c.arg, false)
					p.add(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: lo, SkipTrue: fail()}.Assemble())
				}
			case anyBitSet:
				if hi != 0 {
					load(c.arg, true)
					if lo == 0 {
						p.add(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: hi, SkipFalse: fail()}.Assemble())
						break
					}
					// A bit in the high half passes at once, over the low test.
					p.add(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: hi, SkipTrue: 2}.Assemble())
				}
				load(c.arg, false)
				p.add(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: lo, SkipFalse: fail()}.Assemble())
			default:
				p.fail(fmt.Errorf("unknown condition %d", c.op))
				return
			}
		}
		p.add(bpf.RetConstant{Val: retAllow}.Assemble())
	}
	p.add(bpf.RetConstant{Val: deflt}.Assemble())
}

// len is how many instructions argBlock makes of c.
func (c cond) len() int {
	hi, lo := c.val>>32 != 0, uint32(c.val) != 0
	switch {
	case c.op == equal || c.op == anyBitSet && hi && lo:
		return 4
	case c.op == anyBitSet:
		return 2
	}
	n := 0
	if hi {
		n += 2
	}
	if lo {
		n += 2
	}
	return n
}

// Action is what the program returns (SECCOMP_RET_ALLOW, _TRAP, _ERRNO
// with its errno, or _KILL_PROCESS) for system call nr of the filter's
// architecture with arguments args, found by running it in x/net/bpf's
// VM: what the kernel would decide.
func (f *Filter) Action(nr int, args ...uint64) (uint32, error) {
	if f.arch == nil {
		return 0, errors.New("sandbox: Action needs a Filter made by Policy")
	}
	return f.run(f.arch.audit, uint32(nr), args)
}

// run runs the program on one struct seccomp_data. The VM loads words
// big-endian (network order) where the kernel loads them in the CPU's
// order, so each 32-bit word is stored big-endian at the place the
// little-endian kernel has it: the VM then sees the values the kernel
// would.
func (f *Filter) run(audit, nr uint32, args []uint64) (uint32, error) {
	if len(args) > 6 {
		return 0, fmt.Errorf("sandbox: %d arguments; a system call has at most 6", len(args))
	}
	insns := make([]bpf.Instruction, len(f.Program))
	for i, r := range f.Program {
		insns[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		return 0, fmt.Errorf("sandbox: the filter program: %w", err)
	}
	var data [64]byte
	binary.BigEndian.PutUint32(data[offNr:], nr)
	binary.BigEndian.PutUint32(data[offArch:], audit)
	for i, a := range args {
		binary.BigEndian.PutUint32(data[offArgs+8*i:], uint32(a))
		binary.BigEndian.PutUint32(data[offArgs+8*i+4:], uint32(a>>32))
	}
	ret, err := vm.Run(data[:])
	return uint32(ret), err
}

// String lists the program, one numbered instruction a line, with the
// name of the system call each test of the number is for.
func (f *Filter) String() string {
	// holdsNr[i] says the accumulator holds the number whichever way
	// instruction i is reached: jumps only go forward, so one pass over
	// the program sees every way into an instruction before it.
	const unreached, number, other = 0, 1, 2
	holdsNr := make([]int, len(f.Program)+1)
	holdsNr[0] = other
	reach := func(i, state int) {
		if i >= len(holdsNr) {
			return // past the end: a program the kernel would refuse
		}
		if holdsNr[i] == unreached || state == other {
			holdsNr[i] = state
		}
	}
	var b strings.Builder
	for i, r := range f.Program {
		ins := r.Disassemble()
		fmt.Fprintf(&b, "%3d: %v", i, ins)
		state := holdsNr[i]
		switch ins := ins.(type) {
		case bpf.LoadAbsolute:
			state = other
			if ins.Off == offNr {
				state = number
			}
			reach(i+1, state)
		case bpf.JumpIf:
			if state == number && (ins.Cond == bpf.JumpEqual || ins.Cond == bpf.JumpNotEqual) && f.arch != nil {
				fmt.Fprintf(&b, "\t// %s", f.arch.name(int(ins.Val)))
			}
			reach(i+1+int(ins.SkipTrue), state)
			reach(i+1+int(ins.SkipFalse), state)
		case bpf.Jump:
			reach(i+1+int(ins.Skip), state)
		case bpf.RetConstant:
		default:
			reach(i+1, other)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// install sets no_new_privs and installs the program on every thread of
// the process (SECCOMP_FILTER_FLAG_TSYNC).
func (f *Filter) install() error {
	filter := make([]unix.SockFilter, len(f.Program))
	for i, r := range f.Program {
		filter[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox: setting no_new_privs: %w", err)
	}
	// With TSYNC, a thread that cannot take the filter (one with a filter
	// of its own that is not an ancestor of this one) makes the call
	// return that thread's id instead of an error.
	tid, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("sandbox: installing the seccomp filter: %w", errno)
	}
	if tid != 0 {
		return fmt.Errorf("sandbox: installing the seccomp filter: thread %d cannot take it", tid)
	}
	return nil
}
