// libwebsockets (Debian: libwebsockets-dev), linked only by the lwsc module, as Kamailio's
// lwsc links it. The static functions fill libwebsockets' large option structures in C, so
// the module never depends on their layout from Swift.
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

/// A parsed `ws://` / `wss://` URL: strings the caller frees with swiftlet_lwsc_url_free.
typedef struct swiftlet_lwsc_url {
    char *scheme;
    char *address;
    char *path;
    int port;
    int tls;
} swiftlet_lwsc_url_t;

static inline void swiftlet_lwsc_url_free(swiftlet_lwsc_url_t *u) {
    free(u->scheme);
    free(u->address);
    free(u->path);
    memset(u, 0, sizeof(*u));
}

/// Kamailio's parsing: lws_parse_uri on a copy; the path gets its leading '/' back; TLS for
/// `wss` and `https`. 0 on success.
static inline int swiftlet_lwsc_url_parse(const char *url, swiftlet_lwsc_url_t *out) {
    const char *proto = NULL, *address = NULL, *path = NULL;
    int port = 0;
    char *copy = strdup(url);
    memset(out, 0, sizeof(*out));
    if (copy == NULL) return -1;
    if (lws_parse_uri(copy, &proto, &address, &port, &path)) {
        free(copy);
        return -1;
    }
    out->scheme = strdup(proto ? proto : "");
    out->address = strdup(address ? address : "");
    /* lws_parse_uri drops the leading '/' of a path, but gives "/" for an empty one:
       Kamailio then asks for "//"; here the '/' is put back only when it is missing. */
    if (path != NULL && path[0] == '/') path++;
    size_t plen = path ? strlen(path) : 0;
    out->path = (char *)malloc(plen + 2);
    if (out->path) {
        out->path[0] = '/';
        if (plen) memcpy(out->path + 1, path, plen);
        out->path[plen + 1] = 0;
    }
    out->port = port;
    out->tls = strcmp(out->scheme, "wss") == 0 || strcmp(out->scheme, "https") == 0;
    free(copy);
    if (!out->scheme || !out->address || !out->path) {
        swiftlet_lwsc_url_free(out);
        return -1;
    }
    return 0;
}

/// A client-only context with one protocol (its name and `user`, what lws_context_user
/// gives back in the callback), as Kamailio's lwsc_get_endpoint builds it. The protocol
/// table is allocated here and lives as long as the process (endpoints are never freed, as
/// in Kamailio). `connect_timeout_secs`: 0 for libwebsockets' default.
static inline struct lws_context *swiftlet_lwsc_context(const char *protocol, lws_callback_function *callback,
                                                        void *user, int tls, unsigned int connect_timeout_secs) {
    struct lws_protocols *protocols = (struct lws_protocols *)calloc(2, sizeof(struct lws_protocols));
    struct lws_context_creation_info info;
    if (protocols == NULL) return NULL;
    memset(&info, 0, sizeof(info));
    protocols[0].name = strdup(protocol);
    protocols[0].callback = callback;
    info.port = CONTEXT_PORT_NO_LISTEN;
    if (tls) info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.protocols = protocols;
    info.gid = -1;
    info.uid = -1;
    info.user = user;
    info.connect_timeout_secs = connect_timeout_secs;
    /* Kamailio sets fd_limit_per_thread to 3 (1 internal, 1 connection, 1 http2); this
       libwebsockets then refuses every socket whose descriptor number is 3 or more, which
       in a server is all of them, so the limit stays the process's (0). */
    return lws_create_context(&info);
}

/// lws_client_connect_via_info with Kamailio's options: Host and Origin the address, TLS
/// accepting self-signed chains and skipping the host name check. The new connection is
/// written to `*pwsi` (and cleared by libwebsockets when it fails).
static inline struct lws *swiftlet_lwsc_connect(struct lws_context *context, const swiftlet_lwsc_url_t *url,
                                                const char *protocol, struct lws **pwsi) {
    struct lws_client_connect_info info;
    memset(&info, 0, sizeof(info));
    info.context = context;
    info.address = url->address;
    info.port = url->port;
    info.path = url->path;
    info.host = url->address;
    info.origin = url->address;
    info.ietf_version_or_minus_one = -1;
    info.protocol = protocol;
    if (url->tls)
        info.ssl_connection = LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    info.pwsi = pwsi;
    return lws_client_connect_via_info(&info);
}

/// lws_write of a text message; `buffer` has LWS_PRE free bytes before the payload.
static inline int swiftlet_lwsc_write_text(struct lws *wsi, unsigned char *buffer, size_t len) {
    return lws_write(wsi, buffer + LWS_PRE, len, LWS_WRITE_TEXT);
}

/// The bytes libwebsockets needs before a payload (LWS_PRE).
static inline size_t swiftlet_lwsc_pre(void) { return LWS_PRE; }
