import SwiftletSDK
import Synchronization

/// The `regex` module (Kamailio's `modules/regex`) on PCRE2: `pcre_match(string, re)`
/// matches against an expression given in the script, `pcre_match_group(string [, group])`
/// against a group of the `file` parameter, which the `regex.reload` RPC reads again.
final class RegexModule: @unchecked Sendable {
    var file: String?
    var groupFile = RegexGroupFile()
    var options: PCRE2Expression.Options = []
    /// The compiled groups; replaced as a whole by `regex.reload`.
    let groups = Mutex<[PCRE2Expression]>([])
    /// Serialises reloads (Kamailio's `reload_lock`).
    let reloadLock = Mutex<Void>(())

    static let routes: RouteTypes = [.request, .failure, .onReply, .branch, .local]

    var exports: ModuleExports {
        let e = ModuleExports(name: "regex")
        e.parameters = [
            ModuleParameter("file", .string { (v: String) throws(FixupError) in self.file = v }),
            ModuleParameter("max_groups", .int { (v: Int) throws(FixupError) in self.groupFile.maxGroups = v }),
            ModuleParameter("group_max_size", .int { (v: Int) throws(FixupError) in self.groupFile.groupMaxSize = v }),
            flag("pcre_caseless", .caseless), flag("pcre_multiline", .multiline),
            flag("pcre_dotall", .dotall), flag("pcre_extended", .extended),
        ]
        e.functions = [
            ScriptFunction("pcre_match", parameters: 2, routes: Self.routes) {
                (args: [ScriptArgument]) throws(FixupError) in
                let subject = try args[0].stringFormat()
                let pattern = try args[1].stringFormat()
                return { ctx in self.match(subject.render(ctx), pattern.render(ctx)) }
            },
            ScriptFunction("pcre_match_group", parameters: 1...2, routes: Self.routes) {
                (args: [ScriptArgument]) throws(FixupError) in
                let subject = try args[0].stringFormat()
                let group = args.count > 1 ? try args[1].stringFormat() : nil
                return { ctx in
                    // Kamailio's str2int: a group that is not a number is group 0.
                    let index = group.map { UInt32($0.render(ctx)).map(Int.init) ?? 0 } ?? 0
                    return self.matchGroup(subject.render(ctx), index)
                }
            },
        ]
        e.rpcs = [
            RPCCommand("regex.reload", "Reload regex file") { _ throws(RPCError) in
                guard self.file != nil else {
                    Log.notice("regex", "'file' parameter is not set, group matching disabled")
                    throw RPCError(500, "Group matching not enabled")
                }
                Log.info("regex", "reloading pcres...")
                do {
                    try self.load()
                } catch {
                    Log.error("regex", "failed to reload pcres: \(error)")
                    throw RPCError(500, "Failed to reload")
                }
                Log.info("regex", "reload success")
                return .null
            }
        ]
        e.initialize = { _ in
            guard self.file != nil else {
                Log.notice("regex", "'file' parameter is not set, group matching disabled")
                return
            }
            try self.load()
        }
        return e
    }

    private func flag(_ name: String, _ option: PCRE2Expression.Options) -> ModuleParameter {
        ModuleParameter(
            name,
            .int { (v: Int) throws(FixupError) in
                if v != 0 { self.options.insert(option) } else { self.options.remove(option) }
            })
    }

    /// Reads and compiles the group file; the groups in use change only when all compiled.
    func load() throws {
        guard let file else { return }
        try reloadLock.withLock { _ in
            let patterns = try groupFile.patterns(ofFile: file)
            Log.info("regex", "num groups = \(patterns.count)")
            var compiled: [PCRE2Expression] = []
            for (i, p) in patterns.enumerated() {
                Log.info("regex", "<group[\(i)]>\(p)</group[\(i)]> (size = \(p.utf8.count))")
                do {
                    compiled.append(try PCRE2Expression(p, options: options))
                } catch {
                    throw RegexGroupFile.LoadError("compilation of '\(p)' \(error)")
                }
            }
            groups.withLock { $0 = compiled }
        }
    }

    /// `pcre_match`: 1 on a match, -1 when there is none, -4 when the expression is invalid.
    func match(_ subject: String, _ pattern: String) -> Int {
        do {
            return try PCRE2Expression(pattern, options: options).matches(subject) ? 1 : -1
        } catch {
            Log.error("regex", "pcre_re compilation of '\(pattern)' \(error)")
            return -4
        }
    }

    /// `pcre_match_group`: 1 on a match, -1 when there is none, -2 without a group file,
    /// -4 for a group the file does not have.
    func matchGroup(_ subject: String, _ index: Int) -> Int {
        guard file != nil else {
            Log.error("regex", "group matching is disabled")
            return -2
        }
        guard let expression = groups.withLock({ index < $0.count ? $0[index] : nil }) else {
            Log.error("regex", "invalid pcre index '\(index)', there are \(groups.withLock { $0.count }) pcres")
            return -4
        }
        return expression.matches(subject) ? 1 : -1
    }
}

@_cdecl("swiftlet_module_register")
public func swiftletModuleRegister(_ core: UnsafePointer<swiftlet_core_info_t>?) -> UnsafeRawPointer? {
    registerSwiftletModule(core: core, name: "regex") { RegexModule().exports }
}
