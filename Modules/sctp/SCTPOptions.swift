import CSCTP

/// The sctp module's parameters (Kamailio 5.6's `sctp_*` modparams, `struct cfg_group_sctp`).
/// Zero for a kernel-dependent one means "keep the kernel's value".
struct SCTPOptions: Sendable {
    var socketRcvbuf = 0
    var socketSndbuf = 0
    /// Seconds before an idle association is closed (Kamailio's default 180).
    var autoclose = 180
    /// Milliseconds before an unsent message is dropped (32000).
    var sendTTL = 32000
    /// Attempts to re-send on a re-opened association (0, at most 9).
    var sendRetries = 0
    var assocTracking = 1
    var assocReuse = 1
    /// -1: as many as the kernel allows.
    var maxAssocs = -1
    var srtoInitial = 0
    var srtoMax = 0
    var srtoMin = 0
    var asocmaxrxt = 0
    var initMaxAttempts = 0
    var initMaxTimeo = 0
    var hbinterval = 0
    var pathmaxrxt = 0
    var sackDelay = 0
    var sackFreq = 0
    var maxBurst = 0

    /// Kamailio's MAX_SCTP_SEND_RETRIES.
    static let maxSendRetries = 9

    /// The parameter names in Kamailio's order (`sctp.options`), with their key paths.
    nonisolated(unsafe) static let fields: [(String, WritableKeyPath<SCTPOptions, Int>)] = [
        ("sctp_socket_rcvbuf", \.socketRcvbuf), ("sctp_socket_sndbuf", \.socketSndbuf),
        ("sctp_autoclose", \.autoclose), ("sctp_send_ttl", \.sendTTL), ("sctp_send_retries", \.sendRetries),
        ("sctp_assoc_tracking", \.assocTracking), ("sctp_assoc_reuse", \.assocReuse),
        ("sctp_max_assocs", \.maxAssocs), ("sctp_srto_initial", \.srtoInitial), ("sctp_srto_max", \.srtoMax),
        ("sctp_srto_min", \.srtoMin), ("sctp_asocmaxrxt", \.asocmaxrxt),
        ("sctp_init_max_attempts", \.initMaxAttempts), ("sctp_init_max_timeo", \.initMaxTimeo),
        ("sctp_hbinterval", \.hbinterval), ("sctp_pathmaxrxt", \.pathmaxrxt), ("sctp_sack_delay", \.sackDelay),
        ("sctp_sack_freq", \.sackFreq), ("sctp_max_burst", \.maxBurst),
    ]

    /// For the C side.
    var c: swiftlet_sctp_options {
        swiftlet_sctp_options(
            so_rcvbuf: Int32(socketRcvbuf), so_sndbuf: Int32(socketSndbuf), autoclose: Int32(autoclose),
            send_ttl: Int32(sendTTL), srto_initial: Int32(srtoInitial), srto_max: Int32(srtoMax),
            srto_min: Int32(srtoMin), asocmaxrxt: Int32(asocmaxrxt), init_max_attempts: Int32(initMaxAttempts),
            init_max_timeo: Int32(initMaxTimeo), hbinterval: Int32(hbinterval), pathmaxrxt: Int32(pathmaxrxt),
            sack_delay: Int32(sackDelay), sack_freq: Int32(sackFreq), max_burst: Int32(maxBurst))
    }

    /// These options with what the kernel reports for `fd` (or, with -1, for a scratch socket:
    /// the OS defaults) put in place of the kernel-dependent ones.
    func withKernelValues(fd: Int32) -> SCTPOptions {
        var k = swiftlet_sctp_options()
        let rc = fd >= 0 ? swiftlet_sctp_get_options(fd, &k) : swiftlet_sctp_os_defaults(&k)
        guard rc == 0 else { return self }
        var o = self
        o.socketRcvbuf = Int(k.so_rcvbuf)
        o.socketSndbuf = Int(k.so_sndbuf)
        if fd >= 0 { o.autoclose = Int(k.autoclose) }
        o.srtoInitial = Int(k.srto_initial)
        o.srtoMax = Int(k.srto_max)
        o.srtoMin = Int(k.srto_min)
        o.asocmaxrxt = Int(k.asocmaxrxt)
        o.initMaxAttempts = Int(k.init_max_attempts)
        o.initMaxTimeo = Int(k.init_max_timeo)
        o.hbinterval = Int(k.hbinterval)
        o.pathmaxrxt = Int(k.pathmaxrxt)
        o.sackDelay = Int(k.sack_delay)
        o.sackFreq = Int(k.sack_freq)
        o.maxBurst = Int(k.max_burst)
        return o
    }
}
