package conformance

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The benchmarks run each broker as its own process, as users deploy it, so
// that the clients' CPU, heap and goroutines are not the broker's, and the
// broker's CPU time can be read from /proc.

// benchBroker is a broker process started for a benchmark.
type benchBroker struct {
	name string
	addr string
	pid  int
}

var buildOnce sync.Once
var buildPath string
var buildErr error

// TestMain removes the mqgate binary the benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildPath != "" {
		_ = os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// mqgateBinary builds cmd/mqgate once per test binary (TestMain removes it).
func mqgateBinary(b *testing.B) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mqgate-bench")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "mqgate")
		out, err := exec.Command("go", "build", "-o", buildPath, "../cmd/mqgate").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return buildPath
}

func freePort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMqgate runs the mqgate binary with the YAML configuration cfg, in
// which %[1]d stands for a free loopback port and %[2]s for an empty data
// directory, and returns once it listens on that port.
func startMqgate(b *testing.B, cfg string) benchBroker {
	b.Helper()
	port, dir := freePort(b), b.TempDir()
	file := filepath.Join(dir, "mqgate.yaml")
	mustB(b, os.WriteFile(file, []byte(fmt.Sprintf(cfg, port, filepath.Join(dir, "data"))), 0o600))
	return startProcess(b, "mqgate", exec.Command(mqgateBinary(b), "--config", file), port)
}

// startProcess starts cmd, stops it when the benchmark ends, and waits until
// it accepts connections on the loopback port.
func startProcess(b *testing.B, name string, cmd *exec.Cmd, port int) benchBroker {
	b.Helper()
	cmd.Stderr = os.Stderr
	mustB(b, cmd.Start())
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not start listening: %v", name, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return benchBroker{name: name, addr: addr, pid: cmd.Process.Pid}
}

// cpuTime reads the CPU time (user and system) a process has used.
func cpuTime(b *testing.B, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th of them, in clock ticks (100 per second
	// on Linux).
	rest := string(stat[bytes.LastIndexByte(stat, ')')+2:])
	f := strings.Fields(rest)
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("cannot read %s", stat)
	}
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// selfCPUTime is the CPU time this process (the benchmark's clients) has
// used.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss reads a process's resident set size in bytes.
func rss(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func mustB(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}
