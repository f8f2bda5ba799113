package gobuild

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// FileMount puts the host directory Dir (or file) at the absolute guest
// path At in a file tree.
type FileMount struct {
	Dir string
	At  string
}

// MaxFiles bounds the bytes a file tree may take in an image (it is loaded
// into guest RAM with the program).
const MaxFiles = 256 << 20

// ErrFiles is returned (wrapped) when a file tree cannot be packed.
var ErrFiles = errors.New("cannot pack files")

// PackFiles packs the mounts into the read-only file tree the bindings
// serve at "/" (bindings/treefs.go has the format), with cwd as the
// program's working directory. Symbolic links are followed (the tree
// holds what they point to); other special files are left out. The
// directories above each At exist in the tree, holding only what is
// mounted below them.
func PackFiles(mounts []FileMount, cwd string) ([]byte, error) {
	type node struct {
		parent uint32
		name   string
		mode   uint32
		data   []byte
	}
	nodes := []node{{mode: sIFDIR | 0o555}}
	index := map[string]uint32{"/": 0}
	total := 0
	var dir func(p string) (uint32, error)
	dir = func(p string) (uint32, error) {
		if i, ok := index[p]; ok {
			if nodes[i].mode&sIFMT != sIFDIR {
				return 0, fmt.Errorf("%w: %s is a file and a directory", ErrFiles, p)
			}
			return i, nil
		}
		parent, err := dir(path.Dir(p))
		if err != nil {
			return 0, err
		}
		nodes = append(nodes, node{parent: parent, name: path.Base(p), mode: sIFDIR | 0o555})
		index[p] = uint32(len(nodes) - 1)
		return index[p], nil
	}
	add := func(p string, mode uint32, data []byte) error {
		if _, ok := index[p]; ok {
			return nil // mounted twice: the first wins
		}
		parent, err := dir(path.Dir(p))
		if err != nil {
			return err
		}
		total += len(data) + len(p) + 32
		if total > MaxFiles {
			return fmt.Errorf("%w: more than %d MiB", ErrFiles, MaxFiles>>20)
		}
		nodes = append(nodes, node{parent: parent, name: path.Base(p), mode: mode, data: data})
		index[p] = uint32(len(nodes) - 1)
		return nil
	}
	for _, m := range mounts {
		at := path.Clean("/" + filepath.ToSlash(m.At))
		root, err := filepath.EvalSymlinks(m.Dir) // a walk does not enter a root that is a link
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFiles, err)
		}
		err = filepath.WalkDir(root, func(hp string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%w: %w", ErrFiles, err)
			}
			rel, _ := filepath.Rel(root, hp)
			gp := path.Join(at, filepath.ToSlash(rel))
			info, err := os.Stat(hp) // follows symbolic links
			if err != nil {
				return nil // a dangling link: left out
			}
			switch {
			case info.IsDir() && d.Type()&fs.ModeSymlink != 0:
				return nil // a link to a directory: not followed (cycles)
			case info.IsDir():
				if gp == "/" {
					return nil
				}
				if _, err := dir(gp); err != nil {
					return err
				}
				return nil
			case !info.Mode().IsRegular():
				return nil
			}
			b, err := os.ReadFile(hp)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrFiles, err)
			}
			return add(gp, sIFREG|uint32(info.Mode().Perm())&0o555, b)
		})
		if err != nil {
			return nil, err
		}
	}
	// Children in name order, so listings are sorted as on most file
	// systems' first listing.
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order[1:], func(a, b int) bool { return nodes[order[1+a]].name < nodes[order[1+b]].name })
	newIndex := make([]uint32, len(nodes))
	for ni, oi := range order {
		newIndex[oi] = uint32(ni)
	}
	const hdr, nodeSize = 24, 32
	cwd = path.Clean("/" + cwd)
	var names, data bytes.Buffer
	names.WriteString(cwd)
	base := hdr + nodeSize*len(nodes)
	for _, n := range nodes {
		names.WriteString(n.name)
	}
	dataBase := alignUp(uint64(base+names.Len()), 8)
	out := make([]byte, dataBase)
	le := binary.LittleEndian
	le.PutUint64(out[0:], treeMagic)
	le.PutUint32(out[8:], uint32(len(nodes)))
	le.PutUint32(out[12:], uint32(len(cwd)))
	le.PutUint64(out[16:], uint64(base))
	nameOff := base + len(cwd)
	for ni, oi := range order {
		n := nodes[oi]
		rec := out[hdr+nodeSize*ni:]
		le.PutUint32(rec[0:], newIndex[n.parent])
		if oi == 0 {
			le.PutUint32(rec[0:], 0)
		}
		le.PutUint32(rec[8:], uint32(len(n.name)))
		le.PutUint32(rec[12:], n.mode)
		le.PutUint64(rec[16:], dataBase+uint64(data.Len()))
		le.PutUint64(rec[24:], uint64(len(n.data)))
		data.Write(n.data)
		for data.Len()%8 != 0 {
			data.WriteByte(0)
		}
	}
	// Names in the original node order were written above; record each
	// node's offset in that order.
	for oi, n := range nodes {
		le.PutUint32(out[hdr+nodeSize*int(newIndex[oi])+4:], uint32(nameOff))
		nameOff += len(n.name)
	}
	copy(out[base:], names.Bytes())
	out = append(out, data.Bytes()...)
	if strings.Contains(cwd, "\x00") {
		return nil, fmt.Errorf("%w: working directory %q", ErrFiles, cwd)
	}
	return out, nil
}

const (
	treeMagic = 0x3146_6e6f_6d69_6e75 // "unimonF1", as bindings/treefs.go
	sIFMT     = 0o170000
	sIFDIR    = 0o040000
	sIFREG    = 0o100000
)
