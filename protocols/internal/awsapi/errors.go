package awsapi

import (
	"net/http"
	"strconv"
)

// Error is an AWS API error, renderable in both protocols. Shape is the
// modeled error name that JSON's __type carries after Namespace#; Code is the
// Query-era code that the XML <Code> and the x-amzn-query-error header carry
// (botocore and aws-sdk-go-v2 take the error code from that header).
type Error struct {
	Namespace string // "com.amazonaws.sqs", or "com.amazon.coral.service" for unmodeled errors
	Shape     string
	Code      string
	Status    int
	Receiver  bool // the server's fault (Type Receiver) rather than the caller's
	Message   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// With returns a copy of e with another message.
func (e *Error) With(msg string) *Error {
	c := *e
	c.Message = msg
	return &c
}

func (e *Error) fault() string {
	if e.Receiver {
		return "Receiver"
	}
	return "Sender"
}

// Common errors of every AWS API (shapes of com.amazon.coral.service).
var (
	ErrInvalidParameterValue = &Error{Namespace: coral, Shape: "InvalidParameterValueException", Code: "InvalidParameterValue", Status: 400}
	ErrMissingParameter      = &Error{Namespace: coral, Shape: "MissingRequiredParameterException", Code: "MissingParameter", Status: 400}
	ErrAccessDenied          = &Error{Namespace: coral, Shape: "AccessDeniedException", Code: "AccessDenied", Status: 403}
	ErrInvalidAction         = &Error{Namespace: coral, Shape: "UnknownOperationException", Code: "InvalidAction", Status: 400}
	ErrSerialization         = &Error{Namespace: coral, Shape: "SerializationException", Code: "SerializationException", Status: 400}
	ErrInternal              = &Error{Namespace: coral, Shape: "InternalFailure", Code: "InternalError", Status: 500, Receiver: true,
		Message: "We encountered an internal error. Please try again."}
	ErrRequestTooLarge = &Error{Namespace: coral, Shape: "RequestEntityTooLargeException", Code: "RequestEntityTooLarge", Status: 413,
		Message: "Request body too large."}
	ErrServiceUnavailable = &Error{Namespace: coral, Shape: "ServiceUnavailableException", Code: "ServiceUnavailable", Status: 503, Receiver: true,
		Message: "The service is shutting down."}

	// Signature errors (AWS "Common Errors").
	ErrMissingAuthenticationToken = &Error{Namespace: coral, Shape: "MissingAuthenticationTokenException", Code: "MissingAuthenticationToken", Status: 403,
		Message: "Request is missing Authentication Token"}
	ErrIncompleteSignature  = &Error{Namespace: coral, Shape: "IncompleteSignatureException", Code: "IncompleteSignature", Status: 400}
	ErrInvalidClientTokenID = &Error{Namespace: coral, Shape: "InvalidClientTokenId", Code: "InvalidClientTokenId", Status: 403,
		Message: "The security token included in the request is invalid."}
	ErrSignatureDoesNotMatch = &Error{Namespace: coral, Shape: "SignatureDoesNotMatch", Code: "SignatureDoesNotMatch", Status: 403,
		Message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	ErrRequestExpired = &Error{Namespace: coral, Shape: "RequestExpired", Code: "RequestExpired", Status: 400}
)

const coral = "com.amazon.coral.service"

// WriteError renders e in protocol p: for JSON, {"__type","message"} plus
// the x-amzn-query-error header "<Code>;Sender"; for Query, an XML
// ErrorResponse. Both carry x-amzn-RequestId.
func WriteError(w http.ResponseWriter, p Protocol, requestID string, e *Error) {
	h := w.Header()
	h["X-Amzn-Requestid"] = []string{requestID}
	var b []byte
	if p == JSON {
		h["Content-Type"] = []string{JSONContentType}
		h["X-Amzn-Query-Error"] = []string{e.Code + ";" + e.fault()}
		b = append(b, `{"__type":`...)
		b = AppendJSONString(b, e.Namespace+"#"+e.Shape)
		b = append(b, `,"message":`...)
		b = AppendJSONString(b, e.Message)
		b = append(b, '}')
	} else {
		h["Content-Type"] = []string{"text/xml"}
		b = append(b, `<?xml version="1.0"?><ErrorResponse><Error><Type>`...)
		b = append(b, e.fault()...)
		b = append(b, "</Type><Code>"...)
		b = AppendXMLEscaped(b, e.Code)
		b = append(b, "</Code><Message>"...)
		b = AppendXMLEscaped(b, e.Message)
		b = append(b, "</Message><Detail/></Error><RequestId>"...)
		b = AppendXMLEscaped(b, requestID)
		b = append(b, "</RequestId></ErrorResponse>"...)
	}
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

// WriteResponse writes a successful response body rendered by a Writer.
func WriteResponse(w http.ResponseWriter, p Protocol, requestID string, body []byte) {
	h := w.Header()
	h["X-Amzn-Requestid"] = []string{requestID}
	if p == JSON {
		h["Content-Type"] = []string{JSONContentType}
	} else {
		h["Content-Type"] = []string{"text/xml"}
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
