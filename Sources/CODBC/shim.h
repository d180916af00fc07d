#include <sql.h>
#include <sqlext.h>
#include <sqlucode.h>

/* Attribute values that ODBC passes as pointer-sized integers, which Swift cannot cast implicitly. */
static inline SQLRETURN codbc_set_env_int(SQLHENV h, SQLINTEGER attr, SQLULEN v) {
    return SQLSetEnvAttr(h, attr, (SQLPOINTER)v, 0);
}
static inline SQLRETURN codbc_set_connect_int(SQLHDBC h, SQLINTEGER attr, SQLULEN v) {
    return SQLSetConnectAttr(h, attr, (SQLPOINTER)v, 0);
}
