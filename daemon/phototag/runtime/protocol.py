"""The control socket's wire protocol, shared by its server (:mod:`.control`) and its
client (:mod:`.control_client`). Nothing imported: a ``tagctl`` verb that only talks to
the daemon loads neither the server nor its logging (loguru, ~0.1 s of CPU a start)."""

PROTOCOL_VERSION = 1
MAX_REQUEST_BYTES = 1 << 20
