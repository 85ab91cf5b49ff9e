//go:build tools

// Package tools records the etcd command built by verify/build-apiserver.sh so
// that `go mod tidy` keeps its dependencies in go.sum. It is never compiled.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
