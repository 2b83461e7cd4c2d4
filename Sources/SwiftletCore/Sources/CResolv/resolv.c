#include "swiftlet_resolv.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

static __thread struct __res_state state;
static __thread int state_ready;

/// Copies a <character-string> (length byte + text) at *p into dst; advances *p.
static int char_string(const unsigned char **p, const unsigned char *end, char *dst, size_t size) {
    if (*p >= end) return -1;
    size_t len = **p;
    if (*p + 1 + len > end) return -1;
    size_t n = len < size - 1 ? len : size - 1;
    memcpy(dst, *p + 1, n);
    dst[n] = 0;
    *p += 1 + len;
    return 0;
}

static void apply_options(const swiftlet_dns_options *o) {
    if (!o) return;
    if (o->server_ip && o->server_ip[0]) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        sin.sin_port = htons((unsigned short)(o->server_port > 0 ? o->server_port : 53));
        if (inet_pton(AF_INET, o->server_ip, &sin.sin_addr) == 1) {
            state.nsaddr_list[0] = sin;
            state.nscount = 1;
        }
    }
    if (o->retrans > 0) state.retrans = o->retrans;
    if (o->retry > 0) state.retry = o->retry;
    if (o->servers_no > 0 && o->servers_no < state.nscount) state.nscount = o->servers_no;
}

int swiftlet_dns_query(const char *name, int type, const swiftlet_dns_options *options, swiftlet_dns_rr *out,
                       int max) {
    if (!state_ready) {
        memset(&state, 0, sizeof state);
        if (res_ninit(&state) != 0) return SWIFTLET_DNS_ERROR;
        state_ready = 1;
    }
    apply_options(options);
    unsigned char answer[8192];
    int len = options && options->use_search ? res_nsearch(&state, name, ns_c_in, type, answer, sizeof answer)
                                             : res_nquery(&state, name, ns_c_in, type, answer, sizeof answer);
    if (len < 0) {
        switch (state.res_h_errno) {
        case HOST_NOT_FOUND:
        case NO_DATA:
            return SWIFTLET_DNS_NOT_FOUND;
        default:
            return SWIFTLET_DNS_ERROR;
        }
    }
    if (len > (int)sizeof answer) len = sizeof answer;
    ns_msg msg;
    if (ns_initparse(answer, len, &msg) < 0) return SWIFTLET_DNS_ERROR;
    int count = 0;
    int n = ns_msg_count(msg, ns_s_an);
    for (int i = 0; i < n && count < max; i++) {
        ns_rr rr;
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) break;
        if (ns_rr_type(rr) != type || ns_rr_class(rr) != ns_c_in) continue;
        const unsigned char *rd = ns_rr_rdata(rr);
        const unsigned char *end = rd + ns_rr_rdlen(rr);
        swiftlet_dns_rr *r = &out[count];
        memset(r, 0, sizeof *r);
        r->type = type;
        r->ttl = ns_rr_ttl(rr);
        switch (type) {
        case ns_t_a:
            if (end - rd != 4) continue;
            memcpy(r->addr, rd, 4);
            break;
        case ns_t_aaaa:
            if (end - rd != 16) continue;
            memcpy(r->addr, rd, 16);
            break;
        case ns_t_srv:
            if (end - rd < 7) continue;
            r->priority = ns_get16(rd);
            r->weight = ns_get16(rd + 2);
            r->port = ns_get16(rd + 4);
            if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd + 6, r->target, sizeof r->target) < 0) continue;
            break;
        case ns_t_naptr: {
            if (end - rd < 7) continue;
            r->priority = ns_get16(rd);
            r->weight = ns_get16(rd + 2);
            const unsigned char *p = rd + 4;
            if (char_string(&p, end, r->flags, sizeof r->flags) < 0) continue;
            if (char_string(&p, end, r->services, sizeof r->services) < 0) continue;
            if (char_string(&p, end, r->regexp, sizeof r->regexp) < 0) continue;
            if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), p, r->target, sizeof r->target) < 0) continue;
            break;
        }
        case ns_t_cname:
        case ns_t_ptr:
            if (dn_expand(ns_msg_base(msg), ns_msg_end(msg), rd, r->target, sizeof r->target) < 0) continue;
            break;
        default:
            continue;
        }
        count++;
    }
    return count;
}
