import Foundation
import SwiftletRuntime
import Testing

/// The installed server's defaults (scripts/install): its configuration under the install
/// prefix, its modules in ../lib/swiftlet/modules, found from where the executable is.
@Suite struct InstallLayoutTests {
    @Test func theDefaultConfigurationFollowsTheInstallPrefix() throws {
        let dir = TemporaryDirectory()
        let prefix = dir.path + "/opt/sw"
        try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        // No PREFIX/etc/swiftlet: the system's.
        #expect(InstallLayout.defaultConfigFile(binDirectory: prefix + "/bin") == "/etc/swiftlet/swiftlet.cfg")
        try FileManager.default.createDirectory(atPath: prefix + "/etc/swiftlet", withIntermediateDirectories: true)
        #expect(InstallLayout.defaultConfigFile(binDirectory: prefix + "/bin") == prefix + "/etc/swiftlet/swiftlet.cfg")
        // Not a bin directory (a build directory): the system's.
        #expect(InstallLayout.defaultConfigFile(binDirectory: prefix) == "/etc/swiftlet/swiftlet.cfg")
        // /usr keeps its configuration in /etc, as the FHS has it.
        #expect(InstallLayout.defaultConfigFile(binDirectory: "/usr/bin") == "/etc/swiftlet/swiftlet.cfg")
        #expect(InstallLayout.defaultConfigFile(binDirectory: nil) == "/etc/swiftlet/swiftlet.cfg")
    }

    /// A copy of the built server in PREFIX/bin runs PREFIX/etc/swiftlet/swiftlet.cfg with
    /// the modules of PREFIX/lib/swiftlet/modules, given neither -f nor -L.
    @Test func anInstalledServerFindsItsConfigurationAndModulesWithNoOptions() throws {
        let dir = TemporaryDirectory()
        let fm = FileManager.default
        let prefix = dir.path + "/prefix"
        for sub in ["bin", "etc/swiftlet", "lib/swiftlet/modules"] {
            try fm.createDirectory(atPath: prefix + "/" + sub, withIntermediateDirectories: true)
        }
        // /proc/self/exe names the copy; the core beside it is found through RUNPATH $ORIGIN.
        try fm.copyItem(atPath: swiftletBinary, toPath: prefix + "/bin/swiftlet")
        try fm.createSymbolicLink(
            atPath: prefix + "/bin/libSwiftletCore.so", withDestinationPath: productsDirectory + "/libSwiftletCore.so")
        for module in ["sl", "xlog"] {
            try fm.createSymbolicLink(
                atPath: "\(prefix)/lib/swiftlet/modules/\(module).so",
                withDestinationPath: "\(productsDirectory)/lib\(module).so")
        }
        let cfg = prefix + "/etc/swiftlet/swiftlet.cfg"
        _ = fm.createFile(
            atPath: cfg,
            contents: Data(
                """
                loadmodule "sl.so"
                loadmodule "xlog.so"
                request_route {
                    xlog("L_INFO", "in $rm\\n");
                    sl_send_reply("200", "OK");
                }

                """.utf8))
        let ok = try runProgram(prefix + "/bin/swiftlet", ["-c"])
        #expect(ok.status == 0, "\(ok.stderr)")
        // An error in that file is reported at its path: it is the one read.
        _ = fm.createFile(atPath: cfg, contents: Data("loadmodule \"sl.so\"\nrequest_route { nope(); }\n".utf8))
        let bad = try runProgram(prefix + "/bin/swiftlet", ["-c"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("\(cfg):2:"), "\(bad.stderr)")
        // A module that is not in PREFIX/lib/swiftlet/modules is looked for there.
        _ = fm.createFile(atPath: cfg, contents: Data("loadmodule \"tm.so\"\nrequest_route { exit; }\n".utf8))
        let missing = try runProgram(prefix + "/bin/swiftlet", ["-c"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("\(prefix)/bin/../lib/swiftlet/modules"), "\(missing.stderr)")
    }
}
