// hiredis (Debian: libhiredis-dev), linked only by the modules that talk to Redis.
#include <hiredis/hiredis.h>
