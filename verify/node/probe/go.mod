// qy-probe: the small static test program of verify/node/ (HTTP server, HTTP/TCP/DNS client).
// Standard library only.
module qingyu.local/verify/node/probe

go 1.22
