#if canImport(Glibc)
    import Glibc
#endif

/// Kamailio's `log_prefix` (a format with pseudo-variables put before every log line while
/// a message is processed) and `log_prefix_mode` (0: evaluated once when the message is
/// received; 1: evaluated again for each line, so it follows changes the script makes).
///
/// The transport calls `Log.beginMessage(ctx)` when it starts processing a message and
/// `Log.endMessage()` when it is done; without `log_prefix` (and without the JSON `c` flag)
/// both return after one check.
extension Log {
    nonisolated(unsafe) static var prefixFormat: StringFormat? = nil
    nonisolated(unsafe) static var prefixMode = 0

    /// Sets the prefix format (nil: none) and mode. Call before any worker thread starts.
    public static func setPrefix(_ format: StringFormat?, mode: Int = 0) {
        prefixFormat = format
        prefixMode = mode
    }

    /// The calling thread processes `context` now: evaluates the prefix (mode 0) or keeps
    /// the context to evaluate it per line (mode 1); records the Call-ID for JSON lines.
    @inline(__always) public static func beginMessage(_ context: MessageContext) {
        guard prefixFormat != nil || json?.callID == true else { return }
        LogThreadState.current.begin(context)
    }

    /// The message is done: lines have no prefix again.
    @inline(__always) public static func endMessage() {
        guard prefixFormat != nil || json?.callID == true else { return }
        LogThreadState.current.end()
    }
}

/// What the logger keeps per thread: the worker's `setdebug` level and the message being
/// processed (for `log_prefix`).
final class LogThreadState {
    var localLevel: LogLevel?
    var prefix = ""
    var callID = ""
    private var context: MessageContext?
    private var rendering = false

    var effectiveLevel: LogLevel { localLevel ?? Log.configuredLevel }

    func begin(_ ctx: MessageContext) {
        if Log.json?.callID == true, let r = ctx.message.callIDRange {
            callID = String(decoding: ctx.message.buffer[r], as: UTF8.self)
        }
        guard let format = Log.prefixFormat else { return }
        if Log.prefixMode == 1 {
            context = ctx
        } else {
            prefix = render(format, ctx)
        }
    }

    func end() {
        context = nil
        prefix = ""
        callID = ""
    }

    /// The prefix for a line printed now.
    func prefixForLine() -> String {
        guard let context, let format = Log.prefixFormat, !rendering else { return prefix }
        return render(format, context)
    }

    private func render(_ format: StringFormat, _ ctx: MessageContext) -> String {
        rendering = true  // a PV that logs while the prefix is evaluated gets no prefix
        defer { rendering = false }
        return format.render(ctx)
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<LogThreadState>.fromOpaque(p).release() }
        }
        return key
    }()

    /// The calling thread's state, created on first use.
    static var current: LogThreadState {
        if let p = pthread_getspecific(key) { return Unmanaged<LogThreadState>.fromOpaque(p).takeUnretainedValue() }
        let s = LogThreadState()
        pthread_setspecific(key, Unmanaged.passRetained(s).toOpaque())
        return s
    }
}
