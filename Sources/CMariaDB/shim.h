// MariaDB Connector/C (Debian: libmariadb-dev), linked only by the db_mysql module.
#include <mysql.h>
#include <errmsg.h>
