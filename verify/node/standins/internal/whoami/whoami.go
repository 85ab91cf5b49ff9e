// Package whoami is the stand-ins' one gRPC service, written by hand with no .proto and no
// protoc: qingyu.v1.Whoami/Name takes a google.protobuf.StringValue (the caller's name) and
// answers a google.protobuf.StringValue (the serving pod's name). The default proto codec
// carries these well-known types, so any gRPC client can call it: for example
//
//	grpcurl -plaintext -d '"me"' HOST:50051 qingyu.v1.Whoami/Name
//
// needs a descriptor set for that, while `probe grpc-whoami` needs none.
package whoami

import (
	"context"
	"fmt"
	"sort"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const (
	// ServiceName is the gRPC service's full name.
	ServiceName = "qingyu.v1.Whoami"
	// NameMethod is the full method name of Name.
	NameMethod = "/" + ServiceName + "/Name"
	// RoundRobin is the service config the README's contract requires of go-backend's client.
	RoundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`
)

// Server is the service's server side.
type Server interface {
	Name(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error)
}

func nameHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	if interceptor == nil {
		return srv.(Server).Name(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: NameMethod}
	return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return srv.(Server).Name(ctx, req.(*wrapperspb.StringValue))
	})
}

// ServiceDesc describes the service to grpc.Server.RegisterService.
var ServiceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*Server)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Name", Handler: nameHandler}},
	Metadata:    "qingyu/v1/whoami (hand-written, no .proto)",
}

// Register adds the service to s.
func Register(s grpc.ServiceRegistrar, srv Server) { s.RegisterService(&ServiceDesc, srv) }

// PodServer answers every call with Pod.
type PodServer struct{ Pod string }

// Name answers the pod's name.
func (p PodServer) Name(context.Context, *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	return wrapperspb.String(p.Pod), nil
}

// NewClient makes go-backend's client exactly as the README's contract says:
// grpc.NewClient(target, round_robin service config, insecure credentials). extra is for
// tests (a manual resolver); production passes none.
func NewClient(target string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts := append([]grpc.DialOption{
		grpc.WithDefaultServiceConfig(RoundRobin),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, extra...)
	return grpc.NewClient(target, opts...)
}

// Reply is one answered call.
type Reply struct {
	Pod  string `json:"pod"`
	Addr string `json:"addr"`
}

// Call makes one Name call and returns the pod that answered and its address.
func Call(ctx context.Context, cc grpc.ClientConnInterface, caller string) (Reply, error) {
	out := new(wrapperspb.StringValue)
	var p peer.Peer
	if err := cc.Invoke(ctx, NameMethod, wrapperspb.String(caller), out, grpc.Peer(&p)); err != nil {
		return Reply{}, err
	}
	r := Reply{Pod: out.GetValue()}
	if p.Addr != nil {
		r.Addr = p.Addr.String()
	}
	return r, nil
}

// SpreadResult counts the pods that answered a series of calls.
type SpreadResult struct {
	Calls    int            `json:"calls"`
	Errors   int            `json:"errors"`
	Pods     map[string]int `json:"pods"`
	Distinct int            `json:"distinct"`
	// Addrs: the address each pod answered from.
	Addrs map[string]string `json:"addrs"`
	// Codes counts the failed calls by gRPC code.
	Codes    map[string]int `json:"error_codes,omitempty"`
	FirstErr string         `json:"first_error,omitempty"`
}

// Spread makes calls sequential Name calls, each with its own context from callCtx.
func Spread(ctx context.Context, cc grpc.ClientConnInterface, caller string, calls int,
	callCtx func(context.Context) (context.Context, context.CancelFunc)) SpreadResult {
	res := SpreadResult{Calls: calls, Pods: map[string]int{}, Addrs: map[string]string{}}
	for range calls {
		c, cancel := callCtx(ctx)
		r, err := Call(c, cc, caller)
		cancel()
		if err != nil {
			res.Errors++
			if res.Codes == nil {
				res.Codes = map[string]int{}
				res.FirstErr = err.Error()
			}
			res.Codes[status.Code(err).String()]++
			continue
		}
		res.Pods[r.Pod]++
		res.Addrs[r.Pod] = r.Addr
	}
	res.Distinct = len(res.Pods)
	return res
}

// String is a one-line summary, pods sorted by name.
func (s SpreadResult) String() string {
	names := make([]string, 0, len(s.Pods))
	for n := range s.Pods {
		names = append(names, n)
	}
	sort.Strings(names)
	out := fmt.Sprintf("calls=%d errors=%d distinct=%d", s.Calls, s.Errors, s.Distinct)
	for _, n := range names {
		out += fmt.Sprintf(" %s=%d", n, s.Pods[n])
	}
	return out
}
