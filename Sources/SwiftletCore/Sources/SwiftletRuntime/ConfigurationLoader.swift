import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A configuration read, checked and compiled, with its modules loaded.
public struct LoadedConfiguration {
    public let core: CoreConfiguration
    public let modules: [LoadedModule]
    public let script: CompiledScript
    /// The core context of this configuration: its module APIs, RPCs, hooks and routes;
    /// the runtime installs the transports into it.
    public let context: CoreContext
    /// The compiled `onsend_route` as the send path runs it, or nil without one.
    public var onSend: ((MessageContext, Destination, [UInt8]) -> Bool)? {
        guard script.hasOnSendRoute else { return nil }
        let script = script
        return { ctx, destination, bytes in script.runOnSendRoute(ctx, destination: destination, bytes: bytes) }
    }
    /// Problems that do not stop the configuration (also logged as warnings).
    public var warnings: [ConfigDiagnostic] = []
}

/// The configuration was refused; every problem is listed.
public struct ConfigLoadError: Error {
    public let error: ConfigError
    public let sources: [String: String]
    public var count: Int { error.diagnostics.count }
    /// Each problem as `file:line:col: error: message` with the source line and a caret.
    public var rendered: String { error.rendered(sources: sources) }
}

/// Reads a configuration file and turns it into a runnable server configuration:
/// preprocessing (`#!define`, `include_file`, ...), global parameters, log set-up, modules
/// (loaded and checked), modparams, compiled routes.
public enum ConfigurationLoader {
    /// Reads and loads `options.configFile` with the `-A` defines.
    public static func load(options: CommandLineOptions) throws -> LoadedConfiguration {
        try load(preprocessed: preprocess(options: options), options: options)
    }

    /// Loads configuration text as if read from `file` (included files come from disk).
    public static func load(text: String, file: String, options: CommandLineOptions) throws -> LoadedConfiguration {
        try load(preprocessed: preprocess(text: text, file: file, options: options), options: options)
    }

    /// Reads `options.configFile` and runs the preprocessor on it with the `-A` defines.
    public static func preprocess(options: CommandLineOptions) throws -> PreprocessedConfig {
        let path = options.configFile
        guard let text = Preprocessor.readFileFromDisk(path) else {
            throw RuntimeError("cannot read config file \(path): \(RuntimeError.errnoText())")
        }
        return preprocess(text: text, file: path, options: options)
    }

    /// Runs the preprocessor on configuration text with the `-A` defines.
    public static func preprocess(text: String, file: String, options: CommandLineOptions) -> PreprocessedConfig {
        Preprocessor.preprocess(
            text: text, file: file, defines: options.defines, substitutions: options.substitutions)
    }

    /// Parses and loads preprocessed configuration.
    ///
    /// Loads are serialised process-wide: logging, the pseudo-variable registry and the
    /// counters are process-wide and configured by each load (tests load many in parallel).
    public static func load(
        preprocessed: PreprocessedConfig, options: CommandLineOptions,
        context: CoreContext = CoreContext()
    ) throws -> LoadedConfiguration {
        pthread_mutex_lock(serial)
        defer { pthread_mutex_unlock(serial) }
        return try loadSerially(preprocessed: preprocessed, options: options, context: context)
    }

    nonisolated(unsafe) private static let serial: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

    private static func loadSerially(
        preprocessed: PreprocessedConfig, options: CommandLineOptions, context: CoreContext
    ) throws -> LoadedConfiguration {
        CoreContext.makeCurrent(context)
        let sources = preprocessed.sources
        let file = preprocessed.tokens.last?.location.file ?? options.configFile
        var diagnostics: [ConfigDiagnostic] = preprocessed.diagnostics
        var warnings: [ConfigDiagnostic] = []
        let parsed = Parser.parse(tokens: preprocessed.tokens)
        var config = parsed.0
        diagnostics += parsed.1
        diagnostics += applyCommandLineModules(options, to: &config)

        // Global parameters, then the command line on top (as Kamailio: -n, -l, -L, -E, -d win).
        var core = CoreConfiguration()
        CustomParameters.shared.reset()
        diagnostics += core.apply(config.globals, warnings: &warnings)
        if let n = options.children { core.children = n }
        diagnostics += applyCommandLineGlobals(options, to: &core)
        for l in options.listen {
            do throws(ConfigDiagnostic) {
                let named =
                    l.split(separator: ":", maxSplits: 1).first.map {
                        TransportProtocol(rawValue: $0.lowercased()) != nil
                    } ?? false
                for a in try ListenParser.parse(commandLine: l) {
                    if !named || !l.contains(":") { core.listenWithoutProtocol.append(core.listen.count) }
                    core.listen.append(a)
                }
            } catch {
                diagnostics.append(error)
            }
        }
        if let m = options.modulePath { core.mpath = m.split(separator: ":").map(String.init) }
        if core.mpath.isEmpty { core.mpath = defaultModulePath() }
        if options.logToStderr { core.logStderror = true }
        if let d = options.debugLevel { core.debug = LogLevel(debugValue: d) }
        if options.debugIncrements > 0 {
            core.debug = LogLevel(debugValue: core.debug.rawValue + options.debugIncrements)
        }
        if core.listen.isEmpty {
            core.listen = defaultListeners(port: core.port, ipv6: core.autoBindIPv6)
            core.listenWithoutProtocol = Array(core.listen.indices)
        }
        ListenParser.dropDisabledTLS(&core)
        ListenParser.expandInterfaces(&core)
        ListenParser.expandProtocols(&core)
        ListenParser.applySCTPMode(&core)
        DNSResolver.settings = core.network.effectiveDNS(listeners: core.listen)
        context.install(resolver: SystemSIPResolver())
        // use_dns_failover and the destination blocklist, for modules (tm).
        try? context.apis.register(
            ProvidedAPI(
                CoreDestinationPolicy(core.network.destinations, timers: context.timers), as: DestinationPolicy.self),
            module: "core")
        if core.network.autoAliases {
            core.aliases += AutoAliases.forListeners(core.listen, existing: core.aliases)
        }
        Log.configure(
            level: core.debug, destination: core.logStderror ? .stderr : .syslog(facility: core.logFacility),
            name: core.logName)
        LogEngine.configure(type: core.logEngineType, data: core.logEngineData)
        Log.setEngine(logEngine(core, options, &diagnostics))
        Log.setPrefix(nil)
        Core.setServerHeader(core.effectiveServerHeader)
        configureSharedMemory(core: core, options: options)
        for w in warnings { Log.warning("core", "\(w.location): \(w.message)") }

        // Pseudo-variables of the core, then modules in load order.
        let registry = PseudoVariableRegistry.shared
        if !registry.contains("rm") {
            do throws(FixupError) { try CorePseudoVariables.register(in: registry) } catch {
                diagnostics.append(ConfigDiagnostic(error.message, at: SourceLocation(file: file, line: 1, column: 1)))
            }
        }
        registry.removeModuleClasses()  // a configuration loaded again in the same process (tests)
        // Module APIs and RPCs belong to this configuration's context; counters are
        // process-wide and start again with each load (tests load many).
        Counters.shared.removeAll()
        let localAddresses = LocalAddresses(listeners: core.listen, aliases: core.aliases)
        context.isMyself = { localAddresses.isMyself(host: $0, port: $1) }
        context.listeners = core.listen
        context.aliases = core.aliases.reversed()
        context.settings.checkVia = core.checkVia
        context.settings.udpMTU = core.udpMTU
        context.settings.udpMTUFallback = core.udpMTUFallback
        context.settings.forceRport = core.forceRport
        registerAsyncTaskWorkers(core.asyncWorkers, in: context, &diagnostics, file: file)
        MyselfCallbacks.removeAll()
        AVPAliases.removeAll()
        let moduleNames = ModuleNameList()
        do throws(FixupError) { try CoreRPC.register(in: context.rpcs, modules: { moduleNames.names }) } catch {
            diagnostics.append(ConfigDiagnostic(error.message, at: SourceLocation(file: file, line: 1, column: 1)))
        }
        let loader = ModuleLoader(searchPath: core.mpath, listsTriedPaths: options.debugIncrements >= 2)
        addSCTPModule(core, to: &config, file: file)
        var modules: [LoadedModule] = []
        var loadedAt: [String: ModuleLoad] = [:]
        var failed: Set<String> = []
        for load in config.modules {
            do throws(ConfigDiagnostic) {
                let m = try loader.load(load)
                if loadedAt[m.name] != nil {
                    Log.warning("core", "\(load.location): module '\(m.name)' is already loaded")
                    continue
                }
                for pv in m.exports.pseudoVariables {
                    do throws(FixupError) { try registry.register(pv, module: m.name) } catch {
                        throw ConfigDiagnostic("module '\(m.name)': \(error.message)", at: load.location)
                    }
                }
                for api in m.exports.apis {
                    do throws(FixupError) { try context.apis.register(api, module: m.name) } catch {
                        throw ConfigDiagnostic("module '\(m.name)': \(error.message)", at: load.location)
                    }
                }
                for rpc in m.exports.rpcs {
                    do throws(FixupError) { try context.rpcs.register(rpc) } catch {
                        throw ConfigDiagnostic("module '\(m.name)': \(error.message)", at: load.location)
                    }
                }
                modules.append(m)
                moduleNames.names.append(m.name)
                loadedAt[m.name] = load
            } catch {
                diagnostics.append(error)
                failed.insert(moduleName(of: load.path))
            }
        }

        // modparam: the module name is an anchored, case-insensitive regular expression.
        for setting in config.moduleParameters {
            let re = POSIXRegex.script("^(\(setting.module))$")
            let matching = modules.filter { re?.matches($0.name) == true }
            guard !matching.isEmpty else {
                // A modparam of a module whose loadmodule failed adds nothing to that error.
                if failed.contains(where: { re?.matches($0) == true }) { continue }
                diagnostics.append(
                    ConfigDiagnostic("modparam: no loaded module matches '\(setting.module)'", at: setting.location))
                continue
            }
            for m in matching {
                if let load = loadedAt[m.name], load.order > setting.order {
                    diagnostics.append(
                        ConfigDiagnostic(
                            "modparam for module '\(m.name)' comes before its loadmodule (\(load.location))",
                            at: setting.location)
                    )
                    continue
                }
                guard let p = m.exports.parameters.first(where: { $0.name == setting.name }) else {
                    diagnostics.append(
                        ConfigDiagnostic("module '\(m.name)' has no parameter '\(setting.name)'", at: setting.location))
                    continue
                }
                do throws(FixupError) { try p.apply(setting.value) } catch {
                    diagnostics.append(
                        ConfigDiagnostic(
                            "modparam \"\(m.name)\" \"\(setting.name)\": \(error.message)", at: setting.valueLocation))
                }
            }
        }

        // log_prefix may use the pseudo-variables of modules (Kamailio parses it after mod_init).
        if let prefix = core.logPrefix {
            do throws(FixupError) {
                Log.setPrefix(try StringFormat(parsing: prefix.format, registry: registry), mode: core.logPrefixMode)
            } catch {
                diagnostics.append(ConfigDiagnostic("log_prefix: \(error.message)", at: prefix.location))
            }
        }

        var functions = FunctionTable()
        for m in modules { functions.add(m) }
        var environment = CompilerEnvironment()
        environment.maxRecursiveLevel = core.maxRecursiveLevel
        environment.maxWhileLoops = core.maxWhileLoops
        environment.localAddresses = localAddresses
        environment.loadedModules = Set(modules.map(\.name))
        environment.failedModules = failed
        environment.tracer = context.apis.lookup(ScriptActionTracer.self)
        let compiler = ScriptCompiler(functions: functions, registry: registry, environment: environment)
        let script = compiler.compile(config)
        context.install(hooks: MessageHooks(modules: modules.map(\.exports)))
        diagnostics += compiler.diagnostics
        for w in compiler.warnings { Log.warning("core", "\(w.location): \(w.message)") }
        if config.routes.first(where: { $0.kind == .request }) == nil, diagnostics.isEmpty {
            Log.warning("core", "\(file): no request_route: every request will be dropped")
        }
        guard diagnostics.isEmpty else {
            let sorted = diagnostics.sorted {
                ($0.location.file, $0.location.line, $0.location.column) < (
                    $1.location.file, $1.location.line, $1.location.column
                )
            }
            throw ConfigLoadError(error: ConfigError(sorted), sources: sources)
        }
        context.install(routes: script)
        script.requestRouteCompletion = context.apis.lookup(RequestRouteCompletion.self)
        return LoadedConfiguration(
            core: core, modules: modules, script: script, context: context, warnings: warnings + compiler.warnings)
    }

    /// The log line format: `--log-engine` on the command line, else `log_engine_type`
    /// (+ `log_engine_data` flags) in the configuration; nil for plain lines.
    static func logEngine(_ core: CoreConfiguration, _ options: CommandLineOptions, _ errors: inout [ConfigDiagnostic])
        -> LogJSON?
    {
        if let e = options.logEngine {
            if let json = LogJSON(engine: e) { return json }
            errors.append(
                ConfigDiagnostic(
                    "--log-engine: unknown log engine '\(e)' (only json is supported)",
                    at: SourceLocation(file: "<command line>", line: 1, column: 1)))
            return nil
        }
        guard let type = core.logEngineType else { return nil }
        // A module's engine (log_custom's "udp") reads LogEngine.type itself.
        if type.lowercased() == "udp" { return nil }
        if let json = LogJSON(engine: type + (core.logEngineData.map { ":" + $0 } ?? "")) { return json }
        Log.warning("core", "log engine '\(type)' is not supported: logging plain lines")
        return nil
    }

    /// Sizes the shared memory pool before any module can use it (`-m` wins over
    /// `shm_mem_size`, as in Kamailio).
    static func configureSharedMemory(core: CoreConfiguration, options: CommandLineOptions) {
        let mb = options.sharedMemoryMB ?? core.sharedMemoryMB ?? SharedMemory.defaultSize >> 20
        if !SharedMemory.configureShared(size: mb << 20) {
            Log.warning("core", "shared memory is set up already: \(mb) MB ignored")
        }
        if let pkg = options.privateMemoryMB {
            Log.info("core", "-M \(pkg) ignored: workers are threads that use the process heap, not pkg pools")
        }
    }

    /// The module name of a `loadmodule` argument: `tm` for `tm.so`, `/usr/lib/x/libtm.so`, `tm`.
    static func moduleName(of path: String) -> String {
        var name = Substring(path.split(separator: "/").last ?? Substring(path))
        if name.hasSuffix(".so") { name = name.dropLast(3) }
        return String(name)
    }

    /// The directory of the running executable, and `<prefix>/lib/swiftlet/modules` beside it.
    static func defaultModulePath() -> [String] { InstallLayout.defaultModulePath() }

    /// Without `listen=`, Kamailio listens on every local IPv4 address, and IPv6 ones with
    /// `auto_bind_ipv6` (UDP; TCP is added for them unless disabled).
    static func defaultListeners(port: Int, ipv6: Bool) -> [ListenAddress] {
        let ips = InterfaceAddresses.addresses(of: nil, ipv6: ipv6)
        guard !ips.isEmpty else { return [ListenAddress(proto: .udp, address: "0.0.0.0", port: port)] }
        return ips.map { ListenAddress(proto: .udp, address: $0, port: port) }
    }
}

/// The names of the loaded modules, filled while loading (read by `core.modules`).
final class ModuleNameList: @unchecked Sendable {
    var names: [String] = []
}
