package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/unimon/unimon/monitor"
	"github.com/unimon/unimon/ociimage"
)

const packUsage = `usage: unimon pack [-o FILE.tar] [--name REF] [--mem MiB] [--annotation K=V]... KERNEL [-- ARGS...]

Writes the unikernel KERNEL as an OCI image (an image-layout tar that also
carries Docker's manifest.json), loadable with 'ctr images import',
'podman load' and 'docker load', and run by unimon-runtime. ARGS are the
guest's default arguments (the image's command). --mem sets the annotation
org.unimon.memory; org.unimon.* annotations are also stored in the image's
environment, the part of an image every engine passes to the runtime.
`

// annotations collects repeated --annotation K=V flags.
type annotations map[string]string

func (a annotations) String() string { return fmt.Sprint(map[string]string(a)) }

func (a annotations) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	a[k] = v
	return nil
}

// runPack is `unimon pack`.
func runPack(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("unimon pack", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "output `FILE.tar` (default: KERNEL's name with .tar)")
	name := fs.String("name", "", "image `REF` (default: KERNEL's base name)")
	mem := fs.Uint64("mem", 0, "default guest memory in `MiB` (default: the runtime's, 512)")
	ann := annotations{}
	fs.Var(ann, "annotation", "`K=V` annotation of the image manifest (repeatable)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stderr, packUsage)
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return 0
		}
		return failPack(stderr, usagef("pack: %v", err))
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return failPack(stderr, usagef("pack: missing KERNEL argument"))
	}
	kernel, guestArgs := rest[0], rest[1:]
	if len(guestArgs) > 0 && guestArgs[0] == "--" {
		guestArgs = guestArgs[1:]
	}
	if *mem != 0 {
		if _, err := ociimage.MemoryBytes(fmt.Sprint(*mem)); err != nil {
			return failPack(stderr, usagef("pack: --mem %d: want an even number of MiB from 2 to 4096", *mem))
		}
	}
	for k, v := range ann {
		if strings.HasPrefix(k, ociimage.SettingPrefix) {
			if err := ociimage.CheckSetting(k, v); err != nil {
				return failPack(stderr, usagef("pack: --annotation: %v", err))
			}
		}
	}
	base := strings.TrimSuffix(filepath.Base(kernel), filepath.Ext(kernel))
	if *out == "" {
		*out = base + ".tar"
	}
	if *name == "" {
		*name = strings.ToLower(base)
	}

	image, err := os.ReadFile(kernel)
	if err != nil {
		return fail(stderr, fmt.Errorf("pack: cannot read unikernel: %w", err))
	}
	if _, _, err := monitor.Inspect(bytes.NewReader(image)); err != nil {
		return fail(stderr, fmt.Errorf("pack: %s: %w", kernel, err))
	}
	arch, err := elfArch(image)
	if err != nil {
		return fail(stderr, fmt.Errorf("pack: %s: %w", kernel, err))
	}
	if *mem != 0 {
		ann[ociimage.SettingMemory] = fmt.Sprint(*mem)
	}
	if len(ann) == 0 {
		ann = nil
	}
	img := ociimage.Image{Kernel: image, Arch: arch, Name: *name, Args: guestArgs, Annotations: ann}

	f, err := os.Create(*out)
	if err != nil {
		return fail(stderr, fmt.Errorf("pack: %w", err))
	}
	if err := ociimage.Write(f, img); err != nil {
		f.Close()
		os.Remove(*out)
		return fail(stderr, fmt.Errorf("pack: %w", err))
	}
	if err := f.Close(); err != nil {
		os.Remove(*out)
		return fail(stderr, fmt.Errorf("pack: %w", err))
	}
	ref, _ := ociimage.NormalizeName(*name)
	fmt.Fprintf(stdout, "%s: %s\n", *out, ref)
	return 0
}

// failPack reports a pack usage mistake with pack's own hint.
func failPack(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "unimon: %v\nTry 'unimon pack -h' for the options.\n", err)
	return 1
}

// elfArch is the image platform of a unikernel ELF the monitor accepted.
func elfArch(image []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return "", err
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("ELF machine %v has no OCI platform here", f.Machine)
}
