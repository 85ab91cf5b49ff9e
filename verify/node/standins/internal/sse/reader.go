package sse

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// Received is one event as a client dispatches it. ID is the last event ID in effect
// (it carries over from earlier events); HasID says whether this event set it.
type Received struct {
	ID    string
	HasID bool
	Type  string
	Data  string
	Retry time.Duration
}

// Reader parses the text/event-stream format as the WHATWG HTML standard
// ("Server-sent events") says a client does.
type Reader struct {
	r      *bufio.Reader
	lastID string
}

// NewReader reads events from r; lastID is the Last-Event-ID already in effect.
func NewReader(r io.Reader, lastID string) *Reader {
	return &Reader{r: bufio.NewReader(r), lastID: lastID}
}

// Next returns the next event, or an error (io.EOF at the end of the stream).
func (s *Reader) Next() (Received, error) {
	var ev Received
	var data []string
	seen := false
	for {
		raw, err := s.r.ReadString('\n')
		if err != nil && (raw == "" || !errors.Is(err, io.EOF)) {
			return Received{}, err
		}
		l := strings.TrimRight(raw, "\r\n")
		if l == "" {
			if err != nil {
				return Received{}, err
			}
			if !seen {
				continue
			}
			if len(data) == 0 && !ev.HasID && ev.Type == "" && ev.Retry == 0 {
				seen = false
				continue
			}
			ev.ID = s.lastID
			ev.Data = strings.Join(data, "\n")
			if ev.Type == "" {
				ev.Type = "message"
			}
			return ev, nil
		}
		if strings.HasPrefix(l, ":") {
			continue
		}
		seen = true
		field, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			ev.Type = value
		case "data":
			data = append(data, value)
		case "id":
			if !strings.Contains(value, "\x00") {
				s.lastID = value
				ev.HasID = true
			}
		case "retry":
			if n, perr := strconv.Atoi(value); perr == nil && n >= 0 {
				ev.Retry = time.Duration(n) * time.Millisecond
			}
		}
		if err != nil {
			return Received{}, err
		}
	}
}
