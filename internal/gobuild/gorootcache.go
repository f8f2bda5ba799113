package gobuild

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The private GOROOTs `unimon test` makes (cachedGOROOT) stay in the
// user's cache directory, one per go command and version of the
// bindings, so each change to either leaves one behind (7-15 MB). Like
// the go command's own build cache, which trims what it has not used for
// five days, each use marks its GOROOT and each run removes the others
// that have gone unused that long.
const (
	// gorootUnused is how long a GOROOT stays with no run using it.
	gorootUnused = 5 * 24 * time.Hour
	// gorootMarkEvery bounds how often a use is written down.
	gorootMarkEvery = time.Hour
	// gorootAbandoned is the age at which a half-made GOROOT (new-*, the
	// temporary a crashed run left) is removed.
	gorootAbandoned = 24 * time.Hour
)

// markGOROOTUsed records that the GOROOT dir is in use at now, in its
// modification time.
func markGOROOTUsed(dir string, now time.Time) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if now.Sub(st.ModTime()) < gorootMarkEvery {
		return nil
	}
	return os.Chtimes(dir, now, now)
}

// trimGOROOTs removes from cache the GOROOTs unused for gorootUnused and
// the temporaries abandoned for gorootAbandoned, never keep. A GOROOT is
// a tree of symbolic links and copied sources: removing it removes the
// links, never what they point to.
func trimGOROOTs(cache, keep string, now time.Time) error {
	ents, err := os.ReadDir(cache)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		limit := gorootUnused
		switch {
		case !e.IsDir() || filepath.Join(cache, name) == keep:
			continue
		case strings.HasPrefix(name, "new-"):
			limit = gorootAbandoned
		case !strings.HasPrefix(name, "goroot-"):
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // another run removed it
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if now.Sub(info.ModTime()) > limit {
			errs = append(errs, os.RemoveAll(filepath.Join(cache, name)))
		}
	}
	return errors.Join(errs...)
}
