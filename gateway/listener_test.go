package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupRefusesAfterClose(t *testing.T) {
	var g group
	ran := make(chan struct{})
	if !g.Go(func() { close(ran) }) {
		t.Fatal("Go refused before Close")
	}
	<-ran
	g.Close()
	if g.Go(func() { t.Error("ran after Close") }) {
		t.Error("Go accepted after Close")
	}
	g.Wait()
}

// tempErr is an accept error that net/http would retry.
type tempErr struct{}

func (tempErr) Error() string   { return "accept: too many open files" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

// flakyListener fails its first accepts with fail, then accepts for real.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
	fail     error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, l.fail
	}
	return l.Listener.Accept()
}

func TestDoorRetriesTemporaryAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln, fail: tempErr{}}
	fl.failures.Store(3)
	log, lb := newLogger(t)
	d := newDoor("test", fl, &echo{}, log)
	var g group
	served := make(chan error, 1)
	go func() { served <- d.serve(&g) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, "after three failures\n")
	if n := strings.Count(lb.String(), "accept failed; retrying"); n != 3 {
		t.Errorf("%d retries logged, want 3:\n%s", n, lb)
	}

	d.close()
	if err := <-served; !errors.Is(err, ErrClosed) {
		t.Errorf("serve after close = %v, want ErrClosed", err)
	}
	d.closeConns()
	g.Close()
	g.Wait()
}

func TestDoorStopsOnPermanentAcceptError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	boom := errors.New("boom")
	fl := &flakyListener{Listener: ln, fail: boom}
	fl.failures.Store(1)
	d := newDoor("test", fl, &echo{}, newDiscardLogger())
	var g group
	if err := d.serve(&g); !errors.Is(err, boom) {
		t.Errorf("serve = %v, want boom", err)
	}
}

func TestDoorClosedWhileBackingOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln, fail: tempErr{}}
	fl.failures.Store(1 << 30)
	d := newDoor("test", fl, &echo{}, newDiscardLogger())
	var g group
	served := make(chan error, 1)
	go func() { served <- d.serve(&g) }()
	d.close()
	select {
	case err := <-served:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("serve = %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve kept backing off after close")
	}
}

func TestTLSDoor(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := testConfig(t)
	cfg.Storage = StorageMemory
	cfg.Listeners.AMQPS = ListenerConfig{
		Enabled: true,
		Addr:    "127.0.0.1:0",
		TLS:     &TLSConfig{CertFile: certFile, KeyFile: keyFile, CAFile: certFile},
	}
	log, _ := newLogger(t)
	gw, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	withFrontEnds(gw, map[string]frontEnd{"amqps": &echo{}})
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	defer shutdown(t, gw)

	c, err := tls.Dial("tcp", gw.Addrs()["amqps"].String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, "over TLS\n")
}

func TestTLSConfigErrors(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  TLSConfig
		want string
	}{
		{TLSConfig{CertFile: filepath.Join(dir, "absent.pem"), KeyFile: keyFile}, "absent.pem"},
		{TLSConfig{CertFile: certFile, KeyFile: keyFile, CAFile: filepath.Join(dir, "absent-ca.pem")}, "absent-ca.pem"},
		{TLSConfig{CertFile: certFile, KeyFile: keyFile, CAFile: notPEM}, "holds no PEM certificate"},
	} {
		if _, err := listen(ListenerConfig{Addr: "127.0.0.1:0", TLS: &tc.cfg}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("listen(%+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}

// selfSigned writes a self-signed certificate for localhost and 127.0.0.1 and
// its key, and returns their files and a pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool
}
