package core

import (
	"testing"
	"github.com/mqgate/mqgate/core/store"
)

type chanSink struct{ ch chan *Delivery }
func (c *chanSink) TryDeliver(d *Delivery) bool { dd := *d; c.ch <- &dd; return true }
func (c *chanSink) Cancelled(error) {}

func TestSmoke(t *testing.T) {
	b, err := New(Config{Store: store.NewMemory()})
	if err != nil { t.Fatal(err) }
	b.AddVHost("/")
	b.PutUser("guest", "guest", nil)
	b.SetPermissions("guest", "/", ".*", ".*", ".*")
	c, err := b.Connect("guest", "/", ConnectOptions{})
	if err != nil { t.Fatal(err) }
	s, _ := c.OpenSession()
	if _, err := s.DeclareQueue("q", QueueOptions{}); err != nil { t.Fatal(err) }
	sink := &chanSink{ch: make(chan *Delivery, 10)}
	if _, err := s.Consume("q", ConsumeOptions{PrefetchCount: 5}, sink); err != nil { t.Fatal(err) }
	done := make(chan error, 1)
	if _, err := s.Publish(&Message{RoutingKey: "q", Body: []byte("hi")}, PublishOptions{Confirm: func(e error){ done <- e }}); err != nil { t.Fatal(err) }
	if e := <-done; e != nil { t.Fatal(e) }
	d := <-sink.ch
	if string(d.Message.Body) != "hi" || d.Tag != 1 { t.Fatalf("%+v", d) }
	if err := s.Ack(d.Tag, false); err != nil { t.Fatal(err) }
	if err := s.Ack(d.Tag, false); err == nil { t.Fatal("double ack") }
}
