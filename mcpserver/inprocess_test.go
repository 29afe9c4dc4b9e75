package mcpserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestInProcessStreamsAndStopsTheHandler(t *testing.T) {
	stopped := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusTeapot)
		for {
			if _, err := w.Write([]byte(strings.Repeat("x", 1024))); err != nil {
				stopped <- err
				return
			}
		}
	})
	c := &http.Client{Transport: inProcess{h}}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", "http://"+internalHost+"/x", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusTeapot || resp.Header.Get("X-Got") != "Bearer k" {
		t.Fatalf("got %d %v", resp.StatusCode, resp.Header)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if len(b) != 4096 {
		t.Fatalf("read %d bytes", len(b))
	}
	resp.Body.Close() // an endless answer: the handler's next write must fail
	if err := <-stopped; !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("handler's write after close: %v", err)
	}
}

func TestInProcessPanicAndSilence(t *testing.T) {
	c := &http.Client{Transport: inProcess{http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })}}
	if _, err := c.Get("http://" + internalHost + "/p"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a panicking handler: %v", err)
	}
	c = &http.Client{Transport: inProcess{http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}}
	resp, err := c.Get("http://" + internalHost + "/s")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a silent handler: %v %v", resp, err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithCancel(t.Context())
	block := make(chan struct{})
	defer close(block)
	c = &http.Client{Transport: inProcess{http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-block })}}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+internalHost+"/b", nil)
	cancel()
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled request: %v", err)
	}
}
