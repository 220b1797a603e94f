package store

import (
	"bytes"
	"io"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestWALFileFillsAhead checks that a WAL file is zero-filled up to the chunk
// boundary past the data, that the data lands where Pebble wrote it, and that
// other files are left alone.
func TestWALFileFillsAhead(t *testing.T) {
	fs := walFS{FS: vfs.NewMem()}
	f, err := fs.Create("000001.log", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte("abc"), bytes.Repeat([]byte{0xff}, walZeroChunk)...)
	want := append(bytes.Clone(data), make([]byte, 2*walZeroChunk-len(data))...)
	// Writes get copies: with invariants on (-race), the in-memory file
	// system scrambles what it was given.
	for _, p := range [][]byte{data[:3], data[3:]} {
		if _, err := f.Write(bytes.Clone(p)); err != nil {
			t.Fatal(err)
		}
	}
	checkContent(t, fs, "000001.log", want)
	f.Close()

	f, err = fs.Create("000002.sst", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkContent(t, fs, "000002.sst", []byte("abc"))
}

// TestWALFileReused checks that a recycled WAL is overwritten from its start
// and not filled while the data stays within its old size.
func TestWALFileReused(t *testing.T) {
	fs := walFS{FS: vfs.NewMem()}
	old := bytes.Repeat([]byte{0xee}, 3*walZeroChunk)
	f, err := fs.FS.Create("000001.log", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Clone(old)); err != nil { // a copy, as above
		t.Fatal(err)
	}
	f.Close()
	f, err = fs.ReuseForWrite("000001.log", "000003.log", vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("xyz")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkContent(t, fs, "000003.log", append([]byte("xyz"), old[3:]...))
}

func checkContent(t *testing.T, fs vfs.FS, name string, want []byte) {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, want %d (equal prefix %d)", name, len(got), len(want), commonPrefix(got, want))
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
