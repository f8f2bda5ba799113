// Command webapp is a small web application as a Go unikernel: the 2048
// game, served from an embed.FS by net/http, with a JSON API that keeps
// a high-score table in memory. Nothing in it is unimon-specific but the
// blank import of the bindings; it runs unchanged as a Linux process.
//
// Build and run it on a tap (see the README's "Go networking"):
//
//	unimon build --net service0 -o webapp.hvt ./examples/webapp
//	sudo ip tuntap add tap0 mode tap && sudo ip addr add 10.0.0.1/24 dev tap0 && sudo ip link set tap0 up
//	unimon --net:service0=tap0 webapp.hvt --unimon:ipv4=10.0.0.2/24
//
// and open http://10.0.0.2:8080/ in a browser.
package main

import (
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/unimon/unimon/bindings"
)

//go:embed static
var static embed.FS

// score is one entry of the high-score table.
type score struct {
	Name  string    `json:"name"`
	Score int       `json:"score"`
	When  time.Time `json:"when"`
}

// maxScores bounds the table, so that the API cannot fill memory.
const maxScores = 10

type board struct {
	mu     sync.Mutex
	scores []score
}

func (b *board) add(s score) []score {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scores = append(b.scores, s)
	sort.SliceStable(b.scores, func(i, j int) bool { return b.scores[i].Score > b.scores[j].Score })
	if len(b.scores) > maxScores {
		b.scores = b.scores[:maxScores]
	}
	return append([]score(nil), b.scores...)
}

func (b *board) list() []score {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]score(nil), b.scores...)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// handler is the application: the game's files and the API.
func handler(b *board, started time.Time) http.Handler {
	mux := http.NewServeMux()
	files, _ := fs.Sub(static, "static")
	mux.Handle("GET /", http.FileServerFS(files))
	mux.HandleFunc("GET /api/scores", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, b.list()) })
	mux.HandleFunc("POST /api/scores", func(w http.ResponseWriter, r *http.Request) {
		var s score
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&s); err != nil || s.Score < 0 || len(s.Name) == 0 || len(s.Name) > 20 {
			http.Error(w, "want {\"name\": 1-20 characters, \"score\": >= 0}", http.StatusBadRequest)
			return
		}
		s.When = time.Now().UTC()
		writeJSON(w, b.add(s))
	})
	mux.HandleFunc("GET /api/info", func(w http.ResponseWriter, r *http.Request) {
		host, _ := os.Hostname()
		writeJSON(w, map[string]any{
			"hostname":   host,
			"go":         runtime.Version(),
			"goroutines": runtime.NumGoroutine(),
			"uptime":     time.Since(started).Round(time.Second).String(),
		})
	})
	return mux
}

func main() {
	addr := flag.String("addr", ":8080", "address to serve on")
	maxRequests := flag.Int64("max-requests", 0, "exit after serving this many requests (0: never; for measurements)")
	flag.Parse()

	h := handler(&board{}, time.Now())
	if *maxRequests > 0 {
		var served atomic.Int64
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(w, r)
			if served.Add(1) == *maxRequests {
				go func() { time.Sleep(100 * time.Millisecond); os.Exit(0) }()
			}
		})
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("webapp: serving 2048 on http://%s/\n", ln.Addr())
	log.Fatal(http.Serve(ln, h))
}
