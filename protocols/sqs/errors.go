package sqs

import (
	"errors"
	"fmt"

	"github.com/mqgate/mqgate/core"
	"github.com/mqgate/mqgate/protocols/internal/awsapi"
	"github.com/mqgate/mqgate/protocols/internal/sigv4"
)

// SQS's modeled errors: JSON __type com.amazonaws.sqs#<Shape>, Query code and
// HTTP status from the last Query model (reference §2.3).
func sqsError(shape, code string, status int, msg string) *awsapi.Error {
	return &awsapi.Error{Namespace: "com.amazonaws.sqs", Shape: shape, Code: code, Status: status, Message: msg}
}

const legacy = "AWS.SimpleQueueService."

var (
	errQueueDoesNotExist = sqsError("QueueDoesNotExist", legacy+"NonExistentQueue", 400,
		"The specified queue does not exist.")
	errQueueNameExists       = sqsError("QueueNameExists", "QueueAlreadyExists", 400, "")
	errQueueDeletedRecently  = sqsError("QueueDeletedRecently", legacy+"QueueDeletedRecently", 400, "")
	errPurgeQueueInProgress  = sqsError("PurgeQueueInProgress", legacy+"PurgeQueueInProgress", 403, "")
	errOverLimit             = sqsError("OverLimit", "OverLimit", 403, "")
	errTooManyEntries        = sqsError("TooManyEntriesInBatchRequest", legacy+"TooManyEntriesInBatchRequest", 400, "")
	errEmptyBatch            = sqsError("EmptyBatchRequest", legacy+"EmptyBatchRequest", 400, "")
	errBatchIDsNotDistinct   = sqsError("BatchEntryIdsNotDistinct", legacy+"BatchEntryIdsNotDistinct", 400, "")
	errBatchTooLong          = sqsError("BatchRequestTooLong", legacy+"BatchRequestTooLong", 400, "")
	errInvalidBatchEntryID   = sqsError("InvalidBatchEntryId", legacy+"InvalidBatchEntryId", 400, "")
	errMessageNotInflight    = sqsError("MessageNotInflight", legacy+"MessageNotInflight", 400, "")
	errUnsupportedOperation  = sqsError("UnsupportedOperation", legacy+"UnsupportedOperation", 400, "")
	errResourceNotFound      = sqsError("ResourceNotFoundException", "ResourceNotFoundException", 404, "")
	errReceiptHandleInvalid  = sqsError("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", 400, "")
	errInvalidAttributeName  = sqsError("InvalidAttributeName", "InvalidAttributeName", 400, "")
	errInvalidAttributeValue = sqsError("InvalidAttributeValue", "InvalidAttributeValue", 400, "")
	errInvalidMessage        = sqsError("InvalidMessageContents", "InvalidMessageContents", 400, "")
	errRequestThrottled      = sqsError("RequestThrottled", "RequestThrottled", 400,
		"The broker is short of memory; publishing is paused. Retry later.")
	errInvalidParameter = awsapi.ErrInvalidParameterValue
	errMissingParameter = awsapi.ErrMissingParameter
	errAccessDenied     = awsapi.ErrAccessDenied
)

func invalidParam(format string, args ...any) *awsapi.Error {
	return errInvalidParameter.With(fmt.Sprintf(format, args...))
}

func missingParam(name string) *awsapi.Error {
	return errMissingParameter.With("The request must contain the parameter " + name + ".")
}

// fromCore maps a core error to the SQS error a client expects (DESIGN §7:
// one table-tested mapping per front-end).
func fromCore(err error) *awsapi.Error {
	if err == nil {
		return nil
	}
	var ae *awsapi.Error
	if errors.As(err, &ae) {
		return ae
	}
	var ce *core.Error
	if !errors.As(err, &ce) {
		return awsapi.ErrInternal
	}
	switch ce.Code {
	case core.NotFound:
		return errQueueDoesNotExist
	case core.AccessRefused, core.ResourceLocked:
		return errAccessDenied.With(ce.Msg)
	case core.ResourceLimit:
		return errOverLimit.With(ce.Msg)
	case core.PreconditionFailed, core.InvalidArgument:
		return errInvalidParameter.With(ce.Msg)
	case core.NotImplemented:
		return errUnsupportedOperation.With(ce.Msg)
	}
	return awsapi.ErrInternal
}

// fromSignature maps a signature verification failure to AWS's common errors.
func fromSignature(err error) *awsapi.Error {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		return awsapi.ErrInternal
	}
	var e *awsapi.Error
	switch se.Kind {
	case sigv4.MissingAuthenticationToken:
		e = awsapi.ErrMissingAuthenticationToken
	case sigv4.IncompleteSignature:
		e = awsapi.ErrIncompleteSignature
	case sigv4.InvalidClientTokenID:
		e = awsapi.ErrInvalidClientTokenID
	case sigv4.RequestExpired:
		e = awsapi.ErrRequestExpired
	default:
		e = awsapi.ErrSignatureDoesNotMatch
	}
	return e.With(se.Msg)
}
