package sqs

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/core/store"
)

func lifecycleServer(t *testing.T) (*Server, *core.Broker) {
	t.Helper()
	b, err := core.New(core.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{b.AddVHost("/"), b.PutUser("guest", "guest", nil), b.SetPermissions("guest", "/", ".*", ".*", ".*")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = b.Close() })
	return New(Config{Permissive: true, AccessKeys: []AccessKey{{ID: "test", Secret: "test", User: "guest", VHost: "/"}}}, b, nil), b
}

// TestShutdownEndsLongPolls: Shutdown does not wait for a 20-second long
// poll, and no goroutine outlives it.
func TestShutdownEndsLongPolls(t *testing.T) {
	s, _ := lifecycleServer(t)
	before := runtime.NumGoroutine() // the broker's and the store's own are there already
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Accept as the gateway's door does: each connection to ServeConn.
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(c)
		}
	}()
	base := "http://" + ln.Addr().String()
	post := func(target, body string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "AmazonSQS."+target)
		return http.DefaultClient.Do(req)
	}
	resp, err := post("CreateQueue", `{"QueueName":"q"}`)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CreateQueue: %v", err)
	}
	resp.Body.Close()
	polled := make(chan int, 1)
	go func() {
		resp, err := post("ReceiveMessage", `{"QueueUrl":"/000000000000/q","WaitTimeSeconds":20}`)
		if err != nil {
			polled <- -1
			return
		}
		resp.Body.Close()
		polled <- resp.StatusCode
	}()
	// Wait until the poll is in core's Get (a Get whose context is already
	// cancelled returns at once, so there is no race with Shutdown).
	deadline := time.Now().Add(5 * time.Second)
	for s.polls.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the long poll never started")
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if code := <-polled; code != 200 {
		t.Fatalf("long poll ended with %d", code)
	}
	ln.Close()
	<-served
	http.DefaultClient.CloseIdleConnections()
	deadline = time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

// TestServeConn serves one connection handed over by the gateway.
func TestServeConn(t *testing.T) {
	s, _ := lifecycleServer(t)
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { s.ServeConn(server); close(done) }()
	req, _ := http.NewRequest(http.MethodPost, "http://x/", strings.NewReader("Action=ListQueues"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	go func() { _ = req.Write(client) }()
	resp, err := http.ReadResponse(bufio.NewReader(client), req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("response: %v %v", resp, err)
	}
	resp.Body.Close()
	client.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConn did not return after the connection closed")
	}
	_ = s.Shutdown(context.Background())
}
