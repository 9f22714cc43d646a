package dist

import (
	"fmt"
	"net"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/wavenet-go/wavenet/jobs"
)

// Server is a NATS server embedded in this process, for a run whose ranks
// have no server to meet at (rank 0 starts it, the others Dial its URL).
type Server struct {
	s *server.Server
}

// Serve starts a NATS server listening on addr (host:port; port 0 picks a
// free one).
func Serve(addr string) (*Server, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dist: nats listen address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("dist: nats listen address %q: bad port", addr)
	}
	s, err := jobs.StartServer(host, p, "") // subjects only, no JetStream
	if err != nil {
		return nil, fmt.Errorf("dist: %w", err)
	}
	return &Server{s: s}, nil
}

// URL is the address clients connect to.
func (s *Server) URL() string { return s.s.ClientURL() }

// Close stops the server.
func (s *Server) Close() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
