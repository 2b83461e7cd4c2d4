// DNS queries through the system resolver library (libresolv): a thin shim so that Swift
// sees plain structs instead of glibc's res_state and ns_msg macros.
#ifndef SWIFTLET_RESOLV_H
#define SWIFTLET_RESOLV_H

/// One resource record of an answer. Which fields are set depends on `type`:
/// A/AAAA: addr (4/16 bytes); SRV: priority, weight, port, target;
/// NAPTR: priority (order), weight (preference), flags, services, regexp, target (replacement);
/// CNAME/PTR: target.
typedef struct swiftlet_dns_rr {
    int type;
    unsigned int ttl;
    unsigned short priority;
    unsigned short weight;
    unsigned short port;
    unsigned char addr[16];
    char target[256];
    char flags[32];
    char services[64];
    char regexp[256];
} swiftlet_dns_rr;

/// How to query. Zero/NULL fields keep the resolver's defaults (/etc/resolv.conf).
typedef struct swiftlet_dns_options {
    /// An IPv4 name server to use instead of resolv.conf's (tests point it at a fake server).
    const char *server_ip;
    int server_port;
    /// Seconds before a retransmission (dns_retr_time), retransmissions (dns_retr_no),
    /// how many of the configured servers to use (dns_servers_no); <= 0: default.
    int retrans;
    int retry;
    int servers_no;
    /// 1: res_nsearch (the resolv.conf search list), 0: res_nquery.
    int use_search;
} swiftlet_dns_options;

/// Results of swiftlet_dns_query below 0.
#define SWIFTLET_DNS_NOT_FOUND (-1)
#define SWIFTLET_DNS_ERROR (-2)

/// Queries `name` for records of `type` (1 A, 28 AAAA, 33 SRV, 35 NAPTR, 12 PTR) and writes
/// up to `max` records of the answer section of that type into `out`. Returns the count
/// (0: the name exists but has no such records), SWIFTLET_DNS_NOT_FOUND for NXDOMAIN or no
/// data, SWIFTLET_DNS_ERROR when no answer came. Thread-safe: one resolver state per thread.
int swiftlet_dns_query(const char *name, int type, const swiftlet_dns_options *options, swiftlet_dns_rr *out,
                       int max);

#endif
