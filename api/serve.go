package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// ServeOptions configures Server.Serve.
type ServeOptions struct {
	// ShutdownTimeout is how long running requests (syntheses included)
	// may take to finish once the shutdown begins (default 30 s).
	ShutdownTimeout time.Duration
}

// Serve serves s's handler on ln until ctx is done, then shuts down
// gracefully: it stops admitting syntheses (/readyz answers 503 while
// running ones finish), then stops accepting connections, lets running
// requests finish within o.ShutdownTimeout, and cuts what is left. It returns nil after a shutdown caused by ctx (requests cut by
// the timeout are logged, not returned), or the error that stopped
// serving before ctx was done.
func (s *Server) Serve(ctx context.Context, ln net.Listener, o ServeOptions) error {
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	hs := &http.Server{
		Handler: s.Handler(),
		// A client has RequestTimeout to send its request, headers and
		// body (and at most 10 s for the headers): a connection that
		// sends headers and then nothing is closed then.
		ReadHeaderTimeout: min(10*time.Second, s.opts.RequestTimeout),
		ReadTimeout:       s.opts.RequestTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if len(s.keys) > 0 {
		s.log.Info("API keys required on /v1", "keys", len(s.keys)) // the count, never the keys
	}
	s.log.Info("serving", "addr", ln.Addr().String(), "models", strings.Join(s.engine.IDs(), ","), "max_streams", s.opts.MaxStreams)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		_ = s.Shutdown(context.Background())
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}

	s.log.Info("shutting down", "timeout", o.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	// Drain the syntheses while the listener still accepts: /readyz
	// answers 503 meanwhile, so a load balancer stops sending work, and
	// new syntheses get 503 at once; then close the listener and wait
	// for the other requests.
	aerr := s.Shutdown(sctx)
	herr := hs.Shutdown(sctx)
	if herr != nil {
		_ = hs.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.log.Warn("server stopped", "err", err)
	}
	if aerr != nil || herr != nil {
		s.log.Warn("shutdown timeout: some requests were cut", "err", errors.Join(aerr, herr))
	}
	s.log.Info("stopped")
	return nil
}
