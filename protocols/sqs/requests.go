package sqs

// Request shapes of the 23 actions. `json` tags name the AWS JSON 1.0
// members (from the current model), `query` tags the Query protocol's
// flattened keys (from the last Query model, botocore 79c92132e). Integers
// are pointers: an absent WaitTimeSeconds is not a zero one.

type attributeValue struct {
	DataType         string   `json:"DataType" query:"DataType"`
	StringValue      *string  `json:"StringValue" query:"StringValue"`
	BinaryValue      []byte   `json:"BinaryValue" query:"BinaryValue"`
	StringListValues []string `json:"StringListValues" query:"StringListValue"`
	BinaryListValues [][]byte `json:"BinaryListValues" query:"BinaryListValue"`
}

type createQueueInput struct {
	QueueName  string            `json:"QueueName" query:"QueueName"`
	Attributes map[string]string `json:"Attributes" query:"Attribute,Name,Value"`
	Tags       map[string]string `json:"tags" query:"Tag|Tags,Key,Value"`
}

type queueURLInput struct {
	QueueURL string `json:"QueueUrl" query:"QueueUrl"`
}

type getQueueURLInput struct {
	QueueName              string `json:"QueueName" query:"QueueName"`
	QueueOwnerAWSAccountID string `json:"QueueOwnerAWSAccountId" query:"QueueOwnerAWSAccountId"`
}

type listQueuesInput struct {
	QueueNamePrefix string `json:"QueueNamePrefix" query:"QueueNamePrefix"`
	NextToken       string `json:"NextToken" query:"NextToken"`
	MaxResults      *int32 `json:"MaxResults" query:"MaxResults"`
}

type getQueueAttributesInput struct {
	QueueURL       string   `json:"QueueUrl" query:"QueueUrl"`
	AttributeNames []string `json:"AttributeNames" query:"AttributeName"`
}

type setQueueAttributesInput struct {
	QueueURL   string            `json:"QueueUrl" query:"QueueUrl"`
	Attributes map[string]string `json:"Attributes" query:"Attribute,Name,Value"`
}

type sendMessageInput struct {
	QueueURL                string                    `json:"QueueUrl" query:"QueueUrl"`
	MessageBody             *string                   `json:"MessageBody" query:"MessageBody"`
	DelaySeconds            *int32                    `json:"DelaySeconds" query:"DelaySeconds"`
	MessageAttributes       map[string]attributeValue `json:"MessageAttributes" query:"MessageAttribute,Name,Value"`
	MessageSystemAttributes map[string]attributeValue `json:"MessageSystemAttributes" query:"MessageSystemAttribute,Name,Value"`
	MessageDeduplicationID  *string                   `json:"MessageDeduplicationId" query:"MessageDeduplicationId"`
	MessageGroupID          *string                   `json:"MessageGroupId" query:"MessageGroupId"`
}

type sendMessageBatchEntry struct {
	ID                      string                    `json:"Id" query:"Id"`
	MessageBody             *string                   `json:"MessageBody" query:"MessageBody"`
	DelaySeconds            *int32                    `json:"DelaySeconds" query:"DelaySeconds"`
	MessageAttributes       map[string]attributeValue `json:"MessageAttributes" query:"MessageAttribute,Name,Value"`
	MessageSystemAttributes map[string]attributeValue `json:"MessageSystemAttributes" query:"MessageSystemAttribute,Name,Value"`
	MessageDeduplicationID  *string                   `json:"MessageDeduplicationId" query:"MessageDeduplicationId"`
	MessageGroupID          *string                   `json:"MessageGroupId" query:"MessageGroupId"`
}

type sendMessageBatchInput struct {
	QueueURL string                  `json:"QueueUrl" query:"QueueUrl"`
	Entries  []sendMessageBatchEntry `json:"Entries" query:"SendMessageBatchRequestEntry"`
}

type receiveMessageInput struct {
	QueueURL                    string   `json:"QueueUrl" query:"QueueUrl"`
	AttributeNames              []string `json:"AttributeNames" query:"AttributeName"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames" query:"MessageSystemAttributeName"`
	MessageAttributeNames       []string `json:"MessageAttributeNames" query:"MessageAttributeName"`
	MaxNumberOfMessages         *int32   `json:"MaxNumberOfMessages" query:"MaxNumberOfMessages"`
	VisibilityTimeout           *int32   `json:"VisibilityTimeout" query:"VisibilityTimeout"`
	WaitTimeSeconds             *int32   `json:"WaitTimeSeconds" query:"WaitTimeSeconds"`
	ReceiveRequestAttemptID     string   `json:"ReceiveRequestAttemptId" query:"ReceiveRequestAttemptId"`
}

type deleteMessageInput struct {
	QueueURL      string `json:"QueueUrl" query:"QueueUrl"`
	ReceiptHandle string `json:"ReceiptHandle" query:"ReceiptHandle"`
}

type deleteMessageBatchEntry struct {
	ID            string `json:"Id" query:"Id"`
	ReceiptHandle string `json:"ReceiptHandle" query:"ReceiptHandle"`
}

type deleteMessageBatchInput struct {
	QueueURL string                    `json:"QueueUrl" query:"QueueUrl"`
	Entries  []deleteMessageBatchEntry `json:"Entries" query:"DeleteMessageBatchRequestEntry"`
}

type changeVisibilityInput struct {
	QueueURL          string `json:"QueueUrl" query:"QueueUrl"`
	ReceiptHandle     string `json:"ReceiptHandle" query:"ReceiptHandle"`
	VisibilityTimeout *int32 `json:"VisibilityTimeout" query:"VisibilityTimeout"`
}

type changeVisibilityBatchEntry struct {
	ID                string `json:"Id" query:"Id"`
	ReceiptHandle     string `json:"ReceiptHandle" query:"ReceiptHandle"`
	VisibilityTimeout *int32 `json:"VisibilityTimeout" query:"VisibilityTimeout"`
}

type changeVisibilityBatchInput struct {
	QueueURL string                       `json:"QueueUrl" query:"QueueUrl"`
	Entries  []changeVisibilityBatchEntry `json:"Entries" query:"ChangeMessageVisibilityBatchRequestEntry"`
}

type tagQueueInput struct {
	QueueURL string            `json:"QueueUrl" query:"QueueUrl"`
	Tags     map[string]string `json:"Tags" query:"Tag|Tags,Key,Value"`
}

type untagQueueInput struct {
	QueueURL string   `json:"QueueUrl" query:"QueueUrl"`
	TagKeys  []string `json:"TagKeys" query:"TagKey|TagKeys"`
}

type addPermissionInput struct {
	QueueURL      string   `json:"QueueUrl" query:"QueueUrl"`
	Label         string   `json:"Label" query:"Label"`
	AWSAccountIDs []string `json:"AWSAccountIds" query:"AWSAccountId"`
	Actions       []string `json:"Actions" query:"ActionName"`
}

type removePermissionInput struct {
	QueueURL string `json:"QueueUrl" query:"QueueUrl"`
	Label    string `json:"Label" query:"Label"`
}

type listDeadLetterSourceQueuesInput struct {
	QueueURL   string `json:"QueueUrl" query:"QueueUrl"`
	NextToken  string `json:"NextToken" query:"NextToken"`
	MaxResults *int32 `json:"MaxResults" query:"MaxResults"`
}

type startMessageMoveTaskInput struct {
	SourceArn                    string `json:"SourceArn" query:"SourceArn"`
	DestinationArn               string `json:"DestinationArn" query:"DestinationArn"`
	MaxNumberOfMessagesPerSecond *int32 `json:"MaxNumberOfMessagesPerSecond" query:"MaxNumberOfMessagesPerSecond"`
}

type listMessageMoveTasksInput struct {
	SourceArn  string `json:"SourceArn" query:"SourceArn"`
	MaxResults *int32 `json:"MaxResults" query:"MaxResults"`
}

type cancelMessageMoveTaskInput struct {
	TaskHandle string `json:"TaskHandle" query:"TaskHandle"`
}
