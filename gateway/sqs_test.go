package gateway

import (
	"strings"
	"testing"
)

func TestSQSConfig(t *testing.T) {
	cfg := Default()
	c := sqsConfig(cfg)
	if c.AccountID != "000000000000" || c.Permissive || c.NoPurgeLimit || c.NoRecreateDelay || len(c.AccessKeys) != 1 ||
		c.AccessKeys[0].ID != "test" || c.AccessKeys[0].User != "guest" || c.AccessKeys[0].VHost != "/" {
		t.Fatalf("default SQS config %+v", c)
	}
	path := writeFile(t, "sqs.yaml", `
sqs:
  permissive: true
  account_id: "123456789012"
  enforce_purge_interval: false
  access_keys:
    - {access_key_id: AK1, secret_access_key: s1, user: guest, vhost: /}
`)
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c = sqsConfig(cfg)
	if !c.Permissive || c.AccountID != "123456789012" || !c.NoPurgeLimit || c.NoRecreateDelay || c.AccessKeys[0].Secret != "s1" {
		t.Fatalf("loaded SQS config %+v", c)
	}
	cfg.SQS.AccountID = "12"
	cfg.SQS.AccessKeys = append(cfg.SQS.AccessKeys, AccessKeyConfig{AccessKeyID: "AK1"})
	err = cfg.Validate()
	for _, want := range []string{"sqs.account_id", "sqs.access_keys[1].access_key_id", "sqs.access_keys[1].secret_access_key", "sqs.access_keys[1].user"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, missing %s", err, want)
		}
	}
}
