import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// A module loaded into the process.
public struct LoadedModule {
    public let name: String
    public let path: String
    public let exports: ModuleExports
}

/// Finds module shared objects along `mpath`, opens them and checks that they were built
/// for this core before using anything they export.
public struct ModuleLoader {
    public let searchPath: [String]
    /// Whether a module that is not found is reported with every file tried (`-dd`).
    public let listsTriedPaths: Bool

    public init(searchPath: [String], listsTriedPaths: Bool = false) {
        self.searchPath = searchPath
        self.listsTriedPaths = listsTriedPaths
    }

    /// The files tried for `loadmodule "name"`, in order: a name containing `/` as given
    /// (then relative to each directory); otherwise, per directory, `<dir>/<name>.so`,
    /// `<dir>/lib<name>.so` (what SwiftPM writes) and `<dir>/<name>/<name>.so`.
    public func candidates(for name: String) -> [String] {
        if name.contains("/") {
            if name.hasPrefix("/") { return [name] }
            return [name] + searchPath.map { "\($0)/\(name)" }
        }
        let base = name.hasSuffix(".so") ? String(name.dropLast(3)) : name
        return searchPath.flatMap { dir in ["\(dir)/\(base).so", "\(dir)/lib\(base).so", "\(dir)/\(base)/\(base).so"] }
    }

    /// Loads the module named in `load`, or throws a diagnostic at its `loadmodule`.
    public func load(_ load: ModuleLoad) throws(ConfigDiagnostic) -> LoadedModule {
        let tried = candidates(for: load.path)
        guard let path = tried.first(where: { access($0, R_OK) == 0 }) else {
            // Kamailio's wording: could not find module <name> in <mpath>.
            let base = load.path.hasSuffix(".so") ? String(load.path.dropLast(3)) : load.path
            let head = "could not find module <\(base)> in <\(searchPath.joined(separator: ":"))>"
            throw ConfigDiagnostic(
                listsTriedPaths
                    ? "\(head) (failed to load module; tried \(tried.joined(separator: ", ")))"
                    : "\(head) (failed to load module; -dd lists the files tried)",
                at: load.location)
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            if let symbol = Self.kamailioCoreSymbol(in: reason) {
                throw ConfigDiagnostic(
                    "\(path) is a Kamailio module, not a Swiftlet one (it needs Kamailio's core symbol '\(symbol)'); "
                        + "Swiftlet loads only modules built with its SDK: check mpath",
                    at: load.location)
            }
            throw ConfigDiagnostic("cannot load module '\(load.path)' from \(path): \(reason)", at: load.location)
        }
        guard let symbol = dlsym(handle, SWIFTLET_MODULE_REGISTER_SYMBOL) else {
            throw ConfigDiagnostic(
                "\(path) is not a Swiftlet module: it does not export \(SWIFTLET_MODULE_REGISTER_SYMBOL)",
                at: load.location)
        }
        typealias Register = @convention(c) (UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer?
        let register = unsafeBitCast(symbol, to: Register.self)
        let coreVersion = strdup(SWIFTLET_CORE_VERSION)
        let signature = strdup(SWIFTLET_SDK_SIGNATURE)
        defer {
            free(coreVersion)
            free(signature)
        }
        var core = swiftlet_core_info_t(
            abi_version: UInt32(SWIFTLET_MODULE_ABI_VERSION),
            struct_size: UInt32(MemoryLayout<swiftlet_core_info_t>.size),
            core_version: UnsafePointer(coreVersion), sdk_signature: UnsafePointer(signature))
        guard let raw = withUnsafePointer(to: &core, { register($0) }) else {
            throw ConfigDiagnostic("module '\(load.path)' (\(path)) refused to register", at: load.location)
        }
        // Only the first three fields are read before the ABI versions are known to agree.
        let header = raw.assumingMemoryBound(to: swiftlet_module_info_t.self)
        let abi = header.pointee.abi_version
        let moduleVersion = header.pointee.core_version.map { String(cString: $0) } ?? "?"
        guard abi == UInt32(SWIFTLET_MODULE_ABI_VERSION), moduleVersion == SWIFTLET_CORE_VERSION else {
            throw ConfigDiagnostic(
                "module '\(load.path)' (\(path)) was built for module ABI \(abi), core \(moduleVersion); "
                    + "this core is swiftlet \(SWIFTLET_CORE_VERSION) with module ABI \(SWIFTLET_MODULE_ABI_VERSION)",
                at: load.location)
        }
        let info = header.pointee
        let moduleName = info.name.map { String(cString: $0) } ?? load.path
        let moduleSignature = info.sdk_signature.map { String(cString: $0) } ?? "?"
        guard moduleSignature == SWIFTLET_SDK_SIGNATURE else {
            throw ConfigDiagnostic(
                "module '\(moduleName)' (\(path)) was built against other SwiftletCore sources (signature "
                    + "\(moduleSignature)); this core has signature \(SWIFTLET_SDK_SIGNATURE): rebuild the module",
                at: load.location)
        }
        guard let exportsPointer = info.exports else {
            throw ConfigDiagnostic("module '\(moduleName)' (\(path)) returned no exports", at: load.location)
        }
        let exports = Unmanaged<ModuleExports>.fromOpaque(exportsPointer).takeRetainedValue()
        return LoadedModule(name: exports.name, path: path, exports: exports)
    }

    /// The symbol named by a dlopen error when it is one that only Kamailio's core defines
    /// (every Kamailio module refers to its logging globals, shared memory root or KSR calls).
    static func kamailioCoreSymbol(in dlopenError: String) -> String? {
        guard let r = dlopenError.firstRange(of: "undefined symbol: ") else { return nil }
        let symbol = String(dlopenError[r.upperBound...].prefix { !$0.isWhitespace && $0 != "," })
        let prefixes = [
            "log_stderr", "log_level", "_km_log", "km_log", "ksr_", "_ksr_", "_shm_root", "shm_", "dprint_",
            "cfg_get", "my_pid", "process_no", "_pkg_root", "register_module", "sr_",
        ]
        return prefixes.contains(where: { symbol.hasPrefix($0) }) ? symbol : nil
    }
}
