// quic-peer is a small quic-go echo server / client used as an independent QUIC stack in the
// @handoff/transport-quic interop tests. It speaks JSON lines on stdout, one event per line.
//
// Built offline against Debian's golang-github-lucas-clemente-quic-go-dev (quic-go 0.29):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o quic-peer ./interop/quic-peer
//
// Server: listens, reports {"event":"listening","port":N}, echoes every bidirectional stream,
// and after the first bytes on the first bidi stream opens -uni unidirectional streams (like a
// Hytale G3 server opening Chunks then WorldMap), writing "uni-<i>" on each.
//
// Client: dials, reports the negotiated ALPN and the server's certificate fingerprint, optionally
// opens a unidirectional stream at once (-uni-first), writes -msg on a bidi stream and reports the
// echo, collects -expect-uni server uni streams, then closes with application code 0.
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	quic "github.com/lucas-clemente/quic-go"
)

var out = json.NewEncoder(os.Stdout)
var outMu sync.Mutex

func emit(fields map[string]interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(fields)
}

func fail(format string, args ...interface{}) {
	emit(map[string]interface{}{"event": "error", "message": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func loadPool(path string) *x509.CertPool {
	pem, err := ioutil.ReadFile(path)
	if err != nil {
		fail("read ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fail("no certificate in %s", path)
	}
	return pool
}

func describeErr(err error) map[string]interface{} {
	fields := map[string]interface{}{"message": err.Error()}
	var appErr *quic.ApplicationError
	var trErr *quic.TransportError
	if errors.As(err, &appErr) {
		fields["kind"] = "application"
		fields["code"] = uint64(appErr.ErrorCode)
		fields["remote"] = appErr.Remote
		fields["reason"] = appErr.ErrorMessage
	} else if errors.As(err, &trErr) {
		fields["kind"] = "transport"
		fields["code"] = uint64(trErr.ErrorCode)
		fields["remote"] = trErr.Remote
	}
	return fields
}

func main() {
	mode := flag.String("mode", "server", "server or client")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (server) or target address (client)")
	alpn := flag.String("alpn", "hytale/2", "comma-separated ALPN list")
	certPath := flag.String("cert", "", "certificate chain PEM (optional for a client)")
	keyPath := flag.String("key", "", "private key PEM")
	caPath := flag.String("ca", "", "CA PEM used to verify the peer")
	clientAuth := flag.String("client-auth", "verify", "server: none, any (any certificate required) or verify (against -ca)")
	serverName := flag.String("server-name", "localhost", "client: TLS server name")
	insecure := flag.Bool("insecure", false, "client: do not verify the server certificate")
	msg := flag.String("msg", "hello", "client: message written on the bidi stream")
	uni := flag.Int("uni", 0, "server: unidirectional streams to open after the first bidi bytes")
	earlyUni := flag.Int("early-uni", 0, "server: unidirectional streams to open as soon as a connection is accepted, before the handshake completes (0.5-RTT data)")
	uniFirst := flag.Bool("uni-first", false, "client: open a unidirectional stream right after the handshake, before the bidi stream")
	expectUni := flag.Int("expect-uni", 0, "client: server unidirectional streams to read before closing")
	idle := flag.Duration("idle", 10*time.Second, "max idle timeout")
	flag.Parse()

	tlsConf := &tls.Config{NextProtos: strings.Split(*alpn, ","), MinVersion: tls.VersionTLS13}
	if *certPath != "" {
		pair, err := tls.LoadX509KeyPair(*certPath, *keyPath)
		if err != nil {
			fail("load key pair: %v", err)
		}
		tlsConf.Certificates = []tls.Certificate{pair}
	}
	quicConf := &quic.Config{MaxIdleTimeout: *idle, KeepAlivePeriod: *idle / 3, MaxIncomingUniStreams: 16, MaxIncomingStreams: 16}

	if *mode == "server" {
		switch *clientAuth {
		case "none":
			tlsConf.ClientAuth = tls.NoClientCert
		case "any":
			tlsConf.ClientAuth = tls.RequireAnyClientCert
		case "verify":
			tlsConf.ClientAuth = tls.RequireAndVerifyClientCert
			tlsConf.ClientCAs = loadPool(*caPath)
		default:
			fail("unknown -client-auth %q", *clientAuth)
		}
		runServer(*addr, tlsConf, quicConf, *uni, *earlyUni)
		return
	}
	tlsConf.ServerName = *serverName
	if *insecure {
		tlsConf.InsecureSkipVerify = true
	} else if *caPath != "" {
		tlsConf.RootCAs = loadPool(*caPath)
	}
	runClient(*addr, tlsConf, quicConf, *msg, *uniFirst, *expectUni)
}

func runServer(addr string, tlsConf *tls.Config, quicConf *quic.Config, uni int, earlyUni int) {
	if earlyUni > 0 {
		ln, err := quic.ListenAddrEarly(addr, tlsConf, quicConf)
		if err != nil {
			fail("listen: %v", err)
		}
		emit(map[string]interface{}{"event": "listening", "port": ln.Addr().(*net.UDPAddr).Port})
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				fail("accept: %v", err)
			}
			// 0.5-RTT: these streams reach the client together with the server's handshake flight.
			for i := 0; i < earlyUni; i++ {
				u, err := conn.OpenUniStream()
				if err != nil {
					emit(map[string]interface{}{"event": "error", "message": err.Error()})
					break
				}
				_, _ = u.Write([]byte(fmt.Sprintf("early-%d", i)))
				_ = u.Close()
			}
			go func(conn quic.EarlyConnection) {
				<-conn.HandshakeComplete().Done()
				serveConn(conn, uni)
			}(conn)
		}
	}
	ln, err := quic.ListenAddr(addr, tlsConf, quicConf)
	if err != nil {
		fail("listen: %v", err)
	}
	emit(map[string]interface{}{"event": "listening", "port": ln.Addr().(*net.UDPAddr).Port})
	for {
		conn, err := ln.Accept(context.Background())
		if err != nil {
			fail("accept: %v", err)
		}
		go serveConn(conn, uni)
	}
}

func serveConn(conn quic.Connection, uni int) {
	state := conn.ConnectionState().TLS
	peer := ""
	if len(state.PeerCertificates) > 0 {
		peer = fingerprint(state.PeerCertificates[0].Raw)
	}
	emit(map[string]interface{}{"event": "accepted", "alpn": state.NegotiatedProtocol, "peerFingerprint": peer})
	go func() {
		for {
			s, err := conn.AcceptUniStream(context.Background())
			if err != nil {
				return
			}
			data, _ := io.ReadAll(s)
			emit(map[string]interface{}{"event": "uni", "streamId": uint64(s.StreamID()), "data": string(data)})
		}
	}()
	first := true
	for {
		s, err := conn.AcceptStream(context.Background())
		if err != nil {
			fields := describeErr(err)
			fields["event"] = "closed"
			emit(fields)
			return
		}
		openUni := first && uni > 0
		first = false
		go func(s quic.Stream) {
			buf := make([]byte, 64*1024)
			opened := false
			for {
				n, err := s.Read(buf)
				if n > 0 {
					if _, werr := s.Write(buf[:n]); werr != nil {
						return
					}
					if openUni && !opened {
						opened = true
						for i := 0; i < uni; i++ {
							u, err := conn.OpenUniStreamSync(context.Background())
							if err != nil {
								emit(map[string]interface{}{"event": "error", "message": err.Error()})
								return
							}
							_, _ = u.Write([]byte(fmt.Sprintf("uni-%d", i)))
							_ = u.Close()
						}
					}
				}
				if err != nil {
					_ = s.Close()
					return
				}
			}
		}(s)
	}
}

func runClient(addr string, tlsConf *tls.Config, quicConf *quic.Config, msg string, uniFirst bool, expectUni int) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := quic.DialAddrContext(ctx, addr, tlsConf, quicConf)
	if err != nil {
		fields := describeErr(err)
		fields["event"] = "error"
		emit(fields)
		os.Exit(1)
	}
	if uniFirst {
		u, err := conn.OpenUniStream()
		if err != nil {
			fail("open uni: %v", err)
		}
		_, _ = u.Write([]byte("early-uni"))
		_ = u.Close()
	}
	state := conn.ConnectionState().TLS
	peer := ""
	if len(state.PeerCertificates) > 0 {
		peer = fingerprint(state.PeerCertificates[0].Raw)
	}
	emit(map[string]interface{}{"event": "connected", "alpn": state.NegotiatedProtocol, "peerFingerprint": peer})

	var wg sync.WaitGroup
	for i := 0; i < expectUni; i++ {
		wg.Add(1)
	}
	go func() {
		for i := 0; i < expectUni; i++ {
			u, err := conn.AcceptUniStream(ctx)
			if err != nil {
				return
			}
			data, _ := io.ReadAll(u)
			emit(map[string]interface{}{"event": "uni", "streamId": uint64(u.StreamID()), "data": string(data)})
			wg.Done()
		}
	}()

	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		fields := describeErr(err)
		fields["event"] = "error"
		emit(fields)
		os.Exit(1)
	}
	if _, err := s.Write([]byte(msg)); err != nil {
		fail("write: %v", err)
	}
	got := make([]byte, 0, len(msg))
	buf := make([]byte, 4096)
	for len(got) < len(msg) {
		n, err := s.Read(buf)
		got = append(got, buf[:n]...)
		if len(got) >= len(msg) {
			break
		}
		if err != nil {
			fields := describeErr(err)
			fields["event"] = "error"
			emit(fields)
			os.Exit(1)
		}
	}
	emit(map[string]interface{}{"event": "echo", "data": string(got)})
	_ = s.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		fail("timed out waiting for %d uni streams", expectUni)
	}
	_ = conn.CloseWithError(0, "bye")
	emit(map[string]interface{}{"event": "done"})
}
