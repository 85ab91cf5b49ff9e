package envcheck

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGoBackendReport(t *testing.T) {
	t.Setenv("APP_ENV", "development")
	t.Setenv("TZ", "Asia/Shanghai")
	t.Setenv("MONGODB_URI", "mongodb://m-0.m:27017/qingyu?replicaSet=rs0&authSource=admin")
	t.Setenv("MONGODB_USERNAME", "app")
	t.Setenv("MONGODB_PASSWORD", "s3cret-mongo")
	t.Setenv("REDIS_ADDR", "redis.ns.svc.cluster.local:6379")
	t.Setenv("REDIS_PASSWORD", "s3cret-redis")
	t.Setenv("AI_SERVICE_URL", "dns:///python-ai-grpc.ns.svc.cluster.local:50051")
	t.Setenv("PROMETHEUS_ADDR", "prometheus.ns.svc.cluster.local:9090")
	t.Setenv("JWT_SECRET", "s3cret-jwt")

	rec := httptest.NewRecorder()
	Handler("go-backend", "p", GoBackend())(rec, httptest.NewRequest("GET", "/debug/env-check", nil))
	body := rec.Body.String()
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, body)
	}
	if strings.Contains(body, "s3cret") {
		t.Fatalf("a secret value was printed: %s", body)
	}
	var rep Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || !rep.Vars["JWT_SECRET"].Set || rep.Vars["AI_SERVICE_URL"].Value == "" || !rep.TmpWritable {
		t.Errorf("report %+v", rep)
	}
}

func TestProblems(t *testing.T) {
	t.Setenv("MONGODB_URI", "mongodb://app:pw@m-0:27017/qingyu?replicaSet=rs0&authSource=admin")
	t.Setenv("REDIS_URL", "redis://:pw@redis:6379/0")
	t.Setenv("MILVUS_PORT", "x")
	t.Setenv("OPENAI_API_KEY", "")
	rep := Check("python-ai", "p", PythonAI())
	if rep.OK {
		t.Fatal("ok with credentials in URLs")
	}
	joined := strings.Join(rep.Problems, "|")
	for _, want := range []string{"MONGODB_URI: credentials in the URL", "REDIS_URL: credentials in the URL", "MILVUS_PORT: not a TCP port"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems %q lack %q", joined, want)
		}
	}
	if !strings.Contains(strings.Join(rep.Missing, ","), "OPENAI_API_KEY") {
		t.Errorf("an empty secret counts as missing: %v", rep.Missing)
	}
	for _, bad := range []string{"python-ai-grpc:50051", "dns:///python-ai-grpc:8081"} {
		if aiServiceURL(bad) == "" {
			t.Errorf("AI_SERVICE_URL %q accepted", bad)
		}
	}
}
