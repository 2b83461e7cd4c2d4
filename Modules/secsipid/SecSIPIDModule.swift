import SwiftletSDK

/// The `secsipid` module (Kamailio's `modules/secsipid`): STIR/SHAKEN (RFC 8224, 8225, 8588)
/// Identity headers checked and built with libsecsipid, which also fetches the `x5u`/`info`
/// certificate, caches it on disk and verifies its chain (`libopt` `CertVerify`, ...).
final class SecSIPIDModule {
    /// `expire`: seconds after `iat` when a PASSporT is expired.
    var expire = 300
    /// `timeout`: seconds the HTTP(S) fetch of a public key may take.
    var timeout = 5
    /// `cache_expire`: seconds a cached public key is used.
    var cacheExpire = 3600
    /// `cache_dir`: where fetched public keys are cached (none when empty).
    var cacheDirectory = ""
    /// `modproc`: Kamailio's per-process module; here the library to open (see README).
    var modproc = "secsipid_proc.so"
    /// `libopt` values (`name=value`), in the order written.
    var libraryOptions: [String] = []

    /// The library, opened in `child_init` (after the daemon fork, see `SecSIPIDLibrary`).
    private var library: SecSIPIDLibrary?
    private let setup = SecSIPIDMutex()

    var lib: SecSIPIDLibrary? {
        setup.lock()
        defer { setup.unlock() }
        return library
    }

    var exports: ModuleExports {
        let e = ModuleExports(name: "secsipid")
        e.parameters = [
            ModuleParameter("expire", .int { (v: Int) throws(FixupError) in self.expire = v }),
            ModuleParameter("timeout", .int { (v: Int) throws(FixupError) in self.timeout = v }),
            ModuleParameter("cache_expire", .int { (v: Int) throws(FixupError) in self.cacheExpire = v }),
            ModuleParameter("cache_dir", .string { (v: String) throws(FixupError) in self.cacheDirectory = v }),
            ModuleParameter("modproc", .string { (v: String) throws(FixupError) in self.modproc = v }),
            ModuleParameter(
                "libopt",
                .function { (v: ModuleParameterSetting.Value) throws(FixupError) in
                    guard case .string(let s) = v, let eq = s.firstIndex(of: "="), eq != s.startIndex else {
                        throw FixupError("secsipid: libopt must be name=value")
                    }
                    self.libraryOptions.append(s)
                }),
        ]
        e.functions = functions
        e.pseudoVariables = [secsipidPV]
        e.childInitialize = { _ in try self.openLibrary() }
        return e
    }

    /// Opens the library and sets its options, once per configuration (Kamailio's
    /// `child_init`, which loads `modproc` in each process).
    func openLibrary() throws {
        setup.lock()
        defer { setup.unlock() }
        guard library == nil else { return }
        let name = modproc.hasSuffix("secsipid_proc.so") ? SecSIPIDLibrary.defaultLibrary : modproc
        let l = try SecSIPIDLibrary.load(name)
        for refused in l.configure(cacheDirectory: cacheDirectory, cacheExpire: cacheExpire, options: libraryOptions) {
            Log.warning("secsipid", "libsecsipid refused the option \(refused)")
        }
        library = l
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "secsipid") { SecSIPIDModule().exports }
}
