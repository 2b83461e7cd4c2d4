#if canImport(Glibc)
    import Glibc
#endif

/// Facts about the running core that modules may read.
public enum Core {
    /// The core release (`SWIFTLET_CORE_VERSION`).
    public static let version = SWIFTLET_CORE_VERSION
    /// `swiftlet 0.1.0 (x86_64/linux)`, as Kamailio prints its full version.
    public static let fullVersion = "swiftlet \(SWIFTLET_CORE_VERSION) (\(architecture)/linux)"
    #if arch(x86_64)
        public static let architecture = "x86_64"
    #elseif arch(arm64)
        public static let architecture = "aarch64"
    #else
        public static let architecture = "unknown"
    #endif

    /// The `Server:` header line put in locally generated replies, or nil
    /// (`server_header`, `server_signature`). Set at start-up.
    nonisolated(unsafe) public internal(set) static var serverHeader: String? =
        "Server: Swiftlet (\(SWIFTLET_CORE_VERSION) (\(architecture)/linux))"

    /// Sets the Server header (the runtime calls this while applying global parameters).
    public static func setServerHeader(_ line: String?) { serverHeader = line }
}

/// Builds the answer of a module's `swiftlet_module_register` entry point.
///
/// It is emitted into the module itself, so the ABI and core versions it reports are the
/// ones the module was compiled against. The export table is built (and handed over
/// retained) only when they match the loading core; otherwise the core gets the versions
/// alone and refuses the module with both sides named.
///
/// ```swift
/// @_cdecl("swiftlet_module_register")
/// public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
///     registerSwiftletModule(core: core, name: "sl") { SLModule().exports }
/// }
/// ```
@_alwaysEmitIntoClient
public func registerSwiftletModule(
    core: UnsafePointer<swiftlet_core_info_t>?, name: String, exports: () -> ModuleExports
) -> UnsafeRawPointer? {
    let info = UnsafeMutablePointer<swiftlet_module_info_t>.allocate(capacity: 1)
    info.initialize(
        to: swiftlet_module_info_t(
            abi_version: UInt32(SWIFTLET_MODULE_ABI_VERSION),
            struct_size: UInt32(MemoryLayout<swiftlet_module_info_t>.size),
            core_version: UnsafePointer(strdup(SWIFTLET_CORE_VERSION)),
            sdk_signature: UnsafePointer(strdup(SWIFTLET_SDK_SIGNATURE)),
            name: UnsafePointer(strdup(name)),
            exports: nil))
    if let core, core.pointee.abi_version == UInt32(SWIFTLET_MODULE_ABI_VERSION),
        let coreVersion = core.pointee.core_version, String(cString: coreVersion) == SWIFTLET_CORE_VERSION,
        let signature = core.pointee.sdk_signature, String(cString: signature) == SWIFTLET_SDK_SIGNATURE
    {
        info.pointee.exports = Unmanaged.passRetained(exports()).toOpaque()
    }
    return UnsafeRawPointer(info)
}
