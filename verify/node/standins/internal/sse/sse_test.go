package sse

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestEncode(t *testing.T) {
	cases := []struct {
		name string
		ev   Event
		want string
	}{
		{"data only", Event{Data: "hi"}, "data: hi\n\n"},
		{"all fields", Event{ID: "7", Event: "message", Data: `{"a":1}`, Retry: 1500 * time.Millisecond},
			"retry: 1500\nid: 7\nevent: message\ndata: {\"a\":1}\n\n"},
		{"multi-line data", Event{Data: "a\nb\r\nc\rd"}, "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"line breaks cannot escape id and event", Event{ID: "1\n\nid: 9", Event: "x\r\ndata: injected"},
			"id: 1id: 9\nevent: xdata: injected\n\n"},
		{"NUL dropped from id", Event{ID: "1\x002"}, "id: 12\n\n"},
		{"empty event still terminates", Event{}, "data: \n\n"},
	}
	for _, c := range cases {
		var b strings.Builder
		if err := Encode(&b, c.ev); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("%s: got %q, want %q", c.name, b.String(), c.want)
		}
	}
}

// The writer's events round-trip through the reader, which parses as a browser would.
func TestRoundTrip(t *testing.T) {
	var b strings.Builder
	evs := []Event{
		{Retry: time.Second, Event: "open", Data: "x"},
		{ID: "1", Data: "line1\nline2"},
		{Event: "done", Data: "bye"},
	}
	for _, e := range evs {
		if err := Encode(&b, e); err != nil {
			t.Fatal(err)
		}
	}
	in := ": comment\n\n" + b.String()
	rd := NewReader(strings.NewReader(in), "")
	var got []Received
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != 3 {
		t.Fatalf("got %d events: %+v", len(got), got)
	}
	if got[0].Type != "open" || got[0].Retry != time.Second || got[0].HasID {
		t.Errorf("event 0: %+v", got[0])
	}
	if got[1].Type != "message" || got[1].ID != "1" || !got[1].HasID || got[1].Data != "line1\nline2" {
		t.Errorf("event 1: %+v", got[1])
	}
	if got[2].Type != "done" || got[2].ID != "1" || got[2].HasID {
		t.Errorf("event 2 (the id carries over, as in a browser): %+v", got[2])
	}
}

func TestReaderCRLFAndNoSpace(t *testing.T) {
	rd := NewReader(strings.NewReader("id:5\r\ndata:x\r\n\r\n"), "")
	ev, err := rd.Next()
	if err != nil || ev.ID != "5" || ev.Data != "x" {
		t.Fatalf("%+v %v", ev, err)
	}
}

func TestLastEventID(t *testing.T) {
	r := httptest.NewRequest("GET", "/s?last_event_id=4", nil)
	if n, ok := LastEventID(r); !ok || n != 4 {
		t.Errorf("query: %d %v", n, ok)
	}
	r.Header.Set("Last-Event-ID", " 9 ")
	if n, ok := LastEventID(r); !ok || n != 9 {
		t.Errorf("header wins: %d %v", n, ok)
	}
	r.Header.Set("Last-Event-ID", "x")
	if _, ok := LastEventID(r); ok {
		t.Error("non-numeric id accepted")
	}
}

// Each Send reaches the client at once: the client reads event 1 while the handler still
// waits to send event 2.
func TestWriterFlushesEachEvent(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, err := NewWriter(w)
		if err != nil {
			t.Error(err)
			return
		}
		_ = sw.Send(Event{ID: "1", Data: "first"})
		<-release
		_ = sw.Comment("keep-alive")
		_ = sw.Send(Event{ID: "2", Data: "second"})
	}))
	defer srv.Close()
	defer close(release)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("content type %q", ct)
	}
	if resp.Header.Get("X-Accel-Buffering") != "no" || !strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") {
		t.Errorf("headers %v", resp.Header)
	}
	rd := NewReader(resp.Body, "")
	got := make(chan Received, 1)
	go func() {
		ev, _ := rd.Next()
		got <- ev
	}()
	select {
	case ev := <-got:
		if ev.Data != "first" {
			t.Fatalf("got %+v", ev)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("first event not flushed before the second was written")
	}
}
