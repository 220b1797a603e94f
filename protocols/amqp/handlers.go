package amqp

import "github.com/mqgate/mqgate/protocols/amqp/wire"

// channelMethods maps each method a client may send on a channel to its
// handler. With connectionMethods and the handshake it covers every method
// of wire.ServerMustHandle (tested), plus basic.recover-async.
var channelMethods = map[wire.MethodKey]channelHandler{
	{Class: wire.ClassChannel, Method: wire.MethodChannelOpen}:    (*channel).handleChannelOpen,
	{Class: wire.ClassChannel, Method: wire.MethodChannelClose}:   (*channel).handleChannelClose,
	{Class: wire.ClassChannel, Method: wire.MethodChannelCloseOk}: (*channel).handleChannelCloseOk,
	{Class: wire.ClassChannel, Method: wire.MethodChannelFlow}:    (*channel).handleChannelFlow,
	{Class: wire.ClassChannel, Method: wire.MethodChannelFlowOk}:  (*channel).handleChannelFlowOk,

	{Class: wire.ClassExchange, Method: wire.MethodExchangeDeclare}: (*channel).handleExchangeDeclare,
	{Class: wire.ClassExchange, Method: wire.MethodExchangeDelete}:  (*channel).handleExchangeDelete,
	{Class: wire.ClassExchange, Method: wire.MethodExchangeBind}:    (*channel).handleExchangeBind,
	{Class: wire.ClassExchange, Method: wire.MethodExchangeUnbind}:  (*channel).handleExchangeUnbind,

	{Class: wire.ClassQueue, Method: wire.MethodQueueDeclare}: (*channel).handleQueueDeclare,
	{Class: wire.ClassQueue, Method: wire.MethodQueueBind}:    (*channel).handleQueueBind,
	{Class: wire.ClassQueue, Method: wire.MethodQueueUnbind}:  (*channel).handleQueueUnbind,
	{Class: wire.ClassQueue, Method: wire.MethodQueuePurge}:   (*channel).handleQueuePurge,
	{Class: wire.ClassQueue, Method: wire.MethodQueueDelete}:  (*channel).handleQueueDelete,

	{Class: wire.ClassBasic, Method: wire.MethodBasicQos}:          (*channel).handleBasicQos,
	{Class: wire.ClassBasic, Method: wire.MethodBasicConsume}:      (*channel).handleBasicConsume,
	{Class: wire.ClassBasic, Method: wire.MethodBasicCancel}:       (*channel).handleBasicCancel,
	{Class: wire.ClassBasic, Method: wire.MethodBasicPublish}:      (*channel).handleBasicPublish,
	{Class: wire.ClassBasic, Method: wire.MethodBasicGet}:          (*channel).handleBasicGet,
	{Class: wire.ClassBasic, Method: wire.MethodBasicAck}:          (*channel).handleBasicAck,
	{Class: wire.ClassBasic, Method: wire.MethodBasicReject}:       (*channel).handleBasicReject,
	{Class: wire.ClassBasic, Method: wire.MethodBasicNack}:         (*channel).handleBasicNack,
	{Class: wire.ClassBasic, Method: wire.MethodBasicRecover}:      (*channel).handleBasicRecover,
	{Class: wire.ClassBasic, Method: wire.MethodBasicRecoverAsync}: (*channel).handleBasicRecoverAsync,

	{Class: wire.ClassTx, Method: wire.MethodTxSelect}:   (*channel).handleTxSelect,
	{Class: wire.ClassTx, Method: wire.MethodTxCommit}:   (*channel).handleTxCommit,
	{Class: wire.ClassTx, Method: wire.MethodTxRollback}: (*channel).handleTxRollback,

	{Class: wire.ClassConfirm, Method: wire.MethodConfirmSelect}: (*channel).handleConfirmSelect,
}
