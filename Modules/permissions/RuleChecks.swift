import SwiftletSDK
import SwiftletSIP

/// `allow_routing`, `allow_register` and `allow_uri` over the allow/deny files (Kamailio's
/// `check_routing`, `check_register`, `allow_uri`, `allow_test`).
extension PermissionsModule {
    var ruleFunctions: [ScriptFunction] {
        [
            ScriptFunction("allow_routing", parameters: 0...2, routes: .any) { args throws(FixupError) in
                let idx = try self.ruleIndex(args)
                return { ctx in self.checkRouting(ctx, self.rulePairs[idx]) }
            },
            ScriptFunction("allow_register", parameters: 1...2, routes: [.request, .failure]) {
                args throws(FixupError) in
                let idx = try self.ruleIndex(args)
                return { ctx in self.checkRegister(ctx, self.rulePairs[idx]) }
            },
            ScriptFunction("allow_uri", parameters: 2, routes: [.request, .failure]) { args throws(FixupError) in
                let idx = try self.ruleIndex([args[0]])
                let pv = try args[1].pseudoVariable()
                return { ctx in self.allowURI(ctx, self.rulePairs[idx], pv) }
            },
        ]
    }

    /// Kamailio's `get_path(cfg_file)`: the configuration file's directory with its `/`
    /// ("" when the name has none).
    static func directory(of file: String) -> String {
        guard let slash = file.lastIndex(of: "/") else { return "" }
        return String(file[...slash])
    }

    /// `get_pathname`: a name without `/` is taken from the configuration file's directory.
    func pathname(_ name: String, near location: SourceLocation?) -> String {
        if name.contains("/") { return name }
        if let location { configDirectory = Self.directory(of: location.file) }
        return configDirectory + name
    }

    /// `single_fixup`/`load_fixup`: no argument is the default pair (0), one a basename
    /// (`allow_suffix`, `deny_suffix` added), two the allow and the deny file. A pair whose
    /// allow file was already loaded is reused.
    func ruleIndex(_ args: [ScriptArgument]) throws(FixupError) -> Int {
        if args.isEmpty { return 0 }
        let allow: String
        let deny: String
        if args.count == 1 {
            let base = try args[0].constantString()
            allow = pathname(base + allowSuffix, near: args[0].location)
            deny = pathname(base + denySuffix, near: args[0].location)
        } else {
            allow = pathname(try args[0].constantString(), near: args[0].location)
            deny = pathname(try args[1].constantString(), near: args[1].location)
        }
        if let i = rulePairs.indices.dropFirst().first(where: { rulePairs[$0].allowPath == allow }) { return i }
        rulePairs.append(Self.loadPair(allow: allow, deny: deny))
        return rulePairs.count - 1
    }

    static func loadPair(allow: String?, deny: String?) -> RuleFilePair {
        let pair = RuleFilePair(
            allowPath: allow, allow: allow.flatMap { RuleFileParser.parse(file: $0) },
            denyPath: deny, deny: deny.flatMap { RuleFileParser.parse(file: $0) })
        if pair.allow == nil, let allow {
            Log.info("permissions", "file (\(allow)) not parsed properly => empty rule set")
        }
        if pair.deny == nil, let deny {
            Log.info("permissions", "file (\(deny)) not parsed properly => empty rule set")
        }
        return pair
    }

    /// The default pair (index 0) from `default_allow_file`/`default_deny_file`, as
    /// `load_backends` selects them.
    func loadDefaultRuleFiles() {
        let allow = loadBackends & Self.loadAllowFile != 0 ? pathname(defaultAllowFile, near: nil) : nil
        let deny = loadBackends & Self.loadDenyFile != 0 ? pathname(defaultDenyFile, near: nil) : nil
        rulePairs[0] = Self.loadPair(allow: allow, deny: deny)
    }

    /// `get_plain_uri`: `sip:user@host` (`sip:host` without a user), nil when it does not parse.
    static func plainURI(_ uri: String) -> String? {
        let b = Array(uri.utf8)
        guard let u = try? URIComponents.parse(b, 0..<b.count) else { return nil }
        let host = String(decoding: b[u.host], as: UTF8.self)
        if let user = u.user, !user.isEmpty { return "sip:" + String(decoding: b[user], as: UTF8.self) + "@" + host }
        return "sip:" + host
    }

    /// `check_routing`: From URI against `sip:user@host` of the Request-URI, then (with
    /// `check_all_branches`) each branch's plain URI. 1 allowed, -1 denied or an error.
    func checkRouting(_ ctx: MessageContext, _ pair: RuleFilePair) -> Int {
        if pair.isEmpty { return 1 }
        guard (try? ctx.message.from()) != nil else {
            Log.error("permissions", "FROM header field not found")
            return -1
        }
        let from = Self.fromURI(ctx)
        let b = Array((ctx.requestURI ?? "").utf8)
        guard let u = try? URIComponents.parse(b, 0..<b.count) else {
            Log.error("permissions", "uri parsing failed")
            return -1
        }
        let ruri =
            "sip:" + (u.user.map { String(decoding: b[$0], as: UTF8.self) } ?? "") + "@"
            + String(decoding: b[u.host], as: UTF8.self)
        if RuleFilePair.search(pair.allow, from, ruri) {
            if checkAllBranches == 0 { return 1 }
        } else {
            if RuleFilePair.search(pair.deny, from, ruri) { return -1 }
            if checkAllBranches == 0 { return 1 }
        }
        for branch in ctx.branches {
            guard let plain = Self.plainURI(branch.uri) else {
                Log.error("permissions", "failed to extract plain URI")
                return -1
            }
            if RuleFilePair.search(pair.allow, from, plain) { continue }
            if RuleFilePair.search(pair.deny, from, plain) { return -1 }
        }
        return 1
    }

    /// `check_register`: the To URI against each Contact's plain URI; no Contact or `*` is
    /// allowed. 1 allowed, -1 denied or an error.
    func checkRegister(_ ctx: MessageContext, _ pair: RuleFilePair) -> Int {
        if pair.isEmpty { return 1 }
        guard let to = try? ctx.message.to() else {
            Log.error("permissions", "To or Contact not found")
            return -1
        }
        let toURI = String(decoding: ctx.message.buffer[to.uri], as: UTF8.self)
        guard let contacts = try? ctx.message.contacts() else {
            Log.error("permissions", "failed to parse Contact HF")
            return -1
        }
        if contacts.isEmpty || contacts.contains(where: \.isWildcard) { return 1 }
        for c in contacts {
            let text = String(decoding: ctx.message.buffer[c.uri], as: UTF8.self)
            guard let plain = Self.plainURI(text) else {
                Log.error("permissions", "can't extract plain Contact URI")
                return -1
            }
            if RuleFilePair.search(pair.allow, toURI, plain), checkAllBranches != 0 { continue }
            if RuleFilePair.search(pair.deny, toURI, plain) { return -1 }
        }
        return 1
    }

    /// `allow_uri(basename, pv)`: the From URI against the PV's value.
    func allowURI(_ ctx: MessageContext, _ pair: RuleFilePair, _ pv: PseudoVariable) -> Int {
        if pair.isEmpty { return 1 }
        guard (try? ctx.message.from()) != nil else {
            Log.error("permissions", "FROM header field not found")
            return -1
        }
        guard case .string(let uri) = pv.get(ctx) else {
            Log.error("permissions", "pseudo variable value is not string")
            return -1
        }
        let from = Self.fromURI(ctx)
        if RuleFilePair.search(pair.allow, from, uri) { return 1 }
        if RuleFilePair.search(pair.deny, from, uri) { return -1 }
        return 1
    }

    /// `allow_test` (`permissions.testUri`): the pair loaded for `basename` + `allow_suffix`
    /// (false when none was), then the URI against the contact.
    func allowTest(basename: String, uri: String, contact: String) -> Bool {
        let path = pathname(basename + allowSuffix, near: nil)
        guard let pair = rulePairs.first(where: { $0.allowPath == path }) else {
            Log.error("permissions", "File <\(path)> has not been loaded")
            return false
        }
        if pair.isEmpty { return true }
        if RuleFilePair.search(pair.allow, uri, contact) { return true }
        return !RuleFilePair.search(pair.deny, uri, contact)
    }
}
