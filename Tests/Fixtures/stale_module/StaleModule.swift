import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

// A module that has the right ABI version and core release but was compiled against other
// SwiftletCore sources (another SDK signature), as a module left over from an earlier build
// of the same release would be. Its Swift types may have another layout: the loader must
// refuse it before touching its exports.
@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    let info = UnsafeMutablePointer<swiftlet_module_info_t>.allocate(capacity: 1)
    info.initialize(
        to: swiftlet_module_info_t(
            abi_version: UInt32(SWIFTLET_MODULE_ABI_VERSION),
            struct_size: UInt32(MemoryLayout<swiftlet_module_info_t>.size),
            core_version: UnsafePointer(strdup(SWIFTLET_CORE_VERSION)),
            sdk_signature: UnsafePointer(strdup("0123456789abcdef")),
            name: UnsafePointer(strdup("swiftlet_test_stale_module")),
            exports: nil))
    return UnsafeRawPointer(info)
}
