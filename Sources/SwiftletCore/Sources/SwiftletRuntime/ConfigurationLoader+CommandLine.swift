import SwiftletSDK

/// The command-line options that act as configuration (Kamailio's second `getopt` pass):
/// `--loadmodule`, `--modparam`, `-a`, `--alias`, `-K`, `-N`, `-T`.
extension ConfigurationLoader {
    static let commandLineLocation = SourceLocation(file: "<command line>", line: 1, column: 1)

    /// `--loadmodule` modules go before the configuration's; `--modparam` settings after its
    /// `modparam` lines.
    static func applyCommandLineModules(_ options: CommandLineOptions, to config: inout ConfigFile)
        -> [ConfigDiagnostic]
    {
        var diagnostics: [ConfigDiagnostic] = []
        let loads = options.loadModules.enumerated().map { i, name in
            ModuleLoad(path: name, location: commandLineLocation, order: Int.min + i)
        }
        config.modules = loads + config.modules
        for (i, text) in options.moduleParameters.enumerated() {
            let parts = text.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            let value: ModuleParameterSetting.Value
            switch parts[2] {
            case "s", "S": value = .string(parts[3])
            case "i", "I":
                guard let v = Int(parts[3]) else {
                    diagnostics.append(
                        ConfigDiagnostic("--modparam \(text): '\(parts[3])' is not an integer", at: commandLineLocation)
                    )
                    continue
                }
                value = .int(v)
            default:
                diagnostics.append(
                    ConfigDiagnostic(
                        "--modparam \(text): the type must be 's' (string) or 'i' (integer)", at: commandLineLocation))
                continue
            }
            config.moduleParameters.append(
                ModuleParameterSetting(
                    module: parts[0], name: parts[1], value: value, location: commandLineLocation,
                    valueLocation: commandLineLocation, order: Int.max - options.moduleParameters.count + i))
        }
        return diagnostics
    }

    /// `-a`, `--alias`, `-K`, `-N`, `-T` over the configuration's globals.
    static func applyCommandLineGlobals(_ options: CommandLineOptions, to core: inout CoreConfiguration)
        -> [ConfigDiagnostic]
    {
        var diagnostics: [ConfigDiagnostic] = []
        if let a = options.autoAliases { core.network.autoAliases = a }
        if options.checkVia { core.checkVia = true }
        if let n = options.tcpChildren { core.tcpChildren = max(0, n) }
        if options.disableTCP { core.disableTCP = true }
        if options.disableSCTP { core.sctp.disable = 1 }
        if let n = options.sctpChildren { core.sctp.children = max(0, n) }
        for text in options.aliases {
            var lexer = Lexer(text: text, file: "<command line>")
            var tokens = lexer.tokenize()
            tokens.removeLast()
            do throws(ConfigDiagnostic) {
                if let d = lexer.diagnostics.first { throw d }
                core.aliases.append(try ListenParser.parseAlias(tokens, at: commandLineLocation))
            } catch {
                diagnostics.append(error)
            }
        }
        return diagnostics
    }
}
