package api

import "context"

func (s *Server) initModels() error { return nil }

func (s *Server) drainModels(ctx context.Context) error { return nil }

func (s *Server) closeModels() {}
