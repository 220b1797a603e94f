package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mqgate/mqgate/gateway"
)

func TestLoadConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mqgate.yaml")
	if err := os.WriteFile(file, []byte("data_dir: /from/file\nlog_level: warn\nstorage: memory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name              string
		args              []string
		dataDir, logLevel string
		storage           string
	}{
		{"defaults", nil, gateway.DefaultDataDir, "info", gateway.StorageDurable},
		{"flags over defaults", []string{"--data-dir", "/from/flag", "--log-level", "debug"}, "/from/flag", "debug", gateway.StorageDurable},
		{"file over defaults", []string{"--config", file}, "/from/file", "warn", gateway.StorageMemory},
		{"flag over file", []string{"--config", file, "--log-level", "error"}, "/from/file", "error", gateway.StorageMemory},
		// A flag given explicitly wins even when it equals the flag's default.
		{"explicit default flag over file", []string{"--config", file, "--data-dir", gateway.DefaultDataDir}, gateway.DefaultDataDir, "warn", gateway.StorageMemory},
		{"flag order does not matter", []string{"--data-dir=/from/flag", "-config=" + file}, "/from/flag", "warn", gateway.StorageMemory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, showVersion, err := loadConfig(tt.args, &bytes.Buffer{})
			if err != nil || showVersion {
				t.Fatalf("loadConfig = %v, %v", showVersion, err)
			}
			if cfg.DataDir != tt.dataDir || cfg.LogLevel != tt.logLevel || cfg.Storage != tt.storage {
				t.Errorf("data_dir=%q log_level=%q storage=%q; want %q %q %q",
					cfg.DataDir, cfg.LogLevel, cfg.Storage, tt.dataDir, tt.logLevel, tt.storage)
			}
		})
	}
}

func TestRunFailures(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.yaml")
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"help", []string{"-h"}, 0, "Usage: mqgate"},
		{"unknown flag", []string{"--port", "1"}, 1, "flag provided but not defined: -port"},
		{"argument", []string{"serve"}, 1, `unexpected argument "serve"`},
		{"missing file", []string{"--config", missing}, 1, "absent.yaml"},
		{"bad level", []string{"--log-level", "loud"}, 1, `log_level: "loud" is not one of`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

// buildMqgate builds the command into a temporary directory.
func buildMqgate(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	bin := filepath.Join(t.TempDir(), "mqgate")
	out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var versionLine = regexp.MustCompile(`^mqgate \S+\n$`)

func TestVersion(t *testing.T) {
	bin := buildMqgate(t)
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("mqgate %s: %v", arg, err)
		}
		if !versionLine.Match(out) {
			t.Errorf("mqgate %s printed %q, want \"mqgate <version>\"", arg, out)
		}
	}
}

func TestNoArgumentsStartsAndStopsOnSIGTERM(t *testing.T) {
	bin := buildMqgate(t)
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	var log bytes.Buffer // written by the reader; read once readerDone is closed
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-readerDone // Wait closes the pipe: read it to the end first
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() { cmd.Process.Kill() }) // after a failure; a no-op once it exited

	// With no arguments the data lives in ./mqgate-data of the working dir.
	dataDir := filepath.Join(dir, "mqgate-data")
	deadline := time.After(30 * time.Second)
	for started := false; !started; {
		select {
		case line, ok := <-lines:
			if !ok {
				<-readerDone
				t.Fatalf("mqgate exited before starting:\n%s", log.String())
			}
			started = strings.Contains(line, "data_dir="+dataDir+" ")
		case <-deadline:
			t.Fatal("no start line naming the data dir within 30s")
		}
	}
	if _, err := os.Stat(dataDir); err != nil {
		t.Errorf("data dir: %v", err)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines {
		}
	}()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("exit code %d, want 0:\n%s", ee.ExitCode(), log.String())
		}
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("mqgate did not exit within 5s of SIGTERM")
	}
	if !strings.Contains(log.String(), "mqgate stopped") {
		t.Errorf("no stop line:\n%s", log.String())
	}
}
