import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `-u`/`-g` (`user`, `group`), `-w` (`workdir`), `-Y` (`rundir`), `-t` (`chroot`), `-P` and
/// daemon mode, against the running binary. Dropping to another user and chroot need root:
/// run as an ordinary user, those tests check the refusal instead.
@Suite(.serialized) struct ProcessControlTests {
    static let isRoot = getuid() == 0

    static func config(_ extra: String = "") -> String {
        """
        debug=3
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:PORT
        \(extra)
        loadmodule "sl.so"
        request_route { sl_send_reply("200", "OK"); }
        """
    }

    /// The server answers an OPTIONS with 200.
    static func answers(_ port: Int) -> Bool {
        let client = UDPClient()
        client.send(sipRequest(optionsRequest(), clientPort: client.port), to: port)
        return client.receive().map { replyLines($0)[0] } == "SIP/2.0 200 OK"
    }

    /// A `/proc/<pid>/status` field, e.g. `Uid` -> `65534\t65534\t65534\t65534`.
    static func status(_ pid: Int32, _ field: String) -> String? {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix(field + ":") }
            .map { $0.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    static func link(_ path: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: path) }

    @Test func anUnknownUserOrGroupIsRefusedByName() throws {
        let dir = TemporaryDirectory()
        let cfg = dir.write("c.cfg", Self.config().replacingOccurrences(of: "PORT", with: "5999"))
        let u = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory, "-u", "no_such_user_slerr"])
        #expect(u.status == 1)
        #expect(u.stderr == "swiftlet: bad user name/uid number: -u no_such_user_slerr\n")
        let g = try runSwiftlet(["-c", "-f", cfg, "-L", productsDirectory, "-g", "no_such_group_slerr"])
        #expect(g.status == 1)
        #expect(g.stderr == "swiftlet: bad group name/gid number: -g no_such_group_slerr\n")
        // The globals, and their aliases.
        let cfg2 = dir.write(
            "c2.cfg", Self.config("uid=\"no_such_user_slerr\"").replacingOccurrences(of: "PORT", with: "5999"))
        let c = try runSwiftlet(["-c", "-f", cfg2, "-L", productsDirectory])
        #expect(c.stderr == "swiftlet: bad user name/uid number: -u no_such_user_slerr\n")
        // The command line wins over the configuration.
        let me = String(cString: getpwuid(getuid()).pointee.pw_name)
        let ok = try runSwiftlet(["-c", "-f", cfg2, "-L", productsDirectory, "-u", me])
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    /// After binding, the server runs as `-u`/`-g` (as root: nobody/nogroup; otherwise the
    /// current user, and switching to root is refused).
    @Test func privilegesAreDroppedAfterTheSocketsAreBound() throws {
        guard Self.isRoot else {
            let me = String(cString: getpwuid(getuid()).pointee.pw_name)
            let server = try TestServer(config: Self.config(), extraArguments: ["-u", me])
            #expect(Self.answers(server.port))
            #expect(Self.status(server.process.processIdentifier, "Uid")?.hasPrefix("\(getuid())\t") == true)
            let dir = TemporaryDirectory()
            let cfg = dir.write("r.cfg", Self.config().replacingOccurrences(of: "PORT", with: String(freeUDPPort())))
            let r = try runSwiftlet(["-f", cfg, "-DD", "-L", productsDirectory, "-u", "root"])
            #expect(r.status == 1)
            // The group changes first (Kamailio's do_suid): root's group 0 is refused already.
            #expect(r.stderr.contains("cannot change gid to 0: Operation not permitted"))
            return
        }
        let nobody = try #require(getpwnam("nobody")).pointee
        let nogroup = try #require(getgrnam("nogroup")).pointee
        let server = try TestServer(config: Self.config(), extraArguments: ["-u", "nobody", "-g", "nogroup"])
        let pid = server.process.processIdentifier
        #expect(Self.answers(server.port))
        let uid = "\(nobody.pw_uid)"
        let gid = "\(nogroup.gr_gid)"
        #expect(Self.status(pid, "Uid") == [uid, uid, uid, uid].joined(separator: "\t"))
        #expect(Self.status(pid, "Gid") == [gid, gid, gid, gid].joined(separator: "\t"))
        // Root's supplementary groups are gone: nobody's are set.
        #expect(Self.status(pid, "Groups") == "\(nobody.pw_gid)")
        #expect(server.waitForLog("running as uid \(uid), gid \(gid)"))

        // `user=` in the configuration, by uid number (no group from a number, as Kamailio).
        let byUID = try TestServer(config: Self.config("user=\"\(uid)\""))
        #expect(Self.answers(byUID.port))
        #expect(Self.status(byUID.process.processIdentifier, "Uid")?.hasPrefix(uid + "\t") == true)
        #expect(Self.status(byUID.process.processIdentifier, "Gid")?.hasPrefix("0\t") == true)
    }

    /// `-w` and `workdir=`: the process changes directory at start-up (to `/` by default), so a
    /// relative pid file ends up there.
    @Test func theWorkingDirectoryHoldsARelativePidFile() throws {
        let work = TemporaryDirectory()
        let server = try TestServer(config: Self.config(), extraArguments: ["-w", work.path, "-P", "rel.pid"])
        let pid = server.process.processIdentifier
        #expect(Self.link("/proc/\(pid)/cwd") == work.path)
        let text = try String(contentsOfFile: work.path + "/rel.pid", encoding: .utf8)
        #expect(text == "\(pid)\n")
        #expect(Self.answers(server.port))
        server.stop()
        // Removed at shutdown.
        #expect(!FileManager.default.fileExists(atPath: work.path + "/rel.pid"))

        let other = TemporaryDirectory()
        let byConfig = try TestServer(config: Self.config("wdir=\"\(other.path)\""), extraArguments: ["-P", "p.pid"])
        #expect(Self.link("/proc/\(byConfig.process.processIdentifier)/cwd") == other.path)
        #expect(FileManager.default.fileExists(atPath: other.path + "/p.pid"))

        let plain = try TestServer(config: Self.config())
        #expect(Self.link("/proc/\(plain.process.processIdentifier)/cwd") == "/")

        let missing = try runSwiftlet([
            "-f", byConfig.directory.path + "/swiftlet.cfg", "-DD", "-w", "/nonexistent-slerr",
        ])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("cannot chdir to /nonexistent-slerr: No such file or directory"))
    }

    /// `-Y`/`rundir=`: created (0700) when missing; jsonrpcs' default socket lives there.
    @Test func theRuntimeDirectoryHoldsTheRPCSocket() throws {
        let base = TemporaryDirectory()
        let run = base.path + "/run/"
        let server = try TestServer(
            config: Self.config(
                "rundir=\"\(run)\"\nloadmodule \"jsonrpcs.so\"\nmodparam(\"jsonrpcs\", \"transport\", 4)"))
        var st = stat()
        #expect(stat(run, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o700)
        let socket = run + "swiftlet_rpc.sock"
        var reply = ""
        for _ in 0..<50 where !reply.contains("\"result\"") {
            let p = SpawnedProcess()
            p.executableURL = URL(fileURLWithPath: productsDirectory + "/swiftletctl")
            p.arguments = ["-s", socket, "core.version"]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = Pipe()
            try p.run()
            reply = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            if !reply.contains("\"result\"") { usleep(50_000) }
        }
        #expect(reply.contains("\"result\":\t\"swiftlet 0.1.0 (x86_64/linux)\""), "\(server.log)")

        // -Y wins over rundir=; a directory that cannot be created stops the start.
        let bad = try runSwiftlet([
            "-f", server.directory.path + "/swiftlet.cfg", "-DD", "-L", productsDirectory, "-Y",
            "/nonexistent-slerr/run",
        ])
        #expect(bad.status == 1)
        #expect(
            bad.stderr.contains(
                "failed to create runtime dir /nonexistent-slerr/run, check directory permissions: No such file or directory"
            ))
    }

    /// `-t`/`chroot=`: the process runs inside the directory; the pid file is written there.
    @Test func chrootConfinesTheProcess() throws {
        let jail = TemporaryDirectory()
        guard Self.isRoot else {
            let cfg = jail.write("c.cfg", Self.config().replacingOccurrences(of: "PORT", with: String(freeUDPPort())))
            let r = try runSwiftlet(["-f", cfg, "-DD", "-L", productsDirectory, "-t", jail.path])
            #expect(r.status == 1)
            #expect(r.stderr.contains("cannot chroot to \(jail.path): Operation not permitted"))
            return
        }
        let server = try TestServer(config: Self.config("chroot=\"\(jail.path)\""), extraArguments: ["-P", "/s.pid"])
        let pid = server.process.processIdentifier
        #expect(Self.link("/proc/\(pid)/root") == jail.path)
        #expect(Self.link("/proc/\(pid)/cwd") == jail.path)
        #expect(Self.answers(server.port))
        #expect((try? String(contentsOfFile: jail.path + "/s.pid", encoding: .utf8)) == "\(pid)\n")
    }

    /// Without -D: the pid file holds the forked daemon (a session leader, not the command
    /// that returned), written in the working directory; a second instance with the same
    /// pid file is refused and leaves it alone; a start failure is the command's exit status.
    @Test func daemonModeWritesThePidOfTheDaemon() throws {
        let work = TemporaryDirectory()
        let port = freeUDPPort()
        // Logging to syslog: a daemon logging to stderr would keep the caller's pipe open.
        let text = Self.config().replacingOccurrences(of: "PORT", with: String(port))
        let cfg = work.write("d.cfg", text.replacingOccurrences(of: "log_stderror=yes", with: "log_stderror=no"))
        let r = try runSwiftlet(["-f", cfg, "-L", productsDirectory, "-w", work.path, "-P", "d.pid"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("Listening on \n"))
        let pidText = try String(contentsOfFile: work.path + "/d.pid", encoding: .utf8)
        let pid = try #require(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(pid, SIGTERM) }
        #expect(getsid(pid) == pid)
        #expect(Self.answers(port))

        let again = try runSwiftlet(["-f", cfg, "-L", productsDirectory, "-w", work.path, "-P", "d.pid"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("running process found in the pid file d.pid"))
        #expect((try? String(contentsOfFile: work.path + "/d.pid", encoding: .utf8)) == pidText)

        // The port is taken: the daemon cannot bind, the command fails and says why.
        let busy = try runSwiftlet(["-f", cfg, "-L", productsDirectory, "-P", work.path + "/other.pid"])
        #expect(busy.status == 1)
        #expect(busy.stderr.contains("cannot bind udp:127.0.0.1:\(port): Address already in use"))
        #expect(!FileManager.default.fileExists(atPath: work.path + "/other.pid"))
    }
}
