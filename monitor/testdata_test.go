package monitor_test

import (
	"bytes"
	"testing"

	"github.com/unimon/unimon/internal/microguest"
)

// The Examples' unikernels are files so that they need no internal
// package; they must stay the microguest catalogue's hello, and its exit
// 255 for ExampleVM_CoreFile. Regenerate with
//
//	go run ./internal/microguest/cmd/microguest hello -arch amd64 -o monitor/testdata/hello-amd64.hvt
//	go run ./internal/microguest/cmd/microguest hello -arch arm64 -o monitor/testdata/hello-arm64.hvt
//	go run ./internal/microguest/cmd/microguest exit -status 255 -arch amd64 -o monitor/testdata/abort-amd64.hvt
//	go run ./internal/microguest/cmd/microguest exit -status 255 -arch arm64 -o monitor/testdata/abort-arm64.hvt
func TestExampleUnikernelsAreCurrent(t *testing.T) {
	for _, c := range []microguest.Catalogue{microguest.X86_64, microguest.AArch64} {
		if b, err := testdata.ReadFile("testdata/abort-" + c.Arch + ".hvt"); err != nil || !bytes.Equal(b, c.Exit(255)) {
			t.Errorf("testdata/abort-%s.hvt is not microguest's exit 255 (%v): regenerate it", c.Arch, err)
		}
		b, err := testdata.ReadFile("testdata/hello-" + c.Arch + ".hvt")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, c.Hello()) {
			t.Errorf("testdata/hello-%s.hvt is not microguest's hello: regenerate it", c.Arch)
		}
	}
}
