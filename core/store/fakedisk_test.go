package store

import (
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// fakeDisk is an in-memory file system whose WAL syncs take a fixed time and
// are counted. It makes group commit measurable without a real disk's noise:
// a test can count syncs, and a benchmark can compare throughput with N ÷
// sync latency exactly.
type fakeDisk struct {
	vfs.FS
	latency time.Duration
	syncs   atomic.Int64
	slept   atomic.Int64 // total ns spent in syncs, to compute the real mean latency
}

func newFakeDisk(latency time.Duration) *fakeDisk {
	return &fakeDisk{FS: vfs.NewMem(), latency: latency}
}

// meanSync is the measured mean latency of one sync.
func (d *fakeDisk) meanSync() time.Duration {
	n := d.syncs.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(d.slept.Load() / n)
}

// sync blocks the thread in a system call, as fsync does, instead of parking
// the goroutine on a runtime timer whose resolution is too coarse here.
func (d *fakeDisk) sync() {
	start := time.Now()
	ts := syscall.NsecToTimespec(int64(d.latency))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
	d.slept.Add(int64(time.Since(start)))
	d.syncs.Add(1)
}

type fakeDiskFile struct {
	vfs.File
	d *fakeDisk
}

func (f fakeDiskFile) Sync() error     { f.d.sync(); return f.File.Sync() }
func (f fakeDiskFile) SyncData() error { f.d.sync(); return f.File.SyncData() }
func (f fakeDiskFile) SyncTo(n int64) (bool, error) {
	f.d.sync()
	return f.File.SyncTo(n)
}

// wrap slows down WAL files only: they are what a commit waits for.
func (d *fakeDisk) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return fakeDiskFile{File: f, d: d}, nil
}

func (d *fakeDisk) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.Create(name, c)
	return d.wrap(name, f, err)
}

func (d *fakeDisk) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.ReuseForWrite(oldname, newname, c)
	return d.wrap(newname, f, err)
}

func (d *fakeDisk) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := d.FS.OpenReadWrite(name, c, opts...)
	return d.wrap(name, f, err)
}
