// Package gdb holds the end-to-end tests of unimon's debugging support
// (issue 13) with Debian's real gdb in batch mode: live sessions through
// the gdb stub (monitor.Config.GDB, unimon --gdb) and post-mortem core
// files (monitor.Config.DumpCore, unimon --dumpcore), on the C guest of
// internal/microguest (built with gcc, symbols and DWARF) and on the Go
// unikernel in ./guest (built with unimon build).
package gdb
