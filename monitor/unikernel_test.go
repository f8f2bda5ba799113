package monitor_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/monitor"
)

// One Unikernel, opened and checked once, boots several VMs at once, each
// with its own command line, and stays as it was (New attaches devices
// to a copy of the manifest). Its file stays open until Close.
func TestUnikernelBootsManyVMs(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "hello.hvt")
	if err := os.WriteFile(path, guests.Hello(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, open := range []struct {
		name string
		open func() (*monitor.Unikernel, error)
	}{
		{"file", func() (*monitor.Unikernel, error) { return monitor.OpenUnikernel(path) }},
		{"image", func() (*monitor.Unikernel, error) { return monitor.NewUnikernel(guests.Hello()) }},
	} {
		t.Run(open.name, func(t *testing.T) {
			u, err := open.open()
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			before := u.Manifest()
			var wg sync.WaitGroup
			outs := make([]bytes.Buffer, 4)
			errs := make([]error, len(outs))
			for i := range outs {
				wg.Go(func() {
					vm, err := monitor.New(monitor.Config{Unikernel: u, Memory: smallMem, Args: []string{string(rune('a' + i))}, Console: &outs[i]})
					if err != nil {
						errs[i] = err
						return
					}
					defer vm.Close()
					_, errs[i] = vm.Run(context.Background())
				})
			}
			wg.Wait()
			for i := range outs {
				if want := microguest.HelloText + string(rune('a'+i)) + "\n"; errs[i] != nil || outs[i].String() != want {
					t.Errorf("VM %d: err %v, console %q, want %q", i, errs[i], outs[i].String(), want)
				}
			}
			if after := u.Manifest(); len(after.Entries) != len(before.Entries) || after.Entries[0] != before.Entries[0] {
				t.Errorf("manifest changed by New: %+v, was %+v", after, before)
			}
		})
	}
}

// A file that is not a unikernel is refused by OpenUnikernel, naming it.
func TestOpenUnikernelRejects(t *testing.T) {
	noLeaks(t)
	path := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Dir(path)} {
		if u, err := monitor.OpenUnikernel(p); err == nil {
			u.Close()
			t.Errorf("OpenUnikernel(%s) accepted it", p)
		} else if !bytes.Contains([]byte(err.Error()), []byte(p)) {
			t.Errorf("OpenUnikernel(%s): %v does not name the file", p, err)
		}
	}
}

// A guest runs the same with its memory on huge pages.
func TestHugePagesBoot(t *testing.T) {
	kvmtest.Require(t)
	noLeaks(t)
	r := boot(t, context.Background(), guests.Hello(), monitor.Config{HugePages: true, Args: []string{"huge"}})
	if want := microguest.HelloText + "huge\n"; r.err != nil || r.status != 0 || string(r.out) != want {
		t.Errorf("status %d, err %v, console %q, want %q", r.status, r.err, r.out, want)
	}
}
