package core

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCoreImportsNoProtocol enforces DESIGN §2: core and its sub-packages
// import only the standard library, themselves and the storage engine — never
// a front-end, the gateway, or a protocol library.
func TestCoreImportsNoProtocol(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "github.com/mqgate/mqgate/core/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"github.com/mqgate/mqgate/protocols",
		"github.com/mqgate/mqgate/gateway",
		"github.com/mqgate/mqgate/cmd",
		"github.com/mochi-mqtt/",
		"github.com/go-stomp/",
		"github.com/gorilla/websocket",
		"github.com/rabbitmq/amqp091-go",
		"github.com/eclipse/paho",
		"github.com/aws/",
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too little to check: %q", out)
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if strings.HasPrefix(d, f) {
				t.Errorf("core depends on %s", d)
			}
		}
	}
}
