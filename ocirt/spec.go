package ocirt

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/unimon/unimon/guestabi"
	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/monitor/guestmem"
	"github.com/unimon/unimon/ociimage"
)

// ErrNotUnikernel: process.args[0] is not a Solo5 unikernel; the
// container goes to runc.
var ErrNotUnikernel = errors.New("not a unikernel")

// bundle is a parsed bundle directory.
type bundle struct {
	dir    string
	spec   *specs.Spec
	rootfs string
}

// loadBundle reads dir/config.json.
func loadBundle(dir string) (*bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(abs, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: config.json: %w", ErrSpec, err)
	}
	if s.Root == nil || s.Root.Path == "" {
		return nil, fmt.Errorf("%w: root.path is missing", ErrSpec)
	}
	if s.Process == nil || len(s.Process.Args) == 0 {
		return nil, fmt.Errorf("%w: process.args is empty", ErrSpec)
	}
	root := s.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(abs, root)
	}
	return &bundle{dir: abs, spec: &s, rootfs: root}, nil
}

// openInRoot opens name inside the root filesystem, resolving symlinks and
// ".." as if rootfs were "/" (the image is untrusted; it must not make the
// runtime read host files).
func (b *bundle) openInRoot(name string, flags int) (*os.File, error) {
	root, err := unix.Open(b.rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: rootfs %s: %w", ErrSpec, b.rootfs, err)
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, strings.TrimLeft(name, "/"), &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: filepath.Join(b.rootfs, name), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(b.rootfs, name)), nil
}

// plan is how the holder runs a unikernel bundle.
type plan struct {
	kernel   []byte
	args     []string // the guest's arguments (process.args[1:])
	memory   uint64
	manifest *guestabi.Manifest
	netArgs  string
	block    map[string]string // manifest name -> path in rootfs
	console  bool              // process.terminal
}

// unikernel decides whether the bundle is a unikernel and, if so, what
// the holder needs: ErrNotUnikernel when process.args[0] is missing from
// the root filesystem or is not a Solo5 ELF for this machine.
func (b *bundle) unikernel() (*plan, error) {
	f, err := b.openInRoot(b.spec.Process.Args[0], unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotUnikernel, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotUnikernel, f.Name())
	}
	_, m, err := monitor.Inspect(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotUnikernel, err)
	}
	// Read through the descriptor the safe lookup opened: the path, on
	// the host, could name something else by now.
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	kernel, err := io.ReadAll(io.NewSectionReader(f, 0, fi.Size()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name(), err)
	}
	p := &plan{kernel: kernel, args: slices.Clone(b.spec.Process.Args[1:]), manifest: m, block: map[string]string{},
		console: b.spec.Process.Terminal}
	req, err := monitor.FeatureRequest(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	p.netArgs = ociimage.NetArgsMirage
	if req&guestabi.RequestIRQChip != 0 {
		p.netArgs = ociimage.NetArgsGo
	}
	settings, err := b.settings()
	if err != nil {
		return nil, err
	}
	for k, v := range settings {
		if err := ociimage.CheckSetting(k, v); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSpec, err)
		}
		switch {
		case k == ociimage.SettingNetArgs:
			p.netArgs = v
		case strings.HasPrefix(k, ociimage.SettingBlockPrefix):
			name := strings.TrimPrefix(k, ociimage.SettingBlockPrefix)
			if h := m.Lookup(name); h < 0 || m.Entries[h].Type != guestabi.DeviceBlockBasic {
				return nil, fmt.Errorf("%w: annotation %s: the unikernel declares no block device %q", ErrSpec, k, name)
			}
			p.block[name] = v
		}
	}
	if p.memory, err = b.memory(settings); err != nil {
		return nil, err
	}
	return p, nil
}

// settings are the org.unimon.* values of the process environment (where
// images carry them), overridden by the container's annotations.
func (b *bundle) settings() (map[string]string, error) {
	out := map[string]string{}
	for _, e := range b.spec.Process.Env {
		if k, v, ok := strings.Cut(e, "="); ok && strings.HasPrefix(k, ociimage.SettingPrefix) {
			out[k] = v
		}
	}
	for k, v := range b.spec.Annotations {
		if strings.HasPrefix(k, ociimage.SettingPrefix) {
			out[k] = v
		}
	}
	return out, nil
}

// memory is the guest memory: linux.resources.memory.limit rounded down
// to 2 MiB, else the org.unimon.memory setting, else the monitor default.
func (b *bundle) memory(settings map[string]string) (uint64, error) {
	if l := b.spec.Linux; l != nil && l.Resources != nil && l.Resources.Memory != nil && l.Resources.Memory.Limit != nil && *l.Resources.Memory.Limit > 0 {
		limit := uint64(*l.Resources.Memory.Limit)
		size, _, err := guestmem.SizeFromMiB(limit >> 20)
		if err != nil {
			return 0, fmt.Errorf("%w: linux.resources.memory.limit %d: %w", ErrSpec, limit, err)
		}
		return size, nil
	}
	v, ok := settings[ociimage.SettingMemory]
	if !ok {
		return 0, nil
	}
	size, err := ociimage.MemoryBytes(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return size, nil
}

// namespace returns the bundle's namespace of type t, if it asks for one.
func (b *bundle) namespace(t specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	if b.spec.Linux == nil {
		return specs.LinuxNamespace{}, false
	}
	for _, ns := range b.spec.Linux.Namespaces {
		if ns.Type == t {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}
