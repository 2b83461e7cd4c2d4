import SwiftletSDK
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The cfgtrace switch per worker (Kamailio's `DBG_CFGTRACE_ON` bit of each process's
/// entry): on or off for all workers, or for some of them (`dbg.trace on <pid>`), with the
/// common cases a single atomic load per action.
final class CfgTraceSwitch: @unchecked Sendable {
    private enum Mode: Int { case allOff = 0, allOn = 1, mixed = 2 }
    private let mode = Atomic<Int>(Mode.allOff.rawValue)
    private var lock = pthread_mutex_t()
    /// In mixed mode: the threads (kernel ids) that trace.
    private var on: Set<Int32> = []
    /// The threads known by id, for the mixed mode's complement.
    private var known: [Int32] = []

    init(on: Bool) {
        pthread_mutex_init(&lock, nil)
        mode.store(on ? Mode.allOn.rawValue : Mode.allOff.rawValue, ordering: .relaxed)
    }

    /// Whether the calling worker traces.
    @inline(__always) var isOn: Bool {
        switch mode.load(ordering: .relaxed) {
        case Mode.allOff.rawValue: return false
        case Mode.allOn.rawValue: return true
        default: return isOn(tid: CfgTraceSwitch.currentThreadID())
        }
    }

    func isOn(tid: Int32) -> Bool {
        switch mode.load(ordering: .relaxed) {
        case Mode.allOff.rawValue: return false
        case Mode.allOn.rawValue: return true
        default:
            pthread_mutex_lock(&lock)
            defer { pthread_mutex_unlock(&lock) }
            return on.contains(tid)
        }
    }

    /// Turns tracing on or off for every worker.
    func setAll(_ value: Bool) {
        pthread_mutex_lock(&lock)
        on.removeAll()
        mode.store(value ? Mode.allOn.rawValue : Mode.allOff.rawValue, ordering: .relaxed)
        pthread_mutex_unlock(&lock)
    }

    /// Turns tracing on or off for one worker; `all` are the workers' ids (the others keep
    /// their state).
    func set(_ value: Bool, tid: Int32, all: [Int32]) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        switch mode.load(ordering: .relaxed) {
        case Mode.allOn.rawValue: on = Set(all)
        case Mode.allOff.rawValue: on = []
        default: break
        }
        if value { on.insert(tid) } else { on.remove(tid) }
        if on.isEmpty {
            mode.store(Mode.allOff.rawValue, ordering: .relaxed)
        } else if Set(all).isSubset(of: on) {
            on.removeAll()
            mode.store(Mode.allOn.rawValue, ordering: .relaxed)
        } else {
            mode.store(Mode.mixed.rawValue, ordering: .relaxed)
        }
    }

    /// The kernel's id of the calling thread (what `core.psx` lists as PID).
    static func currentThreadID() -> Int32 {
        var buf = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &buf, buf.count - 1)
        guard n > 0 else { return getpid() }
        let text = String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "/").last.flatMap { Int32($0) } ?? getpid()
    }
}

/// Prints the cfgtrace lines (Kamailio's `dbg_cfg_trace()`):
/// `exec: *** cfgtrace:dbg_cfg_trace(): request_route=[DEFAULT_ROUTE] c=[/etc/kamailio/kamailio.cfg] l=19 a=63 n=assign`.
final class CfgTracer: ScriptActionTracer, @unchecked Sendable {
    let traceSwitch: CfgTraceSwitch
    let settings: DebuggerSettings

    init(settings: DebuggerSettings) {
        self.settings = settings
        traceSwitch = CfgTraceSwitch(on: false)
    }

    func actionWillRun(_ action: ScriptActionInfo, _ ctx: MessageContext) {
        if settings.cfgpkgcheck != 0 {
            // Kamailio's wording (and typo): its pkg check needs q_malloc, which Debian's build lacks.
            Log.debug("debugger", "cfg pkg check is disbled due to missing qm handler")
        }
        guard traceSwitch.isOn else { return }
        let level = settings.level
        guard Log.enabled(level, module: "debugger") else { return }
        let position = settings.cfgtraceFormat & 1 != 0 ? "" : "c=[\(action.file)] "
        Log.write(
            level, label: settings.logLevelName, module: "debugger",
            locinfo: settings.logPrefix + "dbg_cfg_trace(): ",
            "\(CfgTracer.routeTypeName(ctx.routeType))=[\(action.route)] \(position)l=\(action.line) a=\(action.type) n=\(action.name)\n",
            facility: settings.facility)
    }

    /// Kamailio's `get_current_route_type_name()`.
    static func routeTypeName(_ type: RouteTypes) -> String {
        switch type {
        case .request: "request_route"
        case .failure: "failure_route"
        case .tmOnReply, .coreOnReply: "onreply_route"
        case .branch: "branch_route"
        case .onSend: "onsend_route"
        case .error: "error_route"
        case .local: "local_route"
        case .branchFailure: "branch_failure_route"
        default: "unknown_route"
        }
    }
}
