#!/usr/bin/env bash
# The standard library's own tests inside Go unikernels (issue 8), run by
# `unimon test -short`.
#   scripts/fidelity.sh         make test's list: every package must pass
#   scripts/fidelity.sh table   make fidelity's longer list: per package,
#                               pass/fail inside a unikernel next to native
# The tests skipped below need what a unikernel deliberately lacks; README
# ("Go programs inside a unikernel") gives the reason for each.
set -euo pipefail
GO=${GO:-go}
cd "$(dirname "$0")/.."

# make test's list: the runtime's surface (scheduler, GC, signals and
# faults, timers, files, reflection-heavy code, assembly-heavy crypto).
CHECK="strconv strings bytes sort slices maps unicode/utf8 errors fmt bufio
  encoding/json encoding/binary encoding/base64 hash/crc32 crypto/sha256
  crypto/aes crypto/ecdsa math/big compress/flate regexp container/heap
  context sync sync/atomic time text/template runtime/debug"

# make fidelity's extra packages.
MORE="unicode unicode/utf16 math math/bits math/rand/v2 math/cmplx strings
  io io/fs bufio path path/filepath hash/fnv hash/adler32 hash/crc64 hash/maphash
  crypto/sha1 crypto/sha512 crypto/hmac crypto/md5 crypto/ed25519 crypto/rsa crypto/ecdh
  crypto/cipher crypto/rand crypto/subtle crypto/x509 encoding/hex encoding/csv encoding/xml encoding/pem
  encoding/gob encoding/asn1 encoding/base32 compress/gzip compress/zlib compress/lzw compress/bzip2
  archive/tar archive/zip html html/template text/tabwriter text/scanner container/list container/ring
  index/suffixarray image image/png image/jpeg image/gif mime mime/multipart net/url net/netip
  go/scanner go/parser go/format go/ast iter unique weak embed log log/slog flag expvar
  runtime os os/signal reflect testing/fstest testing/iotest"

# Tests that need a second process (fork/exec of the test binary; a
# unikernel is one process).
SKIP='^(TestMutexMisuse|TestIssue76126|TestSetCrashOutput)$'

# The standard library's networking packages, over the network stack
# (bindings/netstack) on the unikernel's loopback. NETCHECK is make test's
# share; the table runs NET.
NETCHECK="net net/textproto net/rpc net/http/httptest net/smtp net/mail"
# make test's share of net/http: its client, server and transport tests,
# and two that found bugs (bind after close; ICMP port unreachable).
NETHTTPCHECK='^(TestClient|TestServer|TestTransport|TestAutomaticHTTP2_ListenAndServe)'
# The TCP, UDP and unix (stream) subtests of net's tests skipped for
# their unixpacket and unixgram ones.
NETSUBCHECK='^(TestCloseWrite|TestCloseRead|TestConnClose|TestListenerClose|TestZeroByteRead|TestPacketConnClose|TestFileConn|TestFileListener|TestFilePacketConn|TestConnAndListener)$/^(tcp|udp|unix$)'
NET="net net/http net/textproto net/rpc net/rpc/jsonrpc net/http/httptest net/http/httputil
  net/http/cookiejar net/http/fcgi net/http/httptrace net/http/pprof net/smtp net/mail"

# What those packages' tests need that the guest lacks (README, "The
# standard library's networking tests"): unix datagram and seqpacket
# sockets (unixgram, unixpacket: every test here but TestSplice and the
# TestIPConn, allocation and ServeContent ones has such a subtest or
# part), fd passing (SCM_RIGHTS), splice, raw IP sockets, allocation
# counts without the stack's own, files' modification times.
NETSKIP='^(TestConnAndListener|TestDialerControl|TestDialerControlContext|TestDialContext|TestListenConfigControl|TestPacketConn|TestConnAndPacketConn|TestUnixConnSpecificMethods|TestUnixAndUnixpacketServer|TestUnixgram.*|TestUnixConnReadMsgUnixSCMRightsCloseOnExec|TestReadUnixgramWithUnnamedSocket|TestSplice|TestZeroByteRead|TestPacketConnClose|TestListenerClose|TestConnClose|TestCloseRead|TestCloseWrite|TestIPConnLocalName|TestIPConnRemoteName|TestIPConnSpecificMethods|TestFileConn|TestFileListener|TestFilePacketConn|TestTCPReadWriteAllocs|TestAllocs|TestServeContent)$'

unimon() { $GO build -o bin/unimon ./cmd/unimon && $GO build -o bin/unimon-build ./cmd/unimon-build && bin/unimon "$@"; }

case "${1:-check}" in
check)
  start=$(date +%s)
  unimon test $CHECK -- -short -skip "$SKIP"
  echo "standard library inside unikernels: $(( $(date +%s) - start ))s"
  start=$(date +%s)
  bin/unimon test $NETCHECK -- -short -skip "$NETSKIP"
  bin/unimon test net/http -- -short -run "$NETHTTPCHECK" -skip "$NETSKIP"
  bin/unimon test net -- -short -run "$NETSUBCHECK"
  echo "standard library's networking inside unikernels: $(( $(date +%s) - start ))s"
  ;;
table)
  $GO build -o bin/unimon ./cmd/unimon && $GO build -o bin/unimon-build ./cmd/unimon-build
  printf '%-24s %-10s %-10s\n' PACKAGE UNIKERNEL NATIVE
  for p in $CHECK $MORE $NET; do
    u=pass n=pass skip=$SKIP
    case " $NET " in *" $p "*) skip=$NETSKIP ;; esac
    bin/unimon test "$p" -- -short -skip "$skip" >"/tmp/fidelity-$$.log" 2>&1 || u=FAIL
    $GO test -short -count=1 -skip "$skip" "$p" >/dev/null 2>&1 || n=FAIL
    printf '%-24s %-10s %-10s\n' "$p" "$u" "$n"
    if [ "$u" != "$n" ]; then grep -E '^(--- FAIL|panic:|fatal error:)' "/tmp/fidelity-$$.log" | head -5 | sed 's/^/    /'; fi
  done
  rm -f "/tmp/fidelity-$$.log"
  ;;
*)
  echo "usage: scripts/fidelity.sh [check|table]" >&2
  exit 2
  ;;
esac
