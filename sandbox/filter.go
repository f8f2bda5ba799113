package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Filter is a seccomp-BPF program: the allowlist LockDown installs.
type Filter struct {
	// Program is the classic BPF program the kernel runs on every system
	// call's struct seccomp_data; its value is the SECCOMP_RET_* action.
	Program []bpf.Instruction

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
	p := []bpf.Instruction{
		bpf.LoadAbsolute{Off: offArch, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: a.audit, SkipTrue: 1},
		bpf.RetConstant{Val: retKill},
		bpf.LoadAbsolute{Off: offNr, Size: 4},
	}
	if a.x32 {
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: x32Bit, SkipFalse: 1},
			bpf.RetConstant{Val: retENOSYS})
	}
	// The search wants the calls in order of number: each goes in its
	// slot of a table as long as the architecture's.
	slots := make([]*entry, len(a.names))
	put := func(e entry) { slots[e.nr] = &e }
	for _, n := range names {
		put(entry{nr: number(a, n)})
	}
	if !slices.Contains(names, "clone3") {
		put(entry{number(a, "clone3"), []bpf.Instruction{bpf.RetConstant{Val: retENOSYS}}})
	}
	for _, c := range argCalls(a, pid) {
		if slices.Contains(names, c.Name) {
			continue // allowed outright by Allow
		}
		block, err := argBlock(c.Any, deflt)
		if err != nil {
			return nil, fmt.Errorf("sandbox: the filter for %s: %w", c.Name, err)
		}
		e := entry{number(a, c.Name), block}
		if c.Name != "ioctl" {
			put(e)
			continue
		}
		first, err := dispatch([]entry{e}, deflt)
		if err != nil {
			return nil, err
		}
		// Not found: on to the search (past the leaf's return).
		p = append(p, first[:len(first)-1]...)
	}
	var entries []entry
	for _, e := range slots {
		if e != nil {
			entries = append(entries, *e)
		}
	}
	search, err := dispatch(entries, deflt)
	if err != nil {
		return nil, err
	}
	return &Filter{Program: append(p, search...), arch: a}, nil
}

// entry is a system call the search on the number finds, and what
// decides it once found: instructions ending in a return, or nil for a
// call allowed outright.
type entry struct {
	nr   uint32
	then []bpf.Instruction
}

// number is the number of system call name on a. Every name reaching it
// is in a's table: the package's own (TestCallsKnown checks), and
// Allow's, which newFilter checked.
func number(a *arch, name string) uint32 {
	nr, _ := a.number(name)
	return uint32(nr)
}

// leafCalls is how many calls the search tests one by one, at most.
const leafCalls = 4

// dispatch is a binary search of the loaded number over entries, sorted
// by number; a number none of them has gets deflt. Jumps go forward
// only: a split tests the middle number, falls through to the lower half
// and jumps over it to the upper half.
func dispatch(entries []entry, deflt uint32) ([]bpf.Instruction, error) {
	if len(entries) <= leafCalls {
		// Calls allowed outright jump to one return at the leaf's end,
		// after the others' blocks and the default.
		allowed := 0
		for _, e := range entries {
			if e.then == nil {
				allowed++
			}
		}
		var p, rest []bpf.Instruction
		for _, e := range entries {
			if e.then == nil {
				continue
			}
			if len(e.then) > 255 {
				return nil, fmt.Errorf("sandbox: the filter for call %d is %d instructions, more than a jump spans", e.nr, len(e.then))
			}
			rest = append(rest, bpf.JumpIf{Cond: bpf.JumpEqual, Val: e.nr, SkipFalse: uint8(len(e.then))})
			rest = append(rest, e.then...)
		}
		rest = append(rest, bpf.RetConstant{Val: deflt})
		for _, e := range entries {
			if e.then != nil {
				continue
			}
			skip := allowed - len(p) - 1 + len(rest)
			if skip > 255 {
				return nil, fmt.Errorf("sandbox: a leaf of the search spans %d instructions, more than a jump does", skip)
			}
			p = append(p, bpf.JumpIf{Cond: bpf.JumpEqual, Val: e.nr, SkipTrue: uint8(skip)})
		}
		p = append(p, rest...)
		if allowed > 0 {
			p = append(p, bpf.RetConstant{Val: retAllow})
		}
		return p, nil
	}
	mid := len(entries) / 2
	lower, err := dispatch(entries[:mid], deflt)
	if err != nil {
		return nil, err
	}
	upper, err := dispatch(entries[mid:], deflt)
	if err != nil {
		return nil, err
	}
	var p []bpf.Instruction
	if len(lower) <= 255 {
		p = append(p, bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: entries[mid].nr, SkipTrue: uint8(len(lower))})
	} else {
		// Too far for a conditional jump: through an unconditional one.
		p = append(p,
			bpf.JumpIf{Cond: bpf.JumpGreaterOrEqual, Val: entries[mid].nr, SkipFalse: 1},
			bpf.Jump{Skip: uint32(len(lower))})
	}
	return append(append(p, lower...), upper...), nil
}

// argBlock is the program for a call with argument filters, once its
// number matched: each set of conditions in turn allows if all of them
// hold; if none does, the block returns deflt.
func argBlock(sets [][]cond, deflt uint32) ([]bpf.Instruction, error) {
	var block []bpf.Instruction
	for _, set := range sets {
		// fails are the jumps (index, and whether on true) out of this set
		// when a condition fails: to the next set, right after its last
		// instruction.
		set0 := len(block)
		var fails []int
		var failOnTrue []bool
		load := func(hi bool, arg int) {
			off := uint32(offArgs + 8*arg) // the low half: both arches are little-endian
			if hi {
				off += 4
			}
			block = append(block, bpf.LoadAbsolute{Off: off, Size: 4})
		}
		fail := func(j bpf.JumpIf, onTrue bool) {
			fails, failOnTrue = append(fails, len(block)), append(failOnTrue, onTrue)
			block = append(block, j)
		}
		for _, c := range set {
			hi, lo := uint32(c.val>>32), uint32(c.val)
			switch c.op {
			case equal:
				load(true, c.arg)
				fail(bpf.JumpIf{Cond: bpf.JumpEqual, Val: hi}, false)
				load(false, c.arg)
				fail(bpf.JumpIf{Cond: bpf.JumpEqual, Val: lo}, false)
			case noBitSet:
				// A half of val that is zero tests nothing: left out.
				if hi != 0 {
					load(true, c.arg)
					fail(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: hi}, true)
				}
				if lo != 0 {
					load(false, c.arg)
					fail(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: lo}, true)
				}
			case anyBitSet:
				switch {
				case hi != 0 && lo != 0:
					// A bit in the high half passes at once, over the low test.
					load(true, c.arg)
					block = append(block, bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: hi, SkipTrue: 2})
					load(false, c.arg)
					fail(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: lo}, false)
				case hi != 0:
					load(true, c.arg)
					fail(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: hi}, false)
				default:
					load(false, c.arg)
					fail(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: lo}, false)
				}
			default:
				return nil, fmt.Errorf("unknown condition %d", c.op)
			}
		}
		block = append(block, bpf.RetConstant{Val: retAllow})
		for i, at := range fails {
			skip := len(block) - at - 1
			if skip > 255 {
				return nil, fmt.Errorf("a set of %d instructions, more than a jump spans", len(block)-set0)
			}
			j := block[at].(bpf.JumpIf)
			if failOnTrue[i] {
				j.SkipTrue = uint8(skip)
			} else {
				j.SkipFalse = uint8(skip)
			}
			block[at] = j
		}
	}
	return append(block, bpf.RetConstant{Val: deflt}), nil
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
	vm, err := bpf.NewVM(f.Program)
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
	for i, ins := range f.Program {
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
			if state == number && ins.Cond == bpf.JumpEqual && f.arch != nil {
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
	raw, err := bpf.Assemble(f.Program)
	if err != nil {
		return fmt.Errorf("sandbox: assembling the seccomp filter: %w", err)
	}
	prog := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		prog[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
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
