package main

import (
	"fmt"
	"syscall"
	"unsafe"
)

// ill runs UD2 outside a system call site: SIGILL.
func ill() { run([]byte{0x0f, 0x0b}) }

// privileged runs HLT in user mode: #GP, SIGSEGV with si_code SI_KERNEL.
func privileged() { run([]byte{0xf4}) }

// run calls machine code (a func value points at a word holding the
// code's address).
func run(code []byte) {
	mem, err := syscall.Mmap(-1, 0, 4096, syscall.PROT_READ|syscall.PROT_WRITE|syscall.PROT_EXEC, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		fmt.Println("mmap:", err)
		return
	}
	copy(mem, code)
	addr := uintptr(unsafe.Pointer(&mem[0]))
	closure := &addr
	f := *(*func())(unsafe.Pointer(&closure))
	f()
}

// idISAR0 is arm64's: the cpu mode runs on arm64 only.
func idISAR0() uint64 { return 0 }
