// Package conformance holds black-box tests: the real gateway on 127.0.0.1
// with port 0, driven by the client libraries users run (amqp091-go, paho,
// go-stomp, gorilla's dialer, aws-sdk-go-v2, the aws CLI, headless Chromium).
// Tests are named by area (TestAMQP…, TestMQTT…, TestSTOMP…, TestSQS…,
// TestCross…) so that -run can pick a shard.
package conformance
