// Package sse writes Server-Sent Events (the WHATWG "text/event-stream" format), flushing
// each event as it is written so that it reaches the client at once.
package sse

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Event is one server-sent event. Empty fields are left out.
type Event struct {
	ID    string
	Event string
	Data  string
	// Retry, if set, tells the client how long to wait before reconnecting.
	Retry time.Duration
}

var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")
var noBreaks = strings.NewReplacer("\r", "", "\n", "")

// Encode writes ev in the wire format: one "field: value" line per field, data split into
// one "data:" line per line, and a blank line to end the event. Line breaks are removed from
// id and event, which cannot hold them.
func Encode(w io.Writer, ev Event) error {
	var b strings.Builder
	if ev.Retry > 0 {
		b.WriteString("retry: ")
		b.WriteString(strconv.FormatInt(ev.Retry.Milliseconds(), 10))
		b.WriteByte('\n')
	}
	if ev.ID != "" {
		b.WriteString("id: ")
		b.WriteString(noBreaks.Replace(strings.ReplaceAll(ev.ID, "\x00", "")))
		b.WriteByte('\n')
	}
	if ev.Event != "" {
		b.WriteString("event: ")
		b.WriteString(noBreaks.Replace(ev.Event))
		b.WriteByte('\n')
	}
	if ev.Data != "" || (ev.ID == "" && ev.Event == "" && ev.Retry == 0) {
		for _, line := range strings.Split(lineBreaks.Replace(ev.Data), "\n") {
			b.WriteString("data: ")
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// Writer sends events on an HTTP response.
type Writer struct {
	w  io.Writer
	rc *http.ResponseController
}

// ErrNoFlush: the response cannot be flushed, so events would be buffered.
var ErrNoFlush = errors.New("sse: response writer cannot flush")

// NewWriter sets the event-stream headers (no caching, no proxy buffering), sends the 200
// status line and flushes, so that the client sees the stream open before the first event.
func NewWriter(w http.ResponseWriter) (*Writer, error) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-transform")
	// ingress-nginx and nginx: do not buffer this response.
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return nil, ErrNoFlush
	}
	return &Writer{w: w, rc: rc}, nil
}

// Send writes one event and flushes it.
func (s *Writer) Send(ev Event) error {
	if err := Encode(s.w, ev); err != nil {
		return err
	}
	return s.rc.Flush()
}

// Comment writes a comment line (": text"), which clients ignore (a keep-alive), and flushes.
func (s *Writer) Comment(text string) error {
	if _, err := io.WriteString(s.w, ": "+noBreaks.Replace(text)+"\n\n"); err != nil {
		return err
	}
	return s.rc.Flush()
}

// LastEventID returns the client's Last-Event-ID header (or, for clients that cannot set
// headers, the last_event_id query parameter) as a number, and whether there was one.
func LastEventID(r *http.Request) (int, bool) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}
