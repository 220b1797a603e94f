package store

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash test: a child process (this test binary, re-executed) commits
// batches to a durable store and reports each done callback on stdout; the
// parent kills it with SIGKILL at a random moment, reopens the store and
// checks that nothing confirmed was lost and nothing acked came back.

// crashChildEnv carries the store directory to the child.
const crashChildEnv = "MQGATE_STORE_CRASH_DIR"

// crashQueue is the queue the child writes to.
const crashQueue = 1

// In the child, batch seq puts message seq and entry seq; when seq%3 == 0 it
// also deletes seq-2 (so only seqs with seq%3 == 1 are ever deleted, and only
// by the batch seq+2).
func crashDeletes(seq uint64) (victim uint64, ok bool) {
	return seq - 2, seq%3 == 0 && seq > 2
}

// crashMessage is message seq's data: its seq, then filler of a varying size
// so that groups and WAL records vary.
func crashMessage(seq uint64) []byte {
	data := binary.BigEndian.AppendUint64(nil, seq)
	return append(data, make([]byte, seq*7919%1024)...)
}

func TestDurableCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("run by TestDurableCrash")
	}
	s, err := OpenDurable(dir, DurableOptions{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	last, err := s.LastMessageID()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	out := os.Stdout // unbuffered: one write per line, complete or absent
	fmt.Fprintln(out, "ready")
	// 64 batches in flight, so that the store forms groups. The deadline
	// only guards against an orphaned child.
	sem := make(chan struct{}, 64)
	deadline := time.Now().Add(20 * time.Second)
	for seq := last + 1; time.Now().Before(deadline); seq++ {
		sem <- struct{}{}
		var b Batch
		b.PutMessage(seq, crashMessage(seq))
		b.PutEntry(crashQueue, seq, binary.BigEndian.AppendUint64(nil, seq))
		victim, del := crashDeletes(seq)
		if del {
			b.DeleteEntry(crashQueue, victim)
			b.DeleteMessage(victim)
		}
		s.Commit(&b, func(err error) {
			if err != nil {
				fmt.Fprintln(out, "error", err)
				os.Exit(2)
			}
			line := "ok " + strconv.FormatUint(seq, 10) + "\n"
			if del {
				line += "del " + strconv.FormatUint(victim, 10) + "\n"
			}
			out.WriteString(line)
			<-sem
		})
	}
	os.Exit(0)
}

func TestDurableCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const runs = 20
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2)) // fixed seed: the same kill schedule every run
	confirmed := map[uint64]bool{}     // put reported done
	deleted := map[uint64]bool{}       // delete reported done
	verified := verifiedMessages{seen: map[uint64]bool{}}
	for run := range runs {
		killAfter := time.Duration(rng.IntN(40_000)) * time.Microsecond
		lines := runCrashChild(t, dir, killAfter)
		for _, l := range lines {
			verb, arg, _ := strings.Cut(l, " ")
			seq, err := strconv.ParseUint(arg, 10, 64)
			switch {
			case verb == "ok" && err == nil:
				confirmed[seq] = true
			case verb == "del" && err == nil:
				deleted[seq] = true
			case verb == "ready":
			default:
				t.Fatalf("run %d: child said %q", run, l)
			}
		}
		checkCrashStore(t, dir, confirmed, deleted, &verified)
		t.Logf("run %d: killed after %v, %d lines; %d confirmed, %d deleted so far",
			run, killAfter, len(lines), len(confirmed), len(deleted))
	}
	if len(confirmed) == 0 || len(deleted) == 0 {
		t.Fatalf("the children confirmed %d puts and %d deletes: nothing was tested", len(confirmed), len(deleted))
	}
}

// runCrashChild starts the child on dir, kills it killAfter its "ready" line
// and returns every complete line it printed.
func runCrashChild(t *testing.T, dir string, killAfter time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurableCrashChild$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		// Only complete lines count: the last one may be cut by the kill.
		r := bufio.NewReader(stdout)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- strings.TrimSuffix(l, "\n")
		}
	}()

	var got []string
	ready := time.NewTimer(waitTimeout)
	defer ready.Stop()
	select {
	case l, ok := <-lines:
		if !ok || l != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child did not start: %q", l)
		}
		got = append(got, l)
	case <-ready.C:
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("child did not start")
	}
	kill := time.NewTimer(killAfter)
	defer kill.Stop()
	for waiting := true; waiting; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("child exited before the kill")
			}
			got = append(got, l)
		case <-kill.C:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			waiting = false
		}
	}
	for l := range lines { // until EOF: the pipe closes when the child dies
		got = append(got, l)
	}
	cmd.Wait() // killed: the error is expected
	return got
}

// verifiedMessages are the messages whose data checkCrashStore has read
// back already.
type verifiedMessages struct {
	seen map[uint64]bool
}

// checkCrashStore reopens dir and checks it against what the children
// confirmed.
func checkCrashStore(t *testing.T, dir string, confirmed, deleted map[uint64]bool, verified *verifiedMessages) {
	t.Helper()
	s, err := OpenDurable(dir, DurableOptions{})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()

	present := map[uint64]bool{}
	var prev uint64
	err = s.ForEachEntry(crashQueue, func(seq uint64, v []byte) error {
		if len(present) > 0 && seq <= prev {
			return fmt.Errorf("entry %d after entry %d", seq, prev)
		}
		prev = seq
		if binary.BigEndian.Uint64(v) != seq {
			return fmt.Errorf("entry %d holds %x", seq, v)
		}
		present[seq] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A batch is atomic: an entry and its message are both there or both
	// gone.
	messages := 0
	err = s.ForEachMessageID(func(id uint64) error {
		messages++
		if !present[id] {
			return fmt.Errorf("message %d without its entry", id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if messages != len(present) {
		t.Fatalf("%d entries but %d messages", len(present), messages)
	}
	for seq := range present {
		if verified.seen[seq] {
			continue // read back after an earlier run: reading again only costs time
		}
		verified.seen[seq] = true
		data, err := s.Message(seq)
		if err != nil || string(data) != string(crashMessage(seq)) {
			t.Fatalf("message %d: %d bytes, %v", seq, len(data), err)
		}
	}

	for seq := range deleted {
		if present[seq] {
			t.Fatalf("entry %d is back after its delete was confirmed", seq)
		}
	}
	for seq := range confirmed {
		if present[seq] || deleted[seq] {
			continue
		}
		// Absent without a confirmed delete: only allowed if its deleting
		// batch was durable, which also put seq+2.
		if _, deletable := crashDeletes(seq + 2); !deletable || !present[seq+2] {
			t.Fatalf("confirmed entry %d is lost", seq)
		}
	}
}
