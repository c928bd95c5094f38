package probes_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/probes"
)

func TestCheckTCP(t *testing.T) {
	echo := testkit.ServeTCP(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = c.Write([]byte(strings.ToUpper(line)))
	})
	silent := testkit.ServeTCP(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c) // never answers; returns when the probe hangs up
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	ctx := context.Background()
	for _, tc := range []struct {
		name               string
		addr, send, expect string
		maxLatency         time.Duration
		ok                 bool
		reason             string
	}{
		{"connect only", echo, "", "", 0, true, "ok in"},
		{"echo answers", echo, "ping\n", "PING", time.Second, true, "ok in"},
		{"any answer", echo, "x\n", "", time.Second, true, "ok in"},
		{"wrong answer", echo, "ping\n", "PONG", time.Second, false, `lacks "PONG"`},
		{"refused", closed, "", "", time.Second, false, "connect"},
		{"no answer in time", silent, "ping\n", "", 200 * time.Millisecond, false, "not done within maxLatency 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := probes.CheckTCP(ctx, tc.addr, tc.send, tc.expect, tc.maxLatency)
			if res.OK != tc.ok || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("%+v, want ok=%v and %q in the reason", res, tc.ok, tc.reason)
			}
		})
	}
}
