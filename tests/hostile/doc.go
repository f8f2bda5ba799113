// Package hostile runs the hostile-guest suite (microguest.HostileSuite)
// in one process, and the load suites: many VMs in a row, many at once,
// many cancellations. Each hostile guest must end its own VM with a
// guest fault (exit status 1) and a one-line message, or with its own
// status where the ABI allows what it did, or be refused before it runs;
// and the process must stay healthy: no leaked fds, threads or
// goroutines, and a well-behaved guest still runs at the end.
package hostile
