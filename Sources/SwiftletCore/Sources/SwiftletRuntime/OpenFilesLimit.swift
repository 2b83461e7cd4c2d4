import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// `open_files_limit`: raises the process's limit of open descriptors at start-up, as
/// Kamailio's `increase_open_fds` does: the soft limit up to the target, and the hard limit
/// too when the target is above it (which needs privileges). When that fails, the soft
/// limit is still raised to the old hard limit, and start-up stops with Kamailio's message.
enum OpenFilesLimit {
    /// `RLIM_INFINITY` (Glibc's macro is not imported as a value).
    private static let infinity = rlim_t.max

    static func raise(to target: Int) throws(RuntimeError) {
        var lim = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) == 0 else {
            throw RuntimeError("cannot get the maximum number of file descriptors: \(RuntimeError.errnoText())")
        }
        let original = lim
        let wanted = rlim_t(target)
        if lim.rlim_cur == infinity || wanted <= lim.rlim_cur { return }
        if lim.rlim_max == infinity || wanted <= lim.rlim_max {
            lim.rlim_cur = wanted
        } else {
            Log.info(
                "core",
                "trying to increase the open file limit past the hard limit (\(lim.rlim_max) -> \(target))")
            lim.rlim_max = wanted
            lim.rlim_cur = wanted
        }
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim) != 0 else { return }
        let reason = RuntimeError.errnoText()
        if original.rlim_max > original.rlim_cur {
            var fallback = rlimit(rlim_cur: original.rlim_max, rlim_max: original.rlim_max)
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &fallback)
        }
        throw RuntimeError(
            "error could not increase file limits: cannot increase the open file limit to "
                + "\(lim.rlim_cur)/\(lim.rlim_max): \(reason)")
    }
}
