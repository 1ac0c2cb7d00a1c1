package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/api"
	"github.com/cutover/cutover/internal/sampleapp/sampletest"
)

// TestTLSAPI: with a certificate the TCP API speaks TLS only, and TLS is what lets a
// non-loopback address be used without the insecure opt-out.
func TestTLSAPI(t *testing.T) {
	ts := startTLS(t)
	c := api.NewTCP("https://"+ts.listen, ts.token, ts.hc)
	if _, err := c.Apps(context.Background()); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	plain := api.NewTCP("http://"+ts.listen, ts.token, &http.Client{Timeout: 5 * time.Second})
	if _, err := plain.Apps(context.Background()); err == nil {
		t.Fatal("plain HTTP to a TLS API succeeded")
	}
	if err := checkListen("10.1.2.3:7070", true, false); err != nil {
		t.Errorf("a non-loopback address over TLS: %v, want allowed", err)
	}
	if err := Run(context.Background(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", TLSCert: ts.certFile}); err == nil ||
		!strings.Contains(err.Error(), "--tls-key") {
		t.Errorf("a certificate without a key: %v, want a clear refusal", err)
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cutover test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// tlsServer is a server with a self-signed certificate on a loopback TCP API.
type tlsServer struct {
	dir, listen, token, certFile string
	hc                           *http.Client // trusts the certificate
}

func startTLS(t *testing.T) tlsServer {
	t.Helper()
	ts := tlsServer{dir: t.TempDir(), listen: sampletest.FreeAddr(t)}
	certFile, keyFile, pool := selfSigned(t, ts.dir)
	ts.certFile = certFile
	start(t, Config{DataDir: ts.dir, Listen: ts.listen, TLSCert: certFile, TLSKey: keyFile})
	tok, err := os.ReadFile(filepath.Join(ts.dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	ts.token = strings.TrimSpace(string(tok))
	ts.hc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return ts
}
