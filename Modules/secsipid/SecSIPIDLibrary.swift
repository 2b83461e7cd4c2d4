import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// libsecsipid (the secsipidx project's C API, Debian `libsecsipid1`), opened with `dlopen`
/// once the process is past the daemon fork: it is a Go `c-shared` library whose runtime
/// starts its threads when the library is loaded, and a Go runtime loaded before a `fork`
/// hangs in the child. Kamailio avoids the same trap by loading `secsipid_proc.so` in
/// `child_init`; the module links nothing, so `loadmodule "secsipid.so"` does not start Go.
///
/// The library keeps its options (cache directory, certificate checks) in process-wide
/// globals: set them once, before workers call it (`configure`).
final class SecSIPIDLibrary: @unchecked Sendable {
    typealias CString = UnsafeMutablePointer<CChar>?
    typealias SignJSONHP = @convention(c) (CString, CString, CString, UnsafeMutablePointer<CString>?) -> Int32
    typealias GetIdentity =
        @convention(c) (CString, CString, CString, CString, CString, CString, UnsafeMutablePointer<CString>?) -> Int32
    typealias CheckFull = @convention(c) (CString, Int32, Int32, CString, Int32) -> Int32
    typealias CheckFullPubKey = @convention(c) (CString, Int32, Int32, CString, Int32) -> Int32
    typealias SetFileCacheOptions = @convention(c) (CString, Int32) -> Int32
    typealias GetURLContent =
        @convention(c) (CString, Int32, UnsafeMutablePointer<CString>?, UnsafeMutablePointer<Int32>?)
        -> Int32
    typealias OptSetS = @convention(c) (CString, CString) -> Int32
    typealias OptSetN = @convention(c) (CString, Int32) -> Int32
    typealias OptSetV = @convention(c) (CString) -> Int32

    let signJSONHP: SignJSONHP
    let getIdentity: GetIdentity
    let getIdentityPrvKey: GetIdentity
    let checkFull: CheckFull
    let checkFullPubKey: CheckFullPubKey
    let setFileCacheOptions: SetFileCacheOptions
    let getURLContent: GetURLContent
    let optSetS: OptSetS
    let optSetN: OptSetN
    let optSetV: OptSetV

    /// The shared object loaded for Kamailio's default `modproc` (`secsipid_proc.so`).
    static let defaultLibrary = "libsecsipid.so.1"

    private static let lock = SecSIPIDMutex()
    nonisolated(unsafe) private static var loaded: [String: SecSIPIDLibrary] = [:]

    /// The library named `name` (a file name searched as `dlopen` does, or a path), loaded
    /// once per process.
    static func load(_ name: String) throws -> SecSIPIDLibrary {
        lock.lock()
        defer { lock.unlock() }
        if let l = loaded[name] { return l }
        guard let handle = dlopen(name, RTLD_NOW) else {
            throw FixupError("could not open <\(name)>: \(dlerror().map { String(cString: $0) } ?? "unknown error")")
        }
        func symbol<T>(_ s: String, _: T.Type) throws -> T {
            guard let p = dlsym(handle, s) else { throw FixupError("<\(name)> has no symbol \(s)") }
            return unsafeBitCast(p, to: T.self)
        }
        let l = SecSIPIDLibrary(
            signJSONHP: try symbol("SecSIPIDSignJSONHP", SignJSONHP.self),
            getIdentity: try symbol("SecSIPIDGetIdentity", GetIdentity.self),
            getIdentityPrvKey: try symbol("SecSIPIDGetIdentityPrvKey", GetIdentity.self),
            checkFull: try symbol("SecSIPIDCheckFull", CheckFull.self),
            checkFullPubKey: try symbol("SecSIPIDCheckFullPubKey", CheckFullPubKey.self),
            setFileCacheOptions: try symbol("SecSIPIDSetFileCacheOptions", SetFileCacheOptions.self),
            getURLContent: try symbol("SecSIPIDGetURLContent", GetURLContent.self),
            optSetS: try symbol("SecSIPIDOptSetS", OptSetS.self),
            optSetN: try symbol("SecSIPIDOptSetN", OptSetN.self),
            optSetV: try symbol("SecSIPIDOptSetV", OptSetV.self))
        loaded[name] = l
        return l
    }

    private init(
        signJSONHP: SignJSONHP, getIdentity: GetIdentity, getIdentityPrvKey: GetIdentity, checkFull: CheckFull,
        checkFullPubKey: CheckFullPubKey, setFileCacheOptions: SetFileCacheOptions, getURLContent: GetURLContent,
        optSetS: OptSetS, optSetN: OptSetN, optSetV: OptSetV
    ) {
        self.signJSONHP = signJSONHP
        self.getIdentity = getIdentity
        self.getIdentityPrvKey = getIdentityPrvKey
        self.checkFull = checkFull
        self.checkFullPubKey = checkFullPubKey
        self.setFileCacheOptions = setFileCacheOptions
        self.getURLContent = getURLContent
        self.optSetS = optSetS
        self.optSetN = optSetN
        self.optSetV = optSetV
    }

    /// Sets the library's options for one configuration: first its defaults (what a fresh
    /// process has, so a configuration loaded earlier in this process leaves nothing behind),
    /// then the cache of `cache_dir`/`cache_expire` when a directory is set, then each
    /// `libopt` in the order written. Returns the `libopt` values the library refused.
    func configure(cacheDirectory: String, cacheExpire: Int, options: [String]) -> [String] {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        for (name, value) in [
            ("CacheDirPath", ""), ("CertCAFile", ""), ("CertCAInter", ""), ("CertCRLFile", ""),
            ("x5u", "https://127.0.0.1/cert.pem"),
        ] {
            _ = Self.withC(name) { n in Self.withC(value) { v in optSetS(n, v) } }
        }
        _ = Self.withC("CacheExpires") { optSetN($0, 3600) }
        _ = Self.withC("CertVerify") { optSetN($0, 0) }
        if !cacheDirectory.isEmpty {
            _ = Self.withC(cacheDirectory) { setFileCacheOptions($0, Int32(clamping: cacheExpire)) }
        }
        return options.filter { option in Self.withC(option) { optSetV($0) } != 0 }
    }

    /// Runs `body` with a NUL-terminated copy of `s` (the library only reads it).
    static func withC<R>(_ s: String, _ body: (CString) -> R) -> R {
        s.withCString { body(UnsafeMutablePointer(mutating: $0)) }
    }

    /// Takes the string the library allocated (its length `count`, or up to the NUL when
    /// `count` is nil) and frees it.
    static func take(_ p: CString, count: Int? = nil) -> String? {
        guard let p else { return nil }
        defer { free(p) }
        if let count {
            return String(decoding: UnsafeRawBufferPointer(start: p, count: max(count, 0)), as: UTF8.self)
        }
        return String(cString: p)
    }
}

/// A pthread mutex for the few calls that load or configure the library.
final class SecSIPIDMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(mutex, nil) }
    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
}
