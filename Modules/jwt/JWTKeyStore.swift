import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// Where the functions get their keys. Key files are read as Kamailio's module reads them:
/// with `key_mode` 0 at every call (a changed file is used at once), with 1 once, at first
/// use, and kept (no reload). Parsing a PEM key costs far more than reading it, so the parsed
/// keys are kept by their text in both modes (a changed file is a new text).
final class JWTKeyStore: @unchecked Sendable {
    /// `key_mode`: 1 keeps each key file's content from its first use.
    let cacheFiles: Bool

    /// At most this many parsed keys are kept (then they are all dropped and parsed again).
    private static let maxParsedKeys = 256
    /// Key files are read up to this size (larger ones are refused).
    static let maxFileSize = 1 << 20

    private struct TextKey: Hashable {
        let alg: JWTAlgorithm
        let text: [UInt8]
    }

    private struct PathKey: Hashable {
        let alg: JWTAlgorithm
        let path: String
    }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var files: [String: [UInt8]] = [:]
    private var signingByText: [TextKey: JWTSigningKey] = [:]
    private var verificationByText: [TextKey: JWTVerificationKey] = [:]
    private var signingByPath: [PathKey: JWTSigningKey] = [:]
    private var verificationByPath: [PathKey: JWTVerificationKey] = [:]

    init(keyMode: Int) {
        cacheFiles = keyMode == 1
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    private func locked<R>(_ body: () -> R) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// The private key (or HMAC secret) for `alg` in the file at `path`.
    func signingKey(path: String, alg: JWTAlgorithm) -> JWTSigningKey? {
        let pk = PathKey(alg: alg, path: path)
        if cacheFiles, let k = locked({ signingByPath[pk] }) { return k }
        guard let text = fileText(path) else { return nil }
        guard let key = signingKey(text: text, alg: alg) else {
            Log.error("jwt", "no \(alg.rawValue) private key in \(path)")
            return nil
        }
        if cacheFiles { locked { signingByPath[pk] = key } }
        return key
    }

    /// The public key (or HMAC secret) for `alg` in the file at `path`.
    func verificationKey(path: String, alg: JWTAlgorithm) -> JWTVerificationKey? {
        let pk = PathKey(alg: alg, path: path)
        if cacheFiles, let k = locked({ verificationByPath[pk] }) { return k }
        guard let text = fileText(path) else { return nil }
        guard let key = verificationKey(text: text, alg: alg) else {
            Log.error("jwt", "no \(alg.rawValue) public key in \(path)")
            return nil
        }
        if cacheFiles { locked { verificationByPath[pk] = key } }
        return key
    }

    /// The private key for `alg` in `text` (parsed once per distinct text).
    func signingKey(text: [UInt8], alg: JWTAlgorithm) -> JWTSigningKey? {
        let tk = TextKey(alg: alg, text: text)
        if let k = locked({ signingByText[tk] }) { return k }
        guard let key = JWTSigningKey(text, for: alg) else { return nil }
        locked {
            if signingByText.count >= Self.maxParsedKeys { signingByText.removeAll() }
            signingByText[tk] = key
        }
        return key
    }

    /// The public key for `alg` in `text` (parsed once per distinct text).
    func verificationKey(text: [UInt8], alg: JWTAlgorithm) -> JWTVerificationKey? {
        let tk = TextKey(alg: alg, text: text)
        if let k = locked({ verificationByText[tk] }) { return k }
        guard let key = JWTVerificationKey(text, for: alg) else { return nil }
        locked {
            if verificationByText.count >= Self.maxParsedKeys { verificationByText.removeAll() }
            verificationByText[tk] = key
        }
        return key
    }

    /// The content of the key file (from the cache with `key_mode` 1), nil when it cannot be
    /// read or is empty (Kamailio: "failed to read key file", "unable to read key file
    /// content").
    func fileText(_ path: String) -> [UInt8]? {
        if cacheFiles, let text = locked({ files[path] }) { return text }
        guard let text = Self.readFile(path) else { return nil }
        if cacheFiles { locked { files[path] = text } }
        return text
    }

    private static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            Log.error("jwt", "failed to read key file: \(path)")
            return nil
        }
        defer { close(fd) }
        var text = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            text += chunk[0..<n]
            if text.count > maxFileSize {
                Log.error("jwt", "key file larger than \(maxFileSize) bytes: \(path)")
                return nil
            }
        }
        if text.isEmpty {
            Log.error("jwt", "unable to read key file content: \(path)")
            return nil
        }
        return text
    }
}
