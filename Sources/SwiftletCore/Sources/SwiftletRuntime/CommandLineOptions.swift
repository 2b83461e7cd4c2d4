import SwiftletConfig
import SwiftletSDK

/// The `swiftlet` command line, parsed getopt-style as Kamailio's: short options may be
/// grouped (`-DDE`), values attached or separate (`-n4`, `-n 4`), `-d`/`-D` repeated.
public struct CommandLineOptions: Equatable {
    /// `-f file`; by default `/etc/swiftlet/swiftlet.cfg`, or the install prefix's (see `InstallLayout`).
    public var configFile = InstallLayout.defaultConfigFile()
    public var checkOnly = false
    /// Number of `-D`: 0 daemonize, 1 no fork, 2 foreground without daemonizing.
    public var foreground = 0
    public var logToStderr = false
    /// Each `-d` raises the debug level by one; `--debug=N` sets it.
    public var debugIncrements = 0
    public var debugLevel: Int? = nil
    public var children: Int? = nil
    public var listen: [String] = []
    public var modulePath: String? = nil
    public var pidFile: String? = nil
    /// `-m MB`: size of the shared memory pool.
    public var sharedMemoryMB: Int? = nil
    /// `-M MB` (Kamailio's private memory per process): accepted and ignored.
    public var privateMemoryMB: Int? = nil
    public var showVersion = false
    public var showHelp = false
    /// `-A NAME[=VALUE]` (repeatable): preprocessor defines, as `#!define NAME VALUE`.
    public var defines: [PreprocessorDefine] = []
    /// `--cfg-print`: print the preprocessed configuration and exit.
    public var printConfig = false
    /// `--log-engine=json[:flags]`: the log line format (Kamailio's option; see `LogJSON`).
    public var logEngine: String? = nil
    /// `-u user`, `-g group`: the identity to run as once the sockets are bound.
    public var user: String? = nil
    public var group: String? = nil
    /// `-t dir`: chroot directory; `-w dir`: working directory; `-Y dir`: runtime directory.
    public var chrootDirectory: String? = nil
    public var workingDirectory: String? = nil
    public var runtimeDirectory: String? = nil
    /// `-a yes|no`: `auto_aliases`.
    public var autoAliases: Bool? = nil
    /// `--alias=[proto:]host[:port]` (repeatable): as `alias=`.
    public var aliases: [String] = []
    /// `-K`: `check_via=1`.
    public var checkVia = false
    /// `-N n`: `tcp_children`.
    public var tcpChildren: Int? = nil
    /// `-T`: `disable_tcp=yes`.
    public var disableTCP = false
    /// `-S`: `disable_sctp=yes`; `-Q n`: `sctp_children`.
    public var disableSCTP = false
    public var sctpChildren: Int? = nil
    /// `--loadmodule=name` (repeatable): loaded before the configuration's modules.
    public var loadModules: [String] = []
    /// `--modparam=module:param:type:value` (repeatable; type `s` or `i`): applied after the
    /// configuration's `modparam` lines.
    public var moduleParameters: [String] = []
    /// `--subst`, `--substdef`, `--substdefs` (repeatable): preprocessor substitutions.
    public var substitutions: [PreprocessorSubstitution] = []
    /// `-G file`: write the process group id there.
    public var pgidFile: String? = nil
    /// `-I`: print the build's flags and exit.
    public var printFlags = false
    /// Kamailio options accepted without effect here (`-b`, `-e`, `-O`, `-r`, `-R`,
    /// `-W`, `-x`, `-X`, `--atexit`, `--server-id`), for one informational log line.
    public var ignored: [String] = []

    public init() {}

    /// Options that take a value.
    static let withValue: Set<Character> = [
        "f", "n", "l", "L", "P", "m", "M", "A", "u", "g", "w", "Y", "t", "N", "b", "G", "O", "Q", "W", "x", "X", "a",
    ]

    /// Parses the arguments (without the program name).
    public static func parse(_ args: [String]) throws(RuntimeError) -> CommandLineOptions {
        var o = CommandLineOptions()
        var i = 0
        func value(_ opt: String, attached: Substring) throws(RuntimeError) -> String {
            if !attached.isEmpty { return String(attached) }
            i += 1
            guard i < args.count else { throw RuntimeError("option \(opt) needs a value") }
            return args[i]
        }
        func int(_ opt: String, _ s: String) throws(RuntimeError) -> Int {
            guard let v = Int(s) else { throw RuntimeError("option \(opt) needs a number, got '\(s)'") }
            return v
        }
        while i < args.count {
            let arg = args[i]
            if arg.hasPrefix("--") {
                let parts = arg.dropFirst(2).split(separator: "=", maxSplits: 1)
                let name = String(parts.first ?? "")
                let attached = parts.count > 1 ? parts[1] : ""
                switch name {
                case "help": o.showHelp = true
                case "version": o.showVersion = true
                case "debug": o.debugLevel = try int("--debug", try value("--debug", attached: attached))
                case "cfg-print": o.printConfig = true
                case "log-engine": o.logEngine = try value("--log-engine", attached: attached)
                case "alias": o.aliases.append(try value("--alias", attached: attached))
                case "loadmodule": o.loadModules.append(try value("--loadmodule", attached: attached))
                case "modparam":
                    let v = try value("--modparam", attached: attached)
                    guard v.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).count == 4 else {
                        throw RuntimeError("bad --modparam '\(v)': expected modname:paramname:type:value")
                    }
                    o.moduleParameters.append(v)
                case "subst", "substdef", "substdefs":
                    o.substitutions.append(
                        PreprocessorSubstitution(
                            directive: name, expression: try value("--\(name)", attached: attached)))
                case "atexit", "server-id":
                    _ = try value("--\(name)", attached: attached)
                    o.ignored.append("--\(name)")
                default: throw RuntimeError("unknown option \(arg) (see -h)")
                }
            } else if arg.hasPrefix("-"), arg.count > 1 {
                var rest = arg.dropFirst()
                while let c = rest.first {
                    rest = rest.dropFirst()
                    let opt = "-\(c)"
                    if withValue.contains(c) {
                        let v = try value(opt, attached: rest)
                        rest = ""
                        switch c {
                        case "f": o.configFile = v
                        case "n": o.children = try int(opt, v)
                        case "l": o.listen.append(v)
                        case "L": o.modulePath = v
                        case "P": o.pidFile = v
                        case "m":
                            let mb = try int(opt, v)
                            guard mb > 0 else { throw RuntimeError("bad shared memory size: -m \(v)") }
                            o.sharedMemoryMB = mb
                        case "M": o.privateMemoryMB = try int(opt, v)
                        case "u": o.user = v
                        case "g": o.group = v
                        case "t": o.chrootDirectory = v
                        case "w": o.workingDirectory = v
                        case "Y": o.runtimeDirectory = v
                        case "N": o.tcpChildren = try int(opt, v)
                        case "G": o.pgidFile = v
                        case "a":
                            switch v.lowercased() {
                            case "yes", "on", "1": o.autoAliases = true
                            case "no", "off", "0": o.autoAliases = false
                            default: throw RuntimeError("bad auto aliases parameter: \(v) (use yes or no)")
                            }
                        case "Q": o.sctpChildren = try int(opt, v)
                        case "b", "O", "W", "x", "X": o.ignored.append(opt)
                        case "A":
                            guard let d = PreprocessorDefine(argument: v) else {
                                throw RuntimeError("bad -A parameter '\(v)': expected NAME or NAME=VALUE")
                            }
                            // Kamailio refuses a name given twice ("error at define param").
                            guard !o.defines.contains(where: { $0.name == d.name }) else {
                                throw RuntimeError("bad -A parameter '\(v)': '\(d.name)' is already defined")
                            }
                            o.defines.append(d)
                        default: throw RuntimeError("option \(opt) is not supported yet")
                        }
                        continue
                    }
                    switch c {
                    case "c": o.checkOnly = true
                    case "D": o.foreground += 1
                    case "E": o.logToStderr = true
                    case "d": o.debugIncrements += 1
                    case "V", "v": o.showVersion = true
                    case "h": o.showHelp = true
                    case "K": o.checkVia = true
                    case "T": o.disableTCP = true
                    case "S": o.disableSCTP = true
                    case "I": o.printFlags = true
                    case "e", "r", "R": o.ignored.append(opt)
                    default: throw RuntimeError("unknown option -\(c) (see -h)")
                    }
                }
            } else {
                throw RuntimeError("unexpected argument '\(arg)' (see -h)")
            }
            i += 1
        }
        return o
    }

    /// The `-h` text.
    public static let help = """
        Usage: swiftlet [options]
        Options:
            -f file      Configuration file (default: /etc/swiftlet/swiftlet.cfg; for an executable
                         installed as PREFIX/bin/swiftlet, PREFIX/etc/swiftlet/swiftlet.cfg when
                         PREFIX is not /usr and PREFIX/etc/swiftlet exists)
            -c           Check the configuration file and exit (every error as file:line:col)
            --cfg-print  Print the configuration after the preprocessor (includes, #!ifdef,
                         defines) and exit
            -A define    Add a preprocessor define: NAME or NAME=VALUE, as #!define (repeatable)
            -l address   Listen on the address: [proto:]addr[:port] (repeatable)
            -L path      Module search path (mpath), directories separated by ':' (default: the
                         executable's directory, then ../lib/swiftlet/modules beside it)
            -n threads   Number of UDP worker threads per listener (children)
            -m MB        Shared memory size in MB (default 64; shm_mem_size in the config)
            -M MB        Private memory size (accepted and ignored: workers are threads)
            -d           Raise the debug level (repeatable); --debug=N sets it
            -D           Control how daemonize is done: -D no fork; -DD stay in the foreground;
                         -DDD daemonize (the default)
            -E           Log to stderr
            --log-engine=json[:flags]  Log JSON lines (flags as Kamailio's: c M N j p)
            -P file      Write the process id to file
            -u user      Run as this user (name or uid) once the sockets are bound
            -g group     Run as this group (name or gid)
            -t dir       chroot to dir at start-up
            -w dir       Change to dir at start-up (default /)
            -Y dir       Runtime directory for control sockets (default /run/swiftlet)
            -N threads   Number of TCP worker threads (tcp_children; default: as -n)
            -a mode      Auto aliases: yes/on or no/off (auto_aliases)
            --alias=val  Add an alias: [proto:]hostname[:port] (as alias=)
            -K           Check that the top Via of a reply is this server (check_via)
            -T           Disable TCP (disable_tcp)
            -S           Disable SCTP (disable_sctp)
            -Q threads   Number of SCTP receiver threads per socket (sctp_children)
            --loadmodule=name  Load the module before the configuration's
            --modparam=modname:paramname:type:value
                         Set a module parameter after the configuration's (type s for a
                         string, i for an integer)
            --subst=exp, --substdef=exp, --substdefs=exp  A #!subst, #!substdef, #!substdefs
            -G file      Write the process group id to file
            -I           Print the build's flags and exit
            -V, -v, --version  Print the version and exit
            -h, --help   Print this text and exit
        Accepted for Kamailio's command lines, without effect here: -b nr (UDP buffer
        probing), -e (terminal colours), -O nr, -r, -R (received= by
        DNS), -W type (poll method), -x name, -X name
        (memory managers), --atexit=val, --server-id=num.
        """
}
