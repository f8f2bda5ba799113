package ocirt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupRoot is where the cgroup hierarchies are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// joinCgroups puts pid into the cgroup path of every mounted hierarchy
// (the unified one alone on a cgroup v2 host, each v1 controller and the
// unified one on a hybrid host) and returns the directories it wrote to,
// which delete removes. A systemd path ("slice:prefix:name") is left to
// systemd: the holder stays in the caller's cgroup. No limit is set: the
// guest's memory is the VM's, checked against the bundle's limit when
// the VM is made.
func joinCgroups(path string, pid int) ([]string, error) {
	if path == "" || strings.Contains(path, ":") {
		return nil, nil
	}
	rel := filepath.Clean("/" + path)
	if rel == "/" {
		return nil, nil
	}
	var hierarchies []string
	if _, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.procs")); err == nil {
		hierarchies = []string{cgroupRoot}
	} else {
		entries, err := os.ReadDir(cgroupRoot)
		if err != nil {
			return nil, nil // no cgroup file system: nothing to join
		}
		for _, e := range entries {
			dir := filepath.Join(cgroupRoot, e.Name())
			if fi, err := os.Lstat(dir); err != nil || !fi.IsDir() {
				continue // cpu,cpuacct-style symlinks name a hierarchy listed under its own name
			}
			if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err == nil {
				hierarchies = append(hierarchies, dir)
			}
		}
	}
	var made []string
	for _, h := range hierarchies {
		dir := filepath.Join(h, rel)
		if err := mkdirCgroup(h, rel); err != nil {
			return made, fmt.Errorf("cgroup %s: %w", dir, err)
		}
		made = append(made, dir)
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			return made, fmt.Errorf("cgroup %s: join: %w", dir, err)
		}
	}
	return made, nil
}

// mkdirCgroup creates rel below hierarchy h one level at a time. A new
// cgroup v1 cpuset starts with no CPUs and no memory nodes, and joining
// it fails (ENOSPC) until they are set: each new level inherits its
// parent's, as runc does.
func mkdirCgroup(h, rel string) error {
	dir := h
	for _, part := range strings.Split(strings.Trim(rel, "/"), "/") {
		parent := dir
		dir = filepath.Join(dir, part)
		if err := os.Mkdir(dir, 0o755); errors.Is(err, os.ErrExist) {
			continue
		} else if err != nil {
			return err
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(parent, f))
			if err != nil {
				continue // not a cpuset hierarchy
			}
			if err := os.WriteFile(filepath.Join(dir, f), v, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeCgroups removes the directories joinCgroups made; they are empty
// once the holder is gone.
func removeCgroups(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}
