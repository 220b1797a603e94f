package mqtt

import (
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqgate/mqgate/core"
)

// reasonFor maps a core error to the MQTT 5 reason code of the PUBACK,
// PUBREC or SUBACK entry that reports it (DESIGN §7). MQTT 3 has no reason
// codes: a refused publish disconnects a 3.x client, a refused subscription
// is SUBACK 0x80.
func reasonFor(err error) packets.Code {
	switch core.CodeOf(err) {
	case core.AccessRefused:
		return packets.ErrNotAuthorized // 0x87
	case core.ResourceLimit:
		return packets.ErrQuotaExceeded // 0x97: a queue refused it (x-overflow reject-publish)
	case core.InvalidArgument:
		return packets.ErrTopicNameInvalid // 0x90
	case core.NotImplemented:
		return packets.ErrImplementationSpecificError // 0x83
	case core.NotFound, core.PreconditionFailed, core.ResourceLocked:
		return packets.ErrImplementationSpecificError // 0x83: no exchange, a queue in the way
	}
	return packets.ErrUnspecifiedError // 0x80
}
