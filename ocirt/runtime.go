package ocirt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// HolderCommand is the hidden first argument with which the runtime
// re-executes itself as a container's holder process (see Holder).
const HolderCommand = "__unimon_holder"

// syncOK is what a holder writes on its sync pipe once it is ready to
// wait for start; anything else is its error message.
const syncOK = "ok"

// killTimeout bounds how long delete --force waits for a SIGKILLed holder.
const killTimeout = 10 * time.Second

// CreateOptions are the arguments of `create`.
type CreateOptions struct {
	ID      string
	Bundle  string
	PidFile string
	// ConsoleSocket receives the pty master when process.terminal is set.
	ConsoleSocket string
	// Stdin, Stdout and Stderr become the holder's (and so the guest
	// console's) stdio when there is no terminal.
	Stdin, Stdout, Stderr *os.File
}

// IsUnikernel loads the bundle and reports whether it is a unikernel
// (false means: hand it to runc). Bundle errors are errors.
func IsUnikernel(bundleDir string) (bool, error) {
	b, err := loadBundle(bundleDir)
	if err != nil {
		return false, err
	}
	if _, err := b.unikernel(); errors.Is(err, ErrNotUnikernel) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// Exists reports whether the runtime has a container id.
func (r *Runtime) Exists(id string) bool {
	_, err := os.Lstat(r.dir(id))
	return checkID(id) == nil && err == nil
}

// Create sets up a container's holder process, which waits for Start.
func (r *Runtime) Create(o CreateOptions) (err error) {
	if err := checkID(o.ID); err != nil {
		return err
	}
	b, err := loadBundle(o.Bundle)
	if err != nil {
		return err
	}
	p, err := b.unikernel()
	if err != nil {
		return err
	}
	if p.console && o.ConsoleSocket == "" {
		return fmt.Errorf("%w: process.terminal is set: a --console-socket is needed", ErrSpec)
	}
	if err := os.MkdirAll(r.Root, 0o711); err != nil {
		return err
	}
	dir := r.dir(o.ID)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExist, o.ID)
		}
		return err
	}
	rec := &record{ID: o.ID, Bundle: b.dir, Rootfs: b.rootfs, Created: time.Now().UTC(), Annotations: b.spec.Annotations}
	defer func() {
		if err != nil {
			r.destroy(rec)
		}
	}()
	if ns, ok := b.namespace(specs.NetworkNamespace); ok {
		rec.NetNS = ns.Path
	}
	if err := r.save(rec); err != nil {
		return err
	}
	if err := unix.Mkfifo(filepath.Join(dir, fifoFile), 0o600); err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}

	cmd, err := r.holderCmd(o, b)
	if err != nil {
		return err
	}
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer syncR.Close()
	cmd.ExtraFiles = []*os.File{syncW}
	var master *os.File
	if p.console {
		var slave *os.File
		master, slave, err = newPty()
		if err != nil {
			syncW.Close()
			return err
		}
		defer master.Close()
		defer slave.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
	}
	err = cmd.Start()
	syncW.Close()
	if err != nil {
		return fmt.Errorf("start holder: %w", err)
	}
	rec.Pid = cmd.Process.Pid
	// Whatever happens next, a holder that did not report ready is killed.
	defer func() {
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			rec.Pid = 0
		}
	}()
	msg, _ := io.ReadAll(io.LimitReader(syncR, 64<<10))
	if s := strings.TrimSpace(string(msg)); s != syncOK {
		if s == "" {
			s = "holder exited before it was ready"
		}
		return errors.New(s)
	}
	start, ok := procStartTime(rec.Pid)
	if !ok {
		return errors.New("holder exited before it was ready")
	}
	rec.StartTime = start
	if b.spec.Linux != nil {
		rec.Cgroups, err = joinCgroups(b.spec.Linux.CgroupsPath, rec.Pid)
		if err != nil {
			return err
		}
	}
	if master != nil {
		if err := sendConsole(o.ConsoleSocket, master); err != nil {
			return err
		}
	}
	if err := r.save(rec); err != nil {
		return err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, rec.Pid); err != nil {
			return err
		}
	}
	// The holder outlives us: the caller (containerd's shim, conmon) is
	// its subreaper and collects its exit status.
	return cmd.Process.Release()
}

// holderCmd is the holder process: this executable again, in the
// namespaces the bundle asks to create (those with a path are joined by
// the holder itself, on the thread that needs them).
func (r *Runtime) holderCmd(o CreateOptions, b *bundle) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, HolderCommand, r.Root, o.ID, b.dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	flags := map[specs.LinuxNamespaceType]uintptr{
		specs.NetworkNamespace: unix.CLONE_NEWNET,
		specs.UTSNamespace:     unix.CLONE_NEWUTS,
		specs.IPCNamespace:     unix.CLONE_NEWIPC,
	}
	for t, flag := range flags {
		if ns, ok := b.namespace(t); ok && ns.Path == "" {
			cmd.SysProcAttr.Cloneflags |= flag
		}
	}
	return cmd, nil
}

// writePidFile writes pid the way runc does: to a temporary file renamed
// into place, so a reader never sees a partial number.
func writePidFile(path string, pid int) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprint(pid)), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Start releases a created container's holder, which boots the guest.
func (r *Runtime) Start(id string) error {
	rec, err := r.load(id)
	if err != nil {
		return err
	}
	switch st := r.status(rec); st {
	case StatusCreated:
	case StatusStopped:
		return fmt.Errorf("%w: cannot start a container that has stopped", ErrState)
	case StatusRunning:
		return fmt.Errorf("%w: cannot start an already running container", ErrState)
	default:
		return fmt.Errorf("%w: cannot start a container in the %s state", ErrState, st)
	}
	fifo := filepath.Join(r.dir(id), fifoFile)
	// Non-blocking, so that a holder that died meanwhile cannot hang us;
	// the open still releases the holder's blocked open for writing.
	fd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	f := os.NewFile(uintptr(fd), fifo)
	defer f.Close()
	buf := make([]byte, 1)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			break
		}
		if err != nil && !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("exec fifo: %w", err)
		}
		if !alive(rec.Pid, rec.StartTime) {
			os.Remove(fifo)
			return fmt.Errorf("%w: the container's process exited before start", ErrState)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		unix.Poll(pfd, 100)
	}
	return os.Remove(fifo)
}

// Kill sends sig to the container's holder: SIGTERM and SIGINT stop the
// guest cleanly, SIGKILL ends it.
func (r *Runtime) Kill(id string, sig unix.Signal) error {
	rec, err := r.load(id)
	if err != nil {
		return err
	}
	if st := r.status(rec); st != StatusCreated && st != StatusRunning {
		return ErrNotRunning
	}
	if err := unix.Kill(rec.Pid, sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return err
	}
	return nil
}

// Delete removes a stopped or created container; force also kills a
// running one first.
func (r *Runtime) Delete(id string, force bool) error {
	rec, err := r.load(id)
	if err != nil {
		return err
	}
	st := r.status(rec)
	if st == StatusRunning && !force {
		return fmt.Errorf("%w: cannot delete container %s that is not stopped: %s", ErrState, id, st)
	}
	if st == StatusRunning || st == StatusCreated {
		if err := unix.Kill(rec.Pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
		if !waitGone(rec.Pid, rec.StartTime, killTimeout) {
			return fmt.Errorf("container %s: process %d did not exit after SIGKILL", id, rec.Pid)
		}
	}
	return r.destroy(rec)
}

// destroy removes what create and start left outside the holder: the
// tap and tc filters in a joined network namespace, cgroups, the state
// directory.
func (r *Runtime) destroy(rec *record) error {
	var errs []error
	if rec.NetNS != "" {
		if _, err := os.Stat(rec.NetNS); err == nil {
			errs = append(errs, inNetNS(rec.NetNS, unplugNet))
		}
	}
	errs = append(errs, removeCgroups(rec.Cgroups))
	errs = append(errs, os.RemoveAll(r.dir(rec.ID)))
	return errors.Join(errs...)
}

// Pids lists the container's processes: its holder while it exists.
func (r *Runtime) Pids(id string) ([]int, error) {
	rec, err := r.load(id)
	if err != nil {
		return nil, err
	}
	if st := r.status(rec); st == StatusCreated || st == StatusRunning {
		return []int{rec.Pid}, nil
	}
	return []int{}, nil
}
