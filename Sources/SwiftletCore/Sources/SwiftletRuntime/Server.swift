import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Start-up, run and shutdown of a Swiftlet server (Kamailio's `main.c`).
public enum Server {
    /// Runs `swiftlet` with the given arguments (program name excluded); returns the exit status.
    public static func main(arguments: [String]) -> Int32 {
        let options: CommandLineOptions
        do {
            options = try CommandLineOptions.parse(arguments)
        } catch {
            printError("swiftlet: \(error)")
            return 1
        }
        if options.showHelp {
            print(CommandLineOptions.help)
            return 0
        }
        if options.showVersion {
            print("version: \(Core.fullVersion)")
            print("module ABI: \(SWIFTLET_MODULE_ABI_VERSION)")
            return 0
        }

        if options.printFlags {
            print("version: \(Core.fullVersion)")
            print("flags: \(CoreRPC.buildFlags)")
            print("compiler: \(CoreRPC.compiler)")
            print("module ABI: \(SWIFTLET_MODULE_ABI_VERSION), SDK signature \(SWIFTLET_SDK_SIGNATURE)")
            return 0
        }
        if options.printConfig { return printConfig(options) }

        let loaded: LoadedConfiguration
        do {
            loaded = try ConfigurationLoader.load(options: options)
        } catch let error as ConfigLoadError {
            printError(error.rendered)
            printError("ERROR: bad config file (\(error.count) errors)")
            return 1
        } catch {
            printError("swiftlet: \(error)")
            return 1
        }
        // As Kamailio, an unknown -u user or -g group fails the check too.
        let process: ProcessControl
        do {
            process = try ProcessControl(options: options, config: loaded.core)
        } catch {
            printError("swiftlet: \(error)")
            return 1
        }
        if options.checkOnly {
            // As Kamailio's -c, the sockets are resolved and listed; unlike it, an address this
            // host cannot listen on fails the check instead of the start-up.
            var problems: [String] = []
            var resolved: [(proto: String, ip: String, listen: ListenAddress)] = []
            for l in loaded.core.listen {
                do {
                    let ip = try SocketAddress(host: l.address, port: l.port).ipString
                    if let problem = InterfaceAddresses.bindProblem(ip: ip) {
                        problems.append("cannot listen on \(l): \(problem)")
                    }
                    resolved.append((l.proto.rawValue, ip, l))
                } catch {
                    problems.append("cannot listen on \(l): \(error)")
                }
            }
            // As Kamailio, SCTP asked for on a kernel without it fails the check too.
            if loaded.core.sctp.isWanted(listen: loaded.core.listen) {
                do { _ = try sctpTransport(loaded.context) } catch { problems.append("\(error)") }
            }
            for p in problems { printError("swiftlet: \(p)") }
            guard problems.isEmpty else { return 1 }
            printError("config file ok, exiting...")
            printListening(resolved.map { ($0.proto, $0.ip, $0.listen) }, aliases: loaded.core.aliases)
            return 0
        }
        do {
            try run(loaded, options: options, process: process)
            return 0
        } catch {
            Log.log(.crit, "core", "\(error)")
            if !Log.logsToStderr || !Log.enabled(.crit) { printError("swiftlet: \(error)") }
            return 1
        }
    }

    /// Binds the listeners, initialises modules, starts the workers and waits for a signal.
    static func run(_ loaded: LoadedConfiguration, options: CommandLineOptions, process: ProcessControl) throws {
        let config = loaded.core
        // Runtime directory, chroot and working directory, the fork and the pid file, all
        // before modules initialise and before any thread exists, as in Kamailio (daemonize()
        // runs before init_modules()): a relative pid file lands in the working directory.
        let inherited = ProcessControl.openDescriptors()  // /proc may be missing after a chroot
        try process.enterDirectories()
        // -DDD daemonizes, as no -D (Kamailio's default).
        let startupReport =
            options.foreground == 0 || options.foreground >= 3 ? try daemonize(close: inherited) : nil
        if let pidFile = options.pidFile {
            try process.writePidFile(pidFile)
        }
        if let pgidFile = options.pgidFile {
            try process.writePidFile(pgidFile, value: getpgrp())
        }
        if !options.ignored.isEmpty {
            Log.info(
                "core", "command-line options without effect in Swiftlet: \(options.ignored.joined(separator: " "))")
        }
        defer { if let pidFile = options.pidFile { unlink(pidFile) } }
        // The listening sockets exist before modules initialise, as Kamailio's socket lists
        // do (fix_all_socket_lists runs before init_modules): mod_init finds them (dispatcher's
        // `socket=` attributes and default socket, dialogs loaded from a database). UDP
        // sockets are bound now (nothing reads them before the workers start); TCP and TLS
        // listeners start accepting once the modules have initialised (TLS needs its module);
        // the sctp module's transport makes the SCTP sockets afterwards.
        var listeners: [UDPListener] = []
        var sockets: [ListeningSocket] = []
        var streamSockets: [ListeningSocket] = []
        for (i, a) in config.listen.enumerated() {
            switch a.proto {
            case .udp:
                let l = try UDPListener(a, index: i)
                listeners.append(l)
                sockets.append(l.socket)
            case .tcp, .tls:
                let socket = try TCPTransport.socket(a, index: i)
                streamSockets.append(socket)
                sockets.append(socket)
            case .sctp: break
            default:
                throw RuntimeError("listen=\(a): \(a.proto.name) is not supported yet")
            }
        }
        let table = SocketTable(
            sockets: sockets, local: LocalAddresses(listeners: config.listen, aliases: config.aliases),
            mhomed: config.network.mhomed)
        loaded.install(transport: table)

        // Modules initialise in load order, before any thread exists.
        let core = loaded.context
        let initContext = ModuleInitContext(listeners: config.listen, core: core)
        for m in loaded.modules {
            do {
                try m.exports.initialize(initContext)
            } catch {
                throw RuntimeError("initialisation of module '\(m.name)' failed: \(error)")
            }
        }
        if config.openFilesLimit > 0 { try OpenFilesLimit.raise(to: config.openFilesLimit) }
        let tcpListen = config.listen.enumerated().filter { $0.element.proto == .tcp || $0.element.proto == .tls }
        let tcp: TCPTransport? =
            tcpListen.isEmpty
            ? nil
            : TCPTransport(
                settings: TCPSettings(
                    lifetime: config.tcpConnectionLifetime, maxConnections: config.tcpMaxConnections,
                    acceptNoContentLength: config.tcpAcceptNoCL,
                    workers: config.tcpChildren > 0 ? config.tcpChildren : config.children,
                    standbyWorkers: config.tcpStandbyWorkers))
        tcp?.registerStatistics()
        // SCTP: the module's transport, and the kernel's support checked first.
        var sctp: (any SCTPTransportProvider)? = nil
        if config.sctp.isWanted(listen: config.listen) { sctp = try sctpTransport(core) }
        var sctpListeners: [SCTPListener] = []
        for socket in streamSockets {
            if socket.proto == .tls { tcp!.security = try tlsEngine(core) }
            try tcp!.bind(socket)
        }
        for (i, a) in config.listen.enumerated() where a.proto == .sctp {
            guard let sctp else { throw RuntimeError("listen=\(a): SCTP is disabled") }
            let l = try SCTPListener(a, index: i, provider: sctp)
            sctpListeners.append(l)
        }
        table.appendLate(sctpListeners.map(\.socket))
        table.streams = tcp
        table.sctp = sctp
        loaded.install(transport: table)

        // Sockets are bound: give up root before any worker runs (Kamailio's do_suid).
        try process.dropPrivileges()

        // Signals are handled by the main thread only (sigwait); workers inherit the mask.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGHUP)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        signal(SIGPIPE, SIG_IGN)

        for m in loaded.modules { try childInit(m, rank: ProcessRank.initial) }
        ProcessTable.shared.reset()
        ProcessTable.shared.registerCurrentThread(
            rank: ProcessRank.main, description: "main process - attendant", threadName: "swiftlet-main")

        let stop = StopFlag()
        let dispatcher = MessageDispatcher(script: loaded.script, core: core)
        dispatcher.offerForInjection()
        var threads: [pthread_t] = []
        var rank = ProcessRank.firstWorker
        let failed = StopFlag()
        let script = loaded.script
        var pools: [UDPReceiverPool] = []
        for listener in listeners {
            let pool = UDPReceiverPool(size: config.children, adaptive: config.udpStandbyWorkers)
            if pool.adaptive { pools.append(pool) }
            for child in 0..<config.children {
                let worker = UDPWorker(
                    listener: listener, rank: rank, dispatcher: dispatcher, pool: pool, index: child, stop: stop)
                let workerRank = rank
                let sock = "\(listener.address.address):\(listener.address.port)"
                threads.append(
                    startWorker(
                        rank: workerRank, modules: loaded.modules, failed: failed,
                        description: "udp receiver child=\(child) sock=\(sock)", threadName: "udp-recv-\(child)"
                    ) {
                        // event_route[core:worker-one-init] runs once, in the first worker.
                        if workerRank == ProcessRank.firstWorker, !script.runWorkerOneInit() {
                            failed.set()
                            kill(getpid(), SIGTERM)
                            return
                        }
                        worker.run()
                    })
                rank += 1
            }
        }
        if !pools.isEmpty {
            let watched = pools
            Timers.every(milliseconds: 1, name: "udp-standby") { for pool in watched { pool.checkForStall() } }
        }
        rank = startSCTPReceivers(
            sctpListeners, children: config.sctp.children > 0 ? config.sctp.children : config.children,
            firstRank: rank, modules: loaded.modules, dispatcher: dispatcher, stop: stop, failed: failed,
            into: &threads)
        if let tcp {
            let readers = tcp.workers.count
            CoreRPC.tcpInfo = { (readers, tcp.settings.maxConnections, tcp.table.count) }
            let firstReader = rank
            let modules = loaded.modules
            tcp.workers.start(dispatcher: dispatcher) { w in
                blockSignals(signals)
                _ = initializeWorker(
                    rank: firstReader + w, modules: modules, failed: failed,
                    description: "tcp receiver (generic) child=\(w)", threadName: "tcp-recv-\(w)")
            }
            rank += readers
        }
        for m in loaded.modules { try childInit(m, rank: ProcessRank.main) }
        startAsyncTaskWorkers(loaded, firstLogRank: rank + 1, failed: failed)
        startTimers(loaded.modules, logRank: rank, failed: failed)
        printListening(
            table.sockets.map { ($0.proto.rawValue, $0.address.ipString, $0.listen) }, aliases: config.aliases)
        if let fd = startupReport { reportStarted(fd, keepStderr: config.logStderror) }
        Log.info("core", "\(Core.fullVersion) started with \(config.children) worker(s) per listener")

        var received: Int32 = 0
        repeat {
            sigwait(&signals, &received)
        } while received == SIGHUP
        Log.notice("core", "signal \(received) received, shutting down")
        Timers.stop()
        // Workers finish what was already received (UDP workers drain their socket), then
        // the connections close; no reply in flight is lost.
        stop.set()
        tcp?.stopAccepting()
        for t in threads { pthread_join(t, nil) }
        loaded.asyncTaskWorkers?.stop()
        tcp?.closeConnections()
        for m in loaded.modules.reversed() { m.exports.destroy() }
        CoreRPC.tcpInfo = nil
        if failed.isSet { throw RuntimeError("a worker failed to initialise") }
    }

    /// Starts the timer thread: module `child_init(PROC_TIMER)` on it, then the timers.
    static func startTimers(_ modules: [LoadedModule], logRank: Int, failed: StopFlag) {
        Timers.start {
            Log.setRank(logRank)
            ProcessTable.shared.registerCurrentThread(
                rank: ProcessRank.timer, description: "timer", threadName: "timer")
            for m in modules {
                do {
                    try childInit(m, rank: ProcessRank.timer)
                } catch {
                    Log.log(.crit, "core", "\(error)")
                    failed.set()
                    kill(getpid(), SIGTERM)
                    return false
                }
            }
            return true
        }
    }

    /// Starts a worker thread: `child_init(rank)` of every module on it, then `body`. A failed
    /// `child_init` stops the server (SIGTERM to itself), as a failed Kamailio child does.
    static func startWorker(
        rank: Int, modules: [LoadedModule], failed: StopFlag, description: String, threadName: String,
        body: @escaping () -> Void
    ) -> pthread_t {
        startThread {
            if initializeWorker(
                rank: rank, modules: modules, failed: failed, description: description, threadName: threadName)
            {
                body()
            }
        }
    }

    /// Makes the calling thread worker `rank`: its log rank, its entry in the process table,
    /// `child_init(rank)` of every module. False (and the server stopping) when a
    /// `child_init` failed.
    static func initializeWorker(
        rank: Int, modules: [LoadedModule], failed: StopFlag, description: String, threadName: String
    ) -> Bool {
        Log.setRank(rank)
        ProcessTable.shared.registerCurrentThread(rank: rank, description: description, threadName: threadName)
        for m in modules {
            do {
                try childInit(m, rank: rank)
            } catch {
                Log.log(.crit, "core", "\(error)")
                failed.set()
                kill(getpid(), SIGTERM)
                return false
            }
        }
        return true
    }

    /// Blocks `signals` in the calling thread (threads created before the main thread blocked
    /// them, as the stream readers' event loops, must not take them from `sigwait`).
    static func blockSignals(_ signals: sigset_t) {
        var set = signals
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Kamailio's start-up summary of the sockets (with their advertised address) and aliases
    /// (newest first: auto_aliases and alias=).
    static func printListening(_ sockets: [(proto: String, ip: String, listen: ListenAddress)], aliases: [LocalAlias]) {
        print("Listening on ")
        for s in sockets {
            let host = s.ip.contains(":") ? "[\(s.ip)]" : s.ip
            let hosts =
                s.listen.additionalAddresses.isEmpty
                ? host : "(" + ([host] + s.listen.additionalAddresses).joined(separator: ", ") + ")"
            var line = "             \(s.proto): \(hosts):\(s.listen.port)"
            if let a = s.listen.advertisedAddress {
                line += " advertise \(a):\(s.listen.advertisedPort ?? s.listen.port)"
            }
            print(line)
        }
        print("Aliases: ")
        for a in aliases.reversed() {
            print("             \(a.proto?.rawValue ?? "*"): \(a.host):\(a.port.map(String.init) ?? "*")")
        }
        fflush(nil)
    }

    static func childInit(_ m: LoadedModule, rank: Int) throws(RuntimeError) {
        do {
            try m.exports.childInitialize(rank)
        } catch {
            throw RuntimeError("child_init(\(rank)) of module '\(m.name)' failed: \(error)")
        }
    }

    /// Detaches from the terminal, as Kamailio's `daemonize`: a fork before any thread exists,
    /// a new session, the descriptors inherited from the caller (`close`) closed. The parent
    /// waits until the child reports (`reportStarted`) and exits 0, or 1 when the child ends
    /// without reporting (a socket that cannot be bound, ...; its errors still reach the
    /// terminal). Returns the descriptor the child reports on.
    static func daemonize(close inherited: [Int32]) throws(RuntimeError) -> Int32 {
        fflush(nil)
        var status: [Int32] = [-1, -1]
        guard pipe(&status) == 0 else { throw RuntimeError("pipe failed: \(RuntimeError.errnoText())") }
        let pid = fork()
        guard pid >= 0 else { throw RuntimeError("fork failed: \(RuntimeError.errnoText())") }
        if pid > 0 {
            close(status[1])
            var byte: UInt8 = 1
            var n = 0
            repeat { n = read(status[0], &byte, 1) } while n < 0 && errno == EINTR
            _exit(n == 1 && byte == 0 ? 0 : 1)
        }
        close(status[0])
        setsid()
        for fd in inherited where fd != status[1] { close(fd) }
        Log.processChanged()
        return status[1]
    }

    /// The daemon started: standard input and output (and error, unless logging there) go
    /// to /dev/null, and the waiting parent is told to exit 0.
    static func reportStarted(_ fd: Int32, keepStderr: Bool) {
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            if !keepStderr { dup2(null, 2) }
            if null > 2 { close(null) }
        }
        var ok: UInt8 = 0
        _ = write(fd, &ok, 1)
        close(fd)
    }

    /// `--cfg-print`: the configuration after the preprocessor on stdout, exit 0; exit 1
    /// with the errors on stderr when the preprocessor refuses it. Unlike Kamailio, which
    /// prints the text with comments and directive lines kept and defines not substituted,
    /// this prints the tokens the parser reads (see `PreprocessedConfig.text`).
    static func printConfig(_ options: CommandLineOptions) -> Int32 {
        let preprocessed: PreprocessedConfig
        do {
            preprocessed = try ConfigurationLoader.preprocess(options: options)
        } catch {
            printError("swiftlet: \(error)")
            return 1
        }
        print(preprocessed.text, terminator: "")
        guard preprocessed.diagnostics.isEmpty else {
            printError(ConfigError(preprocessed.diagnostics).rendered(sources: preprocessed.sources))
            printError("ERROR: bad config file (\(preprocessed.diagnostics.count) errors)")
            return 1
        }
        return 0
    }

    static func printError(_ text: String) {
        var bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// Kamailio's process ranks passed to `child_init`.
public enum ProcessRank {
    public static let main = 0
    /// The timer thread (Kamailio's `PROC_TIMER`).
    public static let timer = -1
    public static let initial = -127
    public static let firstWorker = 1
}

private final class ThreadBody {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}

/// Starts a detached-joinable POSIX thread running `body`.
func startThread(_ body: @escaping () -> Void) -> pthread_t {
    let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
    var thread = pthread_t()
    pthread_create(
        &thread, nil,
        { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
    return thread
}
