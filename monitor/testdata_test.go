package monitor_test

import (
	"bytes"
	"testing"

	"github.com/unimon/unimon/internal/microguest"
)

// The Example's unikernels are files so that it needs no internal
// package; they must stay the microguest catalogue's hello. Regenerate
// with
//
//	go run ./internal/microguest/cmd/microguest hello -arch amd64 -o monitor/testdata/hello-amd64.hvt
//	go run ./internal/microguest/cmd/microguest hello -arch arm64 -o monitor/testdata/hello-arm64.hvt
func TestExampleUnikernelsAreCurrent(t *testing.T) {
	for _, c := range []microguest.Catalogue{microguest.X86_64, microguest.AArch64} {
		b, err := testdata.ReadFile("testdata/hello-" + c.Arch + ".hvt")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, c.Hello()) {
			t.Errorf("testdata/hello-%s.hvt is not microguest's hello: regenerate it", c.Arch)
		}
	}
}
