package core

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core/store"
)

// The crash test: a child process publishes persistent messages to a durable
// queue with confirms while another goroutine takes and acks messages, and is
// killed with SIGKILL at a random moment. After each kill the parent reopens
// the data and checks what a user relies on: every confirmed message that the
// consumer had not taken is there, exactly once, in order; no message whose ack
// was reported is back. (A message taken but not reported acked may be either.)

const crashEnv = "MQGATE_CORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashEnv); spec != "" {
		crashChild(spec)
		return
	}
	os.Exit(m.Run())
}

// crashChild runs until killed. spec is "dir,first-body-number".
func crashChild(spec string) {
	dir, startS, _ := strings.Cut(spec, ",")
	start, _ := strconv.Atoi(startS)
	st, err := store.OpenDurable(dir, store.DurableOptions{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	b, err := New(Config{Store: st})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	_ = b.AddVHost("/")
	_ = b.PutUser("guest", "guest", nil)
	_ = b.SetPermissions("guest", "/", ".*", ".*", ".*")
	c, _ := b.Connect("guest", "/", ConnectOptions{})
	pub, _ := c.OpenSession()
	cons, _ := c.OpenSession()
	if _, err := pub.DeclareQueue("crash", QueueOptions{Durable: true}); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	var outMu sync.Mutex
	say := func(s string) {
		outMu.Lock()
		os.Stdout.WriteString(s + "\n")
		outMu.Unlock()
	}
	say("ready")
	// Consumer: take a few, ack them, make the acks durable, then report.
	go func() {
		for {
			ds, _ := cons.Get(context.Background(), "crash", GetOptions{Max: 7, Wait: 50 * time.Millisecond})
			if len(ds) == 0 {
				continue
			}
			var taken strings.Builder
			taken.WriteString("t")
			for _, d := range ds {
				taken.WriteString(" " + string(d.Message.Body))
			}
			say(taken.String()) // from here these may vanish: acked, maybe not reported
			if err := cons.Ack(ds[len(ds)-1].Tag, true); err != nil {
				say("error " + err.Error())
				return
			}
			if err := cons.Flush(); err != nil {
				return
			}
			var sb strings.Builder
			sb.WriteString("a")
			for _, d := range ds {
				sb.WriteString(" " + string(d.Message.Body))
			}
			say(sb.String())
		}
	}()
	inflight := make(chan struct{}, 64)
	for n := start; ; n++ {
		inflight <- struct{}{}
		body := strconv.Itoa(n)
		_, err := pub.Publish(&Message{RoutingKey: "crash", Body: []byte(body),
			Properties: Properties{DeliveryMode: Persistent}}, PublishOptions{Confirm: func(err error) {
			if err == nil {
				say("c " + body)
			}
			<-inflight
		}})
		if err != nil {
			say("error " + err.Error())
			return
		}
	}
}

func TestCrashKill9KeepsConfirmedAndAcked(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test runs a child process")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(42))
	confirmed := map[int]bool{}
	acked := map[int]bool{}
	taken := map[int]bool{}
	next := 1
	const rounds = 20
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir+","+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		must(t, err)
		cmd.Stderr = os.Stderr
		must(t, cmd.Start())
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		if l := <-lines; l != "ready" {
			t.Fatalf("round %d: child said %q", round, l)
		}
		time.Sleep(time.Duration(5+rng.Intn(60)) * time.Millisecond) // the random moment of the kill
		must(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		for l := range lines {
			f := strings.Fields(l)
			switch f[0] {
			case "c":
				n, _ := strconv.Atoi(f[1])
				confirmed[n] = true
				if n >= next {
					next = n + 1
				}
			case "a", "t":
				for _, s := range f[1:] {
					n, _ := strconv.Atoi(s)
					taken[n] = true
					if f[0] == "a" {
						acked[n] = true
					}
				}
			case "error":
				t.Fatalf("round %d: child: %s", round, l)
			}
		}
		next += 100000 // unconfirmed numbers of this round may be on disk: never reuse them
		present := crashContents(t, dir)
		seen := map[int]bool{}
		last := 0
		for _, n := range present {
			if seen[n] {
				t.Fatalf("round %d: message %d present twice", round, n)
			}
			if n <= last {
				t.Fatalf("round %d: message %d after %d: out of order", round, n, last)
			}
			if acked[n] {
				t.Fatalf("round %d: acked message %d came back", round, n)
			}
			seen[n], last = true, n
		}
		for n := range confirmed {
			if !taken[n] && !seen[n] {
				t.Fatalf("round %d: confirmed message %d lost", round, n)
			}
		}
	}
	if len(confirmed) < rounds || len(acked) == 0 {
		t.Fatalf("the child did too little to test anything: %d confirmed, %d acked", len(confirmed), len(acked))
	}
	t.Logf("%d rounds: %d confirmed, %d acked", rounds, len(confirmed), len(acked))
}

// crashContents reopens dir and lists the bodies in the queue, in order,
// without changing what is stored.
func crashContents(t *testing.T, dir string) []int {
	t.Helper()
	st, err := store.OpenDurable(dir, store.DurableOptions{})
	must(t, err)
	defer st.Close()
	b, err := New(Config{Store: st})
	must(t, err)
	defer b.Close()
	c, err := b.Connect("guest", "/", ConnectOptions{})
	must(t, err)
	s, err := c.OpenSession()
	must(t, err)
	var out []int
	for {
		ds, err := s.Get(context.Background(), "crash", GetOptions{Max: 1000})
		must(t, err)
		if len(ds) == 0 {
			return out
		}
		for _, d := range ds {
			n, err := strconv.Atoi(string(d.Message.Body))
			must(t, err)
			out = append(out, n)
		}
	}
}
