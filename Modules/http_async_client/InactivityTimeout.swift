import CHTTPAsyncCurl

#if canImport(Glibc)
    import Glibc
#endif

/// The query timeout as Kamailio has it: its libevent socket events carry the timeout, so a
/// transfer times out only after `timeout` ms without any activity (connecting, sending,
/// receiving), however long it takes in all. libcurl's own timeouts do not say that
/// (CURLOPT_TIMEOUT_MS bounds the whole query; CURLOPT_LOW_SPEED_* averages over whole
/// seconds), so the worker checks what each transfer moved after every turn of the multi
/// handle.
enum InactivityTimeout {
    /// Monotonic milliseconds.
    static func now() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }

    /// How long `transfer` has moved nothing, in milliseconds (0 when it moved since the
    /// last look).
    static func idleMilliseconds(_ transfer: HTTPTransfer, easy: UnsafeMutableRawPointer, now: Int64) -> Int {
        let progress = self.progress(easy)
        if progress != transfer.lastProgress {
            transfer.lastProgress = progress
            transfer.lastActivity = now
            return 0
        }
        return Int(now - transfer.lastActivity)
    }

    /// What the transfer moved so far: bytes received (headers and body) and sent (request
    /// and body), plus one for a connection made (TCP, then TLS).
    private static func progress(_ easy: UnsafeMutableRawPointer) -> Int64 {
        let received =
            Int64(swiftlet_hac_info_time(easy, CURLINFO_SIZE_DOWNLOAD_T))
            + Int64(swiftlet_hac_info_long(easy, CURLINFO_HEADER_SIZE))
        let sent =
            Int64(swiftlet_hac_info_time(easy, CURLINFO_SIZE_UPLOAD_T))
            + Int64(swiftlet_hac_info_long(easy, CURLINFO_REQUEST_SIZE))
        let connected: Int64 = swiftlet_hac_info_time(easy, CURLINFO_CONNECT_TIME_T) > 0 ? 1 : 0
        let secured: Int64 = swiftlet_hac_info_time(easy, CURLINFO_APPCONNECT_TIME_T) > 0 ? 1 : 0
        return received + sent + connected + secured
    }
}
