//go:build linux && amd64

package oci

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/unimon/unimon/internal/kvmtest"
	"github.com/unimon/unimon/internal/microguest"
	"github.com/unimon/unimon/internal/netnstest"
	"github.com/unimon/unimon/internal/ocitest"
)

// benchRuns bounds the containers a benchmark starts whatever b.N is.
const benchRuns = 10

// BenchmarkCtrRunFirstLine: from `ctr run` to the container's first
// console line, for a micro-guest and a Go unikernel on unimon-runtime,
// and for a static Linux program run by runc directly and through
// unimon-runtime (which hands it to runc), all on one private containerd
// in the same run. The ratios to runc are what to compare across
// machines.
func BenchmarkCtrRunFirstLine(b *testing.B) {
	kvmtest.Require(b)
	ocitest.Need(b, "containerd", "ctr", "runc", "nsenter")
	rt := ocitest.Build(b, "./cmd/unimon-runtime")
	cd := ocitest.StartContainerd(b, netnstest.New(b))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	linux := linuxBinary(b)
	images := []struct {
		metric string
		file   []byte
		runc   bool // run by plain runc, not unimon-runtime
	}{
		{"micro-ms", microguest.Hello(), false},
		{"go-ms", unikernel(b, "./tests/goguests/guest"), false},
		{"linux-runc-ms", linux, true},
		{"linux-via-unimon-ms", linux, false},
	}
	args := map[bool][]string{true: nil, false: {"--runc-binary", rt}}
	results := map[string]float64{}
	for i, img := range images {
		ref := fmt.Sprintf("docker.io/unimon-bench/i%d:latest", i)
		if out, err := cd.Ctr(ctx, "images", "import", ocitest.Image(b, img.file, ref, "hello")); err != nil {
			b.Fatalf("import: %v\n%s", err, out)
		}
		// One unmeasured run unpacks the snapshot and warms the caches.
		runs := min(b.N, benchRuns)
		var total time.Duration
		for n := 0; n <= runs; n++ {
			cmd := exec.CommandContext(ctx, "ctr", append(append([]string{"-a", cd.Socket, "-n", cd.Namespace, "run", "--rm"},
				args[img.runc]...), ref, fmt.Sprintf("b%d-%d", i, n))...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			r := bufio.NewReader(out)
			if _, err := r.ReadString('\n'); err != nil {
				b.Fatalf("%s: no console line: %v", img.metric, err)
			}
			if n > 0 {
				total += time.Since(start)
			}
			r.WriteTo(discard{})
			cmd.Wait()
		}
		results[img.metric] = float64(total.Microseconds()) / float64(runs) / 1000
		b.ReportMetric(results[img.metric], img.metric)
	}
	b.ReportMetric(results["micro-ms"]/results["linux-runc-ms"], "micro/runc")
	b.ReportMetric(results["go-ms"]/results["linux-runc-ms"], "go/runc")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
