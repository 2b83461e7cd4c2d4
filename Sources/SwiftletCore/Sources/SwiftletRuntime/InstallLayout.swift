#if canImport(Glibc)
    import Glibc
#endif

/// Where an installed `swiftlet` finds its files, worked out from where its executable is,
/// so that one build serves every install prefix (`scripts/install --prefix`, the Debian
/// packages' `/usr`) with no `-L` and no `-f`:
///
/// - modules: the executable's directory, then `<bin>/../lib/swiftlet/modules`;
/// - configuration: `<prefix>/etc/swiftlet/swiftlet.cfg` for `<prefix>/bin/swiftlet` when
///   `<prefix>/etc/swiftlet` exists and the prefix is not `/usr` (whose configuration is in
///   `/etc`, as the FHS has it); otherwise `/etc/swiftlet/swiftlet.cfg`.
public enum InstallLayout {
    /// The configuration file used without `-f` by a server installed in `/usr` (or run
    /// from a build directory).
    public static let systemConfigFile = "/etc/swiftlet/swiftlet.cfg"

    /// The directory of the running executable (`/proc/self/exe`), or nil when it cannot be read.
    public static func executableDirectory() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        let exe = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
    }

    /// The default module path (`mpath`): the executable's directory and
    /// `../lib/swiftlet/modules` beside it.
    public static func defaultModulePath() -> [String] {
        guard let dir = executableDirectory() else { return ["."] }
        return [dir, "\(dir)/../lib/swiftlet/modules"]
    }

    /// The configuration file used without `-f`, for an executable in `binDirectory`.
    public static func defaultConfigFile(binDirectory: String? = executableDirectory()) -> String {
        guard let bin = binDirectory, bin.hasSuffix("/bin") else { return systemConfigFile }
        let prefix = String(bin.dropLast(4))
        guard prefix != "/usr", prefix != "" else { return systemConfigFile }
        var st = stat()
        guard stat("\(prefix)/etc/swiftlet", &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            return systemConfigFile
        }
        return "\(prefix)/etc/swiftlet/swiftlet.cfg"
    }
}
