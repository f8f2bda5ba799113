package ocirt

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The errors the callers recognise by their text: containerd's runc shim
// matches "does not exist" and "container not running", as runc prints them.
var (
	// ErrNotExist: no container has the ID.
	ErrNotExist = errors.New("container does not exist")
	// ErrExist: create with an ID in use.
	ErrExist = errors.New("container with given ID already exists")
	// ErrNotRunning: kill of a container that is stopped.
	ErrNotRunning = errors.New("container not running")
	// ErrState: an operation the container's current state does not allow.
	ErrState = errors.New("invalid container state")
	// ErrSpec: a bundle whose configuration the runtime cannot honour.
	ErrSpec = errors.New("invalid bundle configuration")
)

// OCI runtime-spec statuses.
const (
	StatusCreating = specs.StateCreating
	StatusCreated  = specs.StateCreated
	StatusRunning  = specs.StateRunning
	StatusStopped  = specs.StateStopped
)

// File names inside a container's state directory.
const (
	stateFile = "state.json"
	fifoFile  = "exec.fifo"
)

// record is what the state directory keeps about a container.
type record struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Pid         int               `json:"pid"`
	StartTime   uint64            `json:"startTime"` // /proc/PID/stat field 22: guards against PID reuse
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// NetNS is the network namespace path the holder joined, if the bundle
	// named one: delete enters it to remove what start added there.
	NetNS string `json:"netns,omitempty"`
	// Cgroups are the cgroup directories create made, deepest first.
	Cgroups []string `json:"cgroups,omitempty"`
}

// State is the runc-compatible `state` output: the OCI state plus the
// fields runc adds.
type State struct {
	specs.State
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
}

// Runtime holds the root directory of the containers' state.
type Runtime struct {
	// Root holds one directory per container.
	Root string
}

// checkID refuses IDs that would escape the root directory.
func checkID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") || len(id) > 1024 {
		return fmt.Errorf("invalid container ID %q", id)
	}
	return nil
}

func (r *Runtime) dir(id string) string { return filepath.Join(r.Root, id) }

// load reads the record of container id.
func (r *Runtime) load(id string) (*record, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(r.dir(id), stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotExist
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("container %s: state file: %w", id, err)
	}
	return &rec, nil
}

// save writes rec atomically, so a concurrent state never reads half a file.
func (r *Runtime) save(rec *record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	tmp := filepath.Join(r.dir(rec.ID), stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.dir(rec.ID), stateFile))
}

// status derives the container's status from its holder process and its
// exec FIFO, as runc does: the FIFO exists until start consumes it.
func (r *Runtime) status(rec *record) specs.ContainerState {
	if rec.Pid == 0 {
		return StatusCreating
	}
	if !alive(rec.Pid, rec.StartTime) {
		return StatusStopped
	}
	if _, err := os.Stat(filepath.Join(r.dir(rec.ID), fifoFile)); err == nil {
		return StatusCreated
	}
	return StatusRunning
}

// State returns the OCI state of container id.
func (r *Runtime) State(id string) (*State, error) {
	rec, err := r.load(id)
	if err != nil {
		return nil, err
	}
	st := r.status(rec)
	pid := rec.Pid
	if st == StatusStopped {
		pid = 0
	}
	return &State{
		State: specs.State{
			Version: specs.Version, ID: rec.ID, Status: st, Pid: pid,
			Bundle: rec.Bundle, Annotations: rec.Annotations,
		},
		Rootfs:  rec.Rootfs,
		Created: rec.Created,
	}, nil
}

// procStartTime is field 22 of /proc/PID/stat, or 0 with ok false when
// the process is gone or a zombie (a zombie's guest has stopped).
func procStartTime(pid int) (start uint64, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, err == nil
}

// alive reports whether pid is still the process that started at start.
func alive(pid int, start uint64) bool {
	s, ok := procStartTime(pid)
	return ok && s == start
}

// waitGone waits until pid has exited (a zombie counts: its reaper is
// the caller's shim, not us), at most timeout.
func waitGone(pid int, start uint64, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == nil {
		defer unix.Close(fd)
		if !alive(pid, start) {
			return true
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		deadline := time.Now().Add(timeout)
		for {
			left := time.Until(deadline)
			if left <= 0 {
				return !alive(pid, start)
			}
			n, err := unix.Poll(fds, int(left.Milliseconds())+1)
			if err == unix.EINTR {
				continue
			}
			return n > 0 || !alive(pid, start)
		}
	}
	return !alive(pid, start)
}
