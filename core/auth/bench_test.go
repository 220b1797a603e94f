package auth

import (
	"fmt"
	"testing"
)

func benchRegistry(b *testing.B) *Registry {
	b.Helper()
	r := NewRegistry()
	for i := range 1000 {
		name := fmt.Sprint("user", i)
		if err := r.PutUser(User{Name: name, PasswordHash: HashPassword("pw")}); err != nil {
			b.Fatal(err)
		}
		if err := r.SetPermission(name, "/", Permission{
			Configure: ".*",
			Write:     `^(amq\.default|amq\.topic|orders\..*|events-[a-z]+)$`,
			Read:      `^(amq\.gen.*|` + name + `-.*)$`,
		}); err != nil {
			b.Fatal(err)
		}
		if err := r.SetTopicPermission(name, "/", TopicPermission{
			Exchange: "amq.topic",
			Write:    `^devices\.{client_id}\.`,
			Read:     `^sensors\.`,
		}); err != nil {
			b.Fatal(err)
		}
	}
	return r
}

// BenchmarkCheckResource measures the check made on every publish and
// consume. It reports checks/s; allocations must stay at zero.
func BenchmarkCheckResource(b *testing.B) {
	r := benchRegistry(b)
	cases := []struct {
		name string
		perm Kind
		typ  ResourceType
		res  string
	}{
		{"all", Configure, Queue, "orders.eu"},
		{"regex/default-exchange", Write, Exchange, ""},
		{"regex/alternation", Write, Exchange, "orders.eu.paid"},
		{"regex/refused-path", Write, Exchange, "audit"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			want := c.name != "regex/refused-path"
			b.ReportAllocs()
			for b.Loop() {
				if err := r.CheckResource("user500", "/", c.perm, c.typ, c.res); (err == nil) != want {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := r.CheckResource("user500", "/", Write, Exchange, "orders.eu.paid"); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
}

func BenchmarkCheckTopic(b *testing.B) {
	r := benchRegistry(b)
	vars := map[string]string{"client_id": "dev-42"}
	cases := []struct {
		name     string
		exchange string
		perm     Kind
		key      string
	}{
		{"no-permission", "amq.direct", Write, "devices.dev-42.temp"},
		{"static", "amq.topic", Read, "sensors.temp"},
		{"expanded", "amq.topic", Write, "devices.dev-42.temp"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := r.CheckTopic("user500", "/", c.exchange, c.key, c.perm, vars); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	r := benchRegistry(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Authenticate("user500", "pw", true); err != nil {
			b.Fatal(err)
		}
	}
}
