package probe

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"qingyu.local/verify/standins/internal/sse"
)

func podOf(data string) string {
	var v struct {
		Pod string `json:"pod"`
	}
	if json.Unmarshal([]byte(data), &v) == nil {
		return v.Pod
	}
	return ""
}

func runSSE(args []string, out io.Writer) int {
	fs := flag.NewFlagSet("sse", flag.ContinueOnError)
	timeout := fs.Duration("timeout", 60*time.Second, "for the whole read, reconnects included")
	lastEventID := fs.String("last-event-id", "", "send Last-Event-ID on the first request")
	minEvents := fs.Int("min-events", 1, "fail with fewer message events")
	minSpread := fs.Duration("min-spread", 0, "fail if the first and last message events arrived closer together than this (a buffering proxy delivers them at once)")
	resume := fs.Int("resume", 0, "reconnect with Last-Event-ID up to this many times when the stream ends before event: done")
	quiet := fs.Bool("quiet", false, "no line per event")
	var headers headerList
	fs.Var(&headers, "header", "request header 'Name: value' (repeatable)")
	pos, ok := setup(fs, args, 1, out)
	if !ok {
		return Usage
	}
	url := pos[0]
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	start := time.Now()
	lastID := *lastEventID
	var (
		messages, idGaps, reconnects int
		firstAt, lastAt, maxGap      time.Duration
		prevAt                       time.Duration
		end                          = "eof"
		pods                         = map[string]int{}
		retry                        = time.Second
	)
	prevSeq := -1
	if n, err := strconv.Atoi(lastID); err == nil {
		prevSeq = n
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			fmt.Fprintf(out, "usage sse: %v\n", err)
			return Usage
		}
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Cache-Control", "no-cache")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		headers.apply(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			if attempt == 0 {
				return line(out, Unreachable, "sse", url, kv("error", errText(err)))
			}
			if reconnects < *resume && ctx.Err() == nil {
				reconnects++
				fmt.Fprintf(out, "reconnect n=%d last_id=%s t=+%s after=%q\n", reconnects, lastID, secs(time.Since(start)), errText(err))
				time.Sleep(retry)
				continue
			}
			end = "error"
			break
		}
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			_ = resp.Body.Close()
			return line(out, Fail, "sse", url, kv("status", resp.StatusCode), kv("content_type", ct), kv("body", oneLine(string(body), 200)))
		}
		if !*quiet {
			fmt.Fprintf(out, "open t=+%s status=200 pod=%s x_accel_buffering=%s\n", secs(time.Since(start)), resp.Header.Get(podHeader), resp.Header.Get("X-Accel-Buffering"))
		}
		rd := sse.NewReader(resp.Body, lastID)
		end = "eof"
		var rerr error
		for {
			ev, err := rd.Next()
			if err != nil {
				rerr = err
				break
			}
			at := time.Since(start)
			if ev.Retry > 0 {
				retry = min(ev.Retry, 5*time.Second)
			}
			pod := podOf(ev.Data)
			if !*quiet {
				id := ""
				if ev.HasID {
					id = ev.ID
				}
				fmt.Fprintf(out, "event type=%s id=%s t=+%s gap=%s pod=%s data=%s\n", ev.Type, id, secs(at), secs(at-prevAt), pod, oneLine(ev.Data, 200))
			}
			prevAt = at
			switch ev.Type {
			case "message":
				if messages == 0 {
					firstAt = at
				} else {
					maxGap = max(maxGap, at-lastAt)
				}
				lastAt = at
				messages++
				if pod != "" {
					pods[pod]++
				}
				if ev.HasID {
					lastID = ev.ID
					if n, err := strconv.Atoi(ev.ID); err == nil {
						if prevSeq >= 0 && n != prevSeq+1 {
							idGaps++
						}
						prevSeq = n
					}
				}
			case "done", "shutdown":
				end = ev.Type
			}
			if end == "done" {
				break
			}
		}
		_ = resp.Body.Close()
		if end == "done" {
			break
		}
		if ctx.Err() != nil {
			end = "timeout"
			break
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			end = "error"
		}
		if reconnects < *resume {
			reconnects++
			fmt.Fprintf(out, "reconnect n=%d last_id=%s t=+%s after=%s\n", reconnects, lastID, secs(time.Since(start)), end)
			time.Sleep(retry)
			continue
		}
		break
	}

	spread := lastAt - firstAt
	code := OK
	var why []string
	switch {
	case end == "timeout" || end == "error" || end == "shutdown":
		why = append(why, "stream ended by "+end)
	}
	if messages < *minEvents {
		why = append(why, fmt.Sprintf("%d < %d events", messages, *minEvents))
	}
	if spread < *minSpread {
		why = append(why, "events arrived together (buffered?)")
	}
	if idGaps > 0 {
		why = append(why, "ids not consecutive")
	}
	fields := []string{kv("events", messages), kv("last_id", lastID), kv("end", end), kv("reconnects", reconnects),
		kv("first", "+"+secs(firstAt)), kv("spread", secs(spread)), kv("max_gap", secs(maxGap)), kv("id_gaps", idGaps),
		kv("pods", countsField(pods))}
	if len(why) > 0 {
		code = Fail
		fields = append(fields, kv("why", strings.Join(why, "; ")))
	}
	return line(out, code, "sse", url, fields...)
}
