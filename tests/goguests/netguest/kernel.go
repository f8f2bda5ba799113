package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"syscall"
	"unsafe"
)

// kernelObjects moves data through each kind of file descriptor the
// bindings' kernel serves, the way programs do: a file in /tmp, a pipe
// and a TCP socket over loopback (the last two through the Go runtime's
// netpoller, so epoll), then an eventfd and a raw pipe watched by one
// epoll instance of its own. It prints one line per kind.
func kernelObjects() error {
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i*13 + i>>9)
	}

	f, err := os.CreateTemp("", "kernel-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data[:64<<10]); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	back, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return err
	}
	fmt.Printf("kernel: file %d bytes, equal %v\n", len(back), bytes.Equal(back, data[:64<<10]))

	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	go func() {
		w.Write(data)
		w.Close()
	}()
	back, err = io.ReadAll(r)
	r.Close()
	if err != nil {
		return err
	}
	fmt.Printf("kernel: pipe %d bytes, equal %v\n", len(back), bytes.Equal(back, data))

	back, err = tcpEcho("127.0.0.1:0", data[:256<<10])
	if err != nil {
		return err
	}
	fmt.Printf("kernel: socket %d bytes, equal %v\n", len(back), bytes.Equal(back, data[:256<<10]))
	return epollEventfd()
}

// epollEventfd waits with epoll_wait for an eventfd and a pipe that both
// have something to read.
func epollEventfd() error {
	const efdNonblock, efdCloexec = 0x800, 0x80000
	efd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, efdNonblock|efdCloexec, 0)
	if e != 0 {
		return fmt.Errorf("eventfd2: %w", e)
	}
	defer syscall.Close(int(efd))
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		return fmt.Errorf("pipe2: %w", err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return fmt.Errorf("epoll_create1: %w", err)
	}
	defer syscall.Close(ep)
	for _, fd := range []int{int(efd), p[0]} {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	add := uint64(3)
	if _, err := syscall.Write(int(efd), (*[8]byte)(unsafe.Pointer(&add))[:]); err != nil {
		return fmt.Errorf("eventfd write: %w", err)
	}
	if _, err := syscall.Write(p[1], []byte("x")); err != nil {
		return fmt.Errorf("pipe write: %w", err)
	}
	evs := make([]syscall.EpollEvent, 4)
	n, err := syscall.EpollWait(ep, evs, 10000)
	if err != nil {
		return fmt.Errorf("epoll_wait: %w", err)
	}
	ready := map[int32]bool{}
	for _, ev := range evs[:n] {
		ready[ev.Fd] = ev.Events&syscall.EPOLLIN != 0
	}
	var count uint64
	if _, err := syscall.Read(int(efd), (*[8]byte)(unsafe.Pointer(&count))[:]); err != nil {
		return fmt.Errorf("eventfd read: %w", err)
	}
	b := make([]byte, 4)
	k, err := syscall.Read(p[0], b)
	if err != nil {
		return fmt.Errorf("pipe read: %w", err)
	}
	fmt.Printf("kernel: epoll %d events, eventfd ready %v count %d, pipe ready %v %q\n",
		n, ready[int32(efd)], count, ready[int32(p[0])], b[:k])
	return nil
}
