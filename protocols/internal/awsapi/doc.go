// Package awsapi holds what the AWS-compatible front-ends (SQS, SNS) share:
// telling the AWS JSON 1.0 protocol from the Query protocol, reading and
// decoding requests of both with size limits applied before allocating,
// rendering responses and errors in both shapes (JSON with __type and the
// x-amzn-query-error header, XML ErrorResponse), request ids, and XML
// escaping that keeps \r intact.
package awsapi
