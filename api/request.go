package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"
)

// decodeJSON reads the request body as one JSON value into v, refusing
// unknown fields and trailing data, and turns every failure into a 400 (or
// 408/413/415) whose message names the field and says what is wanted. The
// body must be a JSON value ({} for all defaults): an empty body is a 400.
// Content-Type must be JSON or, for curl -d, form-encoded; anything else
// (text/plain included) is a 415.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// curl -d sends application/x-www-form-urlencoded unless told
		// otherwise: accept it as JSON, so that the README's one-line
		// curl examples work.
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json") && mt != echo.MIMEApplicationForm) {
			return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"Content-Type is %q; send the request as application/json", ct)
		}
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return readError(err, "the request body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(http.StatusBadRequest, "bad_json", "request body is empty; send a JSON object ({} for all defaults) with Content-Type application/json")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, v)
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "bad_request", "request body has data after the JSON object; send exactly one object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errorf(http.StatusBadRequest, "bad_request", "request body has data after the JSON object; send exactly one object")
	}
	return nil
}

// readError is the answer to a failed read of what (the body, an
// upload): 413 past the body limit, 408 when the client did not send it
// within the server's read deadline, else 400.
func readError(err error, what string) error {
	var ne net.Error
	switch {
	case isMaxBytes(err):
		return Errorf(http.StatusRequestEntityTooLarge, "too_large", "%s is larger than the server's limit; send a smaller body", what)
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return Errorf(http.StatusRequestTimeout, "timeout", "%s did not arrive within the server's read deadline (its --request-timeout); send the whole body at once", what)
	}
	return Errorf(http.StatusBadRequest, "bad_request", "reading %s: %v", what, err)
}

func jsonError(err error, v any) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return Errorf(http.StatusBadRequest, "bad_json", "request body is not valid JSON (at byte %d: %v); send a JSON object such as {\"seconds\": 1}", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return Errorf(http.StatusBadRequest, "bad_json", "request body is a JSON %s; send a JSON object such as {\"seconds\": 1}", typ.Value)
		}
		want := kindName(typ.Type)
		if strings.HasPrefix(typ.Value, "number") && (want == "a number" || want == "an integer") {
			return Errorf(http.StatusBadRequest, "bad_request",
				"field %q: %s is out of range or not an exact value for this field; want %s", field, typ.Value, rangeHint(want))
		}
		return Errorf(http.StatusBadRequest, "bad_request", "field %q: got a JSON %s, want %s", field, typ.Value, rangeHint(want))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "bad_json", "request body ends in the middle of a JSON value; send a complete JSON object")
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return Errorf(http.StatusBadRequest, "bad_request", "%s; the known fields are %s",
			strings.TrimPrefix(err.Error(), "json: "), strings.Join(jsonFields(v), ", "))
	}
	return Errorf(http.StatusBadRequest, "bad_json", "request body: %v", err)
}

func rangeHint(want string) string {
	if want == "a number" {
		return "a finite number (JSON has no NaN or Infinity)"
	}
	return want
}

func kindName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice:
		return "an array"
	}
	return t.String()
}

// jsonFields lists the JSON field names of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous && f.Tag.Get("json") == "" {
			names = append(names, jsonFields(reflect.New(f.Type).Interface())...)
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func badRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "bad_request", format, args...)
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
