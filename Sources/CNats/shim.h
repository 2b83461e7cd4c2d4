// The NATS C client (Debian: libnats-dev), linked only by the nats module.
#include <nats/nats.h>
