// libpq (Debian: libpq-dev), linked only by the db_postgres module.
#include <libpq-fe.h>
