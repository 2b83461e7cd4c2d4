import SwiftletSDK

#if canImport(Glibc)
    import Glibc
#endif

/// The script functions, with Kamailio 5.6's return codes: 1 on success, else -1 or the
/// libsecsipid error code (negative, listed at the top of secsipidx's `secsipid.go`).
extension SecSIPIDModule {
    var functions: [ScriptFunction] {
        [
            ScriptFunction("secsipid_check_identity", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let keyPath = try args[0].stringFormat()
                return { ctx in
                    self.checkIdentity(ctx) { lib, value in self.checkFull(lib, value, keyPath.render(ctx)) }
                }
            },
            ScriptFunction("secsipid_check_identity_pubkey", parameters: 1, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let key = try args[0].stringFormat()
                return { ctx in
                    let k = key.render(ctx)
                    return self.checkIdentity(ctx) { lib, value in
                        SecSIPIDLibrary.withC(value) { v in
                            SecSIPIDLibrary.withC(k) { kv in
                                Int(
                                    lib.checkFullPubKey(
                                        v, Int32(value.utf8.count), Int32(clamping: self.expire), kv,
                                        Int32(k.utf8.count)))
                            }
                        }
                    }
                }
            },
            ScriptFunction("secsipid_check", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let identity = try args[0].stringFormat()
                let keyPath = try args[1].stringFormat()
                return { ctx in
                    guard let lib = self.lib else { return -1 }
                    let ret = self.checkFull(lib, identity.render(ctx), keyPath.render(ctx))
                    return ret == 0 ? 1 : ret
                }
            },
            identityFunction("secsipid_add_identity", toHeader: true, keyData: false),
            identityFunction("secsipid_build_identity", toHeader: false, keyData: false),
            identityFunction("secsipid_build_identity_prvkey", toHeader: false, keyData: true),
            ScriptFunction("secsipid_sign", parameters: 3, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let headers = try args[0].stringFormat()
                let payload = try args[1].stringFormat()
                let keyPath = try args[2].stringFormat()
                return { ctx in
                    self.sign(headers.render(ctx), payload.render(ctx), keyPath.render(ctx))
                }
            },
            ScriptFunction("secsipid_get_url", parameters: 2, routes: .any) {
                (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
                let url = try args[0].stringFormat()
                let out = try args[1].pseudoVariable()
                return { ctx in self.getURL(ctx, url.render(ctx), into: out) }
            },
        ]
    }

    /// `SecSIPIDCheckFull` on an Identity value: 0 when valid, else the library's code.
    /// An empty key path makes the library fetch the key from the `info` parameter.
    func checkFull(_ lib: SecSIPIDLibrary, _ value: String, _ keyPath: String) -> Int {
        SecSIPIDLibrary.withC(value) { v in
            SecSIPIDLibrary.withC(keyPath) { k in
                Int(
                    lib.checkFull(
                        v, Int32(value.utf8.count), Int32(clamping: expire), k, Int32(clamping: timeout)))
            }
        }
    }

    /// Checks each Identity header in order until one passes (1); else the code of the last
    /// one checked, -1 when there is none (Kamailio's `ki_secsipid_check_identity`).
    func checkIdentity(_ ctx: MessageContext, _ check: (SecSIPIDLibrary, String) -> Int) -> Int {
        guard let lib else { return -1 }
        let msg = ctx.message
        var ret = -1
        var found = false
        for field in msg.headers(.identity) {
            found = true
            let value = msg.value(of: field)
            // An empty value would be read by the library up to a NUL (length 0).
            ret = value.isEmpty ? -1 : check(lib, value)
            if ret == 0 {
                Log.debug("secsipid", "identity check: ok")
                return 1
            }
        }
        if !found { Log.debug("secsipid", "identity header not found") }
        Log.debug("secsipid", "identity check: failed")
        return ret
    }

    /// `secsipid_add_identity`, `secsipid_build_identity` and `_prvkey`: six parameters,
    /// the last a key file or (`keyData`) the PEM key itself.
    func identityFunction(_ name: String, toHeader: Bool, keyData: Bool) -> ScriptFunction {
        ScriptFunction(name, parameters: 6, routes: .any) {
            (args: [ScriptArgument]) throws(FixupError) -> ScriptAction in
            var formats: [StringFormat] = []
            for a in args { formats.append(try a.stringFormat()) }
            return { ctx in
                let v = formats.map { $0.render(ctx) }
                return self.identity(ctx, v[0], v[1], v[2], v[3], v[4], v[5], toHeader: toHeader, keyData: keyData)
            }
        }
    }

    func identity(
        _ ctx: MessageContext, _ origTN: String, _ destTN: String, _ attest: String, _ origID: String, _ x5u: String,
        _ key: String, toHeader: Bool, keyData: Bool
    ) -> Int {
        let state = SecSIPIDThreadState.current
        if !toHeader {
            state.value = nil
            state.ret = 0
        }
        guard let lib else { return -1 }
        var out: SecSIPIDLibrary.CString = nil
        let len = [origTN, destTN, attest, origID, x5u, key].withCStrings { p in
            (keyData ? lib.getIdentityPrvKey : lib.getIdentity)(p[0], p[1], p[2], p[3], p[4], p[5], &out)
        }
        let value = SecSIPIDLibrary.take(out, count: len > 0 ? Int(len) : 0)
        if !toHeader { state.ret = Int(len) }
        guard len > 0, let value else {
            Log.error("secsipid", "failed to get identity header body (\(len))")
            return -1
        }
        Log.debug("secsipid", "identity value: \(value)")
        if !toHeader {
            state.value = value
            return 1
        }
        ctx.edits.insert(Array("Identity: \(value)\r\n".utf8), at: ctx.message.headersEnd)
        return 1
    }

    /// `secsipid_sign(headers, payload, keyPath)`: the signed JWT in `$secsipid(val)`.
    func sign(_ headers: String, _ payload: String, _ keyPath: String) -> Int {
        guard let lib else { return -1 }
        let state = SecSIPIDThreadState.current
        var out: SecSIPIDLibrary.CString = nil
        let len = [headers, payload, keyPath].withCStrings { p in lib.signJSONHP(p[0], p[1], p[2], &out) }
        let value = SecSIPIDLibrary.take(out, count: len > 0 ? Int(len) : 0)
        state.ret = Int(len)
        guard len > 0, let value else {
            Log.error("secsipid", "failed to get identity value (\(len))")
            return -1
        }
        Log.debug("secsipid", "identity value: \(value)")
        state.value = value
        return 1
    }

    /// `secsipid_get_url(url, pv)`: the content of an HTTP(S) URL (through the key cache).
    func getURL(_ ctx: MessageContext, _ url: String, into out: PseudoVariable) -> Int {
        guard let lib else { return -1 }
        var p: SecSIPIDLibrary.CString = nil
        var count: Int32 = 0
        let ret = SecSIPIDLibrary.withC(url) { lib.getURLContent($0, Int32(clamping: timeout), &p, &count) }
        let content = SecSIPIDLibrary.take(p, count: Int(count))
        guard ret == 0, let content else { return Int(ret) }
        guard let set = out.set else {
            Log.warning("secsipid", "target pv is not writable")
            return -1
        }
        return set(ctx, .string(content)) ? 1 : -1
    }

    /// `$secsipid(val)`: the value built by the last `secsipid_build_identity*`/`secsipid_sign`
    /// on this worker; `$secsipid(ret)`: the library's return value of that call.
    var secsipidPV: PseudoVariableClass {
        PseudoVariableClass("secsipid") { (pv: PseudoVariableName) throws(FixupError) -> PseudoVariable in
            switch pv.inner {
            case "val":
                return PseudoVariable(
                    text: pv.text,
                    get: { _ in
                        guard let v = SecSIPIDThreadState.current.value, !v.isEmpty else { return .null }
                        return .string(v)
                    })
            case "ret":
                return PseudoVariable(text: pv.text, get: { _ in .int(SecSIPIDThreadState.current.ret) })
            default:
                throw FixupError("unknown PV secsipid key: \(pv.inner ?? "")")
            }
        }
    }
}

extension Array where Element == String {
    /// Runs `body` with NUL-terminated copies of the strings (freed afterwards).
    func withCStrings<R>(_ body: ([SecSIPIDLibrary.CString]) -> R) -> R {
        let copies = map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return body(copies)
    }
}
