package sqs

import (
	"net/url"
	"testing"

	"github.com/mqgate/mqgate/protocols/internal/awsapi"
)

// inputs returns a fresh value of every action's request shape.
func inputs() []any {
	return []any{&createQueueInput{}, &queueURLInput{}, &getQueueURLInput{}, &listQueuesInput{},
		&getQueueAttributesInput{}, &setQueueAttributesInput{}, &sendMessageInput{}, &sendMessageBatchInput{},
		&receiveMessageInput{}, &deleteMessageInput{}, &deleteMessageBatchInput{}, &changeVisibilityInput{},
		&changeVisibilityBatchInput{}, &tagQueueInput{}, &untagQueueInput{}, &addPermissionInput{},
		&removePermissionInput{}, &listDeadLetterSourceQueuesInput{}, &startMessageMoveTaskInput{},
		&listMessageMoveTasksInput{}, &cancelMessageMoveTaskInput{}}
}

// FuzzQueryRequest decodes arbitrary Query forms into every request shape.
func FuzzQueryRequest(f *testing.F) {
	f.Add("Action=SendMessageBatch&QueueUrl=x&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=b" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Binary" +
		"&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.BinaryValue=AAE%3D&SendMessageBatchRequestEntry.1.DelaySeconds=3")
	f.Add("Action=CreateQueue&QueueName=q&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=5&Tag.1.Key=k&Tag.1.Value=v")
	f.Add("Action=ReceiveMessage&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10&WaitTimeSeconds=x")
	f.Add("MessageAttribute.1.Value.StringListValue.1=a&MessageAttribute.1.Name=x&MessageAttribute.1.Value.BinaryListValue.1=AA%3D%3D")
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		for _, in := range inputs() {
			_ = awsapi.DecodeQuery(vs, in)
		}
	})
}

// FuzzJSONRequest decodes arbitrary JSON bodies into every request shape.
func FuzzJSONRequest(f *testing.F) {
	f.Add(`{"QueueUrl":"x","Entries":[{"Id":"a","MessageBody":"b","MessageAttributes":{"n":{"DataType":"Binary","BinaryValue":"AAE="}}}]}`)
	f.Add(`{"QueueName":"q","Attributes":{"VisibilityTimeout":"5"},"tags":{"k":"v"}}`)
	f.Add(`{"MaxNumberOfMessages":10,"WaitTimeSeconds":20,"MessageSystemAttributeNames":["All"]}`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, in := range inputs() {
			_ = awsapi.DecodeJSON([]byte(s), in)
		}
	})
}
