import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

// A module that claims to be built for another module ABI and core release, as a module
// compiled against an older or newer Swiftlet would. The loader must refuse it and name
// both versions. It writes the descriptor by hand instead of using registerSwiftletModule.
@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    let info = UnsafeMutablePointer<swiftlet_module_info_t>.allocate(capacity: 1)
    info.initialize(
        to: swiftlet_module_info_t(
            abi_version: UInt32(SWIFTLET_MODULE_ABI_VERSION) + 98,
            struct_size: UInt32(MemoryLayout<swiftlet_module_info_t>.size),
            core_version: UnsafePointer(strdup("9.9.9")),
            sdk_signature: UnsafePointer(strdup("ffffffffffffffff")),
            name: UnsafePointer(strdup("swiftlet_test_abi_mismatch")),
            exports: nil))
    return UnsafeRawPointer(info)
}
