package gobuild

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// Main is `unimon build [-o FILE] [-manifest FILE.json] [--arch GOARCH]
// [--net NAME]... [--block NAME]... [--files DIR] [go build flags]
// [PACKAGE]`; it returns the process exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("unimon build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts Options
	var nets, blocks listFlag
	fs.StringVar(&opts.Output, "o", "", "write the unikernel to `FILE` (default: the package name + .hvt)")
	fs.StringVar(&opts.Manifest, "manifest", "", "Solo5 manifest `FILE.json` declaring the devices")
	fs.Var(&nets, "net", "declare a NET_BASIC device `NAME` (repeatable)")
	fs.Var(&blocks, "block", "declare a BLOCK_BASIC device `NAME` (repeatable)")
	fs.StringVar(&opts.Files, "files", "", "pack directory `DIR` into the image as the program's read-only file tree at /")
	verbose := fs.Bool("v", false, "report the number of patched system calls")
	fs.StringVar(&opts.Arch, "arch", "", "the unikernel's `GOARCH`: "+strings.Join(Archs(), " or ")+" (default: $GOARCH, else this machine's)")
	// go build's own flags a program's build may need, passed on as the
	// user wrote them (-tags and -ldflags add to the guest's: mergeFlags).
	goFlags := map[string]*string{}
	for _, name := range []string{"tags", "ldflags", "gcflags", "asmflags", "mod"} {
		goFlags[name] = fs.String(name, "", "as go build's -"+name)
	}
	trimpath := fs.Bool("trimpath", false, "as go build's -trimpath")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: unimon build [-o FILE] [-manifest FILE.json] [--arch GOARCH] [--net NAME]... [--block NAME]... [--files DIR]\n"+
			"                    [-tags LIST] [-ldflags FLAGS] [-gcflags FLAGS] [-asmflags FLAGS] [-mod MODE] [-trimpath] [PACKAGE]\n\n"+
			"Builds a Go main package that imports %s into a Solo5 hvt unikernel\n"+
			"with the standard toolchain (GOOS=linux CGO_ENABLED=0, GOARCH amd64 or arm64).\n\n", BindingsPath)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "unimon build: one package at a time, got %q\n", fs.Args())
		return 2
	}
	opts.Package = fs.Arg(0)
	fs.Visit(func(f *flag.Flag) {
		if v, ok := goFlags[f.Name]; ok {
			opts.BuildFlags = append(opts.BuildFlags, "-"+f.Name+"="+*v)
		}
	})
	if *trimpath {
		opts.BuildFlags = append(opts.BuildFlags, "-trimpath")
	}
	opts.Net, opts.Block = nets, blocks
	opts.Stdout, opts.Stderr = stderr, stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := Build(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "unimon build: %v\n", err)
		return 1
	}
	if *verbose {
		fmt.Fprintf(stdout, "unimon build: %d system calls patched, image ends at %#x\n", len(res.Syscalls), res.ImageEnd)
	}
	return 0
}
