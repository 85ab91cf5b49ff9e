// Package envcheck serves GET /debug/env-check: which of the variables the README's
// application contract gives the app are set, whether the non-secret ones have the expected
// shape (no credentials in a URL, the replica set's options, the gRPC target), and how the
// container runs (uid, read-only root filesystem, writable /tmp, time zone). Secret values
// are never printed: only whether they are set.
package envcheck

import (
	"bufio"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"qingyu.local/verify/standins/internal/httpx"
)

// Var is one expected variable. Check returns a problem, or "" when the value is fine.
type Var struct {
	Name   string
	Secret bool
	Check  func(string) string
}

// Result is one variable's report.
type Result struct {
	Set     bool   `json:"set"`
	Value   string `json:"value,omitempty"`
	Secret  bool   `json:"secret,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// Report is the whole answer.
type Report struct {
	App            string            `json:"app"`
	Pod            string            `json:"pod"`
	OK             bool              `json:"ok"`
	Missing        []string          `json:"missing"`
	Problems       []string          `json:"problems"`
	Vars           map[string]Result `json:"vars"`
	UID            int               `json:"uid"`
	GID            int               `json:"gid"`
	RootFSReadOnly *bool             `json:"rootfs_readonly"`
	TmpWritable    bool              `json:"tmp_writable"`
	TimeZone       string            `json:"time_zone"`
}

// Common variables of both apps.
func common() []Var {
	return []Var{
		{Name: "APP_ENV", Check: oneOf("production", "staging", "development")},
		{Name: "TZ", Check: loadsZone},
		{Name: "MONGODB_URI", Check: mongoURI},
		{Name: "MONGODB_USERNAME", Secret: true},
		{Name: "MONGODB_PASSWORD", Secret: true},
		{Name: "REDIS_PASSWORD", Secret: true},
	}
}

// GoBackend lists go-backend's variables.
func GoBackend() []Var {
	return append(common(),
		Var{Name: "REDIS_ADDR", Check: hostPort},
		Var{Name: "AI_SERVICE_URL", Check: aiServiceURL},
		Var{Name: "PROMETHEUS_ADDR", Check: hostPort},
		Var{Name: "JWT_SECRET", Secret: true},
	)
}

// PythonAI lists python-ai's variables.
func PythonAI() []Var {
	return append(common(),
		Var{Name: "REDIS_URL", Check: redisURL},
		Var{Name: "MILVUS_HOST"},
		Var{Name: "MILVUS_PORT", Check: port},
		Var{Name: "GO_API_URL", Check: httpURL},
		Var{Name: "OPENAI_API_KEY", Secret: true},
	)
}

// Check builds the report from the environment.
func Check(app, pod string, vars []Var) Report {
	rep := Report{App: app, Pod: pod, Vars: map[string]Result{}, Missing: []string{}, Problems: []string{},
		UID: os.Getuid(), GID: os.Getgid(), RootFSReadOnly: rootReadOnly(), TmpWritable: tmpWritable()}
	now := time.Now()
	rep.TimeZone = now.Location().String() + " " + now.Format("-07:00")
	for _, v := range vars {
		val, set := os.LookupEnv(v.Name)
		res := Result{Set: set && val != "", Secret: v.Secret}
		if !res.Set {
			rep.Missing = append(rep.Missing, v.Name)
		} else {
			if !v.Secret {
				res.Value = val
			}
			if v.Check != nil {
				res.Problem = v.Check(val)
			}
			if res.Problem != "" {
				rep.Problems = append(rep.Problems, v.Name+": "+res.Problem)
			}
		}
		rep.Vars[v.Name] = res
	}
	rep.OK = len(rep.Missing) == 0 && len(rep.Problems) == 0
	return rep
}

// Handler answers the report: 200 when everything is set and well-formed, else 412.
func Handler(app, pod string, vars []Var) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		rep := Check(app, pod, vars)
		code := http.StatusOK
		if !rep.OK {
			code = http.StatusPreconditionFailed
		}
		httpx.JSON(w, code, rep)
	}
}

func oneOf(vals ...string) func(string) string {
	return func(v string) string {
		for _, x := range vals {
			if v == x {
				return ""
			}
		}
		return "not one of " + strings.Join(vals, ", ")
	}
}

func loadsZone(v string) string {
	if _, err := time.LoadLocation(v); err != nil {
		return "unknown time zone"
	}
	return ""
}

func noCredentials(u *url.URL) string {
	if u.User != nil {
		return "credentials in the URL"
	}
	return ""
}

func mongoURI(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "mongodb" && u.Scheme != "mongodb+srv") {
		return "not a mongodb:// URI"
	}
	if p := noCredentials(u); p != "" {
		return p
	}
	q := u.Query()
	if q.Get("replicaSet") == "" {
		return "no replicaSet option"
	}
	if q.Get("authSource") != "admin" {
		return "authSource is not admin"
	}
	return ""
}

func redisURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return "not a redis:// URL"
	}
	return noCredentials(u)
}

func httpURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "not an http(s) URL"
	}
	return noCredentials(u)
}

func hostPort(v string) string {
	if strings.Contains(v, "@") {
		return "credentials in the address"
	}
	i := strings.LastIndexByte(v, ':')
	if i <= 0 {
		return "not host:port"
	}
	return port(v[i+1:])
}

func port(v string) string {
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return "not a TCP port"
	}
	return ""
}

func aiServiceURL(v string) string {
	rest, ok := strings.CutPrefix(v, "dns:///")
	if !ok {
		return "not a dns:/// target (round-robin needs every pod's address)"
	}
	if !strings.HasSuffix(rest, ":50051") {
		return "port is not 50051"
	}
	return ""
}

// rootReadOnly reads the root mount's options from /proc/self/mountinfo (nil where unknown).
func rootReadOnly() *bool {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	var ro *bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[4] != "/" {
			continue
		}
		// The last mount on / is the one in effect.
		v := false
		for _, o := range strings.Split(fields[5], ",") {
			if o == "ro" {
				v = true
			}
		}
		ro = &v
	}
	return ro
}

func tmpWritable() bool {
	f, err := os.CreateTemp("", "env-check-*")
	if err != nil {
		return false
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name) == nil
}
