// libsctp (Debian: libsctp-dev; run time libsctp1), used only by the sctp module. The module
// links it as -l:libsctp.so.1 (Package.swift): the module's own file is libsctp.so in the
// build directory, which a plain -lsctp would find first. These wrappers keep the sockaddr
// and socket-option structures on the C side.
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/sctp.h>

/// The sctp module's parameters (Kamailio's `struct cfg_group_sctp`); 0 or less: the
/// kernel's value is kept (except autoclose, send_ttl).
typedef struct swiftlet_sctp_options {
    int so_rcvbuf, so_sndbuf, autoclose, send_ttl;
    int srto_initial, srto_max, srto_min, asocmaxrxt, init_max_attempts, init_max_timeo;
    int hbinterval, pathmaxrxt, sack_delay, sack_freq, max_burst;
} swiftlet_sctp_options;

/// 0 when this kernel opens SCTP sockets (Kamailio's sctp_check_support), else -1 with the
/// reason in `err`.
static inline int swiftlet_sctp_check_support(char *err, size_t errlen) {
    int s = socket(PF_INET, SOCK_SEQPACKET, IPPROTO_SCTP);
    if (s < 0) {
        snprintf(err, errlen, "socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP): %s", strerror(errno));
        return -1;
    }
    close(s);
    return 0;
}

#define SWIFTLET_SCTP_SET(level, name, value, what)                                              \
    if (setsockopt(fd, level, name, &(value), sizeof(value)) != 0) {                             \
        snprintf(err, errlen, "setsockopt " what ": %s", strerror(errno));                       \
        goto fail;                                                                                \
    }

/// A one-to-many socket of `family` bound to `count` addresses (the first with bind, the
/// others with sctp_bindx: multi-homing), options applied, listening. -1 with `err` on failure.
static inline int swiftlet_sctp_open(int family, const struct sockaddr_storage *addrs, int count,
                                     const swiftlet_sctp_options *o, char *err, size_t errlen) {
    int fd = socket(family, SOCK_SEQPACKET, IPPROTO_SCTP);
    if (fd < 0) {
        snprintf(err, errlen, "socket(%s, SOCK_SEQPACKET, IPPROTO_SCTP): %s",
                 family == AF_INET6 ? "AF_INET6" : "AF_INET", strerror(errno));
        return -1;
    }
    int one = 1;
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (o->so_rcvbuf > 0) SWIFTLET_SCTP_SET(SOL_SOCKET, SO_RCVBUF, o->so_rcvbuf, "SO_RCVBUF");
    if (o->so_sndbuf > 0) SWIFTLET_SCTP_SET(SOL_SOCKET, SO_SNDBUF, o->so_sndbuf, "SO_SNDBUF");
    struct timeval tv = {0, 500000}; /* receivers notice shutdown */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sctp_event_subscribe ev;
    memset(&ev, 0, sizeof(ev));
    ev.sctp_data_io_event = 1; /* the association id of every message */
    ev.sctp_association_event = 1;
    ev.sctp_shutdown_event = 1;
    SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_EVENTS, ev, "SCTP_EVENTS");
    if (o->autoclose > 0) SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_AUTOCLOSE, o->autoclose, "SCTP_AUTOCLOSE");
    if (o->srto_initial > 0 || o->srto_max > 0 || o->srto_min > 0) {
        struct sctp_rtoinfo rto;
        memset(&rto, 0, sizeof(rto));
        rto.srto_initial = o->srto_initial > 0 ? o->srto_initial : 0;
        rto.srto_max = o->srto_max > 0 ? o->srto_max : 0;
        rto.srto_min = o->srto_min > 0 ? o->srto_min : 0;
        SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_RTOINFO, rto, "SCTP_RTOINFO");
    }
    if (o->asocmaxrxt > 0) {
        struct sctp_assocparams ap;
        memset(&ap, 0, sizeof(ap));
        ap.sasoc_asocmaxrxt = o->asocmaxrxt;
        SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_ASSOCINFO, ap, "SCTP_ASSOCINFO");
    }
    if (o->init_max_attempts > 0 || o->init_max_timeo > 0) {
        struct sctp_initmsg im;
        memset(&im, 0, sizeof(im));
        im.sinit_max_attempts = o->init_max_attempts > 0 ? o->init_max_attempts : 0;
        im.sinit_max_init_timeo = o->init_max_timeo > 0 ? o->init_max_timeo : 0;
        SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_INITMSG, im, "SCTP_INITMSG");
    }
    if (o->hbinterval != 0 || o->pathmaxrxt > 0) {
        struct sctp_paddrparams pp;
        memset(&pp, 0, sizeof(pp));
        if (o->hbinterval > 0) {
            pp.spp_hbinterval = o->hbinterval;
            pp.spp_flags |= SPP_HB_ENABLE;
        } else if (o->hbinterval < 0) {
            pp.spp_flags |= SPP_HB_DISABLE; /* Kamailio: -1 turns heartbeats off */
        }
        if (o->pathmaxrxt > 0) pp.spp_pathmaxrxt = o->pathmaxrxt;
        SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, pp, "SCTP_PEER_ADDR_PARAMS");
    }
    if (o->sack_delay > 0 || o->sack_freq > 0) {
        struct sctp_sack_info si;
        memset(&si, 0, sizeof(si));
        si.sack_delay = o->sack_delay > 0 ? o->sack_delay : 0;
        si.sack_freq = o->sack_freq > 0 ? o->sack_freq : 0;
        SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_DELAYED_SACK, si, "SCTP_DELAYED_SACK");
    }
    if (o->max_burst > 0) SWIFTLET_SCTP_SET(IPPROTO_SCTP, SCTP_MAX_BURST, o->max_burst, "SCTP_MAX_BURST");
    socklen_t len = addrs[0].ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)&addrs[0], len) != 0) {
        snprintf(err, errlen, "bind: %s", strerror(errno));
        goto fail;
    }
    for (int i = 1; i < count; i++) {
        if (sctp_bindx(fd, (struct sockaddr *)&addrs[i], 1, SCTP_BINDX_ADD_ADDR) != 0) {
            snprintf(err, errlen, "sctp_bindx (address %d): %s", i + 1, strerror(errno));
            goto fail;
        }
    }
    if (listen(fd, 1024) != 0) {
        snprintf(err, errlen, "listen: %s", strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

/// One read: the byte count (-1 on error or timeout), the sender, the association, and
/// whether it ends a record (MSG_EOR) or is a notification (MSG_NOTIFICATION).
static inline ssize_t swiftlet_sctp_recv(int fd, void *buf, size_t len, struct sockaddr_storage *from,
                                         socklen_t *fromlen, uint32_t *assoc, int *eor, int *notification) {
    struct sctp_sndrcvinfo info;
    int flags = 0;
    memset(&info, 0, sizeof(info));
    *fromlen = sizeof(*from);
    ssize_t n = sctp_recvmsg(fd, buf, len, (struct sockaddr *)from, fromlen, &info, &flags);
    if (n < 0) return n;
    *eor = (flags & MSG_EOR) != 0;
    *notification = (flags & MSG_NOTIFICATION) != 0;
    *assoc = (uint32_t)info.sinfo_assoc_id;
    if (*notification && n >= (ssize_t)sizeof(struct sctp_assoc_change)) {
        const union sctp_notification *sn = (const union sctp_notification *)buf;
        if (sn->sn_header.sn_type == SCTP_ASSOC_CHANGE) *assoc = (uint32_t)sn->sn_assoc_change.sac_assoc_id;
    }
    return n;
}

/// Sends one message to `to` (an association is opened when there is none), with the
/// message's time to live `ttl` (ms, 0: none). -1 with errno on failure.
static inline ssize_t swiftlet_sctp_send(int fd, const void *buf, size_t len, const struct sockaddr *to,
                                         socklen_t tolen, uint32_t ttl) {
    ssize_t n;
    do {
        n = sctp_sendmsg(fd, buf, len, (struct sockaddr *)to, tolen, 0, 0, 0, ttl, 0);
    } while (n < 0 && errno == EINTR);
    return n;
}

/// The options of socket `fd` as the kernel has them (sctp.options for a socket, and the
/// OS defaults from a scratch socket). -1 when they cannot be read.
static inline int swiftlet_sctp_get_options(int fd, swiftlet_sctp_options *o) {
    socklen_t l;
    int v;
    l = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &l) == 0) o->so_rcvbuf = v;
    l = sizeof(v);
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &l) == 0) o->so_sndbuf = v;
    l = sizeof(v);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_AUTOCLOSE, &v, &l) == 0) o->autoclose = v;
    struct sctp_rtoinfo rto;
    memset(&rto, 0, sizeof(rto));
    l = sizeof(rto);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_RTOINFO, &rto, &l) != 0) return -1;
    o->srto_initial = rto.srto_initial;
    o->srto_max = rto.srto_max;
    o->srto_min = rto.srto_min;
    struct sctp_assocparams ap;
    memset(&ap, 0, sizeof(ap));
    l = sizeof(ap);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_ASSOCINFO, &ap, &l) == 0) o->asocmaxrxt = ap.sasoc_asocmaxrxt;
    struct sctp_initmsg im;
    memset(&im, 0, sizeof(im));
    l = sizeof(im);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &im, &l) == 0) {
        o->init_max_attempts = im.sinit_max_attempts;
        o->init_max_timeo = im.sinit_max_init_timeo;
    }
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof(pp));
    l = sizeof(pp);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, &l) == 0) {
        o->hbinterval = pp.spp_hbinterval;
        o->pathmaxrxt = pp.spp_pathmaxrxt;
    }
    struct sctp_sack_info si;
    memset(&si, 0, sizeof(si));
    l = sizeof(si);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_DELAYED_SACK, &si, &l) == 0) {
        o->sack_delay = si.sack_delay;
        o->sack_freq = si.sack_freq;
    }
    l = sizeof(v);
    if (getsockopt(fd, IPPROTO_SCTP, SCTP_MAX_BURST, &v, &l) == 0) o->max_burst = v;
    return 0;
}

/// The OS defaults (Kamailio's sctp_get_os_defaults), from a scratch socket; -1 when the
/// kernel has no SCTP.
static inline int swiftlet_sctp_os_defaults(swiftlet_sctp_options *o) {
    int s = socket(PF_INET, SOCK_SEQPACKET, IPPROTO_SCTP);
    if (s < 0) return -1;
    int rc = swiftlet_sctp_get_options(s, o);
    close(s);
    return rc;
}
