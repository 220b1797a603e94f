package wire

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAMQPWireGeneratedIsCurrent runs the generator into a temporary
// directory and fails if methods_gen.go differs: the generator or the spec
// changed without `go generate ./protocols/amqp/wire`.
func TestAMQPWireGeneratedIsCurrent(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to run the generator:", err)
	}
	out := filepath.Join(t.TempDir(), "methods_gen.go")
	cmd := exec.Command(goBin, "run", "./internal/gen", "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("methods_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(got, have) {
		return
	}
	gl, hl := strings.Split(string(got), "\n"), strings.Split(string(have), "\n")
	for i := range min(len(gl), len(hl)) {
		if gl[i] != hl[i] {
			t.Fatalf("methods_gen.go is stale (run go generate ./protocols/amqp/wire); first difference at line %d:\ncommitted: %s\ngenerated: %s", i+1, hl[i], gl[i])
		}
	}
	t.Fatalf("methods_gen.go is stale (run go generate ./protocols/amqp/wire): %d lines committed, %d generated", len(hl), len(gl))
}
