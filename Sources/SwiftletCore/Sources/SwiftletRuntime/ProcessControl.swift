import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The identity and directories of the server process (Kamailio's `-u`/`-g`/`-t`/`-w`/`-Y`
/// and the globals `user`, `group`, `chroot`, `workdir`, `rundir`): the user and group are
/// resolved before anything starts, the directories are entered before modules initialise,
/// and privileges are dropped after the sockets are bound, before the workers start
/// (`main.c`, `daemonize.c`'s `daemonize` and `do_suid`).
struct ProcessControl {
    /// The user id to switch to, or nil to keep the current one.
    var uid: uid_t?
    /// The user's supplementary groups, read before a chroot can hide the group database.
    var supplementaryGroups: [gid_t] = []
    /// The group id to switch to (`-g`, else the `-u` user's primary group), or nil.
    var gid: gid_t?
    var chrootDirectory: String?
    /// Where the process changes directory at start-up (Kamailio's default: `/`).
    var workingDirectory = "/"
    var runtimeDirectory = "/run/swiftlet"
    /// True when `rundir`/`-Y` named the runtime directory (then failing to create it stops
    /// the start).
    var runtimeDirectoryGiven = false

    /// The settings of the command line (which wins) and the configuration; fails, naming
    /// it, on a user or group that does not exist (Kamailio's `user2uid`/`group2gid`).
    init(options: CommandLineOptions, config: CoreConfiguration) throws(RuntimeError) {
        if let user = options.user ?? config.user {
            // A number is a uid (Kamailio takes no group from it), else a user name.
            let pw = UInt32(user).map { getpwuid($0) } ?? getpwnam(user)
            if let n = UInt32(user) {
                uid = n
            } else {
                guard let pw else { throw RuntimeError("bad user name/uid number: -u \(user)") }
                uid = pw.pointee.pw_uid
                gid = pw.pointee.pw_gid
            }
            if let pw, pw.pointee.pw_uid != getuid() {
                supplementaryGroups = Self.groups(of: pw.pointee.pw_name, primary: pw.pointee.pw_gid)
            } else if pw == nil, uid != getuid() {
                throw RuntimeError("user lookup failed for uid \(user)")
            }
        }
        if let group = options.group ?? config.group {
            if let n = UInt32(group) {
                gid = n
            } else {
                guard let gr = getgrnam(group) else { throw RuntimeError("bad group name/gid number: -g \(group)") }
                gid = gr.pointee.gr_gid
            }
        }
        chrootDirectory = options.chrootDirectory ?? config.chrootDirectory
        workingDirectory = options.workingDirectory ?? config.workingDirectory ?? "/"
        if let r = options.runtimeDirectory ?? config.runtimeDirectory {
            runtimeDirectory = r
            runtimeDirectoryGiven = true
        }
    }

    /// Creates the runtime directory when missing (mode 0700, owned by the `-u`/`-g`
    /// identity), then enters the chroot and the working directory (Kamailio's order).
    func enterDirectories() throws(RuntimeError) {
        Core.setRuntimeDirectory(runtimeDirectory)
        try createRuntimeDirectory()
        if let dir = chrootDirectory, chroot(dir) != 0 {
            throw RuntimeError("cannot chroot to \(dir): \(String(cString: strerror(errno)))")
        }
        guard chdir(workingDirectory) == 0 else {
            throw RuntimeError("cannot chdir to \(workingDirectory): \(String(cString: strerror(errno)))")
        }
    }

    private func createRuntimeDirectory() throws(RuntimeError) {
        var st = stat()
        guard !runtimeDirectory.isEmpty, stat(runtimeDirectory, &st) != 0 else { return }
        guard mkdir(runtimeDirectory, 0o700) == 0 else {
            let reason = String(cString: strerror(errno))
            // The default directory missing (a run as an ordinary user) is no reason to stop:
            // only what puts sockets there needs it, and says so.
            guard runtimeDirectoryGiven else {
                Log.warning("core", "cannot create runtime dir \(runtimeDirectory): \(reason)")
                return
            }
            throw RuntimeError(
                "failed to create runtime dir \(runtimeDirectory), check directory permissions: \(reason)")
        }
        if uid != nil || gid != nil, chown(runtimeDirectory, uid ?? uid_t.max, gid ?? gid_t.max) != 0 {
            throw RuntimeError(
                "failed to change owner of runtime dir \(runtimeDirectory): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes the process id to `path` and gives the file to the identity the server will
    /// run as, as Kamailio's `daemonize`: refuses when the file names a running process
    /// (another instance) or holds no pid; a stale pid is replaced.
    func writePidFile(_ path: String, value: pid_t = getpid()) throws(RuntimeError) {
        if let f = fopen(path, "r") {
            var line = [CChar](repeating: 0, count: 32)
            let text = fgets(&line, 32, f).map { String(cString: $0) } ?? ""
            fclose(f)
            guard let first = text.split(whereSeparator: \.isWhitespace).first, let old = Int32(first) else {
                throw RuntimeError("pid file \(path) exists, but doesn't contain a valid pid number")
            }
            if kill(old, 0) == 0 || errno == EPERM {
                throw RuntimeError("running process found in the pid file \(path)")
            }
            Log.warning("core", "pid file contains old pid, replacing pid")
        }
        guard let f = fopen(path, "w") else {
            throw RuntimeError(
                "unable to create pid file \(path): \(String(cString: strerror(errno))), check directory permissions")
        }
        fputs("\(value)\n", f)
        fclose(f)
        if uid != nil || gid != nil, chown(path, uid ?? uid_t.max, gid ?? gid_t.max) != 0 {
            throw RuntimeError("failed to chown PID file \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Kamailio's `do_suid`: the group first, then the user's supplementary groups and the
    /// user. glibc applies each change to every thread of the process.
    func dropPrivileges() throws(RuntimeError) {
        if let gid, gid != getgid(), setgid(gid) != 0 {
            throw RuntimeError("cannot change gid to \(gid): \(String(cString: strerror(errno)))")
        }
        guard let uid, uid != getuid() else { return }
        if setgroups(supplementaryGroups.count, supplementaryGroups) != 0 {
            throw RuntimeError("cannot set supplementary groups: \(String(cString: strerror(errno)))")
        }
        if setuid(uid) != 0 {
            throw RuntimeError("cannot change uid to \(uid): \(String(cString: strerror(errno)))")
        }
        Log.info("core", "running as uid \(getuid()), gid \(getgid())")
    }

    /// The descriptors above 2 open now (`/proc/self/fd`).
    static func openDescriptors() -> [Int32] {
        guard let dir = opendir("/proc/self/fd") else { return [] }
        defer { closedir(dir) }
        let own = dirfd(dir)
        var fds: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let fd = Int32(name), fd > 2, fd != own { fds.append(fd) }
        }
        return fds
    }

    /// The groups `initgroups(3)` would set: the user's groups and `primary`.
    static func groups(of name: UnsafePointer<CChar>, primary: gid_t) -> [gid_t] {
        var count: Int32 = 32
        while true {
            var list = [gid_t](repeating: 0, count: Int(count))
            if getgrouplist(name, primary, &list, &count) >= 0 { return Array(list.prefix(Int(count))) }
        }
    }
}
