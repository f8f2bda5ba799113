//go:build linux && amd64

package goguests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/unimon/unimon/internal/gobuild"
	"github.com/unimon/unimon/internal/kvmtest"
)

// A program using crypto/rsa, crypto/tls and net/http (whose math/big
// and bigmod assembly has ADCX/ADOX, BMI2 and AVX code) builds with
// unimon build and runs: RSA key generation, signatures, a certificate,
// a TLS 1.3 handshake and an HTTP request over an in-memory connection.
func TestCryptoGuest(t *testing.T) {
	kvmtest.Require(t)
	kernel := filepath.Join(t.TempDir(), "cryptoguest.hvt")
	var log bytes.Buffer
	res, err := gobuild.Build(context.Background(), gobuild.Options{
		Package: "./tests/goguests/cryptoguest", Output: kernel, Dir: "../..", Stderr: &log,
	})
	if err != nil {
		t.Fatalf("unimon build: %v\n%s", err, log.String())
	}
	t.Logf("%d system calls patched", len(res.Syscalls))
	r := runKernel(t, kernel, 256<<20)
	r.want(t, 0,
		fmt.Sprintf(`(?m)^sha256: %x$`, sha256.Sum256([]byte("unimon"))),
		`(?m)^rsa: 2048-bit key, PKCS#1 v1\.5 and PSS signatures verified$`,
		`(?m)^tls: TLS 1\.3, TLS_[A-Z0-9_]+$`,
		`(?m)^http: 200 OK "hello over TLS 1\.3"$`)
	if testing.Verbose() {
		t.Logf("console:\n%s", r.console)
	}
}
