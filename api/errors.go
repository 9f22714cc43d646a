package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/wavenet-go/wavenet/speech"
	"github.com/wavenet-go/wavenet/synth"
)

// Error is an error with an HTTP status and a machine-readable code. Its
// Message says how to fix the request; it is sent to the client as is, so
// it never holds secrets.
type Error struct {
	Status  int    // HTTP status, e.g. 400
	Code    string // e.g. "bad_request", "not_found", "busy"
	Message string
	Err     error // optional cause, for errors.Is/As; not sent to the client
	// RetryAfter, when positive, is sent as the Retry-After header (seconds).
	RetryAfter int
}

func (e *Error) Error() string { return "api: " + e.Code + ": " + e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given status, code and message.
// Wrapping verbs (%w) keep the cause for errors.Is.
func Errorf(status int, code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Status: status, Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Sentinel errors that handlers and the scheduler return; the error handler
// maps them to statuses in one table (statusOf).
var (
	ErrNotFound = errors.New("api: not found")
	ErrBusy     = synth.ErrBusy
	ErrShutdown = synth.ErrShutdown
)

// errorBody is the one JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

// codeOfStatus is the default code for a status when the error carries none.
var codeOfStatus = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestTimeout:        "timeout",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "unprocessable",
	http.StatusTooManyRequests:       "busy",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusGatewayTimeout:        "timeout",
	499:                              "client_closed",
}

// toError maps any error returned by a handler to an *Error: the single
// table from error to status.
func toError(err error) *Error {
	var ae *Error
	var he *echo.HTTPError
	var ie *speech.InputError
	var re *synth.RequestError
	switch {
	case errors.As(err, &ae):
		if ae.Code == "" {
			c := *ae
			c.Code = codeOf(ae.Status)
			return &c
		}
		return ae
	case errors.As(err, &ie):
		// A text request that does not fit the model: the message lists
		// the allowed values.
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Err: err,
			Message: strings.TrimPrefix(ie.Error(), "speech: ")}
	case errors.As(err, &re):
		switch {
		case errors.Is(err, synth.ErrUnknownModel):
			return &Error{Status: http.StatusNotFound, Code: "model_not_found", Err: err, Message: re.Msg}
		case errors.Is(err, synth.ErrNoModel):
			return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Err: err, Message: re.Msg}
		}
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Err: err, Message: re.Msg}
	case errors.Is(err, ErrBusy):
		return &Error{Status: http.StatusTooManyRequests, Code: "busy", Err: err, RetryAfter: 1,
			Message: "all generation slots and the wait queue for this model are full; retry after the number of seconds in Retry-After"}
	case errors.Is(err, ErrShutdown):
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Err: err, RetryAfter: 5,
			Message: "the server is shutting down; retry on another instance or later"}
	case errors.Is(err, ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Err: err, Message: strings.TrimPrefix(err.Error(), "api: ")}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Code: "timeout", Err: err,
			Message: "the request took longer than the server's deadline; ask for less audio"}
	case errors.Is(err, context.Canceled):
		return &Error{Status: 499, Code: "client_closed", Err: err, Message: "the client closed the request"}
	case errors.As(err, &he):
		msg := fmt.Sprint(he.Message)
		switch he.Code {
		case http.StatusNotFound:
			msg = "no such route; GET /openapi.json lists the routes"
		case http.StatusMethodNotAllowed:
			msg = "method not allowed on this route; GET /openapi.json lists the methods"
		case http.StatusRequestEntityTooLarge:
			msg = "request body too large; send a smaller body (see the server's --max-body-bytes)"
		}
		return &Error{Status: he.Code, Code: codeOf(he.Code), Message: strings.ToLower(msg[:1]) + msg[1:], Err: err}
	}
	return &Error{Status: http.StatusInternalServerError, Code: "internal", Err: err,
		Message: "internal server error; the request id identifies it in the server log"}
}

func codeOf(status int) string {
	if c, ok := codeOfStatus[status]; ok {
		return c
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}

// httpErrorHandler is echo's HTTPErrorHandler for the whole server: it writes
// {"error": {"code", "message", "request_id"}} unless the response has
// already started (a stream cut mid-way), in which case nothing more can be
// said and the connection is closed by the handler returning.
func (s *Server) httpErrorHandler(err error, c echo.Context) {
	ae := toError(err)
	if ae.Status >= 500 && ae.Status != http.StatusServiceUnavailable {
		s.log.Error("request failed", "request_id", requestID(c), "method", c.Request().Method,
			"path", c.Path(), "status", ae.Status, "err", err)
	}
	if c.Response().Committed {
		return
	}
	if ae.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", fmt.Sprint(ae.RetryAfter))
	}
	var body any = errorBody{Error: errorDetail{Code: ae.Code, Message: ae.Message, RequestID: requestID(c)}}
	if shape := errorShapes[c.Path()]; shape != nil { // a drop-in route: the API's own shape
		body = shape(ae)
	}
	status := ae.Status
	if status == 499 {
		// Nobody is listening; the status is recorded in the access log only.
		c.Response().Status = status
		return
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}
