//go:build linux && amd64

// Command cryptoguest is the Go unikernel that shows programs using
// crypto/rsa, crypto/tls and net/http build and run (issue 8): their
// math/big and bigmod assembly carries ADCX/ADOX, BMI2 and AVX code that
// unimon build must decode. It generates an RSA key, signs and verifies,
// makes itself a certificate, and serves one HTTPS request over an
// in-memory connection, printing a line per step.
package main

import (
	"bufio"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/cpu"

	_ "github.com/unimon/unimon/bindings"
)

func main() {
	fmt.Printf("cpu: adx=%v bmi2=%v avx2=%v avx512f=%v\n", cpu.X86.HasADX, cpu.X86.HasBMI2, cpu.X86.HasAVX2, cpu.X86.HasAVX512F)
	sum := sha256.Sum256([]byte("unimon"))
	fmt.Printf("sha256: %x\n", sum)

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	check("rsa.GenerateKey", err)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	check("rsa.SignPKCS1v15", err)
	check("rsa.VerifyPKCS1v15", rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig))
	pss, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], nil)
	check("rsa.SignPSS", err)
	check("rsa.VerifyPSS", rsa.VerifyPSS(&key.PublicKey, crypto.SHA256, sum[:], pss, nil))
	sum[0] ^= 1
	if rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig) == nil {
		fail("rsa: a signature verified for the wrong digest")
	}
	fmt.Printf("rsa: %d-bit key, PKCS#1 v1.5 and PSS signatures verified\n", key.N.BitLen())

	cert := selfSigned(key)
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	clientConn, serverConn := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- serve(tls.Server(serverConn, &tls.Config{Certificates: []tls.Certificate{cert}})) }()

	c := tls.Client(clientConn, &tls.Config{RootCAs: pool, ServerName: "unimon.test"})
	req, err := http.NewRequest("GET", "https://unimon.test/hello", nil)
	check("http.NewRequest", err)
	check("request", req.Write(c))
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	check("http.ReadResponse", err)
	body, err := io.ReadAll(resp.Body)
	check("reading the body", err)
	state := c.ConnectionState()
	fmt.Printf("tls: %s, %s\n", tls.VersionName(state.Version), tls.CipherSuiteName(state.CipherSuite))
	fmt.Printf("http: %s %q\n", resp.Status, body)
	c.Close()
	check("server", <-done)
}

// selfSigned makes a certificate for unimon.test signed by key.
func selfSigned(key *rsa.PrivateKey) tls.Certificate {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "unimon.test"},
		DNSNames:     []string{"unimon.test"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	check("x509.CreateCertificate", err)
	leaf, err := x509.ParseCertificate(der)
	check("x509.ParseCertificate", err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// serve answers one HTTP request on conn with net/http's own handler
// machinery (a ServeMux and a response recorder written back as HTTP).
func serve(conn *tls.Conn) error {
	defer conn.Close()
	req, err := http.ReadRequest(bufio.NewReader(conn))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", tls.VersionName(r.TLS.Version))
	})
	req.TLS = new(tls.ConnectionState)
	*req.TLS = conn.ConnectionState()
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	mux.ServeHTTP(rec, req)
	resp := &http.Response{
		StatusCode:    rec.status,
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(strings.NewReader(rec.body.String())),
		ContentLength: int64(rec.body.Len()),
	}
	return resp.Write(conn)
}

// recorder is a minimal http.ResponseWriter (net/http/httptest's would
// also do; this keeps the guest to the packages the issue names).
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

func check(what string, err error) {
	if err != nil {
		fail(fmt.Sprintf("%s: %v", what, err))
	}
}

func fail(msg string) {
	fmt.Println("FAIL:", msg)
	os.Exit(1)
}
