// Package ocipack is `unimon pack`: it writes a unikernel as an OCI image
// (package ociimage). Users type `unimon pack`, which runs the builder
// binary (cmd/unimon-build --pack): the image code (archive/tar, digests,
// the image-spec types and the crypto behind them) is kept out of the
// monitor, which links and loads at every start only what running a
// unikernel needs.
package ocipack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/unimon/unimon/internal/clitext"
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

// usagef formats a mistake on pack's command line (failPack prints it),
// one line whatever was typed.
func usagef(format string, args ...any) error {
	return errors.New(clitext.OneLine(format, args...))
}

// packOptions is a parsed `unimon pack` command line.
type packOptions struct {
	out, name   string
	mem         uint64
	annotations map[string]string
	kernel      string
	guestArgs   []string
	help        bool
}

// parsePackArgs reads pack's options, each as -opt VALUE or -opt=VALUE
// (one or two dashes, as go's flag package spells them), then KERNEL and
// the guest's arguments after an optional "--".
func parsePackArgs(args []string) (packOptions, error) {
	o := packOptions{annotations: map[string]string{}}
	for len(args) > 0 {
		a := args[0]
		if a == "--" || !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		args = args[1:]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			o.help = true
			return o, nil
		}
		if name != "o" && name != "name" && name != "mem" && name != "annotation" {
			return o, usagef("pack: flag provided but not defined: %s", a)
		}
		if !hasValue {
			if len(args) == 0 {
				return o, usagef("pack: flag needs an argument: %s", a)
			}
			value, args = args[0], args[1:]
		}
		switch name {
		case "o":
			o.out = value
		case "name":
			o.name = value
		case "mem":
			n, err := strconv.ParseUint(value, 10, 64)
			if err != nil {
				return o, usagef("pack: --mem %s: want an even number of MiB from 2 to 4096", value)
			}
			o.mem = n
		case "annotation":
			k, v, ok := strings.Cut(value, "=")
			if !ok || k == "" {
				return o, usagef("pack: --annotation: want KEY=VALUE, got %q", value)
			}
			o.annotations[k] = v
		}
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return o, usagef("pack: missing KERNEL argument")
	}
	o.kernel, o.guestArgs = args[0], args[1:]
	if len(o.guestArgs) > 0 && o.guestArgs[0] == "--" {
		o.guestArgs = o.guestArgs[1:]
	}
	return o, nil
}

// Main is `unimon pack` with args (what follows "pack"); it returns the
// exit status: 0, or 1 with a one-line error (and a hint) on stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	o, err := parsePackArgs(args)
	if err != nil {
		return failPack(stderr, err)
	}
	if o.help {
		fmt.Fprint(stderr, packUsage)
		return 0
	}
	out, name, mem, ann := &o.out, &o.name, &o.mem, o.annotations
	kernel, guestArgs := o.kernel, o.guestArgs
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
	// Either architecture's unikernel: an image is built where it is
	// made and runs where its platform says.
	d, err := monitor.Describe(bytes.NewReader(image))
	if err != nil {
		return fail(stderr, fmt.Errorf("pack: %s: %w", kernel, err))
	}
	arch := d.Arch
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
	return clitext.Fail(stderr, err, "Try 'unimon pack -h' for the options.")
}

// fail reports err as one line, as the monitor does, with its hint for
// an ELF that is not a Solo5 unikernel.
func fail(stderr io.Writer, err error) int {
	return clitext.Fail(stderr, err, clitext.KernelHint(err))
}
