// OpenSSL (Debian: libssl-dev), linked only by the tls module. The static functions wrap
// what OpenSSL offers as macros, which Swift cannot call, and the few steps (certificate
// fields, subject alternative names, error text) that are plain C loops.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>
#include <string.h>

/// SSL_CTX_set_min_proto_version / SSL_CTX_set_max_proto_version (0: no bound).
static inline int swiftlet_ssl_ctx_set_versions(SSL_CTX *ctx, int min, int max) {
    return SSL_CTX_set_min_proto_version(ctx, min) && SSL_CTX_set_max_proto_version(ctx, max);
}

/// SNI for a client session (SSL_set_tlsext_host_name).
static inline int swiftlet_ssl_set_server_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

/// The server's SNI callback (SSL_CTX_set_tlsext_servername_callback and its argument).
static inline void swiftlet_ssl_ctx_set_sni_callback(SSL_CTX *ctx, int (*cb)(SSL *, int *, void *), void *arg) {
    SSL_CTX_set_tlsext_servername_callback(ctx, cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, arg);
}

/// Kamailio's tls_disable_compression (SSL_OP_NO_COMPRESSION).
static inline void swiftlet_ssl_ctx_disable_compression(SSL_CTX *ctx) { SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION); }

static inline void swiftlet_openssl_free(void *p) { OPENSSL_free(p); }

/// BIO_clear_retry_flags and BIO_set_retry_read, for a BIO of our own (TLSSessionBIO).
static inline void swiftlet_bio_clear_retry_flags(BIO *b) { BIO_clear_retry_flags(b); }
static inline void swiftlet_bio_set_retry_read(BIO *b) { BIO_set_retry_read(b); }

/// The oldest queued OpenSSL error as text ("" when none), clearing the queue.
static inline void swiftlet_ssl_error_text(char *buf, size_t len) {
    unsigned long e = ERR_get_error();
    buf[0] = 0;
    if (e != 0) ERR_error_string_n(e, buf, len);
    ERR_clear_error();
}

/// The first subject alternative name of `type` (GEN_EMAIL, GEN_DNS, GEN_URI, GEN_IPADD)
/// into buf; the length, or -1 when there is none.
static inline int swiftlet_x509_alt_name(X509 *cert, int type, char *buf, int len) {
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int found = -1;
    if (!names) return -1;
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && found < 0; i++) {
        GENERAL_NAME *n = sk_GENERAL_NAME_value(names, i);
        if (n->type != type) continue;
        if (type == GEN_IPADD) {
            const unsigned char *d = ASN1_STRING_get0_data(n->d.ip);
            int l = ASN1_STRING_length(n->d.ip);
            if (l == 4) found = snprintf(buf, len, "%d.%d.%d.%d", d[0], d[1], d[2], d[3]);
            else if (l == 16) {
                found = 0;
                for (int k = 0; k < 16; k += 2)
                    found += snprintf(buf + found, len - found, k ? ":%x" : "%x", (d[k] << 8) | d[k + 1]);
            }
        } else {
            ASN1_IA5STRING *s = n->d.ia5;
            int l = ASN1_STRING_length(s);
            if (l >= len) l = len - 1;
            memcpy(buf, ASN1_STRING_get0_data(s), l);
            buf[l] = 0;
            found = l;
        }
    }
    GENERAL_NAMES_free(names);
    return found;
}

/// The certificate's serial number in decimal into buf; the length or -1.
static inline int swiftlet_x509_serial_text(X509 *cert, char *buf, int len) {
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), NULL);
    int n = -1;
    if (!bn) return -1;
    char *dec = BN_bn2dec(bn);
    if (dec) {
        n = snprintf(buf, len, "%s", dec);
        OPENSSL_free(dec);
    }
    BN_free(bn);
    return n;
}

/// ASN1_TIME_print into buf ("Dec  5 15:00:00 2026 GMT"); the length or -1.
static inline int swiftlet_asn1_time_text(const ASN1_TIME *t, char *buf, int len) {
    BIO *mem = BIO_new(BIO_s_mem());
    int n = -1;
    if (!mem) return -1;
    if (ASN1_TIME_print(mem, t)) {
        n = BIO_read(mem, buf, len - 1);
        if (n >= 0) buf[n] = 0;
    }
    BIO_free(mem);
    return n;
}

/// The certificate as PEM into buf; the length or -1.
static inline int swiftlet_x509_pem(X509 *cert, char *buf, int len) {
    BIO *mem = BIO_new(BIO_s_mem());
    int n = -1;
    if (!mem) return -1;
    if (PEM_write_bio_X509(mem, cert)) {
        n = BIO_read(mem, buf, len - 1);
        if (n >= 0) buf[n] = 0;
    }
    BIO_free(mem);
    return n;
}

/// The number of certificates in the peer's verified chain (SSL_get0_verified_chain, the
/// peer's own first), 0 when the peer's certificate was not verified.
static inline int swiftlet_ssl_verified_chain_count(const SSL *ssl) {
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    return chain ? sk_X509_num(chain) : 0;
}

/// Certificate `i` of the peer's verified chain (not owned by the caller).
static inline X509 *swiftlet_ssl_verified_chain_cert(const SSL *ssl, int i) {
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    return chain ? sk_X509_value(chain, i) : NULL;
}

/// Loads the CRLs of a PEM file into the context's store and turns CRL checking on; the
/// number loaded, or -1 when the file cannot be read.
static inline int swiftlet_ssl_ctx_load_crl(SSL_CTX *ctx, const char *file) {
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP *lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (!lookup) return -1;
    int n = X509_load_crl_file(lookup, file, X509_FILETYPE_PEM);
    if (n <= 0) return -1;
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return n;
}
